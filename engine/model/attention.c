#include "attention.h"

#include <math.h>

#include "f16.h"
#include "ops.h"

#ifdef _OPENMP
#include <omp.h>
#define BN_THREAD_ID() omp_get_thread_num()
#else
#define BN_THREAD_ID() 0
#endif

void bn_kv_store(bitnet_context *ctx, int il, const float *k, const float *v, int n_tok, int pos0) {
    const bn_hparams *hp = &ctx->model->hp;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    const int64_t layer = (int64_t)ctx->n_ctx * kv_dim;
    void (*const f32_to_f16_row)(const float *, uint16_t *, int64_t) = ctx->kern->f32_to_f16;
    /* K row by row (one per token); V transposed, one cache row per
     * dimension, where the new positions are contiguous. Multi-token batches
     * split the rows across threads; in compat mode V is converted row by
     * row into ctx->x16 first (free between matmuls) and then transposed. */
#pragma omp parallel num_threads(ctx->n_threads) if (n_tok > 1)
    {
        if (ctx->kv_elem == 2) {
            uint16_t *kc = (uint16_t *)ctx->k_cache + il * layer;
            uint16_t *vc = (uint16_t *)ctx->v_cache + il * layer;
            uint16_t *v16 = ctx->x16; /* [n_tok][kv_dim] */
#pragma omp for schedule(static)
            for (int t = 0; t < n_tok; t++) {
                f32_to_f16_row(k + t * kv_dim, kc + (pos0 + t) * kv_dim, kv_dim);
                f32_to_f16_row(v + t * kv_dim, v16 + t * kv_dim, kv_dim);
            }
#pragma omp for schedule(static)
            for (int64_t i = 0; i < kv_dim; i++)
                for (int t = 0; t < n_tok; t++) vc[i * ctx->n_ctx + pos0 + t] = v16[t * kv_dim + i];
        } else {
            float *kc = (float *)ctx->k_cache + il * layer;
            float *vc = (float *)ctx->v_cache + il * layer;
#pragma omp for schedule(static) nowait
            for (int t = 0; t < n_tok; t++)
                for (int64_t i = 0; i < kv_dim; i++) kc[(pos0 + t) * kv_dim + i] = k[t * kv_dim + i];
#pragma omp for schedule(static)
            for (int64_t i = 0; i < kv_dim; i++)
                for (int t = 0; t < n_tok; t++) vc[i * ctx->n_ctx + pos0 + t] = v[t * kv_dim + i];
        }
    }
}

void bn_attention(bitnet_context *ctx, int il, const float *q, int n_tok, int pos0, float *out) {
    const bn_hparams *hp = &ctx->model->hp;
    const bn_kernels *kern = ctx->kern;
    const int hd = hp->head_dim;
    const int64_t q_dim = (int64_t)hp->n_head * hd;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hd;
    const int64_t layer = (int64_t)ctx->n_ctx * kv_dim;
    const int group = hp->n_head / hp->n_head_kv; /* query heads per kv head */
    const float scale = 1.0f / sqrtf((float)hd);
    const bool compat = ctx->kv_elem == 2;
    const int64_t n_items = (int64_t)n_tok * hp->n_head;

#pragma omp parallel for num_threads(ctx->n_threads) schedule(dynamic, 1)
    for (int64_t item = 0; item < n_items; item++) {
        const int t = (int)(item / hp->n_head);
        const int h = (int)(item % hp->n_head);
        const int g = h / group;
        const int n_kv = pos0 + t + 1; /* causal: positions 0..pos */
        const int tid = BN_THREAD_ID();
        float *scores = ctx->att_scores + (int64_t)tid * ctx->n_ctx;  /* [n_kv] */
        const float *qh = q + t * q_dim + (int64_t)h * hd;             /* [hd] */
        float *oh = out + t * q_dim + (int64_t)h * hd;                 /* [hd] */
        if (compat) {
            /* bitnet.cpp's x86 build (llamafile sgemm for F16 x F32 products)
             * keeps Q and the probabilities in F32 when its operand is
             * contiguous: Q only for a single token, the probabilities always.
             * For multi-token batches Q goes through ggml's F16 conversion. */
            const uint16_t *kc = (const uint16_t *)ctx->k_cache + il * layer + (int64_t)g * hd;
            if (n_tok > 1) {
                uint16_t *q16 = ctx->q16 + (int64_t)tid * hd;
                for (int d = 0; d < hd; d++) q16[d] = bn_f32_to_f16(qh[d]);
                for (int j = 0; j < n_kv; j++) scores[j] = kern->dot_f16(kc + j * kv_dim, q16, hd);
            } else {
                for (int j = 0; j < n_kv; j++) scores[j] = kern->dot_f16_f32(kc + j * kv_dim, qh, hd);
            }
            bn_softmax_scaled(scores, n_kv, scale);
            const uint16_t *vt = (const uint16_t *)ctx->v_cache + il * layer + (int64_t)g * hd * ctx->n_ctx;
            for (int d = 0; d < hd; d++) oh[d] = kern->dot_f16_f32(vt + (int64_t)d * ctx->n_ctx, scores, n_kv);
        } else {
            const float *kc = (const float *)ctx->k_cache + il * layer + (int64_t)g * hd;
            for (int j = 0; j < n_kv; j++) scores[j] = kern->dot_f32(kc + j * kv_dim, qh, hd);
            bn_softmax_scaled(scores, n_kv, scale);
            const float *vt = (const float *)ctx->v_cache + il * layer + (int64_t)g * hd * ctx->n_ctx;
            for (int d = 0; d < hd; d++) oh[d] = kern->dot_f32(vt + (int64_t)d * ctx->n_ctx, scores, n_kv);
        }
    }
}
