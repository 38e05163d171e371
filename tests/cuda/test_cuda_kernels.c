/* The CUDA kernels on the device against their CPU truth (cuda_kernels.h
 * names each one): integer results bit for bit, float results bit for bit
 * where the device does the CPU's operations in the CPU's order, within the
 * tolerances of docs/cuda.md elsewhere. Odd shapes and tails throughout.
 * Without a CUDA device: exit 77 (skipped) with the runtime's reason. */
#include <float.h>

#include "cuda/cuda_kernels.h"
#include "cuda/cuda_layout.h"
#include "f16.h"
#include "ops.h"
#include "ref/kernels_ref.h"
#include "testutil.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static float frnd(float lo, float hi) {
    return lo + (hi - lo) * (float)(rnd() & 0xffffff) / 16777216.0f;
}

#define CU(call)                                                                                   \
    do {                                                                                           \
        const int cu_err_ = (call);                                                                \
        if (cu_err_) {                                                                             \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,                          \
                    bn_cuda_error_string(cu_err_));                                                \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void *dev_copy(const void *src, size_t bytes) {
    void *d = NULL;
    CU(bn_cuda_malloc(&d, bytes));
    if (src) CU(bn_cuda_upload(d, src, bytes));
    return d;
}

static bool same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void fill_i2s(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd(); /* any byte: code 3 included */
}

static void fill_q(int8_t *q, size_t n, int kind) {
    for (size_t i = 0; i < n; i++)
        q[i] = kind == 0 ? (int8_t)rnd() : kind == 1 ? (int8_t)-128 : (int8_t)(i % 2 ? 127 : -128);
}

static void test_gemv(void) {
    static const int64_t Ks[] = {128, 384, 2560, 6912};
    static const int64_t Rs[] = {1, 7, 33, 2563};
    int cases = 0;
    for (size_t ki = 0; ki < 4; ki++)
        for (size_t ri = 0; ri < 4; ri++)
            for (int kind = 0; kind < 3; kind++) {
                const int64_t K = Ks[ki], R = Rs[ri], W = bn_k16_row_words(K);
                uint8_t *w = malloc((size_t)(R * K / 4));
                uint32_t *k16 = malloc((size_t)(R * W) * 4);
                int8_t *q = malloc((size_t)K);
                int32_t *want = malloc((size_t)R * 4), *got = malloc((size_t)R * 4);
                fill_i2s(w, (size_t)(R * K / 4));
                fill_q(q, (size_t)K, kind);
                CHECK(bn_k16_repack_i2s(w, K, R, k16));
                bn_i2s_gemv_ref(w, K, R, q, want);
                uint32_t *d_w = dev_copy(k16, (size_t)(R * W) * 4);
                int8_t *d_q = dev_copy(q, (size_t)K);
                int32_t *d_out = dev_copy(NULL, (size_t)R * 4);
                CU(bn_cuda_i2s_gemv(d_w, K, R, d_q, d_out));
                CU(bn_cuda_download(got, d_out, (size_t)R * 4));
                int64_t bad = 0;
                for (int64_t r = 0; r < R; r++) bad += got[r] != want[r];
                CHECKF(bad == 0, "i2s_gemv K=%lld rows=%lld q=%d: %lld rows differ", (long long)K,
                       (long long)R, kind, (long long)bad);
                bn_cuda_free(d_w);
                bn_cuda_free(d_q);
                bn_cuda_free(d_out);
                free(w), free(k16), free(q), free(want), free(got);
                cases++;
            }
    printf("  i2s_gemv: %d cases bit for bit\n", cases);
}

static void test_gemm(void) {
    static const int64_t shapes[][3] = {
        /* K, rows, tokens */
        {128, 1, 1},   {128, 8, 16},  {256, 63, 17}, {384, 64, 64},     {128, 65, 65},
        {640, 130, 3}, {640, 9, 129}, {2560, 70, 5}, {2560, 2560, 128}, {6912, 77, 33}};
    int cases = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int kind = 0; kind < 2; kind++) {
            const int64_t K = shapes[s][0], R = shapes[s][1], T = shapes[s][2];
            const int64_t W = bn_k16_row_words(K), qs = K + 48, os = R + 5;
            uint8_t *w = malloc((size_t)(R * K / 4));
            uint32_t *k16 = malloc((size_t)(R * W) * 4);
            int8_t *q = malloc((size_t)(T * qs));
            int32_t *want = calloc((size_t)(T * os), 4), *got = calloc((size_t)(T * os), 4);
            fill_i2s(w, (size_t)(R * K / 4));
            fill_q(q, (size_t)(T * qs), kind ? 2 : 0);
            CHECK(bn_k16_repack_i2s(w, K, R, k16));
            bn_i2s_gemm_ref(w, K, R, q, qs, T, want, os);
            uint32_t *d_w = dev_copy(k16, (size_t)(R * W) * 4);
            int8_t *d_q = dev_copy(q, (size_t)(T * qs));
            int32_t *d_out = dev_copy(got, (size_t)(T * os) * 4);
            CU(bn_cuda_i2s_gemm(d_w, K, R, d_q, qs, T, d_out, os));
            CU(bn_cuda_download(got, d_out, (size_t)(T * os) * 4));
            int64_t bad = 0;
            for (int64_t t = 0; t < T; t++)
                for (int64_t c = 0; c < os; c++) /* the padding must stay 0 */
                    bad += got[t * os + c] != want[t * os + c];
            CHECKF(bad == 0, "i2s_gemm K=%lld rows=%lld tok=%lld: %lld values differ", (long long)K,
                   (long long)R, (long long)T, (long long)bad);
            bn_cuda_free(d_w);
            bn_cuda_free(d_q);
            bn_cuda_free(d_out);
            free(w), free(k16), free(q), free(want), free(got);
            cases++;
        }
    /* shapes the kernels refuse instead of misreading */
    CHECK(bn_cuda_i2s_gemm(NULL, 100, 1, NULL, 112, 1, NULL, 1) == BN_CUDA_EINVAL);
    CHECK(bn_cuda_i2s_gemv(NULL, 96, 1, NULL, NULL) == BN_CUDA_EINVAL);
    printf("  i2s_gemm (mma.sync s8): %d cases bit for bit\n", cases);
}

