/* llama.cpp's ternary types TQ1_0 and TQ2_0: the layouts (hand-derived
 * bytes), quantizer/dequantizer round trips, the block-scaled kernels of
 * every ISA this machine runs against the reference (gemv and gemm, odd row
 * counts, tails, slices), whole models (i2_s, tq1_0 and tq2_0 fixtures of the
 * same seed give bit-identical logits; block-scaled fixtures agree with the
 * f32 file within a stated tolerance and bit for bit across ISAs), and
 * malformed tensors refused with a message naming the tensor. */
#include <math.h>

#include "bitnet.h"
#include "f16.h"
#include "fixture.h"
#include "gguf.h"
#include "gguf_builder.h"
#include "kernels.h"
#include "quantize.h"
#include "ref/kernels_ref.h"
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

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------- */
/* Layouts                                                                    */
/* ------------------------------------------------------------------------- */

static void test_known_bytes(void) {
    int8_t t[BN_QK_K];
    bn_block_tq2_0 b2;
    bn_block_tq1_0 b1;
    /* TQ2_0: +1 everywhere is code 2 in every bit pair */
    memset(t, 1, sizeof t);
    bn_tq2_0_pack(t, 0x3c00, &b2);
    CHECK(b2.qs[0] == 0xAA && b2.qs[63] == 0xAA && b2.d == 0x3c00);
    /* value 32p + i of each half: byte i, bits 2p */
    memset(t, 0, sizeof t);
    t[32 * 2 + 5] = 1;        /* half 0, plane 2, byte 5: code 2 at bits 4..5 */
    t[128 + 32 * 3 + 7] = -1; /* half 1, plane 3, byte 39: code 0 at bits 6..7 */
    bn_tq2_0_pack(t, 0, &b2);
    CHECK(b2.qs[5] == (0x55 & ~0x30) + 0x20);
    CHECK(b2.qs[32 + 7] == (0x55 & ~0xC0));
    CHECK(b2.qs[0] == 0x55);

    /* TQ1_0: digits t+1, first most significant, stored as ceil(v·256/243) */
    memset(t, 0, sizeof t);
    bn_tq1_0_pack(t, 0, &b1);
    CHECK(b1.qs[0] == 128 && b1.qs[47] == 128); /* 11111₃ = 121 -> 127.47 */
    CHECK(b1.qh[0] == 127);                     /* 11110₃ = 120 -> 126.42 */
    memset(t, 1, sizeof t);
    bn_tq1_0_pack(t, 0, &b1);
    CHECK(b1.qs[0] == 255 && b1.qh[3] == 253); /* 22222₃ = 242, 22220₃ = 240 */
    memset(t, -1, sizeof t);
    bn_tq1_0_pack(t, 0, &b1);
    CHECK(b1.qs[10] == 0 && b1.qh[1] == 0);
    /* element positions: byte m < 32 holds m + 32n, 32 <= m < 48 holds
     * 160 + (m-32) + 16n, qh[j] holds 240 + j + 4n */
    memset(t, 0, sizeof t);
    t[3 + 32 * 4] = 1;        /* byte 3, last digit: 11112₃ = 122 */
    t[160 + 2 + 16 * 0] = -1; /* byte 34, first digit: 01111₃ = 40 */
    t[240 + 1 + 4 * 3] = 1;   /* qh[1], fourth digit: 11120₃ = 123 */
    bn_tq1_0_pack(t, 0, &b1);
    CHECK(b1.qs[3] == (122 * 256 + 242) / 243);
    CHECK(b1.qs[34] == (40 * 256 + 242) / 243);
    CHECK(b1.qh[1] == (123 * 256 + 242) / 243);
    int8_t back[BN_QK_K];
    bn_tq1_0_values(&b1, back);
    CHECK(memcmp(back, t, sizeof t) == 0);
}

/* Random ternary blocks (some all zero) times F16-exact scales: quantize ->
 * dequantize gives the same floats, and the values come back exactly. */
