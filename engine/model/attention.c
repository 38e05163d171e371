#include "attention.h"

#include <math.h>
#include <string.h>

#include "f16.h"
#include "hparams.h"
#include "ops.h"

#ifdef _OPENMP
#include <omp.h>
#define BN_THREAD_ID() omp_get_thread_num()
#else
#define BN_THREAD_ID() 0
#endif

void bn_kv_store(bitnet_context *ctx, int il, const float *k, const float *v, int n_tok) {
    const bn_hparams *hp = &ctx->model->hp;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    const int64_t layer = (int64_t)ctx->n_ctx * kv_dim;
    const int32_t *cell = ctx->ub.cell; /* [n_tok] */
    void (*const f32_to_f16_row)(const float *, uint16_t *, int64_t) = ctx->kern->f32_to_f16;
    /* K row by row (one per cell); V transposed, one cache row per
     * dimension. Multi-token batches split the rows across threads; in
     * compat mode V is converted row by row into ctx->x16 first (free
     * between matmuls) and then transposed. */
#pragma omp parallel num_threads(ctx->n_threads) if (n_tok > 1)
    {
        if (ctx->kv_elem == 2) {
            uint16_t *kc = (uint16_t *)ctx->k_cache + il * layer;
            uint16_t *vc = (uint16_t *)ctx->v_cache + il * layer;
            uint16_t *v16 = ctx->x16; /* [n_tok][kv_dim] */
#pragma omp for schedule(static)
            for (int t = 0; t < n_tok; t++) {
                f32_to_f16_row(k + t * kv_dim, kc + cell[t] * kv_dim, kv_dim);
                f32_to_f16_row(v + t * kv_dim, v16 + t * kv_dim, kv_dim);
            }
#pragma omp for schedule(static)
            for (int64_t i = 0; i < kv_dim; i++)
                for (int t = 0; t < n_tok; t++) vc[i * ctx->n_ctx + cell[t]] = v16[t * kv_dim + i];
        } else {
            float *kc = (float *)ctx->k_cache + il * layer;
            float *vc = (float *)ctx->v_cache + il * layer;
#pragma omp for schedule(static) nowait
            for (int t = 0; t < n_tok; t++)
                for (int64_t i = 0; i < kv_dim; i++) kc[cell[t] * kv_dim + i] = k[t * kv_dim + i];
#pragma omp for schedule(static)
            for (int64_t i = 0; i < kv_dim; i++)
                for (int t = 0; t < n_tok; t++) vc[i * ctx->n_ctx + cell[t]] = v[t * kv_dim + i];
        }
    }
}

/* cells[0..n) as runs of consecutive cells: runs[2r] the first cell,
 * runs[2r+1] the length. Returns the number of runs. */
static int build_runs(const int32_t *cells, int n, int32_t *runs) {
    int nr = 0;
    for (int j = 0; j < n;) {
        int len = 1;
        while (j + len < n && cells[j + len] == cells[j] + len) len++;
        runs[2 * nr] = cells[j];
        runs[2 * nr + 1] = len;
        nr++;
        j += len;
    }
    return nr;
}

/* dst[0..) = row[cells] in position order, one memcpy per run */
static void gather_runs(void *dst, const void *row, const int32_t *runs, int nr, size_t elem) {
    char *d = dst;
    const char *r = row;
    for (int i = 0; i < nr; i++) {
        const size_t bytes = (size_t)runs[2 * i + 1] * elem;
        memcpy(d, r + (size_t)runs[2 * i] * elem, bytes);
        d += bytes;
    }
}