static void test_scale(void) {
    const int64_t n = 1001;
    int32_t *raw = malloc((size_t)n * 4);
    float *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) raw[i] = (int32_t)(rnd() % 2000001) - 1000000;
    bn_scale_i32_ref(raw, n, 123.0f, 51.3f, 0.73f, want);
    int32_t *d_raw = dev_copy(raw, (size_t)n * 4);
    float *d_y = dev_copy(NULL, (size_t)n * 4);
    CU(bn_cuda_scale_i32(d_raw, n, 123.0f, 51.3f, 0.73f, d_y));
    CU(bn_cuda_download(got, d_y, (size_t)n * 4));
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += !same_bits(got[i], want[i]);
    CHECKF(bad == 0, "scale_i32: %lld values differ", (long long)bad);
    bn_cuda_free(d_raw);
    bn_cuda_free(d_y);
    free(raw), free(want), free(got);
}

/* A fused Q/K/V-like group of three parts: matmul.c's finish_rows per part. */
static void test_bitlinear_out(void) {
    const int64_t T = 3, n[3] = {257, 64, 130}, rows = 257 + 64 + 130, stride = rows + 7;
    int32_t *raw = malloc((size_t)(T * stride) * 4), sum[3];
    float sx[3], bias[130], *want = malloc((size_t)(T * 257) * 4),
                            *got = malloc((size_t)(T * 257) * 4);
    for (int64_t i = 0; i < T * stride; i++) raw[i] = (int32_t)(rnd() % 600001) - 300000;
    for (int t = 0; t < T; t++)
        sum[t] = (int32_t)(rnd() % 20001) - 10000, sx[t] = frnd(1.0f, 300.0f);
    for (int i = 0; i < 130; i++) bias[i] = frnd(-1.0f, 1.0f);
    int32_t *d_raw = dev_copy(raw, (size_t)(T * stride) * 4), *d_sum = dev_copy(sum, sizeof sum);
    float *d_sx = dev_copy(sx, sizeof sx), *d_bias = dev_copy(bias, sizeof bias);
    bn_cuda_out_part parts[3];
    int64_t row0 = 0;
    for (int p = 0; p < 3; p++) {
        parts[p] = (bn_cuda_out_part){row0,
                                      n[p],
                                      0.5f + (float)p * 0.37f,
                                      1.7f,
                                      p == 1,
                                      p == 2 ? d_bias : NULL,
                                      dev_copy(NULL, (size_t)(T * n[p]) * 4)};
        row0 += n[p];
    }
    CU(bn_cuda_bitlinear_out(d_raw, stride, T, d_sum, d_sx, parts, 3));
    int64_t bad = 0;
    for (int p = 0; p < 3; p++) {
        CU(bn_cuda_download(got, parts[p].d_y, (size_t)(T * n[p]) * 4));
        for (int t = 0; t < T; t++) {
            float *y = want + t * n[p];
            bn_scale_i32_ref(raw + t * stride + parts[p].row0, n[p], (float)sum[t], sx[t],
                             parts[p].s_w, y);
            for (int64_t r = 0; r < n[p]; r++) {
                if (parts[p].has_post) y[r] *= parts[p].post_scale;
                if (parts[p].d_bias) y[r] += bias[r];
            }
        }
        for (int64_t i = 0; i < T * n[p]; i++) bad += !same_bits(got[i], want[i]);
        bn_cuda_free(parts[p].d_y);
    }
    CHECKF(bad == 0, "bitlinear_out: %lld values differ", (long long)bad);
    bn_cuda_free(d_raw), bn_cuda_free(d_sum), bn_cuda_free(d_sx), bn_cuda_free(d_bias);
    free(raw), free(want), free(got);
}

