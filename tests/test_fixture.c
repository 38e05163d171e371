/* The fixture generator: determinism (same arguments, same bytes; another
 * seed, another file), every architecture and weight type loads and runs,
 * I2_S bytes decode to the same weights as the F32 variant, prefill equals
 * one-at-a-time decode, peaked fixtures keep their margin and their layers
 * matter (ablation), the synthetic vocabularies tokenize, --vocab-from
 * copies a vocabulary, and bad shapes are refused with exit 2. */
#include <math.h>

#include "bitnet.h"
#include "fixture.h"
#include "gguf.h"
#include "quantize.h"
#include "testutil.h"
#include "types.h"

static const char *dir;

static const char *path_of(const char *name) {
    static char buf[8][4096];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static bool same_bytes(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static int cli(const char *args, char *out, size_t cap) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' fixture %s 2>&1", test_env("BITNET_BIN", "bin/bitnet"), args);
    return test_run(cmd, out, cap);
}

/* ------------------------------------------------------------------------- */

static void test_pack_roundtrip(void) {
    /* 384 codes: three 128-blocks */
    enum { N = 384 };
    int8_t codes[N];
    for (int i = 0; i < N; i++) codes[i] = (int8_t)((i * 7 + i / 5) % 3 - 1);
    uint8_t buf[N / 4 + 32];
    CHECK(bn_i2s_nbytes(N) == sizeof buf);
    memset(buf, 0xff, sizeof buf);
    CHECK(bn_quantize_ternary(codes, N, 0.375f, BN_TYPE_I2_S, buf) == BITNET_OK);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += bn_i2s_code(buf, i) != codes[i] + 1;
    CHECKF(bad == 0, "%d codes differ", bad);
    float s;
    memcpy(&s, buf + N / 4, 4);
    CHECK(s == 0.375f);
    for (int i = N / 4 + 4; i < N / 4 + 32; i++) CHECK(buf[i] == 0);
    /* a partial block does not fit in n/4 bytes: refused */
    CHECK(bn_quantize_ternary(codes, 300, 1.0f, BN_TYPE_I2_S, buf) == BITNET_ERR_INVALID_ARGUMENT);
    /* value j of a block sits in byte j % 32 at bits 6 - 2*(j/32) */
    int8_t one[128] = {0};
    one[33] = 1; /* byte 1, bits 5..4 */
    uint8_t b2[64];
    bn_i2s_pack(one, 128, 1.0f, b2);
    CHECK(b2[1] == (uint8_t)((1 << 6) | (2 << 4) | (1 << 2) | 1));
    CHECK(b2[0] == 0x55);

    /* absmean (spec 1.1): gamma = mean|w| = 0.5; w/gamma rounds half to even */
    const float w[8] = {1.0f, -0.25f, 0.25f, 0.0f, -1.0f, 0.5f, 0.75f, -0.25f};
    int8_t t[8];
    float scale;
    bn_ternarize_absmean(w, 8, t, &scale);
    const int8_t expect[8] = {1, 0, 0, 0, -1, 1, 1, 0};
    CHECK(memcmp(t, expect, 8) == 0);
    CHECK(scale == 0.5f);
    bn_ternarize_presigned((const float[4]){0.5f, -0.5f, 0.0f, 0.5f}, 4, t, &scale);
    CHECK(t[0] == 1 && t[1] == -1 && t[2] == 0 && t[3] == 1 && scale == 0.5f);
}

static void test_determinism(void) {
    char out[4096];
    char args[1024];
    const char *variants[] = {"--kind random", "--kind peaked --margin-tokens 16",
                              "--arch llama --quant f16 --vocab bpe"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "%s --seed 7 -q -o '%s'", variants[i], path_of("det-a.gguf"));
        CHECKF(cli(args, out, sizeof out) == 0, "%s: %s", variants[i], out);
        snprintf(args, sizeof args, "%s --seed 7 -q -o '%s'", variants[i], path_of("det-b.gguf"));
        CHECKF(cli(args, out, sizeof out) == 0, "%s: %s", variants[i], out);
        CHECKF(same_bytes(path_of("det-a.gguf"), path_of("det-b.gguf")), "%s: files differ",
               variants[i]);
        snprintf(args, sizeof args, "%s --seed 8 -q -o '%s'", variants[i], path_of("det-c.gguf"));
        CHECKF(cli(args, out, sizeof out) == 0, "%s: %s", variants[i], out);
        CHECKF(!same_bytes(path_of("det-a.gguf"), path_of("det-c.gguf")),
               "%s: seed 7 and seed 8 give the same file", variants[i]);
    }
    /* the library gives the same bytes as the CLI */
    bn_fixture_params p;
    bn_fixture_default_params(&p);
    p.seed = 7;
    CHECK(bn_fixture_write(&p, path_of("det-lib.gguf"), NULL) == BITNET_OK);
    snprintf(args, sizeof args, "--seed 7 -q -o '%s'", path_of("det-cli.gguf"));
    CHECK(cli(args, out, sizeof out) == 0);
    CHECK(same_bytes(path_of("det-lib.gguf"), path_of("det-cli.gguf")));
}