static void test_round_trip(void) {
    enum { NB = 37, N = NB * BN_QK_K };
    static float x[N], y[N];
    static int8_t t[N];
    static bn_block_tq1_0 q1[NB];
    static bn_block_tq2_0 q2[NB];
    for (int b = 0; b < NB; b++) {
        const float s = ldexpf((float)(8 + rng() % 8), -(int)(rng() % 12) - 3);
        const int density = (int)(rng() % 4); /* 0: all zero */
        for (int j = 0; j < BN_QK_K; j++) {
            int8_t v = density == 0 ? 0 : (int8_t)(rng() % 3) - 1;
            t[b * BN_QK_K + j] = v;
            x[b * BN_QK_K + j] = (float)v * (b % 5 == 1 ? -s : s);
        }
    }
    bn_quantize_row_tq1_0_ref(x, q1, N);
    bn_quantize_row_tq2_0_ref(x, q2, N);
    /* == rather than memcmp: -0 (a zero times a negative scale) reads back as +0 */
    int diff = 0;
    bn_type_get(BN_TYPE_TQ1_0)->to_float(q1, y, N);
    for (int i = 0; i < N; i++) diff += x[i] != y[i];
    bn_type_get(BN_TYPE_TQ2_0)->to_float(q2, y, N);
    for (int i = 0; i < N; i++) diff += x[i] != y[i];
    CHECKF(diff == 0, "%d floats differ after quantize + dequantize", diff);
    int bad = 0;
    for (int b = 0; b < NB; b++) {
        int8_t v1[BN_QK_K], v2[BN_QK_K];
        bn_tq1_0_values(&q1[b], v1);
        bn_tq2_0_values(&q2[b], v2);
        for (int j = 0; j < BN_QK_K; j++) {
            int8_t want = t[b * BN_QK_K + j];
            if (b % 5 == 1) want = (int8_t)-want; /* negative scale: d = |s|, signs flip */
            bad += v1[j] != want || v2[j] != want;
        }
    }
    CHECKF(bad == 0, "%d values differ after the round trip", bad);

    /* arbitrary floats: the llama.cpp rule, round(x / max|x|) half away from 0 */
    for (int i = 0; i < N; i++) x[i] = (float)((double)(rng() % 2001) / 1000.0 - 1.0);
    bn_quantize_row_tq1_0_ref(x, q1, N);
    bn_quantize_row_tq2_0_ref(x, q2, N);
    bad = 0;
    for (int b = 0; b < NB; b++) {
        float amax = 0;
        for (int j = 0; j < BN_QK_K; j++) amax = fmaxf(amax, fabsf(x[b * BN_QK_K + j]));
        int8_t v1[BN_QK_K], v2[BN_QK_K];
        bn_tq1_0_values(&q1[b], v1);
        bn_tq2_0_values(&q2[b], v2);
        bad += q1[b].d != bn_f32_to_f16(amax) || q2[b].d != bn_f32_to_f16(amax);
        for (int j = 0; j < BN_QK_K; j++) {
            const int want = (int)lroundf(x[b * BN_QK_K + j] * (1.0f / amax));
            bad += v1[j] != want || v2[j] != want;
        }
    }
    CHECKF(bad == 0, "%d values or scales differ from the llama.cpp rule", bad);
}

/* ------------------------------------------------------------------------- */
/* Kernels                                                                    */
/* ------------------------------------------------------------------------- */

/* Σ over block b of (code)·q, straight from the I2_S code accessor. */
static int32_t naive_block(const uint8_t *row, const int8_t *q, int64_t b) {
    int32_t s = 0;
    for (int j = 0; j < BN_QK_K; j++) s += bn_i2s_code(row, b * BN_QK_K + j) * q[b * BN_QK_K + j];
    return s;
}

