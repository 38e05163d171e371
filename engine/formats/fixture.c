/* The fixture generator (fixture.h, docs/fixtures.md).
 *
 * Peaked construction. Let E = n_embd, h = E/2; the residual is split into an
 * "input" half A = dims [0, h) and an "output" half B = dims [h, E).
 *   - Every token v has a random sign code A_v in {-1,+1}^h with A_v[0] = +1
 *     (a constant dimension the FFN gate reads).
 *   - The pieces of the vocabulary (the "domain") form one random cycle pi.
 *     Token v's embedding is a·[A_v, A_pred(v)] where pred = pi^-1; a token
 *     outside the domain (bytes, control tokens) borrows the A code of a
 *     domain token and gets a random B half.
 *   - The FFN of each layer copies A into B: gate reads the constant dim (so
 *     act(gate) is one positive number, removed by the sub-norm), up row j
 *     reads A dim 1 + j mod (h-1), down writes that value into B dim
 *     h + 1 + j mod (h-1). Summed over the layers the copy adds about 4a·A_cur
 *     to the B half.
 *   - With the tied head, logit(u) ~ E_u · x: the copy term makes
 *     B_u·A_cur = h for u = pi(cur) (B_pi(cur) = A_cur) and ~sqrt(h) for every
 *     other u, four times stronger than the "self" terms A_u·A_cur and
 *     B_u·B_cur that favour u = cur. So greedy decoding walks the cycle.
 *   - Attention (random q, k, v) writes only into B through a random wo at a
 *     per-dimension RMS of about 2a: it moves every logit by a bounded,
 *     position-dependent amount, so a KV-cache or RoPE error shows in the
 *     logits without deciding the argmax.
 * The copy runs on int8-quantized activations whose values are all ±(1 ± 2/64)
 * and on exact ternary weights, so it is accurate to about 1%. The margin is
 * then measured with the engine itself (bn_fixture_greedy) and recorded. */
#include "fixture.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "arch.h"
#include "error.h"
#include "f16.h"
#include "gguf.h"
#include "gguf_export.h"
#include "i2s_blocks.h"
#include "model.h"
#include "quantize.h"
#include "synth_vocab.h"
#include "tl_export.h"
#include "tl_load.h"
#include "tl_presets.h"
#include "types.h"

/* ---------------------------------------------------------------------------
 * Counter-based PRNG: value i of stream `key` is splitmix64's output mix of
 * key + (i+1)·golden. No state, so any element can be computed alone.
 * ------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t key, uint64_t i) {
    return mix64(key + (i + 1) * 0x9e3779b97f4a7c15ull);
}

/* The stream of a named object: FNV-1a of the name, mixed with the seed. */
static uint64_t stream_key(uint64_t seed, const char *name) {
    uint64_t hsh = 0xcbf29ce484222325ull;
    for (const char *s = name; *s; s++) hsh = (hsh ^ (uint8_t)*s) * 0x100000001b3ull;
    return mix64(seed ^ mix64(hsh));
}

static int8_t rnd_ternary(uint64_t key, uint64_t i) { return (int8_t)(rnd(key, i) % 3) - 1; }
static int8_t rnd_sign(uint64_t key, uint64_t i) { return (rnd(key, i) >> 63) ? 1 : -1; }

/* Largest power of two <= x (x > 0): exact. */
static double pow2_floor(double x) {
    int e;
    frexp(x, &e); /* x = f·2^e, f in [0.5, 1) */
    return ldexp(1.0, e - 1);
}

/* x rounded to 4 significant bits (m·2^k, m in 8..16): exact in F16 for
 * the ranges used here, and the same on every IEEE machine. */
static float round_scale(double x) {
    int e;
    double f = frexp(x, &e);
    return (float)ldexp(rint(f * 16.0), e - 4);
}

/* The scale that makes a random ternary row of K inputs (2/3 non-zero) map
 * unit-RMS inputs to unit-RMS outputs: 1/sqrt(2K/3). sqrt is correctly
 * rounded by IEEE 754, so this is deterministic too. */
static double unit_scale(int64_t K) { return 1.0 / sqrt(2.0 * (double)K / 3.0); }

/* ---------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------- */

typedef struct preset {
    const char *name;
    int32_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx;
    float rope_base;
} preset;

static const preset presets[] = {
    {"tiny", 128, 384, 2, 4, 2, 512, 256, 10000.0f},
    {"small", 256, 768, 4, 4, 4, 4096, 512, 10000.0f},
    /* bitnet_b1_58-large (spec 1.9); 32000 pieces with an SPM vocabulary */
    {"700m", 1536, 4096, 24, 16, 16, 32000, 2048, 10000.0f},
    /* BitNet-b1.58-2B-4T (spec 1.9, 2.6) */
    {"2b4t", 2560, 6912, 30, 20, 5, 128256, 4096, 500000.0f},
};

const char *bn_fixture_preset_list(void) { return "tiny, small, 700m, 2b4t"; }

bool bn_fixture_apply_preset(const char *name, bn_fixture_params *p) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const preset *s = &presets[i];
        if (strcmp(s->name, name) != 0) continue;
        p->n_embd = s->n_embd;
        p->n_ff = s->n_ff;
        p->n_layer = s->n_layer;
        p->n_head = s->n_head;
        p->n_head_kv = s->n_head_kv;
        p->n_vocab = s->n_vocab;
        p->n_ctx = s->n_ctx;
        p->rope_base = s->rope_base;
        if (!strcmp(name, "2b4t")) {
            p->arch = "bitnet-b1.58";
            p->vocab = BN_VOCAB_BPE;
        }
        return true;
    }
    return false;
}

