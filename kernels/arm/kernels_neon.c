/* AArch64 NEON kernels (bn_kernels_neon). The I2_S dot uses the dot-product
 * extension (`sdot`, vdotq_s32) when the CPU has it (checked once through
 * HWCAP_ASIMDDP) and widening multiplies (vmull_s8 + vpadalq_s16) otherwise,
 * so the table is correct on every ARMv8 core. Integer results equal the
 * reference exactly; see docs/kernels.md.
 *
 * I2_S block (128 values, 32 bytes): byte i holds values i, 32+i, 64+i, 96+i
 * in bit pairs 7-6, 5-4, 3-2, 1-0. NEON shifts bytes individually, so plane
 * p of a 16-byte half is (w >> (6-2p)) & 3 and lines up with 16 consecutive
 * activations. */
#include <arm_neon.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#include "../f16.h"
#include "../kernels.h"
#include "../ref/kernels_ref.h"
#include "kernels_arm.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* quantize_i8                                                               */
/* ------------------------------------------------------------------------ */

static void quantize_i8_neon(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum) {
    /* vmaxnm (IEEE maxNum) returns the non-NaN operand, so NaN inputs are
     * skipped like the reference's `a > max`; the max over floats is exact. */
    float32x4_t m = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
    float best = vmaxnmvq_f32(m);
    for (; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        if (a > best) best = a;
    }
    double max = (double)best;
    if (!(max > 0.00001)) max = 0.00001;
    const float s = (float)(127.0 / max);

    /* The reference's nearest_int, operation by operation (multiply, add
     * 1.5·2^23, low mantissa bits; -ffp-contract=off keeps mul and add
     * separate), then clamp and narrow (exact: values already in range). */
    const float32x4_t vs = vdupq_n_f32(s), magic = vdupq_n_f32(12582912.0f);
    const int32x4_t mant = vdupq_n_s32(0x007fffff), half = vdupq_n_s32(0x00400000);
    const int32x4_t hi = vdupq_n_s32(127), lo = vdupq_n_s32(-128);
    int32x4_t total = vdupq_n_s32(0);
    for (i = 0; i + 8 <= n; i += 8) {
        int32x4_t v[2];
        for (int h = 0; h < 2; h++) {
            float32x4_t f = vaddq_f32(vmulq_f32(vld1q_f32(x + i + 4 * h), vs), magic);
            int32x4_t b = vsubq_s32(vandq_s32(vreinterpretq_s32_f32(f), mant), half);
            v[h] = vmaxq_s32(vminq_s32(b, hi), lo);
            total = vaddq_s32(total, v[h]);
        }
        int16x8_t v16 = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
        vst1_s8(q + i, vqmovn_s16(v16));
    }
    int32_t acc = vaddvq_s32(total);
    for (; i < n; i++) {
        float shifted = x[i] * s + 12582912.0f;
        int32_t bits;
        memcpy(&bits, &shifted, sizeof bits);
        int v = (bits & 0x007fffff) - 0x00400000;
        if (v > 127) v = 127;
        if (v < -128) v = -128;
        q[i] = (int8_t)v;
        acc += v;
    }
    *scale = s;
    *sum = acc;
}

/* ------------------------------------------------------------------------ */
/* I2_S × int8                                                               */
/* ------------------------------------------------------------------------ */

/* The eight 16-byte code vectors of a block: index 2p + h is plane p, half h,
 * and pairs with activations 32p + 16h .. +15. */
static ALWAYS_INLINE void decode_block(const uint8_t *w, int8x16_t c[8]) {
    const uint8x16_t m3 = vdupq_n_u8(3);
    for (int h = 0; h < 2; h++) {
        const uint8x16_t b = vld1q_u8(w + 16 * h);
        c[0 + h] = vreinterpretq_s8_u8(vshrq_n_u8(b, 6));
        c[2 + h] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 4), m3));
        c[4 + h] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 2), m3));
        c[6 + h] = vreinterpretq_s8_u8(vandq_u8(b, m3));
    }
}

