/* The forward pass, written once for every architecture of arch.c. Reading it
 * top to bottom is reading the model (spec 1.4-1.6):
 *
 *   x = embed(tokens)
 *   for each layer:
 *       a = rmsnorm(x) ; q, k, v = BitLinear(a) ; rope(q, k)
 *       o = attention(q, cache) ; [o = rmsnorm(o, attn_sub_norm)]
 *       x = x + BitLinear(o, wo)
 *       f = rmsnorm(x) ; z = act(BitLinear(f, gate)) * BitLinear(f, up)
 *       [z = rmsnorm(z, ffn_sub_norm)] ; x = x + BitLinear(z, down)
 *   logits = head · rmsnorm(x, output_norm)
 *
 * Shapes are per micro-batch of T tokens (of one or more sequences, each
 * at its own position: ctx->ub): E = n_embd, F = n_ff,
 * Q = n_head*head_dim, KV = n_head_kv*head_dim. */
#include <string.h>

#include "attention.h"
#include "context.h"
#include "f16.h"
#include "hparams.h"
#include "matmul.h"
#include "ops.h"

static void embed(const bitnet_model *m, const bitnet_token *tokens, int T, float *x) {
    const int64_t E = m->hp.n_embd;
    for (int t = 0; t < T; t++) bn_weight_row_to_float(&m->tok_embd, tokens[t], x + t * E);
}

/* The element-wise steps between matmuls are independent per token (or per
 * element), so large batches split them across the threads (BN_PAR_WORTH);
 * a decode step of a few sequences keeps them on one thread, where a
 * parallel region would cost more than the work. Results do not depend on
 * the split. */

/* rmsnorm of each of T rows of n values */
static void norm_rows(const bitnet_context *ctx, float *y, const float *x, const float *w, int T,
                      int64_t n, float eps) {
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (BN_PAR_WORTH(T * n))
    for (int t = 0; t < T; t++) ctx->kern->rmsnorm(y + t * n, x + t * n, w, n, eps);
}

/* Chunks of elementwise work for multi-token batches. */
enum { ELEM_CHUNK = 4096 };

static void add_rows(const bitnet_context *ctx, float *x, const float *d, int64_t n) {
    const int64_t n_chunks = (n + ELEM_CHUNK - 1) / ELEM_CHUNK;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (BN_PAR_WORTH(n))
    for (int64_t c = 0; c < n_chunks; c++) {
        const int64_t i1 = (c + 1) * ELEM_CHUNK < n ? (c + 1) * ELEM_CHUNK : n;
        for (int64_t i = c * ELEM_CHUNK; i < i1; i++) x[i] += d[i];
    }
}

static void ffn_activation(const bitnet_context *ctx, float *g, const float *u, int64_t n,
                           bn_ffn_act act) {
    const int64_t n_chunks = (n + ELEM_CHUNK - 1) / ELEM_CHUNK;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (BN_PAR_WORTH(n))
    for (int64_t c = 0; c < n_chunks; c++) {
        const int64_t i0 = c * ELEM_CHUNK;
        const int64_t len = n - i0 < ELEM_CHUNK ? n - i0 : ELEM_CHUNK;
        if (act == BN_FFN_SILU)
            ctx->kern->silu_mul(g + i0, u + i0, len);
        else
            ctx->kern->relu2_mul(g + i0, u + i0, len);
    }
}

/* rmsnorm of the n_out rows x[rows[i]] of n values into y[i] */
static void norm_selected_rows(const bitnet_context *ctx, float *y, const float *x,
                               const int32_t *rows, const float *w, int n_out, int64_t n,
                               float eps) {
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (BN_PAR_WORTH(n_out * n))
    for (int i = 0; i < n_out; i++) ctx->kern->rmsnorm(y + i * n, x + rows[i] * n, w, n, eps);
}

