#include "../f16.h"
#include "kernels_ref.h"

void bn_f32_to_f16_ref(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = bn_f32_to_f16(x[i]);
}

float bn_dot_f16_ref(const uint16_t *a, const uint16_t *b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += bn_f16_to_f32(a[i]) * bn_f16_to_f32(b[i]);
    return sum;
}

float bn_dot_f16_f32_ref(const uint16_t *a, const float *b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += bn_f16_to_f32(a[i]) * b[i];
    return sum;
}

void bn_dot_f16_f32_block_ref(const uint16_t *a, int64_t a_stride, int n_rows, const float *x,
                              int64_t x_stride, int n_x, int64_t n, float *out,
                              int64_t out_stride) {
    for (int t = 0; t < n_x; t++)
        for (int r = 0; r < n_rows; r++)
            out[t * out_stride + r] = bn_dot_f16_f32_ref(a + r * a_stride, x + t * x_stride, n);
}

void bn_dot_f16_f32_multi_ref(const uint16_t *a, const float *x, int64_t x_stride, int n_x,
                              int64_t n, float *out) {
    for (int t = 0; t < n_x; t++) out[t] = bn_dot_f16_f32_ref(a, x + t * x_stride, n);
}

float bn_dot_f32_ref(const float *a, const float *b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}
