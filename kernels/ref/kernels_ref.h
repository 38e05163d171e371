/* Scalar reference kernels (see kernels.h for the contracts). SIMD tables
 * reuse these for the entries they do not override. */
#ifndef BN_KERNELS_REF_H
#define BN_KERNELS_REF_H

#include <stdint.h>

#include "../types.h"

void bn_quantize_i8_ref(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);
int32_t bn_i2s_dot_ref(const uint8_t *w, const int8_t *q, int64_t K);
void bn_i2s_gemv_ref(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int32_t *out);
void bn_i2s_gemm_ref(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int64_t q_stride,
                     int64_t n_tok, int32_t *out, int64_t out_stride);
void bn_u8_gemv_ref(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int32_t *out);
void bn_scale_i32_ref(const int32_t *raw, int64_t n, float sum_q, float s_x, float s_w, float *y);
void bn_f32_to_f16_ref(const float *x, uint16_t *y, int64_t n);
float bn_dot_f16_ref(const uint16_t *a, const uint16_t *b, int64_t n);
float bn_dot_f16_f32_ref(const uint16_t *a, const float *b, int64_t n);
void bn_dot_f16_f32_block_ref(const uint16_t *a, int64_t a_stride, int n_rows, const float *x,
                              int64_t x_stride, int n_x, int64_t n, float *out, int64_t out_stride);
void bn_dot_f16_f32_multi_ref(const uint16_t *a, const float *x, int64_t x_stride, int n_x,
                              int64_t n, float *out);
float bn_dot_f32_ref(const float *a, const float *b, int64_t n);
void bn_attn_scores_f16_ref(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                            const float *const *q, int n_q, float *const *s);
void bn_attn_values_f16_ref(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                            const float *const *p, int n_q, float *const *out);
void bn_softmax_f32_ref(float *x, int64_t n, float scale);
void bn_f32_round_f16_ref(const float *x, float *y, int64_t n);
void bn_silu_mul_ref(float *g, const float *u, int64_t n);
void bn_relu2_mul_ref(float *g, const float *u, int64_t n);
void bn_rmsnorm_ref(float *y, const float *x, const float *w, int64_t n, float eps);

/* Block-scaled ternary path (kernels.h: i2s_blk_gemv / i2s_blk_gemm). */
void bn_i2s_blk_gemv_ref(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                         const int8_t *q, int32_t *out);
void bn_i2s_blk_gemm_ref(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                         const int8_t *q, int64_t q_stride, int64_t n_tok, int32_t *out);

/* TQ writers: n values (n % 256 == 0) of x -> n / 256 blocks, as llama.cpp's
 * reference quantizer lays them out (tq_ref.c says where we differ). */
void bn_quantize_row_tq1_0_ref(const float *x, bn_block_tq1_0 *y, int64_t n);
void bn_quantize_row_tq2_0_ref(const float *x, bn_block_tq2_0 *y, int64_t n);
/* One block from 256 ternary values (-1, 0, +1) and an F16 scale. */
void bn_tq1_0_pack(const int8_t t[BN_QK_K], uint16_t d, bn_block_tq1_0 *b);
void bn_tq2_0_pack(const int8_t t[BN_QK_K], uint16_t d, bn_block_tq2_0 *b);

#endif
