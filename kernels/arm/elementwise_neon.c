/* Element-wise kernels, NEON (kernels.h softmax_f32, f32_round_f16,
 * silu_mul, relu2_mul, rmsnorm): each lane performs exp_poly.h's operations
 * in its order (vfmaq rounds once, as fmaf does), and the double sums keep
 * fold16.h's sixteen partial sums in eight registers of two, so the
 * results are the reference's bits. */
#include <arm_neon.h>
#include <math.h>
#include <stdint.h>

#include "../exp_poly.h"
#include "../ref/kernels_ref.h"
#include "kernels_arm.h"

static inline float32x4_t exp_poly4(float32x4_t x) {
    const float32x4_t t = vfmaq_f32(vdupq_n_f32(BN_EXP_ROUND), x, vdupq_n_f32(BN_EXP_LOG2E));
    const float32x4_t n = vsubq_f32(t, vdupq_n_f32(BN_EXP_ROUND));
    float32x4_t r = vfmaq_f32(x, n, vdupq_n_f32(-BN_EXP_LN2_HI));
    r = vfmaq_f32(r, n, vdupq_n_f32(-BN_EXP_LN2_LO));
    float32x4_t p = vdupq_n_f32(BN_EXP_P0);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P1), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P2), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P3), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P4), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P5), p, r);
    const float32x4_t y = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0f));
    const uint32x4_t bits =
        vshlq_n_u32(vaddq_u32(vreinterpretq_u32_f32(t), vdupq_n_u32(127u - BN_EXP_ROUND_BITS)), 23);
    float32x4_t e = vmulq_f32(y, vreinterpretq_f32_u32(bits));
    e = vbslq_f32(vcltq_f32(x, vdupq_n_f32(BN_EXP_LO)), vdupq_n_f32(0.0f), e);
    return vbslq_f32(vcgtq_f32(x, vdupq_n_f32(BN_EXP_HI)), vdupq_n_f32(INFINITY), e);
}

void bn_softmax_f32_neon(float *x, int64_t n, float scale) {
    float max = -INFINITY;
    int64_t i = 0;
    float32x4_t vmax = vdupq_n_f32(-INFINITY);
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vmulq_n_f32(vld1q_f32(x + i), scale);
        vst1q_f32(x + i, v);
        vmax = vmaxq_f32(vmax, v);
    }
    max = vmaxvq_f32(vmax);
    for (; i < n; i++) {
        x[i] *= scale;
        max = x[i] > max ? x[i] : max;
    }
    const float32x4_t vm = vdupq_n_f32(max);
    float64x2_t acc[8]; /* acc[k]: partial sums 2k, 2k+1 */
    for (int k = 0; k < 8; k++) acc[k] = vdupq_n_f64(0.0);
    i = 0;
    for (; i + 16 <= n; i += 16)
        for (int c = 0; c < 4; c++) {
            const float32x4_t e = exp_poly4(vsubq_f32(vld1q_f32(x + i + 4 * c), vm));
            vst1q_f32(x + i + 4 * c, e);
            acc[2 * c] = vaddq_f64(acc[2 * c], vcvt_f64_f32(vget_low_f32(e)));
            acc[2 * c + 1] = vaddq_f64(acc[2 * c + 1], vcvt_high_f64_f32(e));
        }
    double sum[BN_FOLD_LANES];
    for (int k = 0; k < 8; k++) vst1q_f64(sum + 2 * k, acc[k]);
    for (; i < n; i++) {
        x[i] = bn_exp_poly(x[i] - max);
        sum[i % BN_FOLD_LANES] += (double)x[i];
    }
    const float inv = (float)(1.0 / bn_fold16(sum));
    i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inv));
    for (; i < n; i++) x[i] *= inv;
}

void bn_f32_round_f16_neon(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vcvt_f32_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    bn_f32_round_f16_ref(x + i, y + i, n - i);
}

void bn_silu_mul_neon(float *g, const float *u, int64_t n) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t x = vld1q_f32(g + i);
        const float32x4_t e = exp_poly4(vnegq_f32(x));
        vst1q_f32(g + i, vmulq_f32(vdivq_f32(x, vaddq_f32(one, e)), vld1q_f32(u + i)));
    }
    bn_silu_mul_ref(g + i, u + i, n - i);
}

void bn_relu2_mul_neon(float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t x = vld1q_f32(g + i);
        /* a select, not vmaxq (which returns NaN for NaN where the
         * reference's comparison gives 0) */
        const float32x4_t r = vbslq_f32(vcgtq_f32(x, vdupq_n_f32(0.0f)), x, vdupq_n_f32(0.0f));
        vst1q_f32(g + i, vmulq_f32(vmulq_f32(r, r), vld1q_f32(u + i)));
    }
    bn_relu2_mul_ref(g + i, u + i, n - i);
}

void bn_rmsnorm_neon(float *y, const float *x, const float *w, int64_t n, float eps) {
    float64x2_t acc[8]; /* acc[k]: partial sums 2k, 2k+1 */
    for (int k = 0; k < 8; k++) acc[k] = vdupq_n_f64(0.0);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int c = 0; c < 4; c++) {
            const float32x4_t v = vld1q_f32(x + i + 4 * c);
            const float64x2_t a = vcvt_f64_f32(vget_low_f32(v)), b = vcvt_high_f64_f32(v);
            acc[2 * c] = vfmaq_f64(acc[2 * c], a, a); /* exact square: one rounding */
            acc[2 * c + 1] = vfmaq_f64(acc[2 * c + 1], b, b);
        }
    double sum[BN_FOLD_LANES];
    for (int k = 0; k < 8; k++) vst1q_f64(sum + 2 * k, acc[k]);
    for (; i < n; i++) sum[i % BN_FOLD_LANES] += (double)x[i] * (double)x[i];
    const float mean = (float)(bn_fold16(sum) / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (i = 0; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vld1q_f32(w + i)));
    for (; i < n; i++) y[i] = (x[i] * scale) * w[i];
}
