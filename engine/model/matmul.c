#include "matmul.h"

#include <string.h>

#include "f16.h"
#include "types.h"

#ifdef _OPENMP
#include <omp.h>
#define BN_THREAD_ID() omp_get_thread_num()
#define BN_N_THREADS() omp_get_num_threads()
#else
#define BN_THREAD_ID() 0
#define BN_N_THREADS() 1
#endif

/* Prefill work items: ROW_BLOCK rows of one weight for every token of the
 * micro-batch, handed out dynamically (the weights of a block are reused by
 * all tokens, so the work is compute-bound and balancing matters more than
 * streaming order). */
enum { ROW_BLOCK = 64 };

/* Decode: each thread streams one contiguous run of rows over the
 * concatenated rows of the group, cut on multiples of DECODE_ALIGN rows (the
 * GEMV tile height). */
enum { DECODE_ALIGN = 16 };

void bn_quantize_activations(bitnet_context *ctx, const float *x, int n_tok, int64_t n) {
    bn_act_i8 *a = &ctx->act;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (BN_PAR_WORTH(n_tok * n))
    for (int t = 0; t < n_tok; t++)
        ctx->kern->quantize_i8(x + (int64_t)t * n, n, a->q + (int64_t)t * n, &a->scale[t],
                               &a->sum[t]);
    a->n = n;
    a->n_tok = n_tok;
    a->valid = true;
}

/* y = (Σ c·q − Σq) / s_x · s_w, in this order and in float (spec 1.3):
 * both integers are below 2^24, so the subtraction is exact; then the
 * optional post-scale and bias, element by element. Rows r0..r1 of token t. */
static void finish_rows(const bn_kernels *k, const bn_weight *w, const bn_act_i8 *a,
                        const int32_t *raw, int t, int64_t r0, int64_t r1, float *y) {
    k->scale_i32(raw + r0, r1 - r0, (float)a->sum[t], a->scale[t], w->scale, y + r0);
    if (w->has_post_scale) {
        const float ps = w->post_scale;
        for (int64_t r = r0; r < r1; r++) y[r] *= ps;
    }
    if (w->bias)
        for (int64_t r = r0; r < r1; r++) y[r] += w->bias[r];
}

/* Several I2_S weights that read the same quantized input (Q/K/V, gate/up)
 * in one parallel region. raw holds n_tok × M_i sums per weight, one after
 * the other. */
static void linear_i2s_group(bitnet_context *ctx, const bn_weight *const *ws, float *const *ys,
                             int n, int n_tok) {
    const bn_kernels *k = ctx->kern;
    const bn_act_i8 *a = &ctx->act;
    int64_t raw_off[BN_LINEAR_GROUP_MAX + 1], row_off[BN_LINEAR_GROUP_MAX + 1];
    raw_off[0] = row_off[0] = 0;
    for (int i = 0; i < n; i++) {
        raw_off[i + 1] = raw_off[i] + (int64_t)n_tok * ws[i]->n_out;
        row_off[i + 1] = row_off[i] + ws[i]->n_out;
    }
    const int64_t total_rows = row_off[n];

    if (n_tok == 1) {
#pragma omp parallel num_threads(ctx->n_threads)
        {
            const int nt = BN_N_THREADS(), tid = BN_THREAD_ID();
            const int64_t units = (total_rows + DECODE_ALIGN - 1) / DECODE_ALIGN;
            const int64_t g0 = units * tid / nt * DECODE_ALIGN;
            int64_t g1 = units * (tid + 1) / nt * DECODE_ALIGN;
            if (g1 > total_rows) g1 = total_rows;
            for (int i = 0; i < n && g0 < g1; i++) {
                const int64_t lo = g0 > row_off[i] ? g0 - row_off[i] : 0;
                const int64_t hi = (g1 < row_off[i + 1] ? g1 : row_off[i + 1]) - row_off[i];
                if (lo >= hi) continue;
                const bn_weight *w = ws[i];
                int32_t *raw = ctx->raw + raw_off[i];
                k->i2s_gemv(w->data + lo * (w->n_in / 4), w->n_in, hi - lo, a->q, raw + lo);
                finish_rows(k, w, a, raw, 0, lo, hi, ys[i]);
            }
        }
        return;
    }

    int64_t blk_off[BN_LINEAR_GROUP_MAX + 1];
    blk_off[0] = 0;
    for (int i = 0; i < n; i++)
        blk_off[i + 1] = blk_off[i] + (ws[i]->n_out + ROW_BLOCK - 1) / ROW_BLOCK;
    const int64_t n_items = blk_off[n];
#pragma omp parallel for num_threads(ctx->n_threads) schedule(dynamic, 1)
    for (int64_t item = 0; item < n_items; item++) {
        int i = 0;
        while (item >= blk_off[i + 1]) i++;
        const bn_weight *w = ws[i];
        const int64_t K = w->n_in, M = w->n_out;
        const int64_t r0 = (item - blk_off[i]) * ROW_BLOCK;
        const int64_t r1 = M - r0 < ROW_BLOCK ? M : r0 + ROW_BLOCK;
        int32_t *raw = ctx->raw + raw_off[i]; /* [n_tok][M] */
        k->i2s_gemm(w->data + r0 * (K / 4), K, r1 - r0, a->q, K, n_tok, raw + r0, M);
        for (int t = 0; t < n_tok; t++)
            finish_rows(k, w, a, raw + (int64_t)t * M, t, r0, r1, ys[i] + (int64_t)t * M);
    }
}

