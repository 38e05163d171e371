/* The evaluation context: KV cache, scratch buffers and logits of one
 * sequence. One thread at a time per context. */
#ifndef BN_CONTEXT_H
#define BN_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "bitnet.h"
#include "kernels.h"
#include "model.h"

/* Activations of a micro-batch quantized to int8, one row per token (spec 1.2). */
typedef struct bn_act_i8 {
    int8_t *q;     /* [n_tok][n] */
    float *scale;  /* [n_tok] s_x = 127 / max|x| */
    int32_t *sum;  /* [n_tok] Σ q */
    int64_t n;     /* values per token */
    int n_tok;
    bool valid;
} bn_act_i8;

struct bitnet_context {
    const bitnet_model *model;
    const bn_kernels *kern;
    bitnet_numerics numerics;
    int32_t n_ctx;
    int32_t n_batch;
    int32_t n_ubatch; /* tokens per forward pass (bounded scratch) */
    int32_t n_threads;
    int32_t n_past;
    bool (*abort_callback)(void *);
    void *abort_user_data;

    /* KV cache. compat: uint16 (F16); exact: float.
     * k: [n_layer][n_ctx][kv_dim]; v transposed: [n_layer][kv_dim][n_ctx],
     * so that probabilities · V is a dot product over contiguous positions. */
    void *k_cache;
    void *v_cache;
    size_t kv_elem; /* 2 or 4 bytes */

    /* scratch for one micro-batch of up to n_ubatch tokens */
    float *x;       /* [ub][n_embd] residual stream */
    float *xn;      /* [ub][max(n_embd, n_ff, q_dim)] normed matmul input */
    float *q;       /* [ub][q_dim] queries */
    float *k;       /* [ub][kv_dim] keys of the new tokens */
    float *v;       /* [ub][kv_dim] values of the new tokens */
    float *att;     /* [ub][q_dim] attention output */
    float *gate;    /* [ub][n_ff] */
    float *up;      /* [ub][n_ff] */
    float *mm;      /* [ub][max(n_embd, n_ff, q_dim)] matmul output */
    bn_act_i8 act;  /* quantized copy of xn */
    int32_t *raw;   /* [ub][max rows] integer sums of the ternary kernels */
    /* per-thread attention scratch: scores [n_ctx], probabilities as F16
     * [n_ctx], query as F16 [head_dim], dequantized head row [n_embd] */
    float *att_scores;
    uint16_t *att_probs16;
    uint16_t *q16;
    float *row_buf;
    uint16_t *x16; /* [ub][max(n_embd, n_ff, q_dim)] F16 copy of a matmul input */

    /* optional 8-bit output head (params.head_q8): [n_vocab][n_embd] bytes,
     * each int8 weight + 128, and one float scale per row; NULL when off */
    uint8_t *head_q8;
    float *head_q8_scale;

    float *logits; /* [logits_cap / n_vocab][n_vocab] */
    size_t logits_cap;
    int32_t n_outputs;
    uint64_t mem_bytes;
};

/* Runs the layers over n_tok tokens at positions n_past.. and writes the
 * logits of the last token (of every token when all_logits) to logits_out;
 * logits_out NULL skips the head. The caller checked ids and capacity. */
bitnet_status bn_forward(bitnet_context *ctx, const bitnet_token *tokens, int n_tok,
                         bool all_logits, float *logits_out);

#endif
