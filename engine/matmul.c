#include "matmul.h"

#include <string.h>

#include "f16.h"
#include "types.h"

#ifdef _OPENMP
#include <omp.h>
#define BN_THREAD_ID() omp_get_thread_num()
#else
#define BN_THREAD_ID() 0
#endif

/* Rows per work item: big enough to amortize scheduling, small enough to
 * balance two to a few dozen threads. */
enum { ROW_BLOCK = 64 };

void bn_quantize_activations(bitnet_context *ctx, const float *x, int n_tok, int64_t n) {
    bn_act_i8 *a = &ctx->act;
    for (int t = 0; t < n_tok; t++)
        ctx->kern->quantize_i8(x + (int64_t)t * n, n, a->q + (int64_t)t * n, &a->scale[t], &a->sum[t]);
    a->n = n;
    a->n_tok = n_tok;
    a->valid = true;
}

static void linear_i2s(bitnet_context *ctx, const bn_weight *w, int n_tok, float *y) {
    const bn_kernels *k = ctx->kern;
    const bn_act_i8 *a = &ctx->act;
    const int64_t K = w->n_in, M = w->n_out;
    int32_t *raw = ctx->raw; /* [n_tok][M] */
    const int64_t n_blocks = (M + ROW_BLOCK - 1) / ROW_BLOCK;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(dynamic, 1)
    for (int64_t b = 0; b < n_blocks; b++) {
        const int64_t r0 = b * ROW_BLOCK;
        const int64_t rows = M - r0 < ROW_BLOCK ? M - r0 : ROW_BLOCK;
        const uint8_t *wr = w->data + r0 * (K / 4);
        if (n_tok == 1)
            k->i2s_gemv(wr, K, rows, a->q, raw + r0);
        else
            k->i2s_gemm(wr, K, rows, a->q, K, n_tok, raw + r0, M);
    }
    /* y = (Σ c·q − Σq) / s_x · s_w, in this order and in float (spec 1.3):
     * both integers are below 2^24, so the subtraction is exact. */
    for (int t = 0; t < n_tok; t++) {
        const float sum_q = (float)a->sum[t];
        const float s_x = a->scale[t];
        for (int64_t r = 0; r < M; r++)
            y[(int64_t)t * M + r] = ((float)raw[(int64_t)t * M + r] - sum_q) / s_x * w->scale;
    }
}

static void linear_float(bitnet_context *ctx, const bn_weight *w, const float *x, int n_tok,
                         float *y) {
    const bn_kernels *k = ctx->kern;
    const int64_t K = w->n_in, M = w->n_out;
    /* bitnet.cpp's x86 build multiplies F16 weights by F32 inputs without
     * rounding the inputs (llamafile sgemm, K a multiple of 16); ggml's
     * generic path would round them to F16, which compat then mimics. */
    const bool f16_input = w->type == BN_TYPE_F16 && ctx->numerics == BITNET_NUMERICS_COMPAT &&
                           K % 16 != 0;
    if (f16_input)
        for (int64_t i = 0; i < (int64_t)n_tok * K; i++) ctx->x16[i] = bn_f32_to_f16(x[i]);
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t r = 0; r < M; r++) {
        const uint8_t *row = w->data + r * w->row_bytes;
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

void bn_linear(bitnet_context *ctx, const bn_weight *w, const float *x, int n_tok, float *y) {
    if (w->type == BN_TYPE_I2_S)
        linear_i2s(ctx, w, n_tok, y);
    else
        linear_float(ctx, w, x, n_tok, y);
    const int64_t M = w->n_out;
    if (w->has_post_scale)
        for (int64_t i = 0; i < (int64_t)n_tok * M; i++) y[i] *= w->post_scale;
    if (w->bias)
        for (int t = 0; t < n_tok; t++)
            for (int64_t r = 0; r < M; r++) y[(int64_t)t * M + r] += w->bias[r];
}

void bn_output_head(bitnet_context *ctx, const bn_weight *head, const float *x, int n_tok,
                    float *logits) {
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
        for (int t = 0; t < n_tok; t++) logits[(int64_t)t * V + r] = k->dot_f32(row, x + (int64_t)t * K, K);
    }
}