void bn_attention(bitnet_context *ctx, int il, const float *q, int n_tok, float *out) {
    const bn_hparams *hp = &ctx->model->hp;
    const bn_kernels *kern = ctx->kern;
    const bn_kv_cells *kv = &ctx->kv;
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
        const int32_t s = ctx->ub.seq[t];
        const int n_kv = ctx->ub.pos[t] + 1;           /* causal: positions 0..pos */
        const int32_t *cells = bn_kv_seq_cells(kv, s); /* [n_kv] cell of each position */
        /* positions 0..pos in consecutive cells: V is read in place;
         * otherwise each dimension's values are gathered in position order
         * first, so that ·V is the same dot product over the same values */
        const bool in_place = n_kv <= kv->seq_contig[s];
        const int tid = BN_THREAD_ID();
        float *scores = ctx->att_scores + (int64_t)tid * ctx->n_ctx; /* [n_kv] */
        const float *qh = q + t * q_dim + (int64_t)h * hd;           /* [hd] */
        float *oh = out + t * q_dim + (int64_t)h * hd;               /* [hd] */
        int32_t *runs = ctx->att_runs + (int64_t)tid * 2 * ctx->n_ctx;
        const int nr = in_place ? 0 : build_runs(cells, n_kv, runs);
        void *vg = (char *)ctx->att_vgather + (size_t)tid * (size_t)ctx->n_ctx * ctx->kv_elem;
        if (compat) {
            /* bitnet.cpp's x86 build (llamafile sgemm for F16 x F32 products)
             * keeps Q and the probabilities in F32 when its operand is
             * contiguous: Q only for a single token, the probabilities always.
             * For multi-token batches Q goes through ggml's F16 conversion. */
            const uint16_t *kc = (const uint16_t *)ctx->k_cache + il * layer + (int64_t)g * hd;
            /* Q rounded through F16 and widened back: dot_f16_f32 then has
             * the bits of dot_f16 with the F16 query (kernels.h) */
            const float *qk = qh;
            float q_widened[BN_MAX_HEAD_DIM];
            if (ctx->ub.q_f16[t]) {
                for (int d = 0; d < hd; d++) q_widened[d] = bn_f16_to_f32(bn_f32_to_f16(qh[d]));
                qk = q_widened;
            }
            /* keys of consecutive cells are rows kv_dim apart: one call for
             * all of them, the query loaded once per group of keys */
            if (in_place)
                kern->dot_f16_f32_rows(kc + cells[0] * kv_dim, kv_dim, n_kv, qk, hd, scores);
            else
                for (int j = 0; j < n_kv; j++)
                    scores[j] = kern->dot_f16_f32(kc + cells[j] * kv_dim, qk, hd);
            bn_softmax_scaled(scores, n_kv, scale);
            const uint16_t *vt =
                (const uint16_t *)ctx->v_cache + il * layer + (int64_t)g * hd * ctx->n_ctx;
            if (in_place) {
                /* V transposed: dimension d's values are row d, n_ctx apart */
                kern->dot_f16_f32_rows(vt + cells[0], ctx->n_ctx, hd, scores, n_kv, oh);
            } else {
                for (int d = 0; d < hd; d++) {
                    gather_runs(vg, vt + (int64_t)d * ctx->n_ctx, runs, nr, sizeof(uint16_t));
                    oh[d] = kern->dot_f16_f32(vg, scores, n_kv);
                }
            }
        } else {
            const float *kc = (const float *)ctx->k_cache + il * layer + (int64_t)g * hd;
            for (int j = 0; j < n_kv; j++)
                scores[j] = kern->dot_f32(kc + cells[j] * kv_dim, qh, hd);
            bn_softmax_scaled(scores, n_kv, scale);
            const float *vt =
                (const float *)ctx->v_cache + il * layer + (int64_t)g * hd * ctx->n_ctx;
            for (int d = 0; d < hd; d++) {
                const float *vrow = vt + (int64_t)d * ctx->n_ctx; /* [n_ctx cells] */
                if (in_place) {
                    oh[d] = kern->dot_f32(vrow + cells[0], scores, n_kv);
                } else {
                    gather_runs(vg, vrow, runs, nr, sizeof(float));
                    oh[d] = kern->dot_f32(vg, scores, n_kv);
                }
            }
        }
    }
}