bitnet_status bn_forward(bitnet_context *ctx, const bitnet_token *tokens, int T, int n_out,
                         float *logits_out) {
    const bitnet_model *m = ctx->model;
    const bn_arch *arch = m->arch;
    const bn_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const int64_t Q = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KV = (int64_t)hp->n_head_kv * hp->head_dim;
    const int32_t *pos = ctx->ub.pos; /* [T] */
    const bool exact = ctx->numerics == BITNET_NUMERICS_EXACT;

    float *x = ctx->x;       /* [T][E] residual stream */
    float *xn = ctx->xn;     /* [T][max(E,F,Q)] normed input of the next matmul */
    float *q = ctx->q;       /* [T][Q] */
    float *k = ctx->k;       /* [T][KV] */
    float *v = ctx->v;       /* [T][KV] */
    float *att = ctx->att;   /* [T][Q] attention output */
    float *gate = ctx->gate; /* [T][F] */
    float *up = ctx->up;     /* [T][F] */
    float *mm = ctx->mm;     /* [T][max(E,F,Q)] matmul output */

    embed(m, tokens, T, x);

    for (int il = 0; il < hp->n_layer; il++) {
        const bn_layer *L = &m->layers[il];
        if (ctx->abort_callback && ctx->abort_callback(ctx->abort_user_data))
            return BITNET_ERR_ABORTED;

        /* attention block: Q, K and V share one quantization of the normed input */
        norm_rows(ctx, xn, x, L->attn_norm, T, E, hp->rms_eps);
        bn_quantize_activations(ctx, xn, T, E);
        {
            const bn_weight *ws[3] = {&L->wq, &L->wk, &L->wv};
            float *ys[3] = {q, k, v};
            bn_linear_group(ctx, ws, xn, T, ys, 3);
        }
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (BN_PAR_WORTH(T * Q))
        for (int t = 0; t < T; t++) {
            float cs[BN_MAX_HEAD_DIM]; /* RoPE cos/sin of one position: n_rot <= head_dim */
            bn_rope_table(cs, pos[t], hp->n_rot, hp->rope_base, exact);
            bn_rope_apply(q + t * Q, hp->n_head, hp->head_dim, hp->n_rot, cs, arch->rope);
            bn_rope_apply(k + t * KV, hp->n_head_kv, hp->head_dim, hp->n_rot, cs, arch->rope);
        }
        bn_kv_store(ctx, il, k, v, T);
        bn_attention(ctx, il, q, T, att);
        const float *o_in = att;
        if (arch->sub_norms) {
            norm_rows(ctx, xn, att, L->attn_sub_norm, T, Q, hp->rms_eps);
            o_in = xn;
        }
        bn_quantize_activations(ctx, o_in, T, Q);
        bn_linear(ctx, &L->wo, o_in, T, mm);
        add_rows(ctx, x, mm, T * E);

        /* feed-forward block */
        norm_rows(ctx, xn, x, L->ffn_norm, T, E, hp->rms_eps);
        bn_quantize_activations(ctx, xn, T, E);
        {
            const bn_weight *ws[2] = {&L->ffn_gate, &L->ffn_up};
            float *ys[2] = {gate, up};
            bn_linear_group(ctx, ws, xn, T, ys, 2);
        }
        ffn_activation(ctx, gate, up, T * F, arch->ffn_act); /* gate = act(gate) * up */
        const float *down_in = gate;
        if (arch->sub_norms) {
            norm_rows(ctx, xn, gate, L->ffn_sub_norm, T, F, hp->rms_eps);
            down_in = xn;
        }
        bn_quantize_activations(ctx, down_in, T, F);
        bn_linear(ctx, &L->ffn_down, down_in, T, mm);
        add_rows(ctx, x, mm, T * E);
    }

    if (n_out == 0) return BITNET_OK;
    /* only the rows whose logits are wanted go through the head */
    norm_selected_rows(ctx, xn, x, ctx->ub.out, m->output_norm, n_out, E, hp->rms_eps);
    bn_output_head(ctx, &m->output, xn, n_out, logits_out);
    return BITNET_OK;
}