void bn_fixture_default_params(bn_fixture_params *p) {
    memset(p, 0, sizeof *p);
    p->arch = "bitnet";
    p->kind = BN_FIXTURE_RANDOM;
    bn_fixture_apply_preset("tiny", p);
    p->rms_eps = 1e-5f;
    p->quant = BN_TYPE_I2_S;
    p->vocab = BN_VOCAB_SPM;
    p->ablate_attn = -1;
    p->ablate_ffn = -1;
    p->margin_tokens = 64;
}

static const char *quant_name(uint32_t t) {
    return t == BN_TYPE_I2_S    ? "i2_s"
           : t == BN_TYPE_TQ1_0 ? "tq1_0"
           : t == BN_TYPE_TQ2_0 ? "tq2_0"
           : t == BN_TYPE_F16   ? "f16"
           : t == BN_TYPE_F32   ? "f32"
           : t == BN_TYPE_TL1   ? "tl1"
           : t == BN_TYPE_TL2   ? "tl2"
                                : "?";
}

static bool is_tl(uint32_t t) { return t == BN_TYPE_TL1 || t == BN_TYPE_TL2; }

static bool is_tq(uint32_t t) { return t == BN_TYPE_TQ1_0 || t == BN_TYPE_TQ2_0; }

#define BAD(...) bn_fail(BITNET_ERR_INVALID_ARGUMENT, __VA_ARGS__)

bitnet_status bn_fixture_check(const bn_fixture_params *p) {
    const bn_arch *arch = p->arch ? bn_arch_find(p->arch) : NULL;
    if (!arch) return BAD("--arch %s: not one of %s", p->arch ? p->arch : "(none)", bn_arch_list());
    if (p->kind != BN_FIXTURE_RANDOM && p->kind != BN_FIXTURE_PEAKED)
        return BAD("--kind: must be random or peaked");
    if (p->quant != BN_TYPE_I2_S && p->quant != BN_TYPE_F16 && p->quant != BN_TYPE_F32 &&
        !is_tq(p->quant) && !is_tl(p->quant))
        return BAD("--quant: must be i2_s, tq1_0, tq2_0, tl1, tl2, f16 or f32");
    if (p->i2s_block != 0 && p->i2s_block != 64 && p->i2s_block != 128)
        return BAD("--i2s-block %d: must be 64 or 128", p->i2s_block);
    if (p->i2s_block == 64 && p->quant != BN_TYPE_I2_S)
        return BAD("--i2s-block 64 needs --quant i2_s");
    if (is_tl(p->quant) &&
        (p->n_embd % BN_I2S_BLOCK != 0 || p->n_ff % BN_I2S_BLOCK != 0 || p->block_scales))
        return BAD("--n-embd %d / --n-ff %d: both must be multiples of 128 for --quant %s (the "
                   "loader repacks it for the 128-value I2_S kernels), without --block-scales",
                   p->n_embd, p->n_ff, quant_name(p->quant));
    if (p->n_embd < 2 || p->n_embd > 65536)
        return BAD("--n-embd %d: must be in [2, 65536]", p->n_embd);
    if (p->n_ff < 1 || p->n_ff > 1 << 20) return BAD("--n-ff %d: must be in [1, 1048576]", p->n_ff);
    if (p->n_layer < 1 || p->n_layer > 4096)
        return BAD("--n-layer %d: must be in [1, 4096]", p->n_layer);
    if (p->quant == BN_TYPE_I2_S && p->n_embd % BN_I2S_BLOCK != 0)
        return BAD("--n-embd %d is not a multiple of 128, required by --quant i2_s (the kernels "
                   "work on 128-value blocks)",
                   p->n_embd);
    if (p->quant == BN_TYPE_I2_S && p->n_ff % BN_I2S_BLOCK != 0)
        return BAD("--n-ff %d is not a multiple of 128, required by --quant i2_s", p->n_ff);
    if (is_tq(p->quant) && (p->n_embd % BN_QK_K != 0 || p->n_ff % BN_QK_K != 0))
        return BAD("--n-embd %d / --n-ff %d: both must be multiples of 256, required by --quant "
                   "%s (256-value blocks)",
                   p->n_embd, p->n_ff, quant_name(p->quant));
    if (p->block_scales && p->quant == BN_TYPE_I2_S)
        return BAD("--block-scales needs --quant tq1_0, tq2_0, f16 or f32 (i2_s has one scale per "
                   "tensor)");
    if (p->block_scales && (p->n_embd % BN_QK_K != 0 || p->n_ff % BN_QK_K != 0))
        return BAD("--block-scales: --n-embd %d and --n-ff %d must be multiples of 256", p->n_embd,
                   p->n_ff);
    if (p->n_head < 1 || p->n_head > p->n_embd)
        return BAD("--n-head %d: must be in [1, n_embd]", p->n_head);
    if (p->n_embd % p->n_head != 0)
        return BAD("--n-embd %d is not a multiple of --n-head %d", p->n_embd, p->n_head);
    const int32_t head_dim = p->n_embd / p->n_head;
    if (head_dim % 2 != 0 || head_dim > 1024)
        return BAD("--n-embd %d / --n-head %d: the head dimension %d must be even and at most "
                   "1024 (RoPE rotates pairs)",
                   p->n_embd, p->n_head, head_dim);
    if (p->n_head_kv < 1 || p->n_head_kv > p->n_head || p->n_head % p->n_head_kv != 0)
        return BAD("--n-head-kv %d: must divide --n-head %d", p->n_head_kv, p->n_head);
    if (p->n_ctx < 8 || p->n_ctx > 1 << 24)
        return BAD("--ctx %d: must be in [8, 16777216]", p->n_ctx);
    if (!(p->rope_base > 1.0f) || !isfinite(p->rope_base))
        return BAD("--rope-base %g: must be a finite number > 1", (double)p->rope_base);
    if (!(p->rms_eps > 0.0f && p->rms_eps < 1.0f))
        return BAD("rms eps %g: must be in (0, 1)", (double)p->rms_eps);
    if (!p->vocab_from && (p->n_vocab < BN_SYNTH_VOCAB_MIN || p->n_vocab > BN_SYNTH_VOCAB_MAX))
        return BAD("--n-vocab %d: a synthetic vocabulary has %d to %d tokens", p->n_vocab,
                   BN_SYNTH_VOCAB_MIN, BN_SYNTH_VOCAB_MAX);
    if (p->vocab != BN_VOCAB_SPM && p->vocab != BN_VOCAB_BPE)
        return BAD("--vocab: must be spm or bpe");
    if (p->kind == BN_FIXTURE_PEAKED && p->n_embd < 64)
        return BAD("--n-embd %d: a peaked fixture needs n_embd >= 64 (the margin grows with "
                   "n_embd/2)",
                   p->n_embd);
    if (p->ablate_attn < -1 || p->ablate_attn >= p->n_layer)
        return BAD("--ablate-attn %d: no such layer", p->ablate_attn);
    if (p->ablate_ffn < -1 || p->ablate_ffn >= p->n_layer)
        return BAD("--ablate-ffn %d: no such layer", p->ablate_ffn);
    if (p->margin_tokens < 0 || p->margin_tokens + 8 > p->n_ctx)
        return BAD("--margin-tokens %d: must be in [0, ctx - 8]", p->margin_tokens);
    return BITNET_OK;
}