/* Without sdot: vmull_s8 gives int16 products (|code·q| <= 3·128 = 384),
 * vpadalq_s16 adds adjacent pairs into int32 lanes right away: no int16
 * accumulation, so nothing can wrap. */
static ALWAYS_INLINE int32x4_t dot16_widen(int32x4_t acc, int8x16_t c, int8x16_t x) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(c), vget_low_s8(x)));
    return vpadalq_s16(acc, vmull_high_s8(c, x));
}

/* R rows × T tokens over all K. With sdot, each int32 lane gains four
 * products per instruction, at most 8·384 per block: no overflow for any K
 * where the reference's own int32 sum is defined (K < 2^23). */
static ALWAYS_INLINE void tile(const uint8_t *w, int64_t row_bytes, const int8_t *q,
                               int64_t q_stride, int64_t nb, int32_t *out, int64_t out_stride,
                               const int R, const int T, const bool sdot) {
    int32x4_t acc[2][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = vdupq_n_s32(0);
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t c[2][8];
        for (int r = 0; r < R; r++) decode_block(w + r * row_bytes + b * 32, c[r]);
        for (int t = 0; t < T; t++) {
            const int8_t *x = q + t * q_stride + b * 128;
            for (int j = 0; j < 8; j++) {
                const int8x16_t xv = vld1q_s8(x + 16 * j);
                for (int r = 0; r < R; r++) {
#if defined(__ARM_FEATURE_DOTPROD)
                    if (sdot) {
                        acc[r][t] = vdotq_s32(acc[r][t], c[r][j], xv);
                        continue;
                    }
#endif
                    acc[r][t] = dot16_widen(acc[r][t], c[r][j], xv);
                }
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * out_stride + r] = vaddvq_s32(acc[r][t]);
}

typedef void (*tile_fn)(const uint8_t *, int64_t, const int8_t *, int64_t, int64_t, int32_t *,
                        int64_t);

#define DEF_TILE(R, T)                                                                             \
    static void tile_dp_##R##x##T(const uint8_t *w, int64_t rb, const int8_t *q, int64_t qs,       \
                                  int64_t nb, int32_t *out, int64_t os) {                          \
        tile(w, rb, q, qs, nb, out, os, R, T, true);                                               \
    }                                                                                              \
    static void tile_mull_##R##x##T(const uint8_t *w, int64_t rb, const int8_t *q, int64_t qs,     \
                                    int64_t nb, int32_t *out, int64_t os) {                        \
        tile(w, rb, q, qs, nb, out, os, R, T, false);                                              \
    }
DEF_TILE(1, 1)
DEF_TILE(1, 2)
DEF_TILE(1, 3)
DEF_TILE(1, 4)
DEF_TILE(2, 1)
DEF_TILE(2, 2)
DEF_TILE(2, 3)
DEF_TILE(2, 4)

/* [sdot][rows - 1][tokens - 1] */
static const tile_fn tiles[2][2][4] = {
    {{tile_mull_1x1, tile_mull_1x2, tile_mull_1x3, tile_mull_1x4},
     {tile_mull_2x1, tile_mull_2x2, tile_mull_2x3, tile_mull_2x4}},
    {{tile_dp_1x1, tile_dp_1x2, tile_dp_1x3, tile_dp_1x4},
     {tile_dp_2x1, tile_dp_2x2, tile_dp_2x3, tile_dp_2x4}},
};

static int has_sdot(void) {
#if defined(__ARM_FEATURE_DOTPROD) && defined(__linux__) && defined(HWCAP_ASIMDDP)
    /* asked per call (a read of the auxiliary vector, negligible next to a
     * matrix product) rather than cached in a static: no mutable globals */
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? 1 : 0;
#else
    return 0;
#endif
}

/* Rows per cache block: about 256 KiB of weights, reused from L2 by every
 * 4-token tile. */