/* Loads, runs 6 tokens, checks the logits are finite, spread and not huge. */
static void run_fixture(const char *path, const char *what) {
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s: %s", what, bitnet_get_last_error());
    if (!m) return;
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 32;
    cp.n_threads = 1;
    bitnet_context *c = bitnet_context_new(m, &cp);
    CHECK(c != NULL);
    const int32_t V = bitnet_model_n_vocab(m);
    bitnet_token toks[6] = {1, 300, 301, 302, 303, 304};
    CHECK(bitnet_decode(c, toks, 6, true) == BITNET_OK);
    for (int t = 0; t < 6; t++) {
        const float *lg = bitnet_get_logits_ith(c, t);
        double sum = 0, sq = 0, max = 0;
        bool finite = true;
        for (int32_t v = 0; v < V; v++) {
            finite = finite && isfinite(lg[v]);
            sum += lg[v];
            sq += (double)lg[v] * lg[v];
            if (fabs(lg[v]) > max) max = fabs(lg[v]);
        }
        const double sd = sqrt(sq / V - (sum / V) * (sum / V));
        CHECKF(finite && sd > 0.5 && max < 200, "%s: position %d: logit sd %.3f, max |logit| %.1f",
               what, t, sd, max);
    }
    bitnet_context_free(c);
    bitnet_model_free(m);
}

static void test_archs_and_types(void) {
    const char *archs[] = {"bitnet", "bitnet-b1.58", "llama"};
    const uint32_t quants[] = {BN_TYPE_I2_S, BN_TYPE_F16, BN_TYPE_F32};
    for (int a = 0; a < 3; a++)
        for (int q = 0; q < 3; q++)
            for (int kind = 0; kind < 2; kind++) {
                bn_fixture_params p;
                bn_fixture_default_params(&p);
                p.arch = archs[a];
                p.quant = quants[q];
                p.kind = (bn_fixture_kind)kind;
                p.margin_tokens = 0;
                p.vocab = (a + q) % 2 ? BN_VOCAB_BPE : BN_VOCAB_SPM;
                char what[128];
                snprintf(what, sizeof what, "%s/%u/%s", archs[a], quants[q],
                         kind ? "peaked" : "random");
                const char *path = path_of("arch.gguf");
                bitnet_status st = bn_fixture_write(&p, path, NULL);
                CHECKF(st == BITNET_OK, "%s: %s", what, bitnet_get_last_error());
                if (!st) run_fixture(path, what);
            }
}

/* The same seed in I2_S and F32: the I2_S codes times the I2_S scale equal
 * the F32 weights exactly, for every projection; no code is 3; tails zero. */