int bn_fixture_args(const bn_fixture_params *p, char *buf, size_t size) {
    const char *vf = p->vocab_from ? strrchr(p->vocab_from, '/') : NULL;
    vf = vf ? vf + 1 : p->vocab_from;
    char vocab[300];
    if (vf)
        snprintf(vocab, sizeof vocab, "--vocab-from %s", vf);
    else
        snprintf(vocab, sizeof vocab, "--vocab %s --n-vocab %d",
                 p->vocab == BN_VOCAB_BPE ? "bpe" : "spm", p->n_vocab);
    int n = snprintf(buf, size,
                     "--arch %s --kind %s --n-embd %d --n-ff %d --n-layer %d --n-head %d "
                     "--n-head-kv %d --ctx %d --rope-base %.9g --seed %" PRIu64 " --quant %s %s",
                     p->arch, p->kind == BN_FIXTURE_PEAKED ? "peaked" : "random", p->n_embd,
                     p->n_ff, p->n_layer, p->n_head, p->n_head_kv, p->n_ctx, (double)p->rope_base,
                     p->seed, quant_name(p->quant), vocab);
    if (n >= 0 && (size_t)n < size && p->ablate_attn >= 0)
        n += snprintf(buf + n, size - (size_t)n, " --ablate-attn %d", p->ablate_attn);
    if (n >= 0 && (size_t)n < size && p->ablate_ffn >= 0)
        n += snprintf(buf + n, size - (size_t)n, " --ablate-ffn %d", p->ablate_ffn);
    if (n >= 0 && (size_t)n < size && p->block_scales)
        n += snprintf(buf + n, size - (size_t)n, " --block-scales");
    if (n >= 0 && (size_t)n < size && p->pow2_scales)
        n += snprintf(buf + n, size - (size_t)n, " --pow2-scales");
    if (n >= 0 && (size_t)n < size && p->i2s_block == 64)
        n += snprintf(buf + n, size - (size_t)n, " --i2s-block 64");
    if (n >= 0 && (size_t)n < size && p->no_layout_keys)
        n += snprintf(buf + n, size - (size_t)n, " --no-layout-keys");
    return n;
}

/* ---------------------------------------------------------------------------
 * Generator state
 * ------------------------------------------------------------------------- */

typedef struct gen {
    const bn_fixture_params *p;
    const bn_arch *arch;
    bn_gguf_writer *w;
    void **bufs; /* tensor data, alive until the last write */
    size_t n_bufs, cap_bufs;
    int32_t n_vocab;
    /* peaked: per token, the token whose A code it uses as its A half
     * (itself in the domain) and the one whose A code is its B half (-1:
     * random); next[v] = pi(v) for domain tokens, -1 otherwise */
    int32_t *a_src, *b_src, *next;
    int32_t n_domain;
    float a;                  /* peaked embedding magnitude */
    int64_t tl_shapes[16][2]; /* (M, K) whose bitnet.tl.* keys are written */
    int n_tl_shapes;
} gen;

static void *gen_alloc(gen *g, size_t bytes) {
    if (g->n_bufs == g->cap_bufs) {
        size_t cap = g->cap_bufs ? g->cap_bufs * 2 : 64;
        void **b = bn_realloc(g->bufs, cap * sizeof *b);
        if (!b) return NULL;
        g->bufs = b;
        g->cap_bufs = cap;
    }
    void *p = bn_malloc(bytes ? bytes : 1);
    if (p) g->bufs[g->n_bufs++] = p;
    return p;
}

static void gen_free(gen *g) {
    for (size_t i = 0; i < g->n_bufs; i++) bn_free(g->bufs[i]);
    bn_free(g->bufs);
    bn_free(g->a_src);
    bn_free(g->b_src);
    bn_free(g->next);
    bn_gguf_writer_free(g->w);
}

