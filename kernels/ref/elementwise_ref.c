/* Element-wise kernels (kernels.h softmax_f32, f32_round_f16, silu_mul,
 * relu2_mul, rmsnorm): the scalar specifications of the SIMD versions. */
#include <math.h>

#include "../exp_poly.h"
#include "../f16.h"
#include "kernels_ref.h"

void bn_softmax_f32_ref(float *x, int64_t n, float scale) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        x[i] *= scale;
        if (x[i] > max) max = x[i];
    }
    double sum[BN_FOLD_LANES] = {0};
    for (int64_t i = 0; i < n; i++) {
        x[i] = bn_exp_poly(x[i] - max);
        sum[i % BN_FOLD_LANES] += (double)x[i];
    }
    const float inv = (float)(1.0 / bn_fold16(sum));
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void bn_f32_round_f16_ref(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = bn_round_f16(x[i]);
}

void bn_silu_mul_ref(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = (g[i] / (1.0f + bn_exp_poly(-g[i]))) * u[i];
}

void bn_relu2_mul_ref(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        g[i] = (r * r) * u[i];
    }
}

void bn_rmsnorm_ref(float *y, const float *x, const float *w, int64_t n, float eps) {
    double sum[BN_FOLD_LANES] = {0};
    for (int64_t i = 0; i < n; i++) sum[i % BN_FOLD_LANES] += (double)x[i] * (double)x[i];
    const float mean = (float)(bn_fold16(sum) / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}
