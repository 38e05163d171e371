#include "attention.h"

#include <math.h>
#include <string.h>

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
    const int64_t layer = (int64_t)ctx->n_ctx * kv_dim, ks = ctx->k_stride;
    const int32_t *cell = ctx->ub.cell; /* [n_tok] */
    void (*const f32_to_f16_row)(const float *, uint16_t *, int64_t) = ctx->kern->f32_to_f16;
    /* V row by row (one per cell); K transposed, one cache row per
     * dimension (context.h says why). Multi-token batches split the rows
     * across threads; in compat mode K is converted row by row into
     * ctx->x16 first (free between matmuls) and then transposed. */
#pragma omp parallel num_threads(ctx->n_threads) if (BN_PAR_WORTH(n_tok * kv_dim))
    {
        if (ctx->kv_elem == 2) {
            uint16_t *kc = (uint16_t *)ctx->k_cache + il * ks * kv_dim;
            uint16_t *vc = (uint16_t *)ctx->v_cache + il * layer;
            uint16_t *k16 = ctx->x16; /* [n_tok][kv_dim] */
#pragma omp for schedule(static)
            for (int t = 0; t < n_tok; t++) {
                f32_to_f16_row(v + t * kv_dim, vc + cell[t] * kv_dim, kv_dim);
                f32_to_f16_row(k + t * kv_dim, k16 + t * kv_dim, kv_dim);
            }
#pragma omp for schedule(static)
            for (int64_t i = 0; i < kv_dim; i++)
                for (int t = 0; t < n_tok; t++) kc[i * ks + cell[t]] = k16[t * kv_dim + i];
        } else {
            float *kc = (float *)ctx->k_cache + il * ks * kv_dim;
            float *vc = (float *)ctx->v_cache + il * layer;
#pragma omp for schedule(static) nowait
            for (int t = 0; t < n_tok; t++)
                for (int64_t i = 0; i < kv_dim; i++) vc[cell[t] * kv_dim + i] = v[t * kv_dim + i];
#pragma omp for schedule(static)
            for (int64_t i = 0; i < kv_dim; i++)
                for (int t = 0; t < n_tok; t++) kc[i * ks + cell[t]] = k[t * kv_dim + i];
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

/* The F32 cache of exact mode: the chains of kernels.h's attn_scores_f16
 * and attn_values_f16 on float values (no SIMD: exact mode measures
 * numerics, not speed). */
static void scores_f32(const float *kt, int64_t kt_stride, int n_keys, int hd,
                       const float *const *q, int n_q, float *const *s) {
    for (int r = 0; r < n_q; r++)
        for (int j = 0; j < n_keys; j++) {
            float acc = 0.0f;
            for (int d = 0; d < hd; d++) acc = fmaf(kt[d * kt_stride + j], q[r][d], acc);
            s[r][j] = acc;
        }
}

static void values_f32(const float *v, int64_t v_stride, int hd, const int *n_keys,
                       const float *const *p, int n_q, float *const *out) {
    for (int r = 0; r < n_q; r++)
        for (int j = 0; j < n_keys[r]; j++)
            for (int d = 0; d < hd; d++) out[r][d] = fmaf(v[j * v_stride + d], p[r][j], out[r][d]);
}

/* Splits the micro-batch into blocks of at most max_len consecutive tokens
 * of one sequence: block b is tokens tblock[b] .. tblock[b+1]-1. Returns
 * the number of blocks. */
static int token_blocks(const bn_ubatch *ub, int n_tok, int max_len, int32_t *tblock) {
    int n = 0;
    for (int t = 0; t < n_tok;) {
        int len = 1;
        while (t + len < n_tok && len < max_len && ub->seq[t + len] == ub->seq[t]) len++;
        tblock[n++] = t;
        t += len;
    }
    tblock[n] = n_tok;
    return n;
}

/* Attention of the query rows (t, h), t in [t0, t1), h in [h0, h1), all of
 * KV head g and of one sequence, each at its own position: their keys and
 * values are read once for all of them. */
static void attend_block(bitnet_context *ctx, int il, int g, int t0, int t1, int h0, int h1,
                         const float *q, float *out, int tid) {
    const bn_hparams *hp = &ctx->model->hp;
    const bn_kernels *kern = ctx->kern;
    const bn_kv_cells *kv = &ctx->kv;
    const int hd = hp->head_dim;
    const int64_t q_dim = (int64_t)hp->n_head * hd;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hd;
    const int64_t layer = (int64_t)ctx->n_ctx * kv_dim;
    const bool compat = ctx->kv_elem == 2;
    const int32_t s = ctx->ub.seq[t0];

    const float *qr[BN_ATT_ROWS]; /* [hd] query of each row */
    float *sr[BN_ATT_ROWS];       /* [n_ctx] its scores, then probabilities */
    float *orow[BN_ATT_ROWS];     /* [hd] its output */
    int n_kv[BN_ATT_ROWS];        /* causal: positions 0..pos */
    float q_widened[BN_ATT_ROWS][BN_MAX_HEAD_DIM];
    float *scores = ctx->att_scores + (int64_t)tid * BN_ATT_ROWS * ctx->n_ctx;
    int n_q = 0, max_kv = 0;
    for (int t = t0; t < t1; t++)
        for (int h = h0; h < h1; h++, n_q++) {
            const float *qh = q + t * q_dim + (int64_t)h * hd;
            /* bitnet.cpp's x86 build (llamafile sgemm for F16 x F32
             * products) keeps Q in F32 for a single token and rounds it
             * through F16 for a multi-token batch of one sequence; the
             * probabilities stay F32. */
            if (compat && ctx->ub.q_f16[t]) {
                kern->f32_round_f16(qh, q_widened[n_q], hd);
                qh = q_widened[n_q];
            }
            qr[n_q] = qh;
            sr[n_q] = scores + (int64_t)n_q * ctx->n_ctx;
            orow[n_q] = out + t * q_dim + (int64_t)h * hd;
            n_kv[n_q] = ctx->ub.pos[t] + 1;
            if (n_kv[n_q] > max_kv) max_kv = n_kv[n_q];
        }

    /* the sequence's cells as runs of consecutive cells, position order */
    const int32_t *cells = bn_kv_seq_cells(kv, s); /* [max_kv] */
    int32_t *runs = ctx->att_runs + (int64_t)tid * 2 * ctx->n_ctx;
    int nr = 1;
    if (max_kv <= kv->seq_contig[s]) {
        runs[0] = cells[0];
        runs[1] = max_kv;
    } else {
        nr = build_runs(cells, max_kv, runs);
    }

    /* keys are transposed ([kv_dim][k_stride]): head g's dimension d is row
     * g·hd + d; values are rows of cells ([n_ctx][kv_dim]) */
    const size_t kt_off = ((size_t)il * kv_dim + (size_t)g * hd) * (size_t)ctx->k_stride;
    const size_t v_off = (size_t)il * layer + (size_t)g * hd;
    float *s_at[BN_ATT_ROWS];
    for (int i = 0, off = 0; i < nr; off += runs[2 * i + 1], i++) {
        for (int r = 0; r < n_q; r++) s_at[r] = sr[r] + off;
        if (compat)
            kern->attn_scores_f16((const uint16_t *)ctx->k_cache + kt_off + runs[2 * i],
                                  ctx->k_stride, runs[2 * i + 1], hd, qr, n_q, s_at);
        else
            scores_f32((const float *)ctx->k_cache + kt_off + runs[2 * i], ctx->k_stride,
                       runs[2 * i + 1], hd, qr, n_q, s_at);
    }
    const float scale = 1.0f / sqrtf((float)hd);
    for (int r = 0; r < n_q; r++) {
        kern->softmax_f32(sr[r], n_kv[r], scale);
        memset(orow[r], 0, (size_t)hd * sizeof(float));
    }
    const float *p_at[BN_ATT_ROWS];
    int n_at[BN_ATT_ROWS]; /* positions of this run that row r attends to */
    for (int i = 0, off = 0; i < nr; off += runs[2 * i + 1], i++) {
        const int len = runs[2 * i + 1];
        for (int r = 0; r < n_q; r++) {
            p_at[r] = sr[r] + off;
            n_at[r] = n_kv[r] - off < 0 ? 0 : n_kv[r] - off > len ? len : n_kv[r] - off;
        }
        const size_t first = v_off + (size_t)runs[2 * i] * kv_dim;
        if (compat)
            kern->attn_values_f16((const uint16_t *)ctx->v_cache + first, kv_dim, hd, n_at, p_at,
                                  n_q, orow);
        else
            values_f32((const float *)ctx->v_cache + first, kv_dim, hd, n_at, p_at, n_q, orow);
    }
}

void bn_attention(bitnet_context *ctx, int il, const float *q, int n_tok, float *out) {
    const bn_hparams *hp = &ctx->model->hp;
    const int group = hp->n_head / hp->n_head_kv; /* query heads per kv head */
    /* a work item is up to BN_ATT_ROWS query rows that share their keys and
     * values: heads of one group first, then tokens of one sequence */
    const int heads = group < BN_ATT_ROWS ? group : BN_ATT_ROWS;
    const int head_chunks = (group + heads - 1) / heads;
    const int n_blocks = token_blocks(&ctx->ub, n_tok, BN_ATT_ROWS / heads, ctx->att_tblock);
    const int64_t per_block = (int64_t)hp->n_head_kv * head_chunks;
    const int64_t n_items = n_blocks * per_block;
    const int32_t *tblock = ctx->att_tblock;

#pragma omp parallel for num_threads(ctx->n_threads) schedule(dynamic, 1)
    for (int64_t item = 0; item < n_items; item++) {
        const int b = (int)(item / per_block);
        const int g = (int)(item % per_block) / head_chunks;
        const int h0 = g * group + (int)(item % per_block) % head_chunks * heads;
        const int h1 = h0 + heads < (g + 1) * group ? h0 + heads : (g + 1) * group;
        attend_block(ctx, il, g, tblock[b], tblock[b + 1], h0, h1, q, out, BN_THREAD_ID());
    }
}