static bitnet_status add_tensor(gen *g, const char *name, uint32_t type, int64_t ne0, int64_t ne1,
                                const void *data, uint64_t nbytes) {
    const int64_t ne[2] = {ne0, ne1};
    return bn_gguf_add_tensor(g->w, name, type, ne1 > 0 ? 2 : 1, ne, data, nbytes, false);
}

/* A norm weight: 1 + k/64 with k uniform in [-spread, spread] (exact). */
static bitnet_status add_norm(gen *g, const char *name, int64_t n, int spread) {
    float *v = gen_alloc(g, (size_t)n * sizeof *v); /* [n] */
    if (!v) return BITNET_ERR_NOMEM;
    const uint64_t key = stream_key(g->p->seed, name);
    for (int64_t i = 0; i < n; i++)
        v[i] = 1.0f +
               (float)((int)(rnd(key, (uint64_t)i) % (uint64_t)(2 * spread + 1)) - spread) / 64.0f;
    return add_tensor(g, name, BN_TYPE_F32, n, 0, v, (uint64_t)n * sizeof *v);
}

/* A projection of K inputs and M outputs from codes[M][K] (row-major, the
 * GGUF order: ne0 = K) and one scale, written in the requested type. */
/* A TL projection: bitnet.cpp's parameters where it has a kernel for the
 * shape (so the file is what its converter writes), recorded per shape. */
static bitnet_status add_tl_projection(gen *g, const char *name, int64_t K, int64_t M,
                                       const int8_t *codes, float scale) {
    const uint32_t type = g->p->quant;
    bn_tl_params tp;
    bitnet_status st = bn_tl_writer_params(type, M, K, &tp);
    if (st) return st;
    const size_t nbytes = type == BN_TYPE_TL1 ? bn_tl1_nbytes(M, K) : bn_tl2_nbytes(M, K);
    uint8_t *data = gen_alloc(g, nbytes);
    if (!data) return BITNET_ERR_NOMEM;
    if ((st = bn_tl_encode(type, codes, scale, M, K, &tp, data, nbytes))) return st;
    bool recorded = g->p->no_layout_keys;
    for (int i = 0; i < g->n_tl_shapes; i++)
        recorded |= g->tl_shapes[i][0] == M && g->tl_shapes[i][1] == K;
    if (!recorded && g->n_tl_shapes < 16) {
        g->tl_shapes[g->n_tl_shapes][0] = M;
        g->tl_shapes[g->n_tl_shapes++][1] = K;
        if ((st = bn_tl_write_meta(g->w, M, K, &tp))) return st;
    }
    return add_tensor(g, name, type, K, M, data, nbytes);
}

static bitnet_status add_projection(gen *g, const char *name, int64_t K, int64_t M,
                                    const int8_t *codes, float scale) {
    if (g->p->pow2_scales) scale = (float)pow2_floor((double)scale);
    if (is_tl(g->p->quant)) return add_tl_projection(g, name, K, M, codes, scale);
    const uint64_t nbytes = bn_ternary_nbytes(g->p->quant, K * M);
    void *data = gen_alloc(g, (size_t)nbytes);
    if (!data) return BITNET_ERR_NOMEM;
    bitnet_status st;
    if (g->p->block_scales) {
        /* testing aid: every 256-value block scaled by its own (8 + k)/8,
         * k in 0..7 (exact in F16 with the 4-bit scales used here) */
        const int64_t nb = K * M / BN_QK_K;
        float *mult = bn_malloc_array((size_t)nb, sizeof *mult);
        if (!mult) return BITNET_ERR_NOMEM;
        const uint64_t key = stream_key(g->p->seed ^ 0xb10c5ull, name);
        for (int64_t b = 0; b < nb; b++) mult[b] = (float)(8 + rnd(key, (uint64_t)b) % 8) / 8.0f;
        st = bn_quantize_ternary_blocks(codes, K * M, scale, mult, g->p->quant, data);
        bn_free(mult);
    } else if (g->p->i2s_block == 64) {
        bn_i2s64_pack(codes, K * M, scale, data);
        st = BITNET_OK;
    } else {
        st = bn_quantize_ternary(codes, K * M, scale, g->p->quant, data);
    }
    if (st) return st;
    return add_tensor(g, name, g->p->quant, K, M, data, nbytes);
}

/* Random ternary codes, one random scale within a factor 2 of 1/sqrt(2K/3). */
static float random_codes(const gen *g, const char *name, int64_t K, int64_t M, int8_t *codes) {
    const uint64_t key = stream_key(g->p->seed, name);
    for (int64_t i = 0; i < K * M; i++) codes[i] = rnd_ternary(key, (uint64_t)i);
    const double base = pow2_floor(unit_scale(K));
    return (float)(base * (double)(8 + rnd(key ^ 0x5ca1eull, 0) % 8) / 8.0);
}

/* ---------------------------------------------------------------------------
 * Peaked structure
 * ------------------------------------------------------------------------- */

/* The pieces a peaked fixture cycles through: normal tokens; in byte-level
 * BPE vocabularies not the first 256 (the byte symbols, some of which stand
 * for control characters). */
static bool in_domain(bn_vocab_kind kind, int32_t id, int32_t type) {
    return type == BN_TOKEN_NORMAL && !(kind == BN_VOCAB_BPE && id < 256);
}