/* Block-scaled ternary weights (TQ1_0/TQ2_0 with differing block scales,
 * tq_load.h): per token and row
 *   y = (Σ_b d_b · (float)(S_b − Q_b)) / s_x,
 * S_b the kernel's raw sum of block b, Q_b the activations' sum over it; the
 * float sum runs over b in order, in float, the same for every ISA and every
 * chunking (both integers are exact, |S_b − Q_b| <= 2^16). Work items are
 * BLK_ROWS rows; the kernel is called on BLK_TOK tokens × BLK_CHUNK blocks
 * at a time, which bounds the stack buffers (8 KiB). */
enum { BLK_ROWS = 16, BLK_TOK = 4, BLK_CHUNK = 32 };

static void linear_blk(bitnet_context *ctx, const bn_weight *w, int n_tok, float *y) {
    const bn_kernels *k = ctx->kern;
    const bn_act_i8 *a = &ctx->act;
    const int64_t K = w->n_in, M = w->n_out, nb = K / BN_QK_K, rb = K / 4;
    const int64_t n_items = (M + BLK_ROWS - 1) / BLK_ROWS;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t item = 0; item < n_items; item++) {
        const int64_t r0 = item * BLK_ROWS;
        const int64_t rows = M - r0 < BLK_ROWS ? M - r0 : BLK_ROWS;
        for (int t0 = 0; t0 < n_tok; t0 += BLK_TOK) {
            const int nt = n_tok - t0 < BLK_TOK ? n_tok - t0 : BLK_TOK;
            const int8_t *q = a->q + (int64_t)t0 * K;
            float acc[BLK_TOK][BLK_ROWS] = {{0}};
            for (int64_t b0 = 0; b0 < nb; b0 += BLK_CHUNK) {
                const int64_t nc = nb - b0 < BLK_CHUNK ? nb - b0 : BLK_CHUNK;
                int32_t raw[BLK_TOK * BLK_ROWS * BLK_CHUNK];
                int32_t qsum[BLK_TOK][BLK_CHUNK];
                for (int t = 0; t < nt; t++)
                    for (int64_t b = 0; b < nc; b++) {
                        const int8_t *qb = q + (int64_t)t * K + (b0 + b) * BN_QK_K;
                        int32_t s = 0;
                        for (int j = 0; j < BN_QK_K; j++) s += qb[j];
                        qsum[t][b] = s;
                    }
                const uint8_t *wb = w->data + r0 * rb + b0 * (BN_QK_K / 4);
                if (nt == 1)
                    k->i2s_blk_gemv(wb, rb, nc * BN_QK_K, rows, q + b0 * BN_QK_K, raw);
                else
                    k->i2s_blk_gemm(wb, rb, nc * BN_QK_K, rows, q + b0 * BN_QK_K, K, nt, raw);
                for (int t = 0; t < nt; t++)
                    for (int64_t r = 0; r < rows; r++) {
                        const int32_t *s = raw + ((int64_t)t * rows + r) * nc;
                        const float *d = w->blk_scale + (r0 + r) * nb + b0;
                        for (int64_t b = 0; b < nc; b++)
                            acc[t][r] += (float)(s[b] - qsum[t][b]) * d[b];
                    }
            }
            for (int t = 0; t < nt; t++)
                for (int64_t r = 0; r < rows; r++) {
                    float v = acc[t][r] / a->scale[t0 + t];
                    if (w->has_post_scale) v *= w->post_scale;
                    if (w->bias) v += w->bias[r0 + r];
                    y[(int64_t)(t0 + t) * M + r0 + r] = v;
                }
        }
    }
}

