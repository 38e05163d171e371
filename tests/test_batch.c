/* Multi-sequence batches (bitnet_decode_batch and the per-sequence KV cache
 * calls): N sequences decoded together, interleaved step by step, must give
 * logits bit for bit equal to each sequence decoded alone in its own
 * context in the same chunks, for every ISA, both numerics and 1 or 2
 * threads; prefix sharing with seq_cp must equal recomputing the prefix;
 * seq_rm, a full context, bad batches and an abort must leave the cache as
 * it was. The cache's bookkeeping is checked after every step
 * (bn_kv_cells_check), and the test asserts that the interleaving really put
 * sequences in scattered cells (attention's gather path). */
#include "alloc.h"
#include "bitnet.h"
#include "context.h"
#include "fixture.h"
#include "testutil.h"
#include "types.h"

enum { N_SEQ = 4, MAX_LEN = 64, N_CTX = 128 };

/* Tokens of each sequence added per step (0: not in that step's batch):
 * prefill chunks of different lengths, one-token steps, a chunk in the
 * middle of generation. */
static const int schedule[][N_SEQ] = {
    {7, 3, 0, 1}, {1, 5, 4, 0}, {1, 1, 6, 9}, {1, 1, 1, 1}, {1, 1, 1, 1}, {0, 4, 1, 1},
    {1, 0, 1, 2}, {1, 1, 1, 1}, {3, 1, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 1}, {1, 2, 1, 1},
    {1, 1, 1, 1}, {5, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1},
};
enum { N_STEPS = sizeof schedule / sizeof schedule[0] };

typedef struct setup {
    const char *isa;
    bitnet_numerics numerics;
    int n_threads;
    int n_batch; /* 0: default */
} setup;

static bitnet_context *new_ctx(const bitnet_model *m, const setup *su, int n_seq, int n_ctx) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = n_ctx;
    cp.isa = su->isa;
    cp.numerics = su->numerics;
    cp.n_threads = su->n_threads;
    cp.n_seq_max = n_seq;
    if (su->n_batch) cp.n_batch = su->n_batch;
    bitnet_context *c = bitnet_context_new(m, &cp);
    CHECKF(c != NULL, "context: %s", bitnet_get_last_error());
    return c;
}

static bitnet_token tok_of(int s, int p, int32_t n_vocab) {
    uint32_t x = (uint32_t)(s * 7919 + p * 104729 + 17);
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    return (bitnet_token)(x % (uint32_t)n_vocab);
}

static bool kv_ok(const bitnet_context *c, const char *where) {
    char msg[256];
    bool ok = bn_kv_cells_check(&c->kv, msg, sizeof msg);
    CHECKF(ok, "%s: KV bookkeeping: %s", where, msg);
    return ok;
}

/* ref[s][p][V]: the logits of sequence s at position p, decoded alone in
 * the chunks of the schedule with all logits kept. */
static float *alone_logits(const bitnet_model *m, const setup *su, int s, int32_t V, int *len) {
    bitnet_context *c = new_ctx(m, su, 1, N_CTX);
    float *ref = calloc((size_t)MAX_LEN * (size_t)V, sizeof(float));
    int p = 0;
    for (int st = 0; c && st < N_STEPS; st++) {
        const int n = schedule[st][s];
        if (n == 0) continue;
        bitnet_token toks[16];
        for (int i = 0; i < n; i++) toks[i] = tok_of(s, p + i, V);
        bitnet_status r = bitnet_decode(c, toks, n, true);
        CHECKF(r == BITNET_OK, "alone decode: %s", bitnet_get_last_error());
        if (r) break;
        memcpy(ref + (size_t)p * V, bitnet_get_logits(c), sizeof(float) * (size_t)n * V);
        p += n;
    }
    *len = p;
    bitnet_context_free(c);
    return ref;
}

/* Appends n tokens of sequence s (from position p) to the batch. */
static void add_tokens(bitnet_batch *b, int s, int p, int n, int32_t V, bool logits) {
    for (int i = 0; i < n; i++) {
        const int k = b->n_tokens++;
        b->token[k] = tok_of(s, p + i, V);
        b->pos[k] = p + i;
        b->seq_id[k] = s;
        b->logits[k] = logits;
    }
}

/* The schedule's steps as batches on one context. Even steps interleave the
 * sequences token by token; odd ones put them in blocks, last sequence
 * first. last_only: keep only the logits of each sequence's last token of
 * the step (else all). Every kept row is compared with ref. */