static void check_table(const bn_kernels *k) {
    static const int64_t Ks[] = {256, 512, 1280, 256 * 33};
    static const int64_t rows_list[] = {1, 3, 4, 5, 17};
    static const int64_t toks_list[] = {1, 2, 3, 4, 5, 9};
    int bad = 0, cases = 0;
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
        const int64_t K = Ks[ki], nb = K / BN_QK_K;
        const int64_t pad = ki % 2 ? 64 : 0; /* w_stride > K/4: a slice of longer rows */
        const int64_t stride = K / 4 + pad;
        const int64_t max_rows = 17, max_tok = 9;
        uint8_t *w = malloc((size_t)(stride * max_rows));
        int8_t *q = malloc((size_t)(K * max_tok));
        int32_t *ref = malloc(sizeof(int32_t) * (size_t)(nb * max_rows * max_tok));
        int32_t *got = malloc(sizeof(int32_t) * (size_t)(nb * max_rows * max_tok));
        for (int64_t i = 0; i < stride * max_rows; i++) {
            uint8_t byte = 0; /* codes 0..2 only */
            for (int p = 0; p < 4; p++) byte = (uint8_t)(byte << 2 | (rng() % 3));
            w[i] = byte;
        }
        for (int64_t i = 0; i < K * max_tok; i++) {
            /* extremes included: -128 and 127 where the sums are largest */
            uint64_t r = rng() % 8;
            q[i] = r == 0 ? -128 : r == 1 ? 127 : (int8_t)(rng() % 256);
        }
        for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++) {
            const int64_t R = rows_list[ri];
            /* gemv */
            bn_i2s_blk_gemv_ref(w, stride, K, R, q, ref);
            memset(got, 0x5a, sizeof(int32_t) * (size_t)(nb * R));
            k->i2s_blk_gemv(w, stride, K, R, q, got);
            for (int64_t r = 0; r < R; r++)
                for (int64_t b = 0; b < nb; b++) {
                    bad += got[r * nb + b] != ref[r * nb + b];
                    bad += ref[r * nb + b] != naive_block(w + r * stride, q, b);
                }
            cases++;
            /* gemm */
            for (size_t ti = 0; ti < sizeof toks_list / sizeof toks_list[0]; ti++) {
                const int64_t T = toks_list[ti];
                bn_i2s_blk_gemm_ref(w, stride, K, R, q, K, T, ref);
                memset(got, 0x5a, sizeof(int32_t) * (size_t)(nb * R * T));
                k->i2s_blk_gemm(w, stride, K, R, q, K, T, got);
                for (int64_t i = 0; i < nb * R * T; i++) bad += got[i] != ref[i];
                for (int64_t t = 0; t < T; t++)
                    for (int64_t r = 0; r < R; r++)
                        bad += ref[(t * R + r) * nb] != naive_block(w + r * stride, q + t * K, 0);
                cases++;
            }
        }
        free(w);
        free(q);
        free(ref);
        free(got);
    }
    CHECKF(bad == 0, "%s: %d block sums differ from the reference (%d cases)", k->isa, bad, cases);
    printf("kernels %s: %d gemv/gemm cases bit-identical to the reference\n", k->isa, cases);
}

static void test_kernels(void) {
    static const char *const isas[] = {"ref", "avx2", "avx512", "amx", "neon"};
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (!bitnet_isa_supported(isas[i])) {
            printf("kernels %s: not run (not supported by this build or CPU)\n", isas[i]);
            continue;
        }
        check_table(bn_kernels_get(isas[i]));
    }
}

/* ------------------------------------------------------------------------- */
/* Models                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct log_capture {
    int block_scaled; /* debug lines that chose the block-scaled path */
    int repacked;     /* ... the repack to i2_s */
} log_capture;

static void capture(bitnet_log_level level, const char *msg, void *user) {
    (void)level;
    log_capture *c = user;
    if (strstr(msg, "block-scaled kernels")) c->block_scaled++;
    if (strstr(msg, "repacked to i2_s")) c->repacked++;
}

enum { N_SEQ = 7 };

/* Logits (exact numerics) of N_SEQ tokens, as one prefill (gemm) and then again one token at a
 * time (gemv): out[2][N_SEQ][V]. */
static float *model_logits(const char *path, const char *isa, log_capture *lc, int32_t *V) {
    bitnet_model_params mp = bitnet_model_default_params();
    mp.log_callback = capture;
    mp.log_user_data = lc;
    bitnet_model *m = bitnet_model_load(path, &mp);
    if (!m) {
        fprintf(stderr, "%s: %s\n", path, bitnet_get_last_error());
        return NULL;
    }
    *V = bitnet_model_n_vocab(m);
    const size_t per = (size_t)*V * N_SEQ;
    float *out = calloc(2 * per, sizeof(float));
    bitnet_token seq[N_SEQ];
    for (int i = 0; i < N_SEQ; i++) seq[i] = (bitnet_token)((i * 37 + 5) % *V);
    for (int pass = 0; pass < 2; pass++) {
        bitnet_context_params cp = bitnet_context_default_params();
        cp.n_ctx = 16;
        cp.n_threads = 2;
        cp.isa = isa;
        cp.numerics = BITNET_NUMERICS_EXACT; /* prefill and decode then agree to rounding */
        bitnet_context *c = bitnet_context_new(m, &cp);
        CHECK(c != NULL);
        if (!c) break;
        if (pass == 0) {
            CHECK(bitnet_decode(c, seq, N_SEQ, true) == BITNET_OK);
            memcpy(out, bitnet_get_logits(c), per * sizeof(float));
        } else {
            for (int i = 0; i < N_SEQ; i++) {
                CHECK(bitnet_decode(c, &seq[i], 1, false) == BITNET_OK);
                memcpy(out + per + (size_t)i * *V, bitnet_get_logits_ith(c, -1),
                       (size_t)*V * sizeof(float));
            }
        }
        bitnet_context_free(c);
    }
    bitnet_model_free(m);
    return out;
}

