/* A resident forward pass on the CUDA device (decode and prefill of one
 * sequence), for models whose projections are I2_S and whose head is F16,
 * in compat numerics (docs/cuda.md). Weights (K16 groups of cuda_weights.h),
 * the F16 KV cache and every activation stay on the device; a call uploads
 * its tokens' embedding rows and RoPE tables in one copy and downloads the
 * last token's logits once. Not yet behind bitnet_context (--device cuda still refuses):
 * tests/cuda/test_cuda_forward.c compares it with the CPU engine. */
#ifndef BN_CUDA_FORWARD_H
#define BN_CUDA_FORWARD_H

#include "model.h"

typedef struct bn_cuda_model bn_cuda_model;

/* Uploads `model` with a KV cache of n_ctx cells and activations for up to
 * n_batch tokens a call. NULL on failure, with the reason as the last error
 * (a projection or head type the kernels do not take, a CUDA error, out of
 * device memory). */
bn_cuda_model *bn_cuda_model_new(const bitnet_model *model, int n_ctx, int n_batch);
void bn_cuda_model_free(bn_cuda_model *cm);

/* Evaluates T tokens (1..n_batch) of the sequence at positions pos0 ..
 * pos0+T-1 (cells 0..pos0-1 hold its earlier tokens) and writes the last
 * token's n_vocab logits. One token takes the dp4a GEMV, more the
 * tensor-core GEMM (prefill), with Q through F16 as compat does for a
 * multi-token batch of one sequence; attention is one split launch per
 * token. */
bitnet_status bn_cuda_eval(bn_cuda_model *cm, const bitnet_token *tokens, int T, int pos0,
                           float *logits);
/* bn_cuda_eval of one token. */
bitnet_status bn_cuda_decode(bn_cuda_model *cm, bitnet_token token, int pos, float *logits);

#endif