static void run_together(const bitnet_model *m, const setup *su, float *const *ref, int32_t V,
                         bool last_only, const char *label) {
    bitnet_context *c = new_ctx(m, su, N_SEQ, N_CTX);
    if (!c) return;
    bitnet_batch b = bitnet_batch_init(64);
    int len[N_SEQ] = {0};
    int mismatches = 0, scattered = 0;
    for (int st = 0; st < N_STEPS; st++) {
        b.n_tokens = 0;
        int bidx[N_SEQ][16]; /* batch index of each token of the step */
        if (st % 2 == 0) {
            for (int i = 0; i < 16; i++)
                for (int s = 0; s < N_SEQ; s++)
                    if (i < schedule[st][s]) {
                        bidx[s][i] = b.n_tokens;
                        add_tokens(&b, s, len[s] + i, 1, V, !last_only || i == schedule[st][s] - 1);
                    }
        } else {
            for (int s = N_SEQ - 1; s >= 0; s--)
                for (int i = 0; i < schedule[st][s]; i++) {
                    bidx[s][i] = b.n_tokens;
                    add_tokens(&b, s, len[s] + i, 1, V, !last_only || i == schedule[st][s] - 1);
                }
        }
        bitnet_status r = bitnet_decode_batch(c, &b);
        CHECKF(r == BITNET_OK, "%s step %d: %s", label, st, bitnet_get_last_error());
        if (r) break;
        int kept = 0;
        for (int s = 0; s < N_SEQ; s++)
            for (int i = 0; i < schedule[st][s]; i++) {
                const float *got = bitnet_get_logits_ith(c, bidx[s][i]);
                const bool want = !last_only || i == schedule[st][s] - 1;
                kept += want;
                if (!want) {
                    CHECKF(got == NULL, "%s: logits of an unflagged token", label);
                    continue;
                }
                const float *exp = ref[s] + (size_t)(len[s] + i) * V;
                if (!got || memcmp(got, exp, sizeof(float) * (size_t)V) != 0) {
                    if (mismatches++ < 3) {
                        int j = 0;
                        while (got && j < V && got[j] == exp[j]) j++;
                        fprintf(stderr, "%s step %d seq %d pos %d: logit %d is %.9g, alone %.9g\n",
                                label, st, s, len[s] + i, j, got ? got[j] : NAN, exp[j]);
                    }
                }
            }
        CHECK(bitnet_get_n_outputs(c) == kept);
        for (int s = 0; s < N_SEQ; s++) len[s] += schedule[st][s];
        for (int s = 0; s < N_SEQ; s++) {
            CHECK(bitnet_kv_seq_pos_max(c, s) == len[s] - 1);
            scattered += c->kv.seq_contig[s] < len[s];
        }
        kv_ok(c, label);
    }
    CHECKF(mismatches == 0, "%s: %d logit rows differ from the sequences decoded alone", label,
           mismatches);
    /* the cells of at least one sequence must have ended up scattered, or
     * this test did not exercise attention's gather path */
    CHECKF(scattered > 0, "%s: every sequence stayed in consecutive cells", label);
    CHECK(bitnet_kv_cells_used(c) == len[0] + len[1] + len[2] + len[3]);
    bitnet_batch_free(&b);
    bitnet_context_free(c);
}

static void test_together_equals_alone(const bitnet_model *m, const char *name) {
    const int32_t V = bitnet_model_n_vocab(m);
    const char *isas[] = {"ref", "avx2", "avx512", "amx", "neon"};
    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        if (!bitnet_isa_supported(isas[ii])) continue;
        for (int num = 0; num < 2; num++)
            for (int nt = 1; nt <= 2; nt++) {
                setup su = {isas[ii], (bitnet_numerics)num, nt, 0};
                float *ref[N_SEQ];
                int len[N_SEQ];
                for (int s = 0; s < N_SEQ; s++) ref[s] = alone_logits(m, &su, s, V, &len[s]);
                char label[128];
                snprintf(label, sizeof label, "%s %s %s %d thread(s)", name, isas[ii],
                         num ? "exact" : "compat", nt);
                run_together(m, &su, ref, V, false, label);
                if (num == 1) {
                    /* micro-batches of 8 tokens cut the steps' batches at
                     * other places than the sequences' chunks; in exact
                     * numerics nothing depends on the cut */
                    setup small = su;
                    small.n_batch = 8;
                    char l2[160];
                    snprintf(l2, sizeof l2, "%s, micro-batches of 8", label);
                    run_together(m, &small, ref, V, true, l2);
                }
                printf("%s: %d sequences together = alone, bit for bit\n", label, N_SEQ);
                for (int s = 0; s < N_SEQ; s++) free(ref[s]);
            }
    }
}