/* Rows of the quantizer's hard cases: random, all zero, tiny, exact ties
 * (x·scale = k + 0.5), one NaN, huge. */
static void fill_row(float *x, int64_t n, int kind) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = frnd(-3.0f, 3.0f); break;
        case 1: x[i] = 0.0f; break;
        case 2: x[i] = frnd(-1e-7f, 1e-7f); break;
        case 3: x[i] = (float)((int64_t)(i % 255) - 127) + (i == 0 ? 0.0f : 0.5f); break;
        case 4: x[i] = i == n / 2 ? NAN : frnd(-1.0f, 1.0f); break;
        default: x[i] = frnd(-1e30f, 1e30f); break;
        }
    }
}

static void test_quantize_norm(void) {
    static const int64_t ns[] = {1, 31, 257, 2560, 6912};
    const int T = 6; /* one row of each kind */
    int cases = 0, y_exact = 0, y_total = 0;
    for (size_t ni = 0; ni < 5; ni++) {
        const int64_t n = ns[ni];
        float *x = malloc((size_t)(T * n) * 4), *wn = malloc((size_t)n * 4);
        float *y = malloc((size_t)(T * n) * 4), *yref = malloc((size_t)n * 4);
        int8_t *q = malloc((size_t)(T * n)), *qref = malloc((size_t)n);
        float sc[6], scref;
        int32_t sm[6], smref;
        for (int t = 0; t < T; t++) fill_row(x + t * n, n, t);
        for (int64_t i = 0; i < n; i++) wn[i] = frnd(0.5f, 2.0f);
        float *d_x = dev_copy(x, (size_t)(T * n) * 4), *d_w = dev_copy(wn, (size_t)n * 4);
        float *d_y = dev_copy(NULL, (size_t)(T * n) * 4), *d_sc = dev_copy(NULL, T * 4);
        int8_t *d_q = dev_copy(NULL, (size_t)(T * n));
        int32_t *d_sm = dev_copy(NULL, T * 4);

        /* quantization alone: every bit of q, scale and Σq */
        CU(bn_cuda_quantize_i8(d_x, n, T, d_q, d_sc, d_sm));
        CU(bn_cuda_download(q, d_q, (size_t)(T * n)));
        CU(bn_cuda_download(sc, d_sc, T * 4));
        CU(bn_cuda_download(sm, d_sm, T * 4));
        for (int t = 0; t < T; t++) {
            bn_quantize_i8_ref(x + t * n, n, qref, &scref, &smref);
            CHECKF(memcmp(q + t * n, qref, (size_t)n) == 0 && same_bits(sc[t], scref) &&
                       sm[t] == smref,
                   "quantize_i8 n=%lld row kind %d", (long long)n, t);
            cases++;
        }
        /* RMSNorm fused with quantization: y within 2 ulp of bn_rmsnorm_ref, q
         * exactly the reference's quantization of the device's own y */
        CU(bn_cuda_rmsnorm_quant(d_x, d_w, n, T, 1e-5f, d_y, d_q, d_sc, d_sm));
        CU(bn_cuda_download(y, d_y, (size_t)(T * n) * 4));
        CU(bn_cuda_download(q, d_q, (size_t)(T * n)));
        CU(bn_cuda_download(sc, d_sc, T * 4));
        CU(bn_cuda_download(sm, d_sm, T * 4));
        for (int t = 0; t < T; t++) {
            if (t == 4 || t == 5) continue; /* NaN / overflowing squares: no finite truth */
            bn_rmsnorm_ref(yref, x + t * n, wn, n, 1e-5f);
            int64_t far = 0;
            for (int64_t i = 0; i < n; i++) {
                const float d = fabsf(y[t * n + i] - yref[i]);
                far += !(d <= 2.0f * FLT_EPSILON * fabsf(yref[i]) + FLT_MIN);
                y_exact += same_bits(y[t * n + i], yref[i]);
                y_total++;
            }
            CHECKF(far == 0, "rmsnorm n=%lld row kind %d: %lld values beyond 2 ulp", (long long)n,
                   t, (long long)far);
            bn_quantize_i8_ref(y + t * n, n, qref, &scref, &smref);
            CHECKF(memcmp(q + t * n, qref, (size_t)n) == 0 && same_bits(sc[t], scref) &&
                       sm[t] == smref,
                   "rmsnorm+quantize n=%lld row kind %d", (long long)n, t);
            cases++;
        }
        bn_cuda_free(d_x), bn_cuda_free(d_w), bn_cuda_free(d_y), bn_cuda_free(d_sc);
        bn_cuda_free(d_q), bn_cuda_free(d_sm);
        free(x), free(wn), free(y), free(yref), free(q), free(qref);
    }
    printf("  quantize_i8 / rmsnorm_quant: %d rows; rmsnorm bit-identical %d of %d\n", cases,
           y_exact, y_total);
}