static void test_i2s_decodes(void) {
    bn_fixture_params p;
    bn_fixture_default_params(&p);
    p.seed = 3;
    const char *pi = path_of("i2s.gguf"), *pf = path_of("f32.gguf");
    CHECK(bn_fixture_write(&p, pi, NULL) == BITNET_OK);
    p.quant = BN_TYPE_F32;
    CHECK(bn_fixture_write(&p, pf, NULL) == BITNET_OK);
    bn_gguf *gi = NULL, *gf = NULL;
    CHECK(bn_gguf_open(pi, true, &gi) == BITNET_OK);
    CHECK(bn_gguf_open(pf, true, &gf) == BITNET_OK);
    if (!gi || !gf) return;
    int n_i2s = 0, bad = 0, n_codes[3] = {0};
    for (uint64_t i = 0; i < gi->n_tensors; i++) {
        const bn_gguf_tensor *t = &gi->tensors[i];
        if (t->type != BN_TYPE_I2_S) continue;
        n_i2s++;
        const bn_gguf_tensor *f = bn_gguf_find_tensor(gf, t->name);
        CHECKF(f && f->type == BN_TYPE_F32 && f->ne[0] == t->ne[0] && f->ne[1] == t->ne[1], "%s",
               t->name);
        if (!f) continue;
        const int64_t n = t->ne[0] * t->ne[1];
        float scale;
        memcpy(&scale, t->data + n / 4, 4);
        CHECKF(isfinite(scale) && scale > 0, "%s: scale %g", t->name, (double)scale);
        for (int k = 4; k < 32; k++) bad += t->data[n / 4 + k] != 0;
        const float *w = (const float *)f->data;
        for (int64_t e = 0; e < n; e++) {
            const int code = bn_i2s_code(t->data, e);
            if (code == 3 || (float)(code - 1) * scale != w[e])
                bad++;
            else
                n_codes[code]++;
        }
    }
    CHECK(n_i2s == 2 * 7);
    CHECKF(bad == 0, "%d I2_S values differ from the F32 fixture", bad);
    /* random codes: each of -1, 0, +1 about a third of the time */
    const int total = n_codes[0] + n_codes[1] + n_codes[2];
    for (int c = 0; c < 3; c++)
        CHECKF(fabs((double)n_codes[c] / total - 1.0 / 3) < 0.01, "code %d: %d of %d", c,
               n_codes[c], total);
    const bn_gguf_kv *ft = bn_gguf_find(gi, "general.file_type");
    CHECK(ft && bn_gguf_arr_i64(ft, 0) == 40);
    bn_gguf_close(gi);
    bn_gguf_close(gf);
}

/* Prompt of 8 tokens in one call against 8 calls of one token. Exact
 * numerics: within 1e-4 of the largest |logit| (they are in fact equal).
 * Compat numerics round Q to F16 for multi-token batches only, as
 * bitnet.cpp's x86 build does (attention.c), and the int8 activation
 * quantization amplifies that; the bound there is 5%. */
static double prefill_vs_decode(const bitnet_model *m, bitnet_numerics numerics) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 16;
    cp.n_threads = 1;
    cp.numerics = numerics;
    bitnet_context *a = bitnet_context_new(m, &cp), *b = bitnet_context_new(m, &cp);
    const int32_t V = bitnet_model_n_vocab(m);
    const bitnet_token toks[8] = {1, 260, 300, 310, 400, 411, 500, 263};
    CHECK(bitnet_decode(a, toks, 8, true) == BITNET_OK);
    double worst = 0;
    for (int t = 0; t < 8; t++) {
        CHECK(bitnet_decode(b, &toks[t], 1, false) == BITNET_OK);
        const float *la = bitnet_get_logits_ith(a, t), *lb = bitnet_get_logits_ith(b, -1);
        double max = 0, diff = 0;
        for (int32_t v = 0; v < V; v++) {
            if (fabs(la[v]) > max) max = fabs(la[v]);
            if (fabs(la[v] - lb[v]) > diff) diff = fabs(la[v] - lb[v]);
        }
        if (diff / max > worst) worst = diff / max;
    }
    bitnet_context_free(a);
    bitnet_context_free(b);
    return worst;
}

static void test_prefill_vs_decode(void) {
    bn_fixture_params p;
    bn_fixture_default_params(&p);
    const char *path = path_of("prefill.gguf");
    CHECK(bn_fixture_write(&p, path, NULL) == BITNET_OK);
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECK(m != NULL);
    if (!m) return;
    const double exact = prefill_vs_decode(m, BITNET_NUMERICS_EXACT);
    const double compat = prefill_vs_decode(m, BITNET_NUMERICS_COMPAT);
    printf("prefill vs decode, largest difference relative to max |logit|: exact %.3g, compat "
           "%.3g\n",
           exact, compat);
    CHECKF(exact <= 1e-4, "exact: prefill and decode differ by %.3g (relative)", exact);
    CHECKF(compat <= 0.05, "compat: prefill and decode differ by %.3g (relative)", compat);
    bitnet_model_free(m);
}

/* Teacher-forces `seq` through a model; returns all logits [n][V]. */
static float *forced_logits(const char *path, const bitnet_token *seq, int n, int32_t *V) {
    bitnet_model *m = bitnet_model_load(path, NULL);
    if (!m) return NULL;
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = n + 1;
    cp.n_batch = n;
    cp.n_threads = 1;
    bitnet_context *c = bitnet_context_new(m, &cp);
    *V = bitnet_model_n_vocab(m);
    float *out = malloc(sizeof(float) * (size_t)n * (size_t)*V);
    if (c && out && bitnet_decode(c, seq, n, true) == BITNET_OK)
        memcpy(out, bitnet_get_logits(c), sizeof(float) * (size_t)n * (size_t)*V);
    else {
        free(out);
        out = NULL;
    }
    bitnet_context_free(c);
    bitnet_model_free(m);
    return out;
}