/* Decodes n tokens of sequence s (from its next position, all logits kept)
 * as one batch, or fails the check. */
static bitnet_status decode_seq(bitnet_context *c, int s, int p, int n, int32_t V) {
    bitnet_batch b = bitnet_batch_init(n);
    add_tokens(&b, s, p, n, V, true);
    bitnet_status r = bitnet_decode_batch(c, &b);
    bitnet_batch_free(&b);
    return r;
}

/* Logits of tokens of sequence `tok_seq` at positions [0, n) decoded alone
 * (chunk sizes in chunks, summing to n); returns the last chunk's rows. */
static bool rows_equal(const float *a, const float *b, int32_t V, int rows) {
    return a && b && memcmp(a, b, sizeof(float) * (size_t)V * (size_t)rows) == 0;
}

/* seq_cp shares a prefix; the continuations equal recomputing the prefix. */
static void test_prefix_sharing(const bitnet_model *m) {
    const int32_t V = bitnet_model_n_vocab(m);
    setup su = {NULL, BITNET_NUMERICS_COMPAT, 2, 0};
    bitnet_context *c = new_ctx(m, &su, 3, N_CTX);
    if (!c) return;
    /* the prefix: tokens of "sequence 0" positions 0..11 */
    CHECK(decode_seq(c, 0, 0, 12, V) == BITNET_OK);
    const int32_t used = bitnet_kv_cells_used(c);
    CHECK(used == 12);
    CHECK(bitnet_kv_seq_cp(c, 0, 1, -1, -1) == BITNET_OK);
    CHECK(bitnet_kv_seq_cp(c, 0, 2, 0, 7) == BITNET_OK);
    CHECK(bitnet_kv_cells_used(c) == used); /* shared, not copied */
    CHECK(bitnet_kv_seq_pos_max(c, 1) == 11 && bitnet_kv_seq_pos_max(c, 2) == 6);
    kv_ok(c, "after seq_cp");

    /* the same continuation tokens on each sequence: tok_of(9, p) */
    bitnet_batch b = bitnet_batch_init(16);
    add_tokens(&b, 1, 12, 4, V, true);
    add_tokens(&b, 2, 7, 2, V, true);
    add_tokens(&b, 0, 12, 3, V, true);
    for (int i = 0; i < b.n_tokens; i++) b.token[i] = tok_of(9, b.pos[i], V);
    CHECKF(bitnet_decode_batch(c, &b) == BITNET_OK, "%s", bitnet_get_last_error());
    CHECK(bitnet_kv_cells_used(c) == used + 9);

    /* recomputed alone: the prefix (12 or 7 tokens in one chunk), then the
     * continuation */
    static const int prefix_len[3] = {12, 12, 7}, cont_len[3] = {3, 4, 2}, first[3] = {6, 0, 4};
    for (int s = 0; s < 3; s++) {
        bitnet_context *a = new_ctx(m, &su, 1, N_CTX);
        bitnet_token toks[16];
        for (int i = 0; i < prefix_len[s]; i++) toks[i] = tok_of(0, i, V);
        CHECK(bitnet_decode(a, toks, prefix_len[s], false) == BITNET_OK);
        for (int i = 0; i < cont_len[s]; i++) toks[i] = tok_of(9, prefix_len[s] + i, V);
        CHECK(bitnet_decode(a, toks, cont_len[s], true) == BITNET_OK);
        CHECKF(rows_equal(bitnet_get_logits(a), bitnet_get_logits_ith(c, first[s]), V, cont_len[s]),
               "sequence %d after a shared prefix differs from recomputing the prefix", s);
        bitnet_context_free(a);
    }

    /* removing sequence 0 frees only its own cells: 1 and 2 keep the prefix */
    CHECK(bitnet_kv_seq_rm(c, 0, -1, -1) == BITNET_OK);
    CHECK(bitnet_kv_seq_pos_max(c, 0) == -1);
    CHECK(bitnet_kv_cells_used(c) == used + 9 - 3);
    kv_ok(c, "after seq_rm of the source");
    /* one more token on 1 and 2, against the recomputed sequences */
    b.n_tokens = 0;
    add_tokens(&b, 2, 9, 1, V, true);
    add_tokens(&b, 1, 16, 1, V, true);
    for (int i = 0; i < b.n_tokens; i++) b.token[i] = tok_of(9, b.pos[i], V);
    CHECKF(bitnet_decode_batch(c, &b) == BITNET_OK, "%s", bitnet_get_last_error());
    float *after_rm = malloc(sizeof(float) * 2 * (size_t)V); /* [2][V] batch rows 0, 1 */
    memcpy(after_rm, bitnet_get_logits(c), sizeof(float) * 2 * (size_t)V);
    for (int s = 1; s < 3; s++) {
        bitnet_context *a = new_ctx(m, &su, 1, N_CTX);
        bitnet_token toks[16];
        for (int i = 0; i < prefix_len[s]; i++) toks[i] = tok_of(0, i, V);
        CHECK(bitnet_decode(a, toks, prefix_len[s], false) == BITNET_OK);
        for (int i = 0; i < cont_len[s]; i++) toks[i] = tok_of(9, prefix_len[s] + i, V);
        CHECK(bitnet_decode(a, toks, cont_len[s], false) == BITNET_OK);
        toks[0] = tok_of(9, prefix_len[s] + cont_len[s], V);
        CHECK(bitnet_decode(a, toks, 1, false) == BITNET_OK);
        CHECKF(rows_equal(bitnet_get_logits(a), after_rm + (s == 1 ? V : 0), V, 1),
               "sequence %d after its prefix's source was removed", s);

        /* seq_rm of a tail, then different tokens from there: as kv_truncate
         * and the same tokens alone */
        const int keep = prefix_len[s] + 1;
        CHECK(bitnet_kv_seq_rm(c, s, keep, -1) == BITNET_OK);
        CHECK(bitnet_kv_seq_pos_max(c, s) == keep - 1);
        CHECK(bitnet_kv_truncate(a, keep) == BITNET_OK);
        for (int i = 0; i < 3; i++) toks[i] = tok_of(11, keep + i, V);
        CHECK(bitnet_decode(a, toks, 3, true) == BITNET_OK);
        bitnet_batch one = bitnet_batch_init(3);
        add_tokens(&one, s, keep, 3, V, true);
        for (int i = 0; i < 3; i++) one.token[i] = toks[i];
        CHECKF(bitnet_decode_batch(c, &one) == BITNET_OK, "%s", bitnet_get_last_error());
        CHECKF(rows_equal(bitnet_get_logits(a), bitnet_get_logits(c), V, 3),
               "sequence %d: seq_rm and re-decode differ from truncating alone", s);
        bitnet_batch_free(&one);
        bitnet_context_free(a);
        kv_ok(c, "after seq_rm of a tail");
    }

    /* refusals change nothing */
    const int32_t used_now = bitnet_kv_cells_used(c);
    const bitnet_pos pm1 = bitnet_kv_seq_pos_max(c, 1);
    CHECK(bitnet_kv_seq_rm(c, 1, 2, 5) == BITNET_ERR_UNSUPPORTED); /* a gap */
    CHECK(strstr(bitnet_get_last_error(), "gap") != NULL);
    CHECK(bitnet_kv_seq_rm(c, -1, 2, 5) == BITNET_ERR_UNSUPPORTED);
    CHECK(bitnet_kv_seq_cp(c, 1, 2, 3, -1) == BITNET_ERR_INVALID_ARGUMENT); /* 2 holds 0..10 */
    CHECK(strstr(bitnet_get_last_error(), "sequence 2 holds positions 0..10") != NULL);
    CHECK(bitnet_kv_seq_rm(c, 3, -1, -1) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bitnet_get_last_error(), "sequence 3 is outside [0, 3)") != NULL);
    CHECK(bitnet_kv_seq_cp(c, 0, 7, -1, -1) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bitnet_kv_seq_pos_max(c, 9) == -1);
    CHECK(bitnet_kv_cells_used(c) == used_now && bitnet_kv_seq_pos_max(c, 1) == pm1);
    CHECK(bitnet_kv_seq_cp(c, 1, 1, -1, -1) == BITNET_OK); /* src == dst: nothing */
    CHECK(bitnet_kv_seq_rm(c, 1, 40, -1) == BITNET_OK);    /* beyond the end: nothing */
    CHECK(bitnet_kv_cells_used(c) == used_now);
    kv_ok(c, "after refusals");
    /* seq -1 clears every sequence */
    CHECK(bitnet_kv_seq_rm(c, -1, -1, -1) == BITNET_OK);
    CHECK(bitnet_kv_cells_used(c) == 0);
    for (int s = 0; s < 3; s++) CHECK(bitnet_kv_seq_pos_max(c, s) == -1);
    kv_ok(c, "after clearing");
    free(after_rm);
    bitnet_batch_free(&b);
    bitnet_context_free(c);
    printf("prefix sharing, seq_rm and refusals: ok\n");
}

