/* I2_S × int8 reference. Layout (spec 2.2, 128-value blocks): value j of a
 * block lives in byte j % 32 of the block's 32 bytes, in the bit pair selected
 * by j / 32 (0 -> bits 7..6, 1 -> 5..4, 2 -> 3..2, 3 -> 1..0). */
#include "kernels_ref.h"

int32_t bn_i2s_dot_ref(const uint8_t *w, const int8_t *q, int64_t K) {
    int32_t sum = 0;
    for (int64_t b = 0; b < K / 128; b++) {
        const uint8_t *bytes = w + b * 32;
        const int8_t *x = q + b * 128;
        for (int j = 0; j < 128; j++) {
            int code = (bytes[j % 32] >> (6 - 2 * (j / 32))) & 3;
            sum += code * x[j];
        }
    }
    return sum;
}

void bn_i2s_gemv_ref(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int32_t *out) {
    for (int64_t r = 0; r < n_rows; r++) out[r] = bn_i2s_dot_ref(w + r * (K / 4), q, K);
}

void bn_i2s_gemm_ref(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int64_t q_stride,
                     int64_t n_tok, int32_t *out, int64_t out_stride) {
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t r = 0; r < n_rows; r++)
            out[t * out_stride + r] = bn_i2s_dot_ref(w + r * (K / 4), q + t * q_stride, K);
}

void bn_u8_gemv_ref(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int32_t *out) {
    for (int64_t r = 0; r < n_rows; r++) {
        int32_t sum = 0;
        for (int64_t k = 0; k < K; k++) sum += (int32_t)w[r * K + k] * q[k];
        out[r] = sum;
    }
}

void bn_scale_i32_ref(const int32_t *raw, int64_t n, float sum_q, float s_x, float s_w, float *y) {
    for (int64_t r = 0; r < n; r++) y[r] = ((float)raw[r] - sum_q) / s_x * s_w;
}
