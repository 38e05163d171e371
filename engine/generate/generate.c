/* bitnet_inference: prompt evaluation, sampling loop and UTF-8-safe streaming. */
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "context.h"
#include "error.h"
#include "stream.h"
#include "vocab.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bitnet_inference_params bitnet_inference_default_params(void) {
    bitnet_inference_params p;
    memset(&p, 0, sizeof p);
    p.n_predict = -1;
    p.parse_special = true;
    p.ignore_eos = false;
    p.sampling = bitnet_sampler_default_params();
    return p;
}

bitnet_status bitnet_inference_tokens(bitnet_context *ctx, const bitnet_token *prompt,
                                      int32_t n_prompt, const bitnet_inference_params *params,
                                      bitnet_inference_stats *stats) {
    bn_clear_error();
    bitnet_inference_params defaults = bitnet_inference_default_params();
    if (!params) params = &defaults;
    bitnet_inference_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->last_token = -1;
    if (!ctx || n_prompt < 0 || (n_prompt > 0 && !prompt))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_inference: invalid arguments");
    if (params->n_predict < -1)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "bitnet_inference: n_predict %d (use -1 for no limit)", params->n_predict);
    if (n_prompt == 0 && bitnet_n_past(ctx) == 0)
        return bn_fail(BITNET_ERR_INPUT, "bitnet_inference: empty prompt and empty context");
    bitnet_sampler *smp = bitnet_sampler_new(&params->sampling);
    if (!smp) return BITNET_ERR_INVALID_ARGUMENT;

    const bitnet_model *m = ctx->model;
    const int32_t n_vocab = m->hp.n_vocab;
    for (int32_t i = 0; i < n_prompt; i++) bitnet_sampler_accept(smp, prompt[i]);

    const int32_t n_used = bitnet_kv_cells_used(ctx);
    if (n_prompt > ctx->n_ctx - n_used) {
        bitnet_sampler_free(smp);
        return bn_fail(BITNET_ERR_CONTEXT_FULL,
                       "the prompt has %d tokens but the context has room for %d (n_ctx %d, %d "
                       "used); use a larger context (n_ctx; -c on the command line; the model "
                       "was trained with %d)",
                       n_prompt, ctx->n_ctx - n_used, ctx->n_ctx, n_used, m->hp.n_ctx_train);
    }
    bitnet_status st = BITNET_OK;
    double t0 = now_ms();
    if (n_prompt > 0) st = bitnet_decode(ctx, prompt, n_prompt, false);
    stats->t_prompt_ms = now_ms() - t0;
    stats->n_prompt = n_prompt;
    if (st) {
        bitnet_sampler_free(smp);
        return st;
    }

    bn_stream out = {
        .len = 0, .cancelled = false, .on_piece = params->on_piece, .user_data = params->user_data};
    char piece[256];
    double t1 = now_ms();
    for (;;) {
        if (params->n_predict >= 0 && stats->n_generated >= params->n_predict) {
            stats->stop_reason = BITNET_STOP_N_PREDICT;
            break;
        }
        const float *logits = bitnet_get_logits_ith(ctx, -1);
        bitnet_token tok = bitnet_sampler_sample(smp, logits, n_vocab);
        if (tok < 0) {
            st = BITNET_ERR_NOMEM;
            break;
        }
        bitnet_sampler_accept(smp, tok);
        stats->n_generated++;
        stats->last_token = tok;
        if (!params->ignore_eos && bn_vocab_is_eog(m->vocab, tok)) {
            stats->stop_reason = BITNET_STOP_EOG;
            break;
        }
        int32_t n = bn_vocab_token_to_piece(m->vocab, tok, piece, (int32_t)sizeof piece, false);
        if (n < 0) n = 0; /* a piece longer than 256 bytes is not in any real vocabulary */
        if (!bn_stream_push(&out, piece, (size_t)n, tok, false)) {
            stats->stop_reason = BITNET_STOP_CANCELLED;
            break;
        }
        if (params->n_predict >= 0 && stats->n_generated >= params->n_predict) {
            stats->stop_reason = BITNET_STOP_N_PREDICT;
            break;
        }
        if (bitnet_kv_cells_used(ctx) >= ctx->n_ctx) {
            stats->stop_reason = BITNET_STOP_CONTEXT_FULL;
            break;
        }
        st = bitnet_decode(ctx, &tok, 1, false);
        if (st) break;
        stats->last_token = -1; /* evaluated */
    }
    if (out.len) bn_stream_push(&out, "", 0, -1, true);
    stats->t_gen_ms = now_ms() - t1;
    bitnet_sampler_free(smp);
    return st;
}

bitnet_status bitnet_inference(bitnet_context *ctx, const char *prompt,
                               const bitnet_inference_params *params,
                               bitnet_inference_stats *stats) {
    bn_clear_error();
    if (!ctx || !prompt)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_inference: NULL argument");
    bitnet_inference_params defaults = bitnet_inference_default_params();
    if (!params) params = &defaults;
    const bitnet_model *m = ctx->model;
    bool add_special = bitnet_n_past(ctx) == 0;
    int32_t n = bitnet_tokenize(m, prompt, -1, NULL, 0, add_special, params->parse_special);
    if (n == INT32_MIN) return BITNET_ERR_INPUT;
    if (n < 0) n = -n;
    bitnet_token *toks = bn_malloc_array((size_t)(n ? n : 1), sizeof *toks);
    if (!toks) return BITNET_ERR_NOMEM;
    int32_t got = bitnet_tokenize(m, prompt, -1, toks, n, add_special, params->parse_special);
    bitnet_status st =
        got < 0 ? BITNET_ERR_INPUT : bitnet_inference_tokens(ctx, toks, got, params, stats);
    bn_free(toks);
    return st;
}