/* Everything observable about the cache, to check that a refused or
 * aborted call changed nothing. */
typedef struct cache_state {
    int32_t used;
    bitnet_pos pos_max[N_SEQ];
} cache_state;

static cache_state state_of(const bitnet_context *c) {
    cache_state st = {bitnet_kv_cells_used(c), {0}};
    for (int s = 0; s < N_SEQ && s < c->kv.n_seq; s++) st.pos_max[s] = bitnet_kv_seq_pos_max(c, s);
    return st;
}

static bool same_state(const cache_state *a, const cache_state *b) {
    return memcmp(a, b, sizeof *a) == 0;
}

static void test_context_full(const bitnet_model *m) {
    const int32_t V = bitnet_model_n_vocab(m);
    setup su = {NULL, BITNET_NUMERICS_COMPAT, 1, 0};
    bitnet_context *c = new_ctx(m, &su, 2, 32);
    if (!c) return;
    CHECK(decode_seq(c, 0, 0, 20, V) == BITNET_OK);
    CHECK(decode_seq(c, 1, 0, 10, V) == BITNET_OK);
    cache_state before = state_of(c);
    bitnet_batch b = bitnet_batch_init(4);
    add_tokens(&b, 0, 20, 2, V, true);
    add_tokens(&b, 1, 10, 1, V, true);
    CHECK(bitnet_decode_batch(c, &b) == BITNET_ERR_CONTEXT_FULL);
    CHECKF(strstr(bitnet_get_last_error(), "3 tokens do not fit: 30 of 32") != NULL, "%s",
           bitnet_get_last_error());
    bitnet_token t3[3] = {1, 2, 3};
    CHECK(bitnet_decode(c, t3, 3, false) == BITNET_ERR_CONTEXT_FULL);
    cache_state after = state_of(c);
    CHECK(same_state(&before, &after));
    kv_ok(c, "after context full");
    /* two tokens still fit, and give what the sequences alone give */
    b.n_tokens = 0;
    add_tokens(&b, 1, 10, 1, V, true);
    add_tokens(&b, 0, 20, 1, V, true);
    CHECKF(bitnet_decode_batch(c, &b) == BITNET_OK, "%s", bitnet_get_last_error());
    CHECK(bitnet_kv_cells_used(c) == 32);
    for (int s = 0; s < 2; s++) {
        bitnet_context *a = new_ctx(m, &su, 1, 32);
        bitnet_token toks[32];
        const int n = s == 0 ? 20 : 10;
        for (int i = 0; i <= n; i++) toks[i] = tok_of(s, i, V);
        CHECK(bitnet_decode(a, toks, n, false) == BITNET_OK);
        CHECK(bitnet_decode(a, toks + n, 1, false) == BITNET_OK);
        CHECK(rows_equal(bitnet_get_logits(a), bitnet_get_logits_ith(c, s == 0 ? 1 : 0), V, 1));
        bitnet_context_free(a);
    }
    b.n_tokens = 0;
    add_tokens(&b, 1, 11, 1, V, true);
    CHECK(bitnet_decode_batch(c, &b) == BITNET_ERR_CONTEXT_FULL);
    bitnet_batch_free(&b);
    bitnet_context_free(c);
    printf("context full: refused, nothing changed\n");
}