/* A batch through an F16 matrix (the output head of N sequences) goes by
 * blocks of HEAD_ROWS rows: for each group of HEAD_TOKENS tokens, every row
 * of the block. HEAD_TOKENS × K floats of activations (24 KiB at K = 1536)
 * then stay in L1 while the block's rows pass, and the rows, read once from
 * memory, are re-read from L2 by the next token group; with all the tokens
 * per row instead, 8 tokens' activations (48 KiB) spill L1 on every row.
 * Each (row, token) result is the same dot_f16_f32_multi operation either
 * way, so the bits do not depend on the blocking. */
enum { HEAD_PREFETCH_ROWS = 2, HEAD_TOKENS = 4, HEAD_ROWS = 8 };
/* rows per dot_f16_f32_block call (the kernel's largest) */
enum { BLOCK_ROWS = 4 };

static void linear_f16_batch(bitnet_context *ctx, const bn_weight *w, const float *x, int n_tok,
                             float *y) {
    const bn_kernels *k = ctx->kern;
    const int64_t K = w->n_in, M = w->n_out;
    const int64_t n_blocks = (M + HEAD_ROWS - 1) / HEAD_ROWS;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t b = 0; b < n_blocks; b++) {
        const int64_t r0 = b * HEAD_ROWS, r1 = r0 + HEAD_ROWS < M ? r0 + HEAD_ROWS : M;
        /* the next block's rows, fetched while this one computes */
        const uint8_t *next = w->data + r1 * w->row_bytes;
        const size_t next_bytes =
            (size_t)((r1 + HEAD_ROWS < M ? r1 + HEAD_ROWS : M) - r1) * w->row_bytes;
        for (size_t o = 0; o < next_bytes; o += 64) __builtin_prefetch(next + o);
        for (int t0 = 0; t0 < n_tok; t0 += HEAD_TOKENS) {
            const int nt = n_tok - t0 < HEAD_TOKENS ? n_tok - t0 : HEAD_TOKENS;
            const float *xt = x + (int64_t)t0 * K;
            float *yt = y + (int64_t)t0 * M;
            for (int64_t r = r0; r < r1;) {
                const uint16_t *row = (const uint16_t *)(w->data + r * w->row_bytes);
                if (k->dot_f16_f32_block) {
                    const int nr = r1 - r < BLOCK_ROWS ? (int)(r1 - r) : BLOCK_ROWS;
                    k->dot_f16_f32_block(row, (int64_t)(w->row_bytes / 2), nr, xt, K, nt, K, yt + r,
                                         M);
                    r += nr;
                    continue;
                }
                float v[HEAD_TOKENS];
                k->dot_f16_f32_multi(row, xt, K, nt, K, v);
                for (int t = 0; t < nt; t++) yt[(int64_t)t * M + r] = v[t];
                r++;
            }
        }
    }
}

static void linear_float(bitnet_context *ctx, const bn_weight *w, const float *x, int n_tok,
                         float *y) {
    const bn_kernels *k = ctx->kern;
    const int64_t K = w->n_in, M = w->n_out;
    /* bitnet.cpp's x86 build multiplies F16 weights by F32 inputs without
     * rounding the inputs (llamafile sgemm, K a multiple of 16); ggml's
     * generic path would round them to F16, which compat then mimics. */
    const bool f16_input =
        w->type == BN_TYPE_F16 && ctx->numerics == BITNET_NUMERICS_COMPAT && K % 16 != 0;
    if (w->type == BN_TYPE_F16 && !f16_input && n_tok > 1) {
        linear_f16_batch(ctx, w, x, n_tok, y);
        return;
    }
    if (f16_input)
        for (int64_t i = 0; i < (int64_t)n_tok * K; i++) ctx->x16[i] = bn_f32_to_f16(x[i]);
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t r = 0; r < M; r++) {
        const uint8_t *row = w->data + r * w->row_bytes;
        /* the output head is the largest single read of a decode step:
         * prefetch the row HEAD_PREFETCH_ROWS ahead (measured +8 % tokens/s) */
        if (r + HEAD_PREFETCH_ROWS < M)
            for (size_t o = 0; o < w->row_bytes; o += 64)
                __builtin_prefetch(row + HEAD_PREFETCH_ROWS * w->row_bytes + o);
        for (int t = 0; t < n_tok; t++) {
            float v;
            if (w->type == BN_TYPE_F32)
                v = k->dot_f32((const float *)row, x + (int64_t)t * K, K);
            else if (f16_input)
                v = k->dot_f16((const uint16_t *)row, ctx->x16 + (int64_t)t * K, K);
            else
                v = k->dot_f16_f32((const uint16_t *)row, x + (int64_t)t * K, K);
            y[(int64_t)t * M + r] = v;
        }
    }
}

