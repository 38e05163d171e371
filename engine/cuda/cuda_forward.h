/* A resident decode forward pass on the CUDA device, one token per call, for
 * models whose projections are I2_S and whose head is F16, in compat
 * numerics (docs/cuda.md). Weights (K16 groups of cuda_weights.h), the F16
 * KV cache and every activation stay on the device; a step uploads the
 * token's embedding row and RoPE table in one copy and downloads the logits
 * once. Not yet behind bitnet_context (--device cuda still refuses):
 * tests/cuda/test_cuda_forward.c compares it with the CPU engine. */
#ifndef BN_CUDA_FORWARD_H
#define BN_CUDA_FORWARD_H

#include "model.h"

typedef struct bn_cuda_model bn_cuda_model;

/* Uploads `model` with a KV cache of n_ctx cells. NULL on failure, with the
 * reason as the last error (a projection or head type the kernels do not
 * take, a CUDA error, out of device memory). */
bn_cuda_model *bn_cuda_model_new(const bitnet_model *model, int n_ctx);
void bn_cuda_model_free(bn_cuda_model *cm);

/* Evaluates `token` at position pos (cells 0..pos-1 hold the earlier
 * tokens of the sequence) and writes the n_vocab logits to `logits`. */
bitnet_status bn_cuda_decode(bn_cuda_model *cm, bitnet_token token, int pos, float *logits);

#endif
