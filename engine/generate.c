/* bitnet_inference: prompt evaluation, sampling loop and UTF-8-safe streaming. */
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "context.h"
#include "error.h"
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

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8
 * sequence: bytes of an unfinished character are held back for the next piece.
 * Invalid bytes are passed through (they can never be completed). */
static size_t complete_utf8_prefix(const char *s, size_t n) {
    size_t i = n;
    /* look back at most 3 bytes for the lead byte of the last character */
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (c >= 0xF8) need = 1; /* invalid lead: emit */
        i = back < need ? n - back : n;
        break;
    }
    return i;
}

typedef struct stream {
    char buf[256]; /* held-back bytes + the newest piece */
    size_t len;
} stream;

/* Emits the complete part of the pending text; returns false if cancelled. */
static bool stream_push(stream *st, const bitnet_inference_params *p, const char *piece,
                        size_t n, bitnet_token tok, bool flush) {
    if (st->len + n > sizeof st->buf) { /* a very long piece: flush what we hold */
        if (p->on_piece && st->len && !p->on_piece(st->buf, st->len, tok, p->user_data)) return false;
        st->len = 0;
        if (n > sizeof st->buf) return p->on_piece ? p->on_piece(piece, n, tok, p->user_data) : true;
    }
    memcpy(st->buf + st->len, piece, n);
    st->len += n;
    size_t ready = flush ? st->len : complete_utf8_prefix(st->buf, st->len);
    if (ready == 0) return true;
    bool go_on = p->on_piece ? p->on_piece(st->buf, ready, tok, p->user_data) : true;
    memmove(st->buf, st->buf + ready, st->len - ready);
    st->len -= ready;
    return go_on;
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
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_inference: n_predict %d (use -1 for no limit)",
                       params->n_predict);
    if (n_prompt == 0 && ctx->n_past == 0)
        return bn_fail(BITNET_ERR_INPUT, "bitnet_inference: empty prompt and empty context");
    bitnet_sampler *smp = bitnet_sampler_new(&params->sampling);
    if (!smp) return BITNET_ERR_INVALID_ARGUMENT;

    const bitnet_model *m = ctx->model;
    const int32_t n_vocab = m->hp.n_vocab;
    for (int32_t i = 0; i < n_prompt; i++) bitnet_sampler_accept(smp, prompt[i]);

    bitnet_status st = BITNET_OK;
    double t0 = now_ms();
    if (n_prompt > 0) st = bitnet_decode(ctx, prompt, n_prompt, false);
    stats->t_prompt_ms = now_ms() - t0;
    stats->n_prompt = n_prompt;
    if (st) {
        bitnet_sampler_free(smp);
        return st;
    }

    stream out = {.len = 0};
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
        if (!stream_push(&out, params, piece, (size_t)n, tok, false)) {
            stats->stop_reason = BITNET_STOP_CANCELLED;
            break;
        }
        if (params->n_predict >= 0 && stats->n_generated >= params->n_predict) {
            stats->stop_reason = BITNET_STOP_N_PREDICT;
            break;
        }
        if (ctx->n_past >= ctx->n_ctx) {
            stats->stop_reason = BITNET_STOP_CONTEXT_FULL;
            break;
        }
        st = bitnet_decode(ctx, &tok, 1, false);
        if (st) break;
        stats->last_token = -1; /* evaluated */
    }
    if (out.len) stream_push(&out, params, "", 0, -1, true);
    stats->t_gen_ms = now_ms() - t1;
    bitnet_sampler_free(smp);
    return st;
}

bitnet_status bitnet_inference(bitnet_context *ctx, const char *prompt,
                               const bitnet_inference_params *params,
                               bitnet_inference_stats *stats) {
    bn_clear_error();
    if (!ctx || !prompt) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_inference: NULL argument");
    bitnet_inference_params defaults = bitnet_inference_default_params();
    if (!params) params = &defaults;
    const bitnet_model *m = ctx->model;
    bool add_special = ctx->n_past == 0;
    int32_t n = bitnet_tokenize(m, prompt, -1, NULL, 0, add_special, params->parse_special);
    if (n == INT32_MIN) return BITNET_ERR_INPUT;
    if (n < 0) n = -n;
    bitnet_token *toks = bn_malloc_array((size_t)(n ? n : 1), sizeof *toks);
    if (!toks) return BITNET_ERR_NOMEM;
    int32_t got = bitnet_tokenize(m, prompt, -1, toks, n, add_special, params->parse_special);
    bitnet_status st = got < 0 ? BITNET_ERR_INPUT
                               : bitnet_inference_tokens(ctx, toks, got, params, stats);
    bn_free(toks);
    return st;
}