static void apply_post(const bn_weight *w, int n_tok, float *y) {
    const int64_t M = w->n_out;
    if (w->has_post_scale)
        for (int64_t i = 0; i < (int64_t)n_tok * M; i++) y[i] *= w->post_scale;
    if (w->bias)
        for (int t = 0; t < n_tok; t++)
            for (int64_t r = 0; r < M; r++) y[(int64_t)t * M + r] += w->bias[r];
}

void bn_linear_group(bitnet_context *ctx, const bn_weight *const *ws, const float *x, int n_tok,
                     float *const *ys, int n) {
    bool all_i2s = n <= BN_LINEAR_GROUP_MAX;
    for (int i = 0; i < n; i++) all_i2s = all_i2s && ws[i]->type == BN_TYPE_I2_S;
    if (all_i2s) {
        linear_i2s_group(ctx, ws, ys, n, n_tok);
        return;
    }
    for (int i = 0; i < n; i++) bn_linear(ctx, ws[i], x, n_tok, ys[i]);
}

void bn_linear(bitnet_context *ctx, const bn_weight *w, const float *x, int n_tok, float *y) {
    if (w->type == BN_TYPE_I2_S) {
        linear_i2s_group(ctx, &w, &y, 1, n_tok);
        return;
    }
    if (w->blk_scale) {
        linear_blk(ctx, w, n_tok, y);
        return;
    }
    linear_float(ctx, w, x, n_tok, y);
    apply_post(w, n_tok, y);
}
/* The optional 8-bit head: the normed hidden state quantized per token like
 * a BitLinear input (spec 1.2), then logit = (Σ (w+128)·q − 128·Σq) / s_x ·
 * d_row in float. Blocks of HEAD_BLOCK rows; each thread streams one
 * contiguous range of the head. */
enum { HEAD_BLOCK = 64 };

static void output_head_q8(bitnet_context *ctx, const bn_weight *head, const float *x, int n_tok,
                           float *logits) {
    const bn_kernels *k = ctx->kern;
    const int64_t K = head->n_in, V = head->n_out;
    bn_quantize_activations(ctx, x, n_tok, K);
    const bn_act_i8 *a = &ctx->act;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t r0 = 0; r0 < V; r0 += HEAD_BLOCK) {
        const int64_t rows = V - r0 < HEAD_BLOCK ? V - r0 : HEAD_BLOCK;
        int32_t raw[HEAD_BLOCK];
        for (int t = 0; t < n_tok; t++) {
            k->u8_gemv(ctx->head_q8 + r0 * K, K, rows, a->q + (int64_t)t * K, raw);
            const int32_t bias = 128 * a->sum[t];
            const float s_x = a->scale[t];
            float *y = logits + (int64_t)t * V + r0;
            for (int64_t r = 0; r < rows; r++)
                y[r] = (float)(raw[r] - bias) / s_x * ctx->head_q8_scale[r0 + r];
        }
    }
}

/* The F32 copy of an F16 head (ctx->head_f32, context.c): the values are
 * exactly the F16 ones, and dot_f32 sums in the order of dot_f16_f32 on the
 * tables of the build that makes the copy (tests/test_kernels.c,
 * test_head_f32), so the logits keep the bits of linear_float's. */
static void output_head_f32(bitnet_context *ctx, const bn_weight *head, const float *x, int n_tok,
                            float *logits) {
    const bn_kernels *k = ctx->kern;
    const int64_t K = head->n_in, V = head->n_out;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t r = 0; r < V; r++) {
        const float *row = ctx->head_f32 + r * K;
        for (int t = 0; t < n_tok; t++)
            logits[(int64_t)t * V + r] = k->dot_f32(row, x + (int64_t)t * K, K);
    }
}

void bn_output_head(bitnet_context *ctx, const bn_weight *head, const float *x, int n_tok,
                    float *logits) {
    if (ctx->head_q8) {
        output_head_q8(ctx, head, x, n_tok, logits);
        return;
    }
    if (ctx->head_f32) {
        output_head_f32(ctx, head, x, n_tok, logits);
        return;
    }
    if (head->type == BN_TYPE_F16 || head->type == BN_TYPE_F32) {
        linear_float(ctx, head, x, n_tok, logits);
        return;
    }
    /* other lookup types (bf16, q8_0, q6_K): dequantize each row once and
     * reuse it for every token */
    const bn_kernels *k = ctx->kern;
    const int64_t K = head->n_in, V = head->n_out;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t r = 0; r < V; r++) {
        float *row = ctx->row_buf + (int64_t)BN_THREAD_ID() * K;
        bn_weight_row_to_float(head, r, row);
        for (int t = 0; t < n_tok; t++)
            logits[(int64_t)t * V + r] = k->dot_f32(row, x + (int64_t)t * K, K);
    }
}
