/* Functions of the NEON table defined outside kernels_neon.c. */
#ifndef BN_KERNELS_ARM_H
#define BN_KERNELS_ARM_H

#include <stdint.h>

/* kernels.h softmax_f32, f32_round_f16, silu_mul, relu2_mul, rmsnorm
 * (elementwise_neon.c) */
void bn_softmax_f32_neon(float *x, int64_t n, float scale);
void bn_f32_round_f16_neon(const float *x, float *y, int64_t n);
void bn_silu_mul_neon(float *g, const float *u, int64_t n);
void bn_relu2_mul_neon(float *g, const float *u, int64_t n);
void bn_rmsnorm_neon(float *y, const float *x, const float *w, int64_t n, float eps);

#endif