static bitnet_status peaked_setup(gen *g, bn_vocab_kind kind, const int32_t *types) {
    const int32_t V = g->n_vocab;
    g->a_src = bn_malloc_array((size_t)V, sizeof(int32_t));
    g->b_src = bn_malloc_array((size_t)V, sizeof(int32_t));
    g->next = bn_malloc_array((size_t)V, sizeof(int32_t));
    int32_t *dom = bn_malloc_array((size_t)V, sizeof(int32_t)); /* [n_domain] */
    if (!g->a_src || !g->b_src || !g->next || !dom) {
        bn_free(dom);
        return BITNET_ERR_NOMEM;
    }
    int32_t n = 0;
    for (int32_t v = 0; v < V; v++)
        if (in_domain(kind, v, types ? types[v] : BN_TOKEN_NORMAL)) dom[n++] = v;
    if (n < 2) {
        bn_free(dom);
        return BAD("peaked fixture: the vocabulary has %d normal pieces; at least 2 are needed", n);
    }
    /* Sattolo's shuffle: a uniformly random single cycle through the domain */
    int32_t *cyc = bn_malloc_array((size_t)n, sizeof(int32_t));
    if (!cyc) {
        bn_free(dom);
        return BITNET_ERR_NOMEM;
    }
    memcpy(cyc, dom, (size_t)n * sizeof *cyc);
    const uint64_t key = stream_key(g->p->seed, "peaked.cycle");
    for (int32_t i = n - 1; i > 0; i--) {
        const int32_t j = (int32_t)(rnd(key, (uint64_t)i) % (uint64_t)i);
        const int32_t t = cyc[i];
        cyc[i] = cyc[j];
        cyc[j] = t;
    }
    for (int32_t v = 0; v < V; v++) {
        g->next[v] = -1;
        g->b_src[v] = -1;
        /* outside the domain: input code of an arbitrary domain token */
        g->a_src[v] = dom[rnd(key ^ 0xa11a5ull, (uint64_t)v) % (uint64_t)n];
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = cyc[i], w = cyc[(i + 1) % n];
        g->next[v] = w;
        g->a_src[v] = v;
        g->b_src[w] = v;
    }
    g->n_domain = n;
    bn_free(cyc);
    bn_free(dom);
    /* a = largest power of two <= 16/h: top logit ~ 1.3·a·h ~ 16-21 */
    g->a = (float)pow2_floor(16.0 / (double)(g->p->n_embd / 2));
    return BITNET_OK;
}

/* Sign code A_v[i] (A_v[0] = +1: the constant dimension). */
static int8_t a_code(const gen *g, uint64_t key, int32_t v, int64_t i) {
    return i == 0 ? 1 : rnd_sign(key, (uint64_t)v * (uint64_t)g->p->n_embd + (uint64_t)i);
}

static float peaked_embd(const gen *g, uint64_t ka, int32_t v, int64_t i) {
    const int64_t h = g->p->n_embd / 2;
    int8_t c;
    if (i < h)
        c = a_code(g, ka, g->a_src[v], i);
    else if (g->b_src[v] >= 0)
        c = a_code(g, ka, g->b_src[v], i - h);
    else
        c = 0; /* never the target of a copy: no B half, so never a strong competitor */
    return (float)c * g->a;
}

/* ---------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------- */

/* Random embedding: k·unit, k uniform in [-4, 4] (RMS 2.58·unit), unit the
 * power of two nearest 1.16/sqrt(E), so that a unit-RMS hidden state gives
 * logits of standard deviation ~3: spread out, far from saturation. */
static float random_embd_unit(int64_t E) {
    const double target = 1.16 / sqrt((double)E);
    const double lo = pow2_floor(target);
    return (float)(target / lo < 1.5 ? lo : 2.0 * lo);
}

static bitnet_status add_embedding(gen *g, const char *name) {
    const int64_t E = g->p->n_embd, V = g->n_vocab;
    const bool f32 = g->p->quant == BN_TYPE_F32;
    const uint32_t type = f32 ? BN_TYPE_F32 : BN_TYPE_F16;
    const uint64_t nbytes = (uint64_t)E * (uint64_t)V * (f32 ? 4u : 2u);
    void *data = gen_alloc(g, (size_t)nbytes); /* [V][E] */
    if (!data) return BITNET_ERR_NOMEM;
    const bool peaked = g->p->kind == BN_FIXTURE_PEAKED;
    /* the llama output head of a random fixture is its own matrix; a peaked
     * one repeats the embedding (its structure needs the tied relation) */
    const uint64_t key = stream_key(g->p->seed, peaked ? "token_embd.weight" : name);
    const uint64_t ka = stream_key(g->p->seed, "peaked.a");
    const float unit = random_embd_unit(E);
    for (int64_t v = 0; v < V; v++)
        for (int64_t i = 0; i < E; i++) {
            float x = peaked ? peaked_embd(g, ka, (int32_t)v, i)
                             : (float)((int)(rnd(key, (uint64_t)(v * E + i)) % 9) - 4) * unit;
            if (f32)
                ((float *)data)[v * E + i] = x;
            else
                ((uint16_t *)data)[v * E + i] = bn_f32_to_f16(x); /* exact */
        }
    return add_tensor(g, name, type, E, V, data, nbytes);
}

enum { PROJ_Q, PROJ_K, PROJ_V, PROJ_O, PROJ_GATE, PROJ_UP, PROJ_DOWN };

/* Peaked FFN and output projections (see the top of this file). Codes are
 * zero-initialized by the caller. Returns the scale. */
/* Copy strength (total over the layers) and attention RMS, in units of a. */
#define COPY 8.0
#define ATTN 2.0

/* Estimated residual RMS over a before layer il's FFN: the embedding (a in
 * every dim), il copies of COPY·a/n_layer in the B half, il+1 attention
 * outputs of ~ATTN·a in the B half (random directions: variances add). */