static void test_rope_act(void) {
    /* RoPE: bit for bit with the host's cos/sin table */
    const int T = 5, H = 7, hd = 96, n_rot = 64;
    const int64_t n = (int64_t)T * H * hd;
    float *x = malloc((size_t)n * 4), *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    float *cs = malloc((size_t)(T * n_rot) * 4);
    for (int neox = 0; neox < 2; neox++) {
        for (int64_t i = 0; i < n; i++) x[i] = frnd(-2.0f, 2.0f);
        memcpy(want, x, (size_t)n * 4);
        for (int t = 0; t < T; t++) {
            bn_rope_table(cs + t * n_rot, 1000 * t + 3, n_rot, 500000.0f, false);
            bn_rope_apply(want + (int64_t)t * H * hd, H, hd, n_rot, cs + t * n_rot,
                          neox ? BN_ROPE_NEOX : BN_ROPE_NORM);
        }
        float *d_x = dev_copy(x, (size_t)n * 4), *d_cs = dev_copy(cs, (size_t)(T * n_rot) * 4);
        CU(bn_cuda_rope(d_x, T, H, hd, n_rot, d_cs, neox));
        CU(bn_cuda_download(got, d_x, (size_t)n * 4));
        int64_t bad = 0;
        for (int64_t i = 0; i < n; i++) bad += !same_bits(got[i], want[i]);
        CHECKF(bad == 0, "rope neox=%d: %lld values differ", neox, (long long)bad);
        bn_cuda_free(d_x), bn_cuda_free(d_cs);
    }
    /* ReLU² bit for bit; SiLU within 8 ulp (CUDA's expf) */
    const int64_t m = 6913;
    float *g = malloc((size_t)m * 4), *u = malloc((size_t)m * 4);
    for (int silu = 0; silu < 2; silu++) {
        for (int64_t i = 0; i < m; i++) g[i] = frnd(-12.0f, 12.0f), u[i] = frnd(-3.0f, 3.0f);
        float *d_g = dev_copy(g, (size_t)m * 4), *d_u = dev_copy(u, (size_t)m * 4);
        (silu ? bn_silu_mul_ref : bn_relu2_mul_ref)(g, u, m);
        CU(bn_cuda_ffn_act(d_g, d_u, m, silu));
        CU(bn_cuda_download(got, d_g, (size_t)m * 4));
        int64_t bad = 0;
        for (int64_t i = 0; i < m; i++)
            bad += silu ? !(fabsf(got[i] - g[i]) <= 8.0f * FLT_EPSILON * fabsf(g[i]) + FLT_MIN)
                        : !same_bits(got[i], g[i]);
        CHECKF(bad == 0, "ffn_act silu=%d: %lld values out of tolerance", silu, (long long)bad);
        bn_cuda_free(d_g), bn_cuda_free(d_u);
    }
    free(x), free(want), free(got), free(cs), free(g), free(u);
}

