/* Causal self-attention over the KV cache, with grouped-query heads. */
#ifndef BN_ATTENTION_H
#define BN_ATTENTION_H

#include "context.h"

/* Stores k/v of the n_tok tokens of the micro-batch (ctx->ub) of layer il in
 * their cells (rounded to F16 in compat mode). */
void bn_kv_store(bitnet_context *ctx, int il, const float *k, const float *v, int n_tok);

/* out[t][n_head * head_dim] = softmax(q·K^T / sqrt(head_dim)) · V for token t
 * of the micro-batch at position p of sequence s, attending to the cells of
 * s's positions 0..p in layer il (the batch's own earlier tokens of s
 * included). compat: F16 cache; Q rounded to F16 when s has several tokens
 * in the micro-batch, as bitnet.cpp's x86 build does for a multi-token batch
 * of one sequence (see numerics.md). */
void bn_attention(bitnet_context *ctx, int il, const float *q, int n_tok, float *out);

#endif