static void fixture_params(bn_fixture_params *p, uint32_t quant, bool block_scales) {
    bn_fixture_default_params(p);
    p->n_embd = 256;
    p->n_ff = 512;
    p->n_head = 4;
    p->n_head_kv = 2;
    p->seed = 11;
    p->quant = quant;
    p->block_scales = block_scales;
    p->margin_tokens = 0;
}

static const char *write_fixture(const char *name, uint32_t quant, bool block_scales,
                                 const char *arch) {
    bn_fixture_params p;
    fixture_params(&p, quant, block_scales);
    p.arch = arch;
    const char *path = path_of(name);
    bitnet_status st = bn_fixture_write(&p, path, NULL);
    CHECKF(st == BITNET_OK, "%s: %s", name, bitnet_get_last_error());
    return path;
}

static void test_same_logits(void) {
    static const char *const archs[] = {"bitnet", "bitnet-b1.58"};
    for (size_t a = 0; a < 2; a++) {
        char n0[64], n1[64], n2[64];
        snprintf(n0, sizeof n0, "same-%s-i2s.gguf", archs[a]);
        snprintf(n1, sizeof n1, "same-%s-tq1.gguf", archs[a]);
        snprintf(n2, sizeof n2, "same-%s-tq2.gguf", archs[a]);
        const char *pi = write_fixture(n0, BN_TYPE_I2_S, false, archs[a]);
        const char *p1 = write_fixture(n1, BN_TYPE_TQ1_0, false, archs[a]);
        const char *p2 = write_fixture(n2, BN_TYPE_TQ2_0, false, archs[a]);
        static const char *const isas[] = {NULL, "ref"};
        for (int ii = 0; ii < 2; ii++) {
            log_capture lc = {0};
            int32_t V = 0;
            float *li = model_logits(pi, isas[ii], &lc, &V);
            float *l1 = model_logits(p1, isas[ii], &lc, &V);
            float *l2 = model_logits(p2, isas[ii], &lc, &V);
            CHECK(li && l1 && l2);
            if (li && l1 && l2) {
                const size_t n = 2 * (size_t)V * N_SEQ;
                CHECKF(memcmp(li, l1, n * sizeof(float)) == 0, "%s: tq1_0 logits differ from i2_s",
                       archs[a]);
                CHECKF(memcmp(li, l2, n * sizeof(float)) == 0, "%s: tq2_0 logits differ from i2_s",
                       archs[a]);
            }
            CHECKF(lc.repacked == 2 * 7 * 2 && lc.block_scaled == 0,
                   "%d repacked, %d block-scaled (want 28, 0)", lc.repacked, lc.block_scaled);
            free(li);
            free(l1);
            free(l2);
        }
    }
}

/* max |a - b| / RMS(b) over n logits */
static double rel_max_diff(const float *a, const float *b, size_t n) {
    double ss = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        ss += (double)b[i] * b[i];
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    }
    return worst / sqrt(ss / (double)n);
}

/* Tolerance of the block-scaled path against the f32 file of the same
 * weights. The f32 path multiplies float activations, the ternary paths int8
 * ones (absmax per token, spec 1.2), so neither is "the" answer: the
 * reference error is that of the I2_S file against its own f32 file (same
 * seed, one scale per matrix), measured alongside. The block-scaled error
 * may be at most BLOCK_TOL_FACTOR times that (it has the same sources of
 * error; the block scales change the weights, not the arithmetic), and at
 * most BLOCK_TOL_ABS in absolute terms. Measured (seed 11, two layers):
 * i2_s 0.073, block-scaled 0.087 (max |Δlogit| / RMS(logits)). */
#define BLOCK_TOL_FACTOR 1.5
#define BLOCK_TOL_ABS 0.2