/* KV store, residual add, F16 rounding: bit for bit on finite values. */
static void test_small_steps(void) {
    const int64_t kv = 160, cells = 37, cell = 29, n = 2561;
    float *k = malloc((size_t)kv * 4), *v = malloc((size_t)kv * 4);
    for (int64_t i = 0; i < kv; i++) k[i] = frnd(-70000.0f, 70000.0f), v[i] = frnd(-1e-6f, 1e-6f);
    uint16_t *kt = calloc((size_t)(kv * cells), 2), *vc = calloc((size_t)(kv * cells), 2);
    uint16_t *d_kt = dev_copy(kt, (size_t)(kv * cells) * 2),
             *d_vc = dev_copy(vc, (size_t)(kv * cells) * 2);
    float *d_k = dev_copy(k, (size_t)kv * 4), *d_v = dev_copy(v, (size_t)kv * 4);
    CU(bn_cuda_kv_store(d_k, d_v, kv, cell, d_kt, cells, d_vc));
    CU(bn_cuda_download(kt, d_kt, (size_t)(kv * cells) * 2));
    CU(bn_cuda_download(vc, d_vc, (size_t)(kv * cells) * 2));
    int64_t bad = 0;
    for (int64_t i = 0; i < kv; i++)
        for (int64_t c = 0; c < cells; c++) {
            bad += kt[i * cells + c] != (c == cell ? bn_f32_to_f16(k[i]) : 0);
            bad += vc[c * kv + i] != (c == cell ? bn_f32_to_f16(v[i]) : 0);
        }
    CHECKF(bad == 0, "kv_store: %lld cache values differ", (long long)bad);
    float *x = malloc((size_t)n * 4), *d = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) x[i] = frnd(-5.0f, 5.0f), d[i] = frnd(-1e-3f, 1e-3f);
    float *d_x = dev_copy(x, (size_t)n * 4), *d_d = dev_copy(d, (size_t)n * 4);
    CU(bn_cuda_add(d_x, d_d, n));
    CU(bn_cuda_round_f16(d_x, n));
    CU(bn_cuda_download(got, d_x, (size_t)n * 4));
    bad = 0;
    for (int64_t i = 0; i < n; i++) bad += !same_bits(got[i], bn_round_f16(x[i] + d[i]));
    CHECKF(bad == 0, "add + round_f16: %lld values differ", (long long)bad);
    bn_cuda_free(d_kt), bn_cuda_free(d_vc), bn_cuda_free(d_k), bn_cuda_free(d_v);
    bn_cuda_free(d_x), bn_cuda_free(d_d);
    free(k), free(v), free(kt), free(vc), free(x), free(d), free(got);
}

static void test_head(void) {
    static const int64_t shapes[][2] = {{2560, 1003}, {100, 9}, {7, 1}, {2048, 64}};
    for (size_t s = 0; s < 4; s++) {
        const int64_t K = shapes[s][0], R = shapes[s][1];
        uint16_t *a = malloc((size_t)(K * R) * 2);
        float *x = malloc((size_t)K * 4), *got = malloc((size_t)R * 4);
        for (int64_t i = 0; i < K * R; i++) a[i] = bn_f32_to_f16(frnd(-0.1f, 0.1f));
        for (int64_t i = 0; i < K; i++) x[i] = frnd(-4.0f, 4.0f);
        uint16_t *d_a = dev_copy(a, (size_t)(K * R) * 2);
        float *d_x = dev_copy(x, (size_t)K * 4), *d_o = dev_copy(NULL, (size_t)R * 4);
        CU(bn_cuda_head_f16(d_a, K, R, d_x, d_o));
        CU(bn_cuda_download(got, d_o, (size_t)R * 4));
        int64_t bad = 0;
        for (int64_t r = 0; r < R; r++) {
            const float want = bn_dot_f16_f32_ref(a + r * K, x, K);
            double mag = 0.0;
            for (int64_t k = 0; k < K; k++) mag += fabs((double)bn_f16_to_f32(a[r * K + k]) * x[k]);
            bad += !(fabs((double)got[r] - want) <= 64.0 * FLT_EPSILON * mag + FLT_MIN);
        }
        CHECKF(bad == 0, "head_f16 K=%lld rows=%lld: %lld rows out of tolerance", (long long)K,
               (long long)R, (long long)bad);
        bn_cuda_free(d_a), bn_cuda_free(d_x), bn_cuda_free(d_o);
        free(a), free(x), free(got);
    }
}