typedef struct effect {
    double rms;         /* RMS of the logit change over the scored positions */
    double max;         /* largest |change| */
    int argmax_changes; /* positions whose argmax differs */
    double min_margin;  /* smallest lead of a's argmax in b's logits (< 0: lost) */
} effect;

static effect compare(const float *a, const float *b, int from, int n, int32_t V) {
    effect e = {.min_margin = INFINITY};
    double sq = 0;
    for (int t = from; t < n; t++) {
        int ia = 0, ib = 0;
        for (int32_t v = 0; v < V; v++) {
            const double d = a[(size_t)t * V + v] - b[(size_t)t * V + v];
            sq += d * d;
            if (fabs(d) > e.max) e.max = fabs(d);
            if (a[(size_t)t * V + v] > a[(size_t)t * V + ia]) ia = v;
            if (b[(size_t)t * V + v] > b[(size_t)t * V + ib]) ib = v;
        }
        e.argmax_changes += ia != ib;
        double lead = INFINITY;
        for (int32_t v = 0; v < V; v++)
            if (v != ia) lead = fmin(lead, (double)b[(size_t)t * V + ia] - b[(size_t)t * V + v]);
        e.min_margin = fmin(e.min_margin, lead);
    }
    e.rms = sqrt(sq / ((double)(n - from) * V));
    return e;
}

static void test_peaked(void) {
    const char *archs[] = {"bitnet", "bitnet-b1.58", "llama"};
    for (int a = 0; a < 3; a++) {
        bn_fixture_params p;
        bn_fixture_default_params(&p);
        p.arch = archs[a];
        p.kind = BN_FIXTURE_PEAKED;
        p.n_threads = 1;
        const char *path = path_of("peaked.gguf");
        bn_fixture_result r;
        CHECK(bn_fixture_write(&p, path, &r) == BITNET_OK);
        printf("peaked %s tiny: min margin %.3f at step %d, %d/%d steps follow the cycle\n",
               archs[a], (double)r.min_margin, r.min_margin_step, r.n_follow, r.n_steps);
        CHECKF(r.measured && r.min_margin >= 4.0f, "%s: min margin %.3f < 4", archs[a],
               (double)r.min_margin);
        CHECK(r.n_follow == r.n_steps && r.n_steps == 64);
        bitnet_model *m = bitnet_model_load(path, NULL);
        char buf[64];
        CHECK(m && bitnet_model_meta_str(m, "bitnet.fixture.min_margin", buf, sizeof buf) > 0);
        CHECKF(m && fabs(atof(buf) - floor(r.min_margin * 100.0) / 100.0) < 1e-4, "stored %s", buf);
        bitnet_model_free(m);

        /* the greedy sequence from the margin prompt, teacher-forced through
         * the fixture with one component zeroed */
        enum { N_GEN = 32 };
        bitnet_token seq[8 + N_GEN];
        const int np = bn_fixture_margin_prompt(path, seq, 8);
        CHECK(bn_fixture_greedy(path, seq, np, N_GEN, 1, seq + np, NULL) == BITNET_OK);
        const int n = np + N_GEN - 1; /* the last token is not scored */
        int32_t V = 0;
        float *base = forced_logits(path, seq, n, &V);
        CHECK(base != NULL);
        const char *what[2] = {"attention", "FFN"};
        for (int comp = 0; comp < 2 && base; comp++) {
            p.ablate_attn = comp == 0 ? 0 : -1;
            p.ablate_ffn = comp == 1 ? 0 : -1;
            p.margin_tokens = 0;
            const char *ab = path_of("ablated.gguf");
            CHECK(bn_fixture_write(&p, ab, NULL) == BITNET_OK);
            float *other = forced_logits(ab, seq, n, &V);
            CHECK(other != NULL);
            if (!other) continue;
            effect e = compare(base, other, np - 1, n, V);
            printf("  without layer 0 %s: logit change rms %.3f, max %.3f, argmax changed at "
                   "%d of %d positions, min margin %.3f\n",
                   what[comp], e.rms, e.max, e.argmax_changes, n - np + 1, e.min_margin);
            /* "substantial": some logit moves by more than one unit (the
             * logits' own spread is ~3), or the argmax changes */
            CHECKF(e.argmax_changes > 0 || e.max > 1.0,
                   "%s: zeroing layer 0 %s hardly changes the logits", archs[a], what[comp]);
            free(other);
        }
        free(base);
    }
}

