/* Context creation: kernels, the KV cache, scratch buffers, memory report.
 * Decoding is in decode.c, the cache's bookkeeping in kv_cache.c. */
#include "context.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "device.h"
#include "error.h"
#include "quantize.h"
#include "types.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Tokens per forward pass. Prefill processes this many tokens per weight
 * read; larger prompts go through several passes. 128 measured faster than
 * 256 or 512 at pp512 on the 700m shape (615 against 550 and 430 t/s, one
 * thread, AMX): the activations, sums and scores of a pass then stay in L2,
 * and an AMX weight strip is still reused by eight token tiles. */
enum { DEFAULT_UBATCH = 128, DEFAULT_BATCH = 512 };

/* The F32 copy of an F16 output head (ctx->head_f32), made when it needs at
 * most this many MiB. SIMD128 has no F16 conversion, so widening a half costs
 * several instructions per value, and the head is the largest matmul of a
 * decode step (32000 x 1536 on the 700m shape: 188 MiB as F32): the
 * WebAssembly build trades that memory for a plain F32 dot (docs/wasm.md).
 * Native builds widen in hardware (F16C, NEON) and make no copy. */
#ifndef BN_HEAD_F32_MAX_MB
#define BN_HEAD_F32_MAX_MB 0
#endif

/* Physical cores: distinct (package, core) pairs in /proc/cpuinfo; the number
 * of online CPUs if that cannot be read. Hyper-threads share the SIMD units
 * that bound these kernels, so they are not counted. */
static int physical_cores(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return online > 0 ? (int)online : 1;
    char line[256];
    int phys = -1, seen = 0;
    int pairs[1024][2];
    while (fgets(line, sizeof line, f)) {
        int v;
        if (sscanf(line, "physical id : %d", &v) == 1) phys = v;
        if (sscanf(line, "core id : %d", &v) == 1) {
            bool dup = false;
            for (int i = 0; i < seen; i++)
                if (pairs[i][0] == phys && pairs[i][1] == v) dup = true;
            if (!dup && seen < 1024) {
                pairs[seen][0] = phys;
                pairs[seen][1] = v;
                seen++;
            }
        }
    }
    fclose(f);
    if (seen > 0) return seen;
    return online > 0 ? (int)online : 1;
}

bitnet_context_params bitnet_context_default_params(void) {
    bitnet_context_params p = {0};
    p.n_ctx = 0;
    p.n_batch = DEFAULT_BATCH;
    p.n_threads = 0;
    p.numerics = BITNET_NUMERICS_COMPAT;
    p.n_seq_max = 1;
    return p;
}

static void *ctx_alloc(bitnet_context *ctx, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        bn_fail(BITNET_ERR_NOMEM, "context buffer size overflows");
        ctx->alloc_failed = true;
        return NULL;
    }
    void *p = bn_aligned_alloc(total);
    if (p)
        ctx->mem_bytes += total;
    else
        ctx->alloc_failed = true;
    return p;
}

void bitnet_context_free(bitnet_context *ctx) {
    if (!ctx) return;
    void *bufs[] = {ctx->k_cache,    ctx->v_cache,    ctx->x,
                    ctx->xn,         ctx->q,          ctx->k,
                    ctx->v,          ctx->att,        ctx->gate,
                    ctx->up,         ctx->mm,         ctx->act.q,
                    ctx->act.scale,  ctx->act.sum,    ctx->raw,
                    ctx->att_scores, ctx->row_buf,    ctx->x16,
                    ctx->logits,     ctx->head_q8,    ctx->head_q8_scale,
                    ctx->head_f32,   ctx->att_tblock, ctx->att_runs,
                    ctx->ub.pos,     ctx->ub.seq,     ctx->ub.cell,
                    ctx->ub.q_f16,   ctx->ub.out,     ctx->seq_len0,
                    ctx->seq_count};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) bn_aligned_free(bufs[i]);
    bn_kv_cells_free(&ctx->kv);
    bn_free(ctx->out_row);
    bn_free(ctx);
}