static double rms_over_a(const bn_fixture_params *p, int il) {
    const double c = COPY * (double)il / (double)p->n_layer;
    return sqrt((2.0 + c * c + ATTN * ATTN * (double)(il + 1)) / 2.0);
}

/* Gate scale: with sub-norms any positive value (the sub-norm removes it);
 * without, large enough that g = scale·a/rms >= 4 in every layer, where
 * silu(g) ~ g. A power of two (exact). */
static double gate_scale(const bn_fixture_params *p, bool sub_norms) {
    return sub_norms ? 1.0 : 2.0 * pow2_floor(4.0 * rms_over_a(p, p->n_layer - 1));
}

static float peaked_codes(const gen *g, int which, int il, const char *name, int64_t K, int64_t M,
                          int8_t *codes) {
    const bn_fixture_params *p = g->p;
    const int64_t h = p->n_embd / 2, F = p->n_ff;
    const double a = g->a;
    const bool sub_norms = g->arch->sub_norms;
    const uint64_t key = stream_key(p->seed, name);
    switch (which) {
    case PROJ_GATE: /* every row reads the constant dimension: act(gate) > 0, equal */
        for (int64_t j = 0; j < M; j++) codes[j * K] = 1;
        return (float)gate_scale(p, sub_norms);
    case PROJ_UP: /* row j reads A dim 1 + j mod (h-1) */
        for (int64_t j = 0; j < M; j++) codes[j * K + 1 + j % (h - 1)] = 1;
        return 1.0f;
    case PROJ_DOWN: { /* B dim h + 1 + k sums the rows j with j mod (h-1) = k */
        for (int64_t j = 0; j < K; j++) codes[(h + 1 + j % (h - 1)) * K + j] = 1;
        /* each layer adds COPY·a/n_layer. With sub-norms the down input is
         * ±1 (sub-norm weights aside); without, it is silu(g)·xn_k with
         * g = GATE_LLAMA·xn_0 >= 4 (silu(g) ~ g) and |xn_0| = |xn_k| = a/rms,
         * rms the residual's RMS before this FFN, estimated from what the
         * earlier layers added. */
        const double per_row = (double)F / (double)(h - 1);
        double in_mag = 1.0;
        if (!sub_norms) {
            const double r = rms_over_a(p, il);
            in_mag = gate_scale(p, false) / (r * r);
        }
        return round_scale(COPY * a / ((double)p->n_layer * per_row * in_mag));
    }
    case PROJ_O: { /* random rows into B only, per-dim RMS ~2a */
        for (int64_t r = h; r < M; r++)
            for (int64_t k = 0; k < K; k++)
                codes[r * K + k] = rnd_ternary(key, (uint64_t)(r * K + k));
        /* without a sub-norm the input is an average of V rows: smaller
         * on long contexts, but near 1 over the first few positions, where
         * a larger gain would cost the margin */
        return round_scale(ATTN * a * unit_scale(K));
    }
    default: return 0.0f;
    }
}

static bitnet_status add_layer_projection(gen *g, int il, int which, const char *suffix, int64_t K,
                                          int64_t M, int8_t *codes) {
    char name[BN_GGUF_MAX_NAME];
    snprintf(name, sizeof name, "blk.%d.%s.weight", il, suffix);
    const bool peaked = g->p->kind == BN_FIXTURE_PEAKED;
    float scale;
    if (peaked && which >= PROJ_O) {
        memset(codes, 0, (size_t)(K * M));
        scale = peaked_codes(g, which, il, name, K, M, codes);
    } else {
        scale = random_codes(g, name, K, M, codes);
    }
    /* ablation keeps the scale (I2_S needs one > 0) and zeroes the codes */
    if ((which == PROJ_O && g->p->ablate_attn == il) ||
        (which == PROJ_DOWN && g->p->ablate_ffn == il))
        memset(codes, 0, (size_t)(K * M));
    return add_projection(g, name, K, M, codes, scale);
}