/* One bad field at batch index `bad`: the status, the message naming the
 * index, and no change to the cache. */
static void expect_bad(bitnet_context *c, const bitnet_batch *b, bitnet_status want,
                       const char *needle, const char *what) {
    cache_state before = state_of(c);
    bitnet_status r = bitnet_decode_batch(c, b);
    CHECKF(r == want, "%s: status %d, want %d", what, r, want);
    CHECKF(strstr(bitnet_get_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", what,
           bitnet_get_last_error(), needle);
    cache_state after = state_of(c);
    CHECKF(same_state(&before, &after), "%s changed the cache", what);
}

static void test_bad_batches(const bitnet_model *m) {
    const int32_t V = bitnet_model_n_vocab(m);
    setup su = {NULL, BITNET_NUMERICS_COMPAT, 1, 4};
    bitnet_context *c = new_ctx(m, &su, 2, 64);
    if (!c) return;
    CHECK(decode_seq(c, 0, 0, 3, V) == BITNET_OK);
    bitnet_batch b = bitnet_batch_init(8);
    /* a good batch to spoil: seq 0 pos 3, 4; seq 1 pos 0, 1 */
#define GOOD()                                                                                     \
    do {                                                                                           \
        b.n_tokens = 0;                                                                            \
        add_tokens(&b, 0, 3, 1, V, false);                                                         \
        add_tokens(&b, 1, 0, 1, V, false);                                                         \
        add_tokens(&b, 0, 4, 1, V, false);                                                         \
        add_tokens(&b, 1, 1, 1, V, true);                                                          \
    } while (0)
    GOOD();
    b.token[2] = -1;
    expect_bad(c, &b, BITNET_ERR_INPUT, "batch index 2: token -1 is outside", "token -1");
    GOOD();
    b.token[1] = V;
    expect_bad(c, &b, BITNET_ERR_INPUT, "batch index 1: token", "token n_vocab");
    GOOD();
    b.seq_id[3] = 2;
    expect_bad(c, &b, BITNET_ERR_INPUT, "batch index 3: seq_id 2 is outside [0, 2)", "seq 2");
    GOOD();
    b.seq_id[0] = -1;
    expect_bad(c, &b, BITNET_ERR_INPUT, "batch index 0: seq_id -1", "seq -1");
    GOOD();
    b.pos[0] = 4; /* skips position 3 */
    expect_bad(c, &b, BITNET_ERR_INPUT, "batch index 0: pos 4 does not continue sequence 0",
               "pos skip");
    GOOD();
    b.pos[0] = 2; /* already in the cache */
    expect_bad(c, &b, BITNET_ERR_INPUT, "whose next position is 3", "pos back");
    GOOD();
    b.pos[2] = 3; /* the same (seq, pos) as index 0 */
    expect_bad(c, &b, BITNET_ERR_INPUT, "batch index 2: (seq_id 0, pos 3) repeats batch index 0",
               "duplicate");
    GOOD();
    b.pos[1] = 1; /* seq 1 out of order: 1 before 0 */
    b.pos[3] = 0;
    expect_bad(c, &b, BITNET_ERR_INPUT, "batch index 1: pos 1 does not continue sequence 1",
               "out of order");
    GOOD();
    for (int i = 0; i < 4; i++) b.logits[i] = 1;
    b.n_tokens = 4;
    add_tokens(&b, 1, 2, 1, V, true); /* 5 logits > n_batch 4 */
    expect_bad(c, &b, BITNET_ERR_INVALID_ARGUMENT, "5 tokens want logits, more than n_batch 4",
               "too many logits");
    GOOD();
    b.n_tokens = 0;
    expect_bad(c, &b, BITNET_ERR_INVALID_ARGUMENT, "n_tokens is 0", "empty batch");
    GOOD();
    bitnet_pos *pos = b.pos;
    b.pos = NULL;
    expect_bad(c, &b, BITNET_ERR_INVALID_ARGUMENT, "NULL", "NULL pos");
    b.pos = pos;
    CHECK(bitnet_decode_batch(NULL, &b) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bitnet_decode_batch(c, NULL) == BITNET_ERR_INVALID_ARGUMENT);
    /* the good batch itself passes; logits NULL keeps the last token's */
    GOOD();
    int8_t *flags = b.logits;
    b.logits = NULL;
    CHECKF(bitnet_decode_batch(c, &b) == BITNET_OK, "%s", bitnet_get_last_error());
    CHECK(bitnet_get_n_outputs(c) == 1);
    CHECK(bitnet_get_logits_ith(c, 3) != NULL && bitnet_get_logits_ith(c, 0) == NULL);
    CHECK(bitnet_get_logits_ith(c, -1) == bitnet_get_logits_ith(c, 3));
    CHECK(bitnet_get_logits_ith(c, 4) == NULL && bitnet_get_logits_ith(c, -2) == NULL);
    b.logits = flags;
    kv_ok(c, "after bad batches");
#undef GOOD
    bitnet_batch_free(&b);
    bitnet_context_free(c);
    printf("bad batches: refused with the batch index, nothing changed\n");
}

static bool abort_after(void *user_data) {
    int *left = user_data;
    if (*left < 0) return false;
    return (*left)-- == 0;
}

static void test_abort(const bitnet_model *m) {
    const int32_t V = bitnet_model_n_vocab(m);
    int left = -1;
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 64;
    cp.n_seq_max = 2;
    cp.n_batch = 4; /* several micro-batches: the abort comes in the second */
    cp.abort_callback = abort_after;
    cp.abort_user_data = &left;
    /* exact: the micro-batches split sequence 0's three tokens 1 + 2, which
     * in compat would round Q differently from decoding them alone */
    cp.numerics = BITNET_NUMERICS_EXACT;
    bitnet_context *c = bitnet_context_new(m, &cp);
    CHECK(c != NULL);
    if (!c) return;
    CHECK(decode_seq(c, 0, 0, 3, V) == BITNET_OK);
    cache_state before = state_of(c);
    bitnet_batch b = bitnet_batch_init(8);
    add_tokens(&b, 1, 0, 3, V, false);
    add_tokens(&b, 0, 3, 3, V, true);
    left = bitnet_model_n_layer(m) + 1; /* the second layer of the second micro-batch */
    CHECK(bitnet_decode_batch(c, &b) == BITNET_ERR_ABORTED);
    CHECK(strstr(bitnet_get_last_error(), "aborted") != NULL);
    cache_state after = state_of(c);
    CHECK(same_state(&before, &after));
    CHECK(bitnet_get_n_outputs(c) == 0 && bitnet_get_logits_ith(c, -1) == NULL);
    kv_ok(c, "after abort");
    left = -1;
    CHECKF(bitnet_decode_batch(c, &b) == BITNET_OK, "%s", bitnet_get_last_error());
    setup su = {NULL, BITNET_NUMERICS_EXACT, 0, 4};
    bitnet_context *a = new_ctx(m, &su, 1, 64);
    bitnet_token toks[6];
    for (int i = 0; i < 6; i++) toks[i] = tok_of(0, i, V);
    CHECK(bitnet_decode(a, toks, 3, false) == BITNET_OK);
    CHECK(bitnet_decode(a, toks + 3, 3, true) == BITNET_OK);
    CHECK(rows_equal(bitnet_get_logits(a), bitnet_get_logits(c), V, 3));
    bitnet_context_free(a);
    bitnet_batch_free(&b);
    bitnet_context_free(c);
    printf("abort: cache as before, the retry equals alone\n");
}

/* bitnet_decode, bitnet_n_past and bitnet_kv_truncate act on sequence 0 of a
 * multi-sequence context and keep their meaning. */
static void test_single_sequence_api(const bitnet_model *m) {
    const int32_t V = bitnet_model_n_vocab(m);
    setup su = {NULL, BITNET_NUMERICS_COMPAT, 2, 0};
    bitnet_context *c = new_ctx(m, &su, 4, N_CTX), *a = new_ctx(m, &su, 1, N_CTX);
    if (!c || !a) return;
    bitnet_token toks[8];
    for (int i = 0; i < 8; i++) toks[i] = tok_of(0, i, V);
    CHECK(decode_seq(c, 2, 0, 5, V) == BITNET_OK); /* another sequence first */
    CHECK(bitnet_decode(c, toks, 6, false) == BITNET_OK);
    CHECK(bitnet_decode(a, toks, 6, false) == BITNET_OK);
    CHECK(bitnet_get_n_outputs(c) == 1);
    CHECK(rows_equal(bitnet_get_logits_ith(a, 0), bitnet_get_logits_ith(c, 0), V, 1));
    CHECK(bitnet_get_logits_ith(c, 0) == bitnet_get_logits_ith(c, -1));
    CHECK(bitnet_n_past(c) == 6 && bitnet_kv_seq_pos_max(c, 0) == 5);
    CHECK(bitnet_kv_cells_used(c) == 11);
    CHECK(bitnet_kv_truncate(c, 2) == BITNET_OK && bitnet_kv_truncate(a, 2) == BITNET_OK);
    CHECK(bitnet_kv_truncate(c, 3) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bitnet_kv_seq_pos_max(c, 2) == 4 && bitnet_kv_cells_used(c) == 7);
    CHECK(bitnet_decode(c, toks + 2, 2, true) == BITNET_OK);
    CHECK(bitnet_decode(a, toks + 2, 2, true) == BITNET_OK);
    CHECK(rows_equal(bitnet_get_logits(a), bitnet_get_logits(c), V, 2));
    CHECK(bitnet_get_logits_ith(c, 1) == bitnet_get_logits(c) + V);
    kv_ok(c, "single-sequence calls");
    bitnet_context_free(c);
    bitnet_context_free(a);
    printf("single-sequence calls on sequence 0: unchanged\n");
}

static void test_params_and_memory(const bitnet_model *m) {
    bitnet_context_params cp = bitnet_context_default_params();
    CHECK(cp.n_seq_max == 1);
    cp.n_ctx = 256;
    cp.n_threads = 1;
    cp.n_seq_max = 65;
    CHECK(bitnet_context_new(m, &cp) == NULL);
    CHECK(strstr(bitnet_get_last_error(), "n_seq_max 65") != NULL);
    cp.n_seq_max = -1;
    CHECK(bitnet_context_new(m, &cp) == NULL);
    cp.n_seq_max = 0; /* as 1 */
    bitnet_context *c0 = bitnet_context_new(m, &cp);
    CHECK(c0 && c0->kv.n_seq == 1);
    cp.n_seq_max = 16;
    bitnet_context *c16 = bitnet_context_new(m, &cp);
    CHECK(c16 != NULL);
    if (c0 && c16) {
        /* the position -> cell map of 15 more sequences, plus a few bytes per sequence */
        const uint64_t delta = bitnet_context_memory(c16) - bitnet_context_memory(c0);
        const uint64_t map = 15ull * 256 * sizeof(int32_t);
        CHECKF(delta >= map && delta <= map + 4096, "memory grows by %llu for 15 sequences",
               (unsigned long long)delta);
    }
    bitnet_context_free(c0);
    bitnet_context_free(c16);

    bitnet_batch b = bitnet_batch_init(0);
    CHECK(!b.token && !b.pos && !b.seq_id && !b.logits && b.n_tokens == 0);
    CHECK(strstr(bitnet_get_last_error(), "n_tokens_max 0") != NULL);
    b = bitnet_batch_init(5);
    CHECK(b.token && b.pos && b.seq_id && b.logits && b.n_tokens == 0);
    for (int i = 0; b.logits && i < 5; i++) CHECK(b.logits[i] == 0);
    bitnet_batch_free(&b);
    CHECK(!b.token);
    bitnet_batch_free(&b); /* twice: harmless */
    bitnet_batch_free(NULL);
    for (long k = 0; k < 4; k++) { /* each allocation failing in turn */
        bn_alloc_fail_after(k, 0);
        b = bitnet_batch_init(5);
        bn_alloc_fail_after(-1, 0);
        CHECKF(!b.token && !b.pos && !b.seq_id && !b.logits, "allocation %ld failing", k);
        CHECK(strstr(bitnet_get_last_error(), "bitnet_batch_init(5)") != NULL);
    }
    /* context creation failing at each of its allocations in turn: NULL and
     * a message, never a crash or a leak (ASan) */
    long k = 0;
    for (;; k++) {
        bn_alloc_fail_after(k, 0);
        bitnet_context *c = bitnet_context_new(m, &cp);
        bn_alloc_fail_after(-1, 0);
        if (c) {
            bitnet_context_free(c);
            break;
        }
        CHECKF(strstr(bitnet_get_last_error(), "out of memory") != NULL, "allocation %ld: %s", k,
               bitnet_get_last_error());
    }
    CHECKF(k > 30, "context creation makes %ld allocations", k);
    printf("parameters, memory report, batch allocation: ok\n");
}

static bitnet_model *make_model(const char *name, const char *arch, uint32_t quant) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.gguf", test_tmpdir("batch"), name);
    bn_fixture_params fp;
    bn_fixture_default_params(&fp);
    fp.arch = arch;
    fp.quant = quant;
    fp.seed = 5;
    CHECK(bn_fixture_write(&fp, path, NULL) == BITNET_OK);
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    return m;
}

int main(void) {
    /* tiny: 4 query heads on 2 KV heads (grouped-query attention) */
    bitnet_model *i2s = make_model("tiny-i2s", "bitnet", BN_TYPE_I2_S);
    bitnet_model *f32 = make_model("tiny-f32", "bitnet-b1.58", BN_TYPE_F32);
    if (!i2s || !f32) TEST_END();
    test_together_equals_alone(i2s, "i2_s");
    test_together_equals_alone(f32, "f32");
    test_prefix_sharing(i2s);
    test_context_full(i2s);
    test_bad_batches(i2s);
    test_abort(i2s);
    test_single_sequence_api(i2s);
    test_params_and_memory(i2s);
    bitnet_model_free(i2s);
    bitnet_model_free(f32);
    TEST_END();
}