static void test_attention(void) {
    static const int keys[] = {1, 7, 256, 257, 1000};
    const int H = 20, HKV = 5, hd = 128, group = H / HKV;
    for (int ki = 0; ki < 5; ki++) {
        const int n = keys[ki];
        const int64_t kts = n + 13; /* cells beyond n_keys are never read */
        uint16_t *kt = malloc((size_t)(HKV * hd * kts) * 2), *v = malloc((size_t)n * HKV * hd * 2);
        float *q = malloc((size_t)(H * hd) * 4), *sc = malloc((size_t)H * n * 4);
        float *out = malloc((size_t)(H * hd) * 4), *s = malloc((size_t)n * 4), *o = malloc(hd * 4);
        for (int64_t i = 0; i < HKV * hd * kts; i++) kt[i] = bn_f32_to_f16(frnd(-1.0f, 1.0f));
        for (int64_t i = 0; i < (int64_t)n * HKV * hd; i++) v[i] = bn_f32_to_f16(frnd(-1.0f, 1.0f));
        for (int64_t i = 0; i < H * hd; i++) q[i] = frnd(-2.0f, 2.0f);
        uint16_t *d_kt = dev_copy(kt, (size_t)(HKV * hd * kts) * 2);
        uint16_t *d_v = dev_copy(v, (size_t)n * HKV * hd * 2);
        float *d_q = dev_copy(q, (size_t)(H * hd) * 4), *d_sc = dev_copy(NULL, (size_t)H * n * 4);
        float *d_o = dev_copy(NULL, (size_t)(H * hd) * 4);
        void *d_work = dev_copy(NULL, bn_cuda_attn_work_bytes(H, hd, n));
        CU(bn_cuda_attn_decode(d_q, d_kt, kts, d_v, H, HKV, hd, n, d_sc, d_work, d_o));
        CU(bn_cuda_download(sc, d_sc, (size_t)H * n * 4));
        CU(bn_cuda_download(out, d_o, (size_t)(H * hd) * 4));
        int64_t bad_s = 0, bad_o = 0;
        for (int h = 0; h < H; h++) {
            const int kvh = h / group;
            const float *qr[1] = {q + h * hd};
            float *sr[1] = {s};
            bn_attn_scores_f16_ref(kt + (int64_t)kvh * hd * kts, kts, n, hd, qr, 1, sr);
            for (int j = 0; j < n; j++) bad_s += !same_bits(sc[(int64_t)h * n + j], s[j]);
            bn_softmax_f32_ref(s, n, 1.0f / sqrtf((float)hd));
            memset(o, 0, hd * 4);
            const float *pr[1] = {s};
            float *orow[1] = {o};
            const int nk[1] = {n};
            bn_attn_values_f16_ref(v + kvh * hd, (int64_t)HKV * hd, hd, nk, pr, 1, orow);
            for (int d = 0; d < hd; d++) {
                double mag = 0.0;
                for (int j = 0; j < n; j++)
                    mag +=
                        fabs((double)bn_f16_to_f32(v[(int64_t)j * HKV * hd + kvh * hd + d])) * s[j];
                bad_o +=
                    !(fabs((double)out[h * hd + d] - o[d]) <= 32.0 * FLT_EPSILON * mag + FLT_MIN);
            }
        }
        CHECKF(bad_s == 0 && bad_o == 0,
               "attn_decode keys=%d: %lld scores differ, %lld outputs "
               "out of tolerance",
               n, (long long)bad_s, (long long)bad_o);
        bn_cuda_free(d_kt), bn_cuda_free(d_v), bn_cuda_free(d_q), bn_cuda_free(d_sc);
        bn_cuda_free(d_o), bn_cuda_free(d_work);
        free(kt), free(v), free(q), free(sc), free(out), free(s), free(o);
    }
}

int main(void) {
    char name[256];
    const int n = bn_cuda_init(name, sizeof name);
    if (n < 0) SKIP("no CUDA device: %s", bn_cuda_error_string(-n));
    if (n == 0) SKIP("no CUDA device: cudaGetDeviceCount found none");
    printf("device: %s\n", name);
    test_gemv();
    test_gemm();
    test_scale();
    test_bitlinear_out();
    test_quantize_norm();
    test_rope_act();
    test_small_steps();
    test_head();
    test_attention();
    CU(bn_cuda_sync());
    TEST_END();
}