static bitnet_status add_layer(gen *g, int il, int8_t *codes) {
    const bn_fixture_params *p = g->p;
    const int64_t E = p->n_embd, F = p->n_ff;
    const int64_t KV = (int64_t)p->n_head_kv * (E / p->n_head);
    const int spread = p->kind == BN_FIXTURE_PEAKED ? 2 : 4;
    char n[BN_GGUF_MAX_NAME];
    bitnet_status st;
#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s", il, s), n)
    if ((st = add_norm(g, NAME("attn_norm.weight"), E, spread))) return st;
    if (g->arch->sub_norms && (st = add_norm(g, NAME("attn_sub_norm.weight"), E, spread)))
        return st;
    if ((st = add_norm(g, NAME("ffn_norm.weight"), E, spread))) return st;
    if (g->arch->sub_norms && (st = add_norm(g, NAME("ffn_sub_norm.weight"), F, spread))) return st;
#undef NAME
    if ((st = add_layer_projection(g, il, PROJ_Q, "attn_q", E, E, codes)) ||
        (st = add_layer_projection(g, il, PROJ_K, "attn_k", E, KV, codes)) ||
        (st = add_layer_projection(g, il, PROJ_V, "attn_v", E, KV, codes)) ||
        (st = add_layer_projection(g, il, PROJ_O, "attn_output", E, E, codes)) ||
        (st = add_layer_projection(g, il, PROJ_GATE, "ffn_gate", E, F, codes)) ||
        (st = add_layer_projection(g, il, PROJ_UP, "ffn_up", E, F, codes)) ||
        (st = add_layer_projection(g, il, PROJ_DOWN, "ffn_down", F, E, codes)))
        return st;
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * Metadata
 * ------------------------------------------------------------------------- */

static bitnet_status add_hparams(gen *g) {
    const bn_fixture_params *p = g->p;
    char def_name[96];
    snprintf(def_name, sizeof def_name, "fixture-%s-%s", p->arch,
             p->kind == BN_FIXTURE_PEAKED ? "peaked" : "random");
    const bn_hparams hp = {.n_vocab = g->n_vocab,
                           .n_ctx_train = p->n_ctx,
                           .n_embd = p->n_embd,
                           .n_ff = p->n_ff,
                           .n_layer = p->n_layer,
                           .n_head = p->n_head,
                           .n_head_kv = p->n_head_kv,
                           .n_rot = p->n_embd / p->n_head,
                           .rope_base = p->rope_base,
                           .rms_eps = p->rms_eps};
    bitnet_status st = bn_export_hparams(g->w, p->arch, p->name ? p->name : def_name, &hp,
                                         bn_export_ftype(p->quant));
    if (st) return st;
    if (p->i2s_block == 64 && !p->no_layout_keys &&
        (st = bn_gguf_set_u32(g->w, BN_I2S_BLOCK_KEY, 64)))
        return st;
    return BITNET_OK;
}

static bitnet_status add_fixture_keys(gen *g) {
    char args[1024];
    bn_fixture_args(g->p, args, sizeof args);
    bitnet_status st;
    if ((st = bn_gguf_set_u32(g->w, "general.quantization_version", 2)) ||
        (st = bn_gguf_set_str(g->w, "bitnet.fixture.generator", BN_FIXTURE_GENERATOR)) ||
        (st = bn_gguf_set_str(g->w, "bitnet.fixture.kind",
                              g->p->kind == BN_FIXTURE_PEAKED ? "peaked" : "random")) ||
        (st = bn_gguf_set_str(g->w, "bitnet.fixture.args", args)))
        return st;
    return BITNET_OK;
}

/* Copies tokenizer.* from vocab_from; n_vocab and token types come from it. */
static bitnet_status copy_vocab(gen *g, bn_gguf *src, int32_t **types, bn_vocab_kind *kind) {
    const bn_gguf_kv *toks;
    bitnet_status st = bn_gguf_get_arr(src, "tokenizer.ggml.tokens", BN_GGUF_STRING, &toks);
    if (st) return st;
    if (toks->n < 2 || toks->n > INT32_MAX / 2)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries", src->path,
                       (unsigned long long)toks->n);
    g->n_vocab = (int32_t)toks->n;
    bn_gguf_str model;
    *kind = BN_VOCAB_SPM;
    if (!bn_gguf_get_str(src, "tokenizer.ggml.model", &model) && model.len == 4 &&
        !memcmp(model.ptr, "gpt2", 4))
        *kind = BN_VOCAB_BPE;
    bn_clear_error();
    const bn_gguf_kv *tt = bn_gguf_find(src, "tokenizer.ggml.token_type");
    if (tt && tt->type == BN_GGUF_ARRAY && tt->n == toks->n &&
        (tt->elem_type == BN_GGUF_INT32 || tt->elem_type == BN_GGUF_UINT32)) {
        *types = bn_malloc_array((size_t)tt->n, sizeof **types);
        if (!*types) return BITNET_ERR_NOMEM;
        for (uint64_t i = 0; i < tt->n; i++) (*types)[i] = (int32_t)bn_gguf_arr_i64(tt, i);
    }
    return BITNET_OK;
}