/* The optional 8-bit head, row by row from the model's head in any lookup
 * type (bn_head_q8_row); each thread dequantizes into its row_buf slot. */
static void quantize_head(bitnet_context *ctx) {
    const bn_weight *h = &ctx->model->output;
    const int64_t K = h->n_in, V = h->n_out;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int64_t r = 0; r < V; r++) {
#ifdef _OPENMP
        float *row = ctx->row_buf + (int64_t)omp_get_thread_num() * K;
#else
        float *row = ctx->row_buf;
#endif
        bn_weight_row_to_float(h, r, row);
        bn_head_q8_row(row, K, ctx->head_q8 + r * K, &ctx->head_q8_scale[r]);
    }
}

/* Whether the head gets an F32 copy: an F16 head read by dot_f16_f32 (not
 * the compat path that rounds the inputs to F16, see linear_float), no 8-bit
 * head, and the copy within BN_HEAD_F32_MAX_MB. */
static bool want_head_f32(const bitnet_context *ctx, const bitnet_context_params *params) {
    const bn_weight *h = &ctx->model->output;
    if (BN_HEAD_F32_MAX_MB <= 0 || params->head_q8 || h->type != BN_TYPE_F16) return false;
    if (ctx->numerics == BITNET_NUMERICS_COMPAT && h->n_in % 16 != 0) return false;
    const uint64_t bytes = (uint64_t)h->n_out * (uint64_t)h->n_in * sizeof(float);
    return bytes <= (uint64_t)BN_HEAD_F32_MAX_MB << 20;
}

bitnet_context *bitnet_context_new(const bitnet_model *model, const bitnet_context_params *params) {
    bn_clear_error();
    if (!model) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_context_new: model is NULL");
        return NULL;
    }
    if (model->vocab_only) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                "bitnet_context_new: the model was loaded vocab-only; it has no weights");
        return NULL;
    }
    bitnet_context_params defaults = bitnet_context_default_params();
    if (!params) params = &defaults;
    const bn_hparams *hp = &model->hp;
    if (params->n_ctx < 0 || params->n_ctx > (1 << 24)) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "n_ctx %d is out of range [0, 16777216]",
                params->n_ctx);
        return NULL;
    }
    if (params->n_batch < 0 || params->n_threads < 0 || params->n_threads > 1024) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "n_batch %d / n_threads %d out of range",
                params->n_batch, params->n_threads);
        return NULL;
    }
    if (params->n_seq_max < 0 || params->n_seq_max > BN_KV_MAX_SEQ) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "n_seq_max %d is out of range [1, %d]",
                params->n_seq_max, BN_KV_MAX_SEQ);
        return NULL;
    }
    if (params->numerics != BITNET_NUMERICS_COMPAT && params->numerics != BITNET_NUMERICS_EXACT) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "unknown numerics mode %d", (int)params->numerics);
        return NULL;
    }
    if (params->head_q8 && model->output.n_in > 65536) {
        bn_fail(BITNET_ERR_UNSUPPORTED, "head_q8: n_embd %lld is above 65536",
                (long long)model->output.n_in);
        return NULL;
    }
    if (bn_device_check(params->device) != BITNET_OK) return NULL;
    const bn_kernels *kern = bn_kernels_get(params->isa);
    if (!kern) return NULL;

    bitnet_context *ctx = bn_calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->model = model;
    ctx->kern = kern;
    ctx->numerics = params->numerics;
    ctx->n_ctx = params->n_ctx ? params->n_ctx : hp->n_ctx_train;
    ctx->n_batch = params->n_batch ? params->n_batch : DEFAULT_BATCH;
    ctx->n_ubatch = ctx->n_batch < DEFAULT_UBATCH ? ctx->n_batch : DEFAULT_UBATCH;
    if (ctx->n_ubatch > ctx->n_ctx) ctx->n_ubatch = ctx->n_ctx;
