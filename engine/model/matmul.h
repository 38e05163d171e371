/* Matrix products of the forward pass: BitLinear over ternary weights (int8
 * activations, integer kernel, scales applied as spec 1.3), float weights,
 * and the output head. Rows are split across OpenMP threads. */
#ifndef BN_MATMUL_H
#define BN_MATMUL_H

#include "context.h"

/* Quantizes x [n_tok][n] per token into ctx->act (spec 1.2). */
void bn_quantize_activations(bitnet_context *ctx, const float *x, int n_tok, int64_t n);

/* y[n_tok][w->n_out] = W · x[t] for each token, then × post_scale and + bias.
 * Ternary weights read the quantized activations in ctx->act (which must hold
 * x); float weights read x. */
void bn_linear(bitnet_context *ctx, const bn_weight *w, const float *x, int n_tok, float *y);

/* Most weights one bn_linear_group() call takes. */
#define BN_LINEAR_GROUP_MAX 4

/* ys[i] = bn_linear(ws[i], x) for n weights that read the same input (Q/K/V,
 * gate/up): when all are ternary, one parallel region over their
 * concatenated rows, results identical to separate calls. ctx->raw must hold
 * n_tok × Σ n_out int32. */
void bn_linear_group(bitnet_context *ctx, const bn_weight *const *ws, const float *x, int n_tok,
                     float *const *ys, int n);

/* logits[n_tok][n_vocab] = head · x[t] (x already normed). */
void bn_output_head(bitnet_context *ctx, const bn_weight *head, const float *x, int n_tok,
                    float *logits);

#endif
