/* Functions shared by the x86 kernel tables (each file is built for its own
 * ISA; these need only AVX2 + F16C, which the AVX-512 table implies). */
#ifndef BN_KERNELS_X86_H
#define BN_KERNELS_X86_H

#include <stdint.h>

/* F32 -> F16, round-to-nearest-even, with F16C: the bits of bn_f32_to_f16. */
void bn_f32_to_f16_f16c(const float *x, uint16_t *y, int64_t n);

/* Block-scaled ternary kernels (kernels.h i2s_blk_*), AVX2 only: the
 * AVX-512 table uses them as they are. */
void bn_i2s_blk_gemv_avx2(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                          const int8_t *q, int32_t *out);
void bn_i2s_blk_gemm_avx2(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                          const int8_t *q, int64_t q_stride, int64_t n_tok, int32_t *out);

/* The AVX-512 VNNI I2_S gemm (kernels.h i2s_gemm): the AMX gemm hands it
 * the tokens that do not fill a tile. */
void bn_i2s_gemm_avx512(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                        int64_t q_stride, int64_t n_tok, int32_t *out, int64_t out_stride);

/* AMX-INT8 I2_S gemm (kernels_amx.c): whole tiles of 16 tokens on the tile
 * unit, the rest through bn_i2s_gemm_avx512. */
void bn_i2s_gemm_amx(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int64_t q_stride,
                     int64_t n_tok, int32_t *out, int64_t out_stride);

/* Attention's products over the F16 cache (kernels.h attn_*; attn_avx2.c,
 * attn_avx512.c). */
void bn_attn_scores_f16_avx2(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                             const float *const *q, int n_q, float *const *s);
void bn_attn_values_f16_avx2(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                             const float *const *p, int n_q, float *const *out);
void bn_attn_scores_f16_avx512(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                               const float *const *q, int n_q, float *const *s);
void bn_attn_values_f16_avx512(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                               const float *const *p, int n_q, float *const *out);

/* Element-wise kernels (kernels.h softmax_f32,
 * f32_round_f16, silu_mul, relu2_mul, rmsnorm; elementwise_avx2.c, elementwise_avx512.c). */
void bn_softmax_f32_avx2(float *x, int64_t n, float scale);
void bn_f32_round_f16_avx2(const float *x, float *y, int64_t n);
void bn_softmax_f32_avx512(float *x, int64_t n, float scale);
void bn_f32_round_f16_avx512(const float *x, float *y, int64_t n);
void bn_silu_mul_avx2(float *g, const float *u, int64_t n);
void bn_relu2_mul_avx2(float *g, const float *u, int64_t n);
void bn_silu_mul_avx512(float *g, const float *u, int64_t n);
void bn_relu2_mul_avx512(float *g, const float *u, int64_t n);
void bn_rmsnorm_avx2(float *y, const float *x, const float *w, int64_t n, float eps);
void bn_rmsnorm_avx512(float *y, const float *x, const float *w, int64_t n, float eps);

#endif