static void test_block_scaled(void) {
    const char *pf = write_fixture("blk-f32.gguf", BN_TYPE_F32, true, "bitnet");
    const char *p1 = write_fixture("blk-tq1.gguf", BN_TYPE_TQ1_0, true, "bitnet");
    const char *p2 = write_fixture("blk-tq2.gguf", BN_TYPE_TQ2_0, true, "bitnet");
    log_capture lc = {0}, lr = {0};
    int32_t V = 0;
    float *lf = model_logits(pf, NULL, &lc, &V);
    float *l1 = model_logits(p1, NULL, &lc, &V);
    float *l2 = model_logits(p2, NULL, &lc, &V);
    float *l2_ref = model_logits(p2, "ref", &lr, &V);
    CHECK(lf && l1 && l2 && l2_ref);
    CHECKF(lc.block_scaled == 2 * 7 * 2 && lc.repacked == 0,
           "%d block-scaled, %d repacked (want 28, 0)", lc.block_scaled, lc.repacked);
    if (lf && l1 && l2 && l2_ref) {
        const size_t n = 2 * (size_t)V * N_SEQ;
        CHECK(memcmp(l1, l2, n * sizeof(float)) == 0); /* same weights, same path */
        double ss = 0, isa_diff = 0;
        for (size_t i = 0; i < n; i++) ss += (double)lf[i] * lf[i];
        const double rms = sqrt(ss / (double)n);
        /* the block sums are the same on every ISA (test_kernels); what
         * differs is the float kernels around them (attention, head) */
        for (size_t i = 0; i < n; i++) isa_diff = fmax(isa_diff, fabs((double)l2[i] - l2_ref[i]));
        CHECKF(isa_diff / rms <= 1e-4, "ref and default ISA differ by %.3g", isa_diff / rms);
        const char *ui = write_fixture("uni-i2s.gguf", BN_TYPE_I2_S, false, "bitnet");
        const char *uf = write_fixture("uni-f32.gguf", BN_TYPE_F32, false, "bitnet");
        log_capture lu = {0};
        float *li = model_logits(ui, NULL, &lu, &V), *luf = model_logits(uf, NULL, &lu, &V);
        CHECK(li && luf);
        const double uni = li && luf ? rel_max_diff(li, luf, n) : 0;
        const double blk = rel_max_diff(l2, lf, n);
        printf("max |dlogit| / RMS vs the f32 file: block-scaled tq2_0 %.4g, i2_s %.4g\n", blk,
               uni);
        CHECKF(blk <= BLOCK_TOL_FACTOR * uni && blk <= BLOCK_TOL_ABS,
               "block-scaled logits differ from f32 by %.3g (i2_s: %.3g)", blk, uni);
        free(li);
        free(luf);
        /* prefill (gemm) and decode (gemv) halves agree to float rounding */
        double pd = 0;
        for (size_t i = 0; i < n / 2; i++) pd = fmax(pd, fabs((double)l2[i] - l2[i + n / 2]));
        CHECKF(pd / rms <= 1e-4, "prefill and decode differ by %.3g", pd / rms);
    }
    free(lf);
    free(l1);
    free(l2);
    free(l2_ref);
}

/* ------------------------------------------------------------------------- */
/* Malformed tensors                                                          */
/* ------------------------------------------------------------------------- */

/* A one-tensor GGUF: `ne0` × 2 of `type`, `payload` data bytes. */
static const char *one_tensor(const char *name, uint32_t type, uint64_t ne0, size_t payload) {
    gb b = {0};
    gb_header(&b, 3, 1, 1);
    gb_kv_str(&b, "general.architecture", "bitnet");
    const uint64_t ne[2] = {ne0, 2};
    gb_tensor(&b, "blk.0.attn_q.weight", 2, ne, type, 0);
    gb_align(&b, 32);
    gb_fill(&b, payload, 3);
    const char *path = path_of(name);
    CHECK(gb_save(&b, path) == 0);
    gb_free(&b);
    return path;
}

static void expect_open_error(const char *path, const char *what) {
    bn_gguf *g = NULL;
    bitnet_status st = bn_gguf_open(path, true, &g);
    const char *msg = bitnet_get_last_error();
    CHECKF(st != BITNET_OK && strstr(msg, "blk.0.attn_q.weight") && strstr(msg, what),
           "%s: status %d, message '%s'", path, (int)st, msg);
    bn_gguf_close(g);
}

