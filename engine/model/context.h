/* The evaluation context: KV cache (shared by up to n_seq_max sequences),
 * scratch buffers and logits. One thread at a time per context. */
#ifndef BN_CONTEXT_H
#define BN_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "bitnet.h"
#include "kernels.h"
#include "kv_cache.h"
#include "model.h"

/* Activations of a micro-batch quantized to int8, one row per token (spec 1.2). */
/* Element-wise work (norms, quantization, RoPE, KV stores, residual adds)
 * is split across threads only from BN_PAR_MIN_ELEMS values on: a parallel
 * region costs a wake-up and a join of the other threads (futexes under
 * OMP_WAIT_POLICY=passive), more than such work on a few tokens, and a
 * decode step of N sequences would otherwise open five regions per layer
 * that one sequence does not. */
enum { BN_PAR_MIN_ELEMS = 1 << 16 };
#define BN_PAR_WORTH(n_elems) ((int64_t)(n_elems) >= BN_PAR_MIN_ELEMS)

typedef struct bn_act_i8 {
    int8_t *q;    /* [n_tok][n] */
    float *scale; /* [n_tok] s_x = 127 / max|x| */
    int32_t *sum; /* [n_tok] Σ q */
    int64_t n;    /* values per token */
    int n_tok;
    bool valid;
} bn_act_i8;

/* The micro-batch bn_forward() evaluates, filled by the decode driver
 * (batch.c): arrays of n_ubatch entries, the first T in use. */
typedef struct bn_ubatch {
    int32_t *pos;   /* [ub] position of each token in its sequence */
    int32_t *seq;   /* [ub] its sequence */
    int32_t *cell;  /* [ub] the KV cell its K and V go to */
    uint8_t *q_f16; /* [ub] compat: round Q to F16 (its sequence has several tokens here) */
    int32_t *out;   /* [ub] micro-batch indices of the tokens whose logits are kept */
} bn_ubatch;

struct bitnet_context {
    const bitnet_model *model;
    const bn_kernels *kern;
    bitnet_numerics numerics;
    int32_t n_ctx;
    int32_t n_batch;
    int32_t n_ubatch; /* tokens per forward pass (bounded scratch) */
    int32_t n_threads;
    bool (*abort_callback)(void *);
    void *abort_user_data;

    /* KV cache of n_ctx cells (kv_cache.h says which cell holds which
     * sequence positions). compat: uint16 (F16); exact: float.
     * k transposed: [n_layer][kv_dim][k_stride >= n_ctx cells]; v: [n_layer][n_ctx
     * cells][kv_dim]. Sixteen consecutive keys' dimension d and one value
     * row's dimensions are then vectors, so that Q·K and P·V run one
     * multiply-add chain per lane, with no horizontal sums (kernels.h). */
    void *k_cache;
    void *v_cache;
    size_t kv_elem;   /* 2 or 4 bytes */
    int64_t k_stride; /* cells per K cache row: n_ctx padded so that rows are
                       * not a power of two bytes apart (which would map every
                       * row of a key tile to the same L1 sets) */
    bn_kv_cells kv;

    /* scratch for one micro-batch of up to n_ubatch tokens */
    float *x;      /* [ub][n_embd] residual stream */
    float *xn;     /* [ub][max(n_embd, n_ff, q_dim)] normed matmul input */
    float *q;      /* [ub][q_dim] queries */
    float *k;      /* [ub][kv_dim] keys of the new tokens */
    float *v;      /* [ub][kv_dim] values of the new tokens */
    float *att;    /* [ub][q_dim] attention output */
    float *gate;   /* [ub][n_ff] */
    float *up;     /* [ub][n_ff] */
    float *mm;     /* [ub][max(n_embd, n_ff, q_dim)] matmul output */
    bn_act_i8 act; /* quantized copy of xn */
    int32_t *raw;  /* [ub][max rows] integer sums of the ternary kernels */
    /* attention scratch (attention.c): per thread, the scores of
     * BN_ATT_ROWS query rows [BN_ATT_ROWS][n_ctx] and the runs of
     * consecutive cells of a sequence [n_ctx][2]; the dequantized head row
     * [n_embd] per thread; the first token of each block of tokens that
     * share a sequence [ub + 1] */
    float *att_scores;
    int32_t *att_runs;
    float *row_buf;
    int32_t *att_tblock;
    uint16_t *x16; /* [ub][max(n_embd, n_ff, q_dim)] F16 copy of a matmul input */
    bn_ubatch ub;
    /* decode driver scratch: [n_seq_max] each */
    int32_t *seq_len0;  /* sequence lengths before the call (rolled back to on failure) */
    int32_t *seq_count; /* tokens per sequence in the micro-batch */

    /* optional 8-bit output head (params.head_q8): [n_vocab][n_embd] bytes,
     * each int8 weight + 128, and one float scale per row; NULL when off */
    uint8_t *head_q8;
    float *head_q8_scale;
    /* optional F32 copy of an F16 output head, [n_vocab][n_embd], widened
     * exactly once at creation (the WebAssembly build, BN_HEAD_F32_MAX_MB):
     * the head's dot is then dot_f32, which has the bits of dot_f16_f32 on
     * the tables that build has; NULL when off */
    float *head_f32;

    float *logits; /* [logits_cap / n_vocab][n_vocab] */
    size_t logits_cap;
    int32_t n_outputs;
    /* bitnet_get_logits_ith after bitnet_decode_batch: the logits row of each
     * batch index, -1 when not kept ([out_row_cap]); after bitnet_decode,
     * out_by_batch is false and i indexes the rows directly */
    int32_t *out_row;
    size_t out_row_cap;
    int32_t n_out_index; /* batch size of the last bitnet_decode_batch */
    bool out_by_batch;
    uint64_t mem_bytes;
    bool alloc_failed; /* a buffer of bitnet_context_new could not be allocated */
};

/* Runs the layers over the n_tok tokens described by ctx->ub (their cells
 * already given to them in ctx->kv) and writes the logits of the n_out
 * tokens listed in ctx->ub.out to logits_out ([n_out][n_vocab]); n_out 0
 * skips the head. The caller checked ids and capacity. */
bitnet_status bn_forward(bitnet_context *ctx, const bitnet_token *tokens, int n_tok, int n_out,
                         float *logits_out);

/* Grows the logits buffer to hold n floats (counted in mem_bytes). */
bool bn_context_grow_logits(bitnet_context *ctx, size_t n);

#endif