#ifdef _OPENMP
    ctx->n_threads = params->n_threads ? params->n_threads : physical_cores();
#else
    /* without OpenMP (the WebAssembly build) the loops run on one thread:
     * more would only allocate idle per-thread scratch */
    ctx->n_threads = 1;
    (void)physical_cores;
#endif
    ctx->abort_callback = params->abort_callback;
    ctx->abort_user_data = params->abort_user_data;
    ctx->kv_elem = ctx->numerics == BITNET_NUMERICS_COMPAT ? 2 : 4;

    const size_t ub = (size_t)ctx->n_ubatch;
    const size_t E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t Q = (size_t)hp->n_head * (size_t)hp->head_dim;
    const size_t KV = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    size_t wide = E > F ? E : F;
    if (Q > wide) wide = Q;
    const size_t kv_total = (size_t)hp->n_layer * (size_t)ctx->n_ctx * KV;
    ctx->k_stride = ((int64_t)ctx->n_ctx + 31) / 32 * 32 + 32;
    const size_t k_total = (size_t)hp->n_layer * (size_t)ctx->k_stride * KV;
    const size_t nt = (size_t)ctx->n_threads;
    const int32_t n_seq = params->n_seq_max ? params->n_seq_max : 1;

    ctx->k_cache = ctx_alloc(ctx, k_total, ctx->kv_elem);
    ctx->v_cache = ctx_alloc(ctx, kv_total, ctx->kv_elem);
    ctx->x = ctx_alloc(ctx, ub * E, sizeof(float));
    ctx->xn = ctx_alloc(ctx, ub * wide, sizeof(float));
    ctx->q = ctx_alloc(ctx, ub * Q, sizeof(float));
    ctx->k = ctx_alloc(ctx, ub * KV, sizeof(float));
    ctx->v = ctx_alloc(ctx, ub * KV, sizeof(float));
    ctx->att = ctx_alloc(ctx, ub * Q, sizeof(float));
    ctx->gate = ctx_alloc(ctx, ub * F, sizeof(float));
    ctx->up = ctx_alloc(ctx, ub * F, sizeof(float));
    ctx->mm = ctx_alloc(ctx, ub * wide, sizeof(float));
    ctx->act.q = ctx_alloc(ctx, ub * wide, 1);
    ctx->act.scale = ctx_alloc(ctx, ub, sizeof(float));
    ctx->act.sum = ctx_alloc(ctx, ub, sizeof(int32_t));
    /* grouped matmuls (bn_linear_group) keep the sums of Q, K and V, or of
     * gate and up, side by side */
    size_t raw_rows = wide;
    if (Q + 2 * KV > raw_rows) raw_rows = Q + 2 * KV;
    if (2 * F > raw_rows) raw_rows = 2 * F;
    ctx->raw = ctx_alloc(ctx, ub * raw_rows, sizeof(int32_t));
    ctx->att_scores = ctx_alloc(ctx, nt * BN_ATT_ROWS * (size_t)ctx->n_ctx, sizeof(float));
    ctx->row_buf = ctx_alloc(ctx, nt * E, sizeof(float));
    ctx->x16 = ctx_alloc(ctx, ub * wide, sizeof(uint16_t));
    ctx->att_tblock = ctx_alloc(ctx, ub + 1, sizeof(int32_t));
    ctx->att_runs = ctx_alloc(ctx, nt * 2 * (size_t)ctx->n_ctx, sizeof(int32_t));
    ctx->ub.pos = ctx_alloc(ctx, ub, sizeof(int32_t));
    ctx->ub.seq = ctx_alloc(ctx, ub, sizeof(int32_t));
    ctx->ub.cell = ctx_alloc(ctx, ub, sizeof(int32_t));
    ctx->ub.q_f16 = ctx_alloc(ctx, ub, 1);
    ctx->ub.out = ctx_alloc(ctx, ub, sizeof(int32_t));
    ctx->seq_len0 = ctx_alloc(ctx, (size_t)n_seq, sizeof(int32_t));
    ctx->seq_count = ctx_alloc(ctx, (size_t)n_seq, sizeof(int32_t));
    ctx->logits_cap = (size_t)hp->n_vocab;
    ctx->logits = ctx_alloc(ctx, ctx->logits_cap, sizeof(float));
    if (params->head_q8) {
        ctx->head_q8 = ctx_alloc(ctx, (size_t)model->output.n_out, (size_t)model->output.n_in);
        ctx->head_q8_scale = ctx_alloc(ctx, (size_t)model->output.n_out, sizeof(float));
    }
    if (want_head_f32(ctx, params)) {
        /* only a speed-up: where the heap has no room for it (a model near
         * the WebAssembly memory limit) the head stays F16 and the context
         * is made all the same; want_head_f32 bounds the size */
        const size_t bytes =
            (size_t)model->output.n_out * (size_t)model->output.n_in * sizeof(float);
        ctx->head_f32 = bn_aligned_alloc(bytes);
        if (ctx->head_f32) ctx->mem_bytes += bytes;
    }
    bool ok = !ctx->alloc_failed;
    if (ok) {
        ok = bn_kv_cells_init(&ctx->kv, ctx->n_ctx, n_seq, &ctx->mem_bytes) == BITNET_OK;
        memset(ctx->seq_count, 0, sizeof(int32_t) * (size_t)n_seq);
    }
    if (!ok) {
        bn_error_prefix("creating a context of %d tokens", ctx->n_ctx);
        bitnet_context_free(ctx);
        return NULL;
    }
    if (ctx->head_q8) quantize_head(ctx);
    /* bn_weight_row_to_float widens an F16 row exactly (bn_f16_to_f32) */
    if (ctx->head_f32)
        for (int64_t r = 0; r < model->output.n_out; r++)
            bn_weight_row_to_float(&model->output, r, ctx->head_f32 + r * model->output.n_in);
    char head_f32[64] = "";
    if (ctx->head_f32)
        snprintf(head_f32, sizeof head_f32, ", F32 head copy %.1f MiB",
                 (double)model->output.n_out * (double)model->output.n_in * 4.0 / 1048576.0);
    BN_LOG_INFO(&model->log,
                "context: n_ctx %d, %d sequences, %d threads, isa %s, numerics %s%s%s, %.1f MiB",
                ctx->n_ctx, n_seq, ctx->n_threads, kern->isa,
                ctx->numerics == BITNET_NUMERICS_COMPAT ? "compat" : "exact",
                ctx->head_q8 ? ", 8-bit head" : "", head_f32, (double)ctx->mem_bytes / 1048576.0);
    return ctx;
}

const bitnet_model *bitnet_context_model(const bitnet_context *ctx) {
    return ctx ? ctx->model : NULL;
}
int32_t bitnet_context_n_ctx(const bitnet_context *ctx) { return ctx ? ctx->n_ctx : 0; }
const char *bitnet_context_isa(const bitnet_context *ctx) { return ctx ? ctx->kern->isa : ""; }
int32_t bitnet_context_n_threads(const bitnet_context *ctx) { return ctx ? ctx->n_threads : 0; }
uint64_t bitnet_context_memory(const bitnet_context *ctx) { return ctx ? ctx->mem_bytes : 0; }
bool bn_context_grow_logits(bitnet_context *ctx, size_t n) {
    if (n <= ctx->logits_cap) return true;
    float *p = bn_aligned_alloc(n * sizeof(float));
    if (!p) return false;
    ctx->mem_bytes += (n - ctx->logits_cap) * sizeof(float);
    bn_aligned_free(ctx->logits);
    ctx->logits = p;
    ctx->logits_cap = n;
    return true;
}