static void i2s_gemm_neon(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                          int64_t q_stride, int64_t n_tok, int32_t *out, int64_t out_stride) {
    const int dp = has_sdot();
    const int64_t rb = K / 4, nb = K / 128;
    int64_t block = (256 * 1024 / rb) & ~(int64_t)1;
    if (block < 2) block = 2;
    for (int64_t r0 = 0; r0 < n_rows; r0 += block) {
        const int64_t r1 = r0 + block < n_rows ? r0 + block : n_rows;
        for (int64_t t = 0; t < n_tok; t += 4) {
            const int nt = n_tok - t < 4 ? (int)(n_tok - t) : 4;
            for (int64_t r = r0; r < r1; r += 2) {
                const int nr = r1 - r < 2 ? 1 : 2;
                tiles[dp][nr - 1][nt - 1](w + r * rb, rb, q + t * q_stride, q_stride, nb,
                                          out + t * out_stride + r, out_stride);
            }
        }
    }
}

static void i2s_gemv_neon(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                          int32_t *out) {
    i2s_gemm_neon(w, K, n_rows, q, K, 1, out, n_rows);
}

/* ------------------------------------------------------------------------ */
/* Float dot products                                                        */
/* ------------------------------------------------------------------------ */

static ALWAYS_INLINE float32x4_t load_f16(const uint16_t *p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

static float dot_f16_neon(const uint16_t *a, const uint16_t *b, int64_t n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, load_f16(a + i), load_f16(b + i));
        s1 = vfmaq_f32(s1, load_f16(a + i + 4), load_f16(b + i + 4));
        s2 = vfmaq_f32(s2, load_f16(a + i + 8), load_f16(b + i + 8));
        s3 = vfmaq_f32(s3, load_f16(a + i + 12), load_f16(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, load_f16(a + i), load_f16(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) sum += bn_f16_to_f32(a[i]) * bn_f16_to_f32(b[i]);
    return sum;
}

static float dot_f16_f32_neon(const uint16_t *a, const float *b, int64_t n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, load_f16(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, load_f16(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, load_f16(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, load_f16(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, load_f16(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) sum += bn_f16_to_f32(a[i]) * b[i];
    return sum;
}

static float dot_f32_neon(const float *a, const float *b, int64_t n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static void scale_i32_neon(const int32_t *raw, int64_t n, float sum_q, float s_x, float s_w,
                           float *y) {
    const float32x4_t vq = vdupq_n_f32(sum_q), vx = vdupq_n_f32(s_x), vw = vdupq_n_f32(s_w);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t r = vcvtq_f32_s32(vld1q_s32(raw + i));
        vst1q_f32(y + i, vmulq_f32(vdivq_f32(vsubq_f32(r, vq), vx), vw));
    }
    bn_scale_i32_ref(raw + i, n - i, sum_q, s_x, s_w, y + i);
}

/* One NEON dot product per vector: the same bits as dot_f16_f32_neon by
 * construction (no multi-token NEON version yet). */
static void dot_f16_f32_multi_neon(const uint16_t *a, const float *x, int64_t x_stride, int n_x,
                                   int64_t n, float *out) {
    for (int t = 0; t < n_x; t++) out[t] = dot_f16_f32_neon(a, x + t * x_stride, n);
}

/* Attention's products over the F16 cache (kernels.h attn_*): four lanes
 * run four of the reference's fmaf chains (vfmaq rounds once, as fmaf
 * does), sixteen keys or dimensions of one query row at a time; what is
 * left over runs through fmaf itself. No multi-row tiles yet. */
static void attn_scores_f16_neon(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                                 const float *const *q, int n_q, float *const *s) {
    for (int r = 0; r < n_q; r++) {
        int j = 0;
        for (; j + 16 <= n_keys; j += 16) {
            float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0; d < hd; d++) {
                const uint16_t *row = kt + d * kt_stride + j;
                const float32x4_t qd = vdupq_n_f32(q[r][d]);
                a0 = vfmaq_f32(a0, load_f16(row), qd);
                a1 = vfmaq_f32(a1, load_f16(row + 4), qd);
                a2 = vfmaq_f32(a2, load_f16(row + 8), qd);
                a3 = vfmaq_f32(a3, load_f16(row + 12), qd);
            }
            vst1q_f32(s[r] + j, a0);
            vst1q_f32(s[r] + j + 4, a1);
            vst1q_f32(s[r] + j + 8, a2);
            vst1q_f32(s[r] + j + 12, a3);
        }
        for (; j + 4 <= n_keys; j += 4) {
            float32x4_t a0 = vdupq_n_f32(0.0f);
            for (int d = 0; d < hd; d++)
                a0 = vfmaq_f32(a0, load_f16(kt + d * kt_stride + j), vdupq_n_f32(q[r][d]));
            vst1q_f32(s[r] + j, a0);
        }
        if (j < n_keys) {
            float *rest = s[r] + j;
            bn_attn_scores_f16_ref(kt + j, kt_stride, n_keys - j, hd, q + r, 1, &rest);
        }
    }
}

static void attn_values_f16_neon(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                                 const float *const *p, int n_q, float *const *out) {
    for (int r = 0; r < n_q; r++) {
        int d = 0;
        for (; d + 16 <= hd; d += 16) {
            float *o = out[r] + d;
            float32x4_t a0 = vld1q_f32(o), a1 = vld1q_f32(o + 4);
            float32x4_t a2 = vld1q_f32(o + 8), a3 = vld1q_f32(o + 12);
            for (int j = 0; j < n_keys[r]; j++) {
                const uint16_t *row = v + j * v_stride + d;
                const float32x4_t pj = vdupq_n_f32(p[r][j]);
                a0 = vfmaq_f32(a0, load_f16(row), pj);
                a1 = vfmaq_f32(a1, load_f16(row + 4), pj);
                a2 = vfmaq_f32(a2, load_f16(row + 8), pj);
                a3 = vfmaq_f32(a3, load_f16(row + 12), pj);
            }
            vst1q_f32(o, a0);
            vst1q_f32(o + 4, a1);
            vst1q_f32(o + 8, a2);
            vst1q_f32(o + 12, a3);
        }
        for (; d + 4 <= hd; d += 4) {
            float32x4_t a0 = vld1q_f32(out[r] + d);
            for (int j = 0; j < n_keys[r]; j++)
                a0 = vfmaq_f32(a0, load_f16(v + j * v_stride + d), vdupq_n_f32(p[r][j]));
            vst1q_f32(out[r] + d, a0);
        }
        if (d < hd) {
            float *rest = out[r] + d;
            bn_attn_values_f16_ref(v + d, v_stride, hd - d, n_keys + r, p + r, 1, &rest);
        }
    }
}

const bn_kernels bn_kernels_neon = {
    .isa = "neon",
    .quantize_i8 = quantize_i8_neon,
    .i2s_gemv = i2s_gemv_neon,
    .i2s_gemm = i2s_gemm_neon,
    .i2s_blk_gemv = bn_i2s_blk_gemv_ref, /* block-scaled TQ path: no NEON version yet */
    .i2s_blk_gemm = bn_i2s_blk_gemm_ref,
    .u8_gemv = bn_u8_gemv_ref, /* no NEON version yet */
    .scale_i32 = scale_i32_neon,
    .f32_to_f16 = bn_f32_to_f16_ref,
    .f32_round_f16 = bn_f32_round_f16_neon,
    .dot_f16 = dot_f16_neon,
    .dot_f16_f32 = dot_f16_f32_neon,
    .dot_f16_f32_multi = dot_f16_f32_multi_neon,
    .attn_scores_f16 = attn_scores_f16_neon,
    .attn_values_f16 = attn_values_f16_neon,
    .softmax_f32 = bn_softmax_f32_neon,
    .silu_mul = bn_silu_mul_neon,
    .relu2_mul = bn_relu2_mul_neon,
    .rmsnorm = bn_rmsnorm_neon,
    .dot_f32 = dot_f32_neon,
};
