/* Causal self-attention over the KV cache, with grouped-query heads. */
#ifndef BN_ATTENTION_H
#define BN_ATTENTION_H

#include "context.h"

/* Stores k/v of n_tok new tokens (positions pos0..) of layer il in the cache
 * (rounded to F16 in compat mode). */
void bn_kv_store(bitnet_context *ctx, int il, const float *k, const float *v, int n_tok, int pos0);

/* out[t][n_head * head_dim] = softmax(q·K^T / sqrt(head_dim)) · V for token t
 * at position pos0 + t, attending to positions 0..pos0+t of layer il.
 * compat: F16 cache; Q rounded to F16 for multi-token batches only, as
 * bitnet.cpp's x86 build does (see numerics.md). */
void bn_attention(bitnet_context *ctx, int il, const float *q, int n_tok, int pos0, float *out);

#endif
