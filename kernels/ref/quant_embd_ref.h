/* Reference quantizers of the embedding / output-head types bitnet.cpp's
 * llama-quantize writes (--token-embedding-type, --output-tensor-type):
 * Q8_0 and Q6_K, the inverses of their to_float rows in kernels/types.c.
 * Scalar only: they run once per conversion, never per token. */
#ifndef BN_QUANT_EMBD_REF_H
#define BN_QUANT_EMBD_REF_H

#include <stdint.h>

#include "../types.h"

/* n values (n % 32 == 0) -> n / 32 blocks: d = max|x| / 127 (as F16), q =
 * x / d rounded half away from zero (ggml's reference rule). */
void bn_quantize_row_q8_0_ref(const float *x, bn_block_q8_0 *y, int64_t n);

/* n values (n % 256 == 0) -> n / 256 blocks. Per group of 16 a scale is
 * fitted by a weighted least-squares search over 19 candidate steps
 * (weights x², as ggml's make_qx_quants with rmse_type 1); the 16 group
 * scales are then quantized to int8 against the block's F16 scale and the
 * 6-bit codes recomputed with the rounded scales. */
void bn_quantize_row_q6_k_ref(const float *x, bn_block_q6_k *y, int64_t n);

#endif