/* Rewrites `len` bytes at `at` bytes into tensor `tensor` of a copy of `src`. */
static const char *patched(const char *src, const char *name, const char *tensor, uint64_t at,
                           const void *bytes, size_t len) {
    bn_gguf *g = NULL;
    CHECK(bn_gguf_open(src, false, &g) == BITNET_OK);
    const bn_gguf_tensor *t = g ? bn_gguf_find_tensor(g, tensor) : NULL;
    CHECK(t != NULL);
    const uint64_t off = t ? (uint64_t)(t->data - g->base) + at : 0;
    bn_gguf_close(g);
    size_t n = 0;
    char *data = test_read_file(src, &n);
    CHECK(data && off + len <= n);
    if (data && off + len <= n) memcpy(data + off, bytes, len);
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f) fclose(f);
    free(data);
    return path;
}

static void expect_load_error(const char *path, const char *what) {
    bitnet_model *m = bitnet_model_load(path, NULL);
    const char *msg = bitnet_get_last_error();
    CHECKF(!m && strstr(msg, "blk.0.ffn_up.weight") && strstr(msg, what), "%s: message '%s'", path,
           msg);
    bitnet_model_free(m);
}

static void test_malformed(void) {
    /* ne0 not a multiple of the 256-value block */
    expect_open_error(one_tensor("bad-tq1-ne0.gguf", BN_TYPE_TQ1_0, 128, 54), "256");
    expect_open_error(one_tensor("bad-tq2-ne0.gguf", BN_TYPE_TQ2_0, 320, 132), "256");
    /* data shorter than the blocks: 2 rows of 512 = 4 blocks */
    expect_open_error(one_tensor("bad-tq1-size.gguf", BN_TYPE_TQ1_0, 512, 4 * 54 - 1), "216 bytes");
    expect_open_error(one_tensor("bad-tq2-size.gguf", BN_TYPE_TQ2_0, 512, 4 * 66 - 10),
                      "264 bytes");

    /* a TQ2_0 code 3 (+2): not ternary */
    const char *good2 = write_fixture("good-tq2.gguf", BN_TYPE_TQ2_0, false, "bitnet");
    const uint8_t three = 0xFF;
    expect_load_error(
        patched(good2, "bad-tq2-code3.gguf", "blk.0.ffn_up.weight", 66 * 3 + 9, &three, 1),
        "code 3");
    /* a non-finite block scale (F16 inf) of a block with non-zero values */
    const uint16_t inf = 0x7c00;
    expect_load_error(
        patched(good2, "bad-tq2-inf.gguf", "blk.0.ffn_up.weight", 66 * 2 + 64, &inf, 2), "finite");
    const char *good1 = write_fixture("good-tq1.gguf", BN_TYPE_TQ1_0, false, "bitnet");
    const uint16_t nan = 0x7e00;
    expect_load_error(
        patched(good1, "bad-tq1-nan.gguf", "blk.0.ffn_up.weight", 54 * 5 + 52, &nan, 2), "finite");

    /* the fixture refuses shapes TQ cannot hold, naming the flag */
    bn_fixture_params p;
    fixture_params(&p, BN_TYPE_TQ2_0, false);
    p.n_embd = 128;
    CHECK(bn_fixture_check(&p) == BITNET_ERR_INVALID_ARGUMENT &&
          strstr(bitnet_get_last_error(), "--n-embd 128"));
    fixture_params(&p, BN_TYPE_I2_S, true);
    CHECK(bn_fixture_check(&p) == BITNET_ERR_INVALID_ARGUMENT &&
          strstr(bitnet_get_last_error(), "--block-scales"));
}

/* `bitnet fixture --quant tq1_0|tq2_0` and `bitnet inspect` on the result. */
static void test_cli(void) {
    const char *bin = test_env("BITNET_BIN", "bin/bitnet");
    char cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd,
             "'%s' fixture --quant tq1_0 --n-embd 256 --n-ff 512 -q -o '%s' 2>&1 && '%s' inspect "
             "-m '%s' 2>&1",
             bin, path_of("cli-tq1.gguf"), bin, path_of("cli-tq1.gguf"));
    CHECKF(test_run(cmd, out, sizeof out) == 0 && strstr(out, "tq1_0"), "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' fixture --quant tq2_0 -q -o '%s' 2>&1", bin,
             path_of("cli-tq2-bad.gguf"));
    CHECKF(test_run(cmd, out, sizeof out) == 2 && strstr(out, "multiples of 256"), "%s", out);
}

int main(void) {
    dir = test_tmpdir("tq");
    test_known_bytes();
    test_round_trip();
    test_kernels();
    test_same_logits();
    test_block_scaled();
    test_malformed();
    test_cli();
    TEST_END();
}