static void test_vocabs(void) {
    const char *texts[] = {"Once upon a time", "The quick brown fox, 42 times!",
                           "héllo wörld\n\tend"};
    for (int k = 0; k < 2; k++) {
        bn_fixture_params p;
        bn_fixture_default_params(&p);
        p.vocab = k ? BN_VOCAB_BPE : BN_VOCAB_SPM;
        p.n_vocab = 2000;
        const char *path = path_of(k ? "bpe.gguf" : "spm.gguf");
        CHECK(bn_fixture_write(&p, path, NULL) == BITNET_OK);
        bitnet_model_params mp = bitnet_model_default_params();
        mp.vocab_only = true;
        bitnet_model *m = bitnet_model_load(path, &mp);
        CHECKF(m != NULL, "%s: %s", path, bitnet_get_last_error());
        if (!m) continue;
        CHECK(bitnet_model_n_vocab(m) == 2000);
        for (int i = 0; i < 3; i++) {
            bitnet_token toks[256];
            int32_t n = bitnet_tokenize(m, texts[i], -1, toks, 256, false, false);
            CHECKF(n > 0 && n < (int32_t)strlen(texts[i]), "%s: '%s' gives %d tokens", path,
                   texts[i], n);
            char back[512];
            int32_t len =
                n > 0 ? bitnet_detokenize(m, toks, n, back, sizeof back, false, false) : -1;
            CHECKF(len >= 0 && (size_t)len == strlen(texts[i]) &&
                       !memcmp(back, texts[i], (size_t)len),
                   "%s: '%s' does not round-trip", path, texts[i]);
        }
        bitnet_model_free(m);
    }
    /* --vocab-from: the vocabulary and its size come from the other file */
    bn_fixture_params p;
    bn_fixture_default_params(&p);
    p.vocab_from = path_of("bpe.gguf");
    p.kind = BN_FIXTURE_PEAKED;
    p.margin_tokens = 8;
    bn_fixture_result r;
    CHECKF(bn_fixture_write(&p, path_of("from.gguf"), &r) == BITNET_OK, "%s",
           bitnet_get_last_error());
    CHECK(r.n_vocab == 2000);
    bitnet_model *m = bitnet_model_load(path_of("from.gguf"), NULL);
    CHECK(m && bitnet_model_n_vocab(m) == 2000);
    char buf[64];
    CHECK(m && bitnet_model_meta_str(m, "tokenizer.ggml.model", buf, sizeof buf) > 0 &&
          !strcmp(buf, "gpt2"));
    bitnet_model_free(m);
}

static void test_cli_errors(void) {
    char out[4096];
    const struct {
        const char *args, *needle;
    } cases[] = {
        {"--n-embd 192 --n-head 4", "--n-embd"}, /* not a multiple of 128 for i2_s */
        {"--n-embd 100", "multiple of 128"},
        {"--n-ff 200", "--n-ff"},         /* same */
        {"--n-head 3", "--n-embd"},       /* 128 % 3 */
        {"--n-head-kv 3", "--n-head-kv"}, /* 4 % 3 */
        {"--preset huge", "--preset"},
        {"--kind wobbly", "--kind"},
        {"--quant q4_0", "--quant"},
        {"--arch gpt9", "--arch"},
        {"--n-vocab 10", "--n-vocab"},
        {"--n-layer 0", "--n-layer"},
        {"--kind peaked --quant f32 --n-embd 32 --n-head 2 --n-ff 64", "--n-embd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[512];
        snprintf(args, sizeof args, "%s -o '%s'", cases[i].args, path_of("bad.gguf"));
        int rc = cli(args, out, sizeof out);
        CHECKF(rc == 2 && strstr(out, cases[i].needle), "'%s': exit %d, message: %s", cases[i].args,
               rc, out);
    }
    /* a shape that is fine for f32 but not for i2_s */
    char args[512];
    snprintf(args, sizeof args, "--n-embd 96 --n-head 4 --n-ff 200 --quant f32 -q -o '%s'",
             path_of("odd.gguf"));
    CHECKF(cli(args, out, sizeof out) == 0, "%s", out);
    run_fixture(path_of("odd.gguf"), "f32 96x200");
}

int main(void) {
    dir = test_tmpdir("fixture");
    test_pack_roundtrip();
    test_determinism();
    test_archs_and_types();
    test_i2s_decodes();
    test_prefill_vs_decode();
    test_peaked();
    test_vocabs();
    test_cli_errors();
    TEST_END();
}