static bitnet_status add_vocab_keys(gen *g, bn_gguf *src, const bn_synth_vocab *sv) {
    if (!src) return bn_synth_vocab_write(sv, g->w);
    for (uint64_t i = 0; i < src->n_kv; i++) {
        if (strncmp(src->kv[i].key, "tokenizer.", 10) != 0) continue;
        bitnet_status st = bn_gguf_set_kv_copy(g->w, &src->kv[i]);
        if (st) return st;
    }
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * Margin measurement
 * ------------------------------------------------------------------------- */

bitnet_status bn_fixture_greedy(const char *path, const bitnet_token *prompt, int32_t n_prompt,
                                int32_t n_gen, int32_t n_threads, bitnet_token *tokens_out,
                                float *margins_out) {
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_model *m = bitnet_model_load(path, &mp);
    if (!m) return BITNET_ERR_FORMAT;
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = n_prompt + n_gen + 1;
    cp.n_threads = n_threads;
    cp.numerics = BITNET_NUMERICS_COMPAT;
    bitnet_context *c = bitnet_context_new(m, &cp);
    if (!c) {
        bitnet_model_free(m);
        return BITNET_ERR_NOMEM;
    }
    const int32_t V = bitnet_model_n_vocab(m);
    bitnet_status st = bitnet_decode(c, prompt, n_prompt, false);
    for (int32_t s = 0; !st && s < n_gen; s++) {
        const float *lg = bitnet_get_logits_ith(c, -1); /* [V] */
        int32_t best = 0;
        float top1 = -INFINITY, top2 = -INFINITY;
        for (int32_t v = 0; v < V; v++) {
            if (lg[v] > top1) {
                top2 = top1;
                top1 = lg[v];
                best = v;
            } else if (lg[v] > top2) {
                top2 = lg[v];
            }
        }
        if (tokens_out) tokens_out[s] = best;
        if (margins_out) margins_out[s] = top1 - top2;
        st = bitnet_decode(c, &best, 1, false);
    }
    bitnet_context_free(c);
    bitnet_model_free(m);
    return st;
}

int32_t bn_fixture_margin_prompt(const char *path, bitnet_token *prompt, int32_t cap) {
    bitnet_model_params mp = bitnet_model_default_params();
    mp.vocab_only = true;
    bitnet_model *m = bitnet_model_load(path, &mp);
    if (!m || cap < 4) {
        bitnet_model_free(m);
        return 0;
    }
    const bn_vocab *v = m->vocab;
    const int32_t V = bn_vocab_n_tokens(v);
    int32_t n = 0;
    if (bn_vocab_bos(v) >= 0) prompt[n++] = bn_vocab_bos(v);
    /* three domain pieces spread over the vocabulary: a fixed, seed-free choice */
    for (int32_t k = 1; k <= 3; k++) {
        for (int32_t id = (int32_t)((int64_t)V * k / 4); id < V; id++) {
            const bn_token_data *t = bn_vocab_token(v, id);
            if (in_domain(bn_vocab_kind_of(v), id, t->type)) {
                prompt[n++] = id;
                break;
            }
        }
    }
    bitnet_model_free(m);
    return n;
}

static bitnet_status measure_margin(gen *g, const char *path, bn_fixture_result *r) {
    const int32_t n_gen = g->p->margin_tokens;
    bitnet_token prompt[8];
    const int32_t n_prompt = bn_fixture_margin_prompt(path, prompt, 8);
    if (n_prompt < 2)
        return bn_fail(BITNET_ERR_INTERNAL, "%s: cannot build the margin prompt", path);
    bitnet_token *toks = bn_malloc_array((size_t)n_gen, sizeof *toks);
    float *margins = bn_malloc_array((size_t)n_gen, sizeof *margins);
    bitnet_status st = toks && margins ? BITNET_OK : BITNET_ERR_NOMEM;
    if (!st) st = bn_fixture_greedy(path, prompt, n_prompt, n_gen, g->p->n_threads, toks, margins);
    if (!st) {
        r->measured = true;
        r->min_margin = INFINITY;
        r->n_steps = n_gen;
        bitnet_token prev = prompt[n_prompt - 1];
        for (int32_t s = 0; s < n_gen; s++) {
            if (margins[s] < r->min_margin) {
                r->min_margin = margins[s];
                r->min_margin_step = s;
            }
            if (toks[s] == g->next[g->a_src[prev]]) r->n_follow++;
            prev = toks[s];
        }
    }
    bn_free(toks);
    bn_free(margins);
    return st;
}

/* ---------------------------------------------------------------------------
 * Driver
 * ------------------------------------------------------------------------- */

static bitnet_status build(gen *g, bn_gguf *src, const bn_synth_vocab *sv) {
    const bn_fixture_params *p = g->p;
    const int64_t E = p->n_embd, F = p->n_ff;
    bitnet_status st;
    if ((st = add_hparams(g)) || (st = add_vocab_keys(g, src, sv)) || (st = add_fixture_keys(g)))
        return st;
    if ((st = add_embedding(g, "token_embd.weight")) ||
        (st = add_norm(g, "output_norm.weight", E, p->kind == BN_FIXTURE_PEAKED ? 2 : 4)))
        return st;
    if (g->arch->head == BN_HEAD_OUTPUT_OR_TIED && (st = add_embedding(g, "output.weight")))
        return st;
    const int64_t big = E * (F > E ? F : E);
    int8_t *codes = bn_malloc((size_t)big); /* [max(E,F)][E]: one projection's codes */
    if (!codes) return BITNET_ERR_NOMEM;
    for (int il = 0; il < p->n_layer && !st; il++) st = add_layer(g, il, codes);
    bn_free(codes);
    return st;
}

bitnet_status bn_fixture_write(const bn_fixture_params *p, const char *path,
                               bn_fixture_result *result) {
    bn_clear_error();
    bn_fixture_result local;
    bn_fixture_result *r = result ? result : &local;
    memset(r, 0, sizeof *r);
    r->min_margin = NAN;
    bitnet_status st = bn_fixture_check(p);
    if (st) return st;

    gen g = {.p = p, .arch = bn_arch_find(p->arch), .n_vocab = p->n_vocab};
    bn_gguf *src = NULL;
    bn_synth_vocab sv = {0};
    int32_t *types = NULL;
    bn_vocab_kind kind = p->vocab;
    g.w = bn_gguf_writer_new();
    if (!g.w) return BITNET_ERR_NOMEM;
    if (p->vocab_from) {
        if ((st = bn_gguf_open(p->vocab_from, true, &src)) ||
            (st = copy_vocab(&g, src, &types, &kind)))
            goto done;
    } else {
        if ((st = bn_synth_vocab_build(p->vocab, p->n_vocab, &sv))) goto done;
    }
    if (p->kind == BN_FIXTURE_PEAKED && (st = peaked_setup(&g, kind, src ? types : sv.types)))
        goto done;
    if ((st = build(&g, src, &sv))) goto done;
    if ((st = bn_gguf_write(g.w, path))) goto done;
    r->n_vocab = g.n_vocab;

    if (p->kind == BN_FIXTURE_PEAKED && p->margin_tokens > 0) {
        if ((st = measure_margin(&g, path, r))) goto done;
        /* stored rounded down to 1/100 so that the last bits of libm's
         * expf/cosf on another machine cannot change the file */
        const float stored = (float)(floor((double)r->min_margin * 100.0) / 100.0);
        if ((st = bn_gguf_set_f32(g.w, "bitnet.fixture.min_margin", stored)) ||
            (st = bn_gguf_write(g.w, path)))
            goto done;
    }
    FILE *f = fopen(path, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        r->file_bytes = (uint64_t)ftell(f);
        fclose(f);
    }
done:
    bn_free(types);
    bn_synth_vocab_free(&sv);
    bn_gguf_close(src);
    gen_free(&g);
    return st;
}
