/* TQ1_0 / TQ2_0 writers (the layouts of llama.cpp's ternary types, see
 * docs/formats.md) and the reference kernel of the block-scaled ternary path.
 *
 * The quantizers follow the rule of llama.cpp's reference quantizer: d is the
 * block's largest |x| (stored as F16, all-zero blocks get d = 0) and each
 * value becomes round(x / d) with halves away from zero, computed as x times
 * the float reciprocal of the unrounded maximum. For ternary input {-s, 0, s}
 * that is exactly the sign, so both types are lossless up to F16(s). */
#include <math.h>

#include "../f16.h"
#include "kernels_ref.h"

/* One block's ternary values and its scale, the llama.cpp way. NaN (where
 * llama.cpp's lroundf has no defined result) becomes 0. */
static uint16_t ternarize_block(const float *x, int8_t t[BN_QK_K]) {
    float amax = 0.0f;
    for (int j = 0; j < BN_QK_K; j++) {
        float a = fabsf(x[j]);
        if (a > amax) amax = a;
    }
    const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
    for (int j = 0; j < BN_QK_K; j++) {
        float v = x[j] * id;
        t[j] = (int8_t)(v >= 0.5f ? 1 : v <= -0.5f ? -1 : 0);
    }
    return bn_f32_to_f16(amax);
}

/* Five (or four, then a zero) base-3 digits, first most significant, stored
 * as the fraction ceil(v·256/243) so that decoding needs no division. */
static uint8_t pack_digits(const int8_t *t, int stride, int count) {
    unsigned v = 0;
    for (int n = 0; n < 5; n++) v = v * 3u + (n < count ? (unsigned)(t[n * stride] + 1) : 0u);
    return (uint8_t)((v * 256u + 242u) / 243u);
}

void bn_tq1_0_pack(const int8_t t[BN_QK_K], uint16_t d, bn_block_tq1_0 *b) {
    for (int m = 0; m < 32; m++) b->qs[m] = pack_digits(t + m, 32, 5);
    for (int m = 0; m < 16; m++) b->qs[32 + m] = pack_digits(t + 160 + m, 16, 5);
    for (int j = 0; j < 4; j++) b->qh[j] = pack_digits(t + 240 + j, 4, 4);
    b->d = d;
}

void bn_tq2_0_pack(const int8_t t[BN_QK_K], uint16_t d, bn_block_tq2_0 *b) {
    for (int half = 0; half < 2; half++)
        for (int i = 0; i < 32; i++) {
            unsigned byte = 0;
            for (int p = 0; p < 4; p++)
                byte |= (unsigned)(t[half * 128 + p * 32 + i] + 1) << (2 * p);
            b->qs[half * 32 + i] = (uint8_t)byte;
        }
    b->d = d;
}

void bn_quantize_row_tq1_0_ref(const float *x, bn_block_tq1_0 *y, int64_t n) {
    int8_t t[BN_QK_K];
    for (int64_t i = 0; i < n / BN_QK_K; i++) {
        uint16_t d = ternarize_block(x + i * BN_QK_K, t);
        bn_tq1_0_pack(t, d, &y[i]);
    }
}

void bn_quantize_row_tq2_0_ref(const float *x, bn_block_tq2_0 *y, int64_t n) {
    int8_t t[BN_QK_K];
    for (int64_t i = 0; i < n / BN_QK_K; i++) {
        uint16_t d = ternarize_block(x + i * BN_QK_K, t);
        bn_tq2_0_pack(t, d, &y[i]);
    }
}

/* Block sums: value j of 256-block b of a row is I2_S code j % 128 of the
 * row's 128-block 2b + j / 128 (spec 2.2 layout). */
static void block_sums(const uint8_t *row, const int8_t *q, int64_t K, int32_t *out) {
    for (int64_t b = 0; b < K / BN_QK_K; b++) {
        out[b] = bn_i2s_dot_ref(row + b * (BN_QK_K / 4), q + b * BN_QK_K, BN_QK_K);
    }
}

void bn_i2s_blk_gemv_ref(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                         const int8_t *q, int32_t *out) {
    const int64_t nb = K / BN_QK_K;
    for (int64_t r = 0; r < n_rows; r++) block_sums(w + r * w_stride, q, K, out + r * nb);
}

void bn_i2s_blk_gemm_ref(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                         const int8_t *q, int64_t q_stride, int64_t n_tok, int32_t *out) {
    const int64_t nb = K / BN_QK_K;
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t r = 0; r < n_rows; r++)
            block_sums(w + r * w_stride, q + t * q_stride, K, out + (t * n_rows + r) * nb);
}
