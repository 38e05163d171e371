/* Functions shared by the x86 kernel tables (each file is built for its own
 * ISA; these need only AVX2 + F16C, which the AVX-512 table implies). */
#ifndef BN_KERNELS_X86_H
#define BN_KERNELS_X86_H

#include <stdint.h>

/* F32 -> F16, round-to-nearest-even, with F16C: the bits of bn_f32_to_f16. */
void bn_f32_to_f16_f16c(const float *x, uint16_t *y, int64_t n);

#endif
