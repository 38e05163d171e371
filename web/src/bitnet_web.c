/* The C side of the JavaScript module (web/bitnet.mjs through web/engine.mjs):
 * one loaded model with its context, driven one token per call so that the
 * JavaScript side can stream each piece, stay responsive and stop between
 * tokens. Emscripten only (exported with EMSCRIPTEN_KEEPALIVE); all
 * numerics are the library's.
 *
 * bw_load takes ownership of the GGUF image the caller copied into the heap
 * (malloc): the weights point into it (bitnet_model_load_from_buffer), so it
 * is freed with the session. */
#include <emscripten/emscripten.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet.h"
#include "bitnet_web.h"

typedef struct bw_session {
    void *image; /* the GGUF bytes, owned */
    bitnet_model *model;
    bitnet_context *ctx;
    bitnet_sampler *sampler;
    bitnet_token pending; /* sampled, not yet decoded (-1: none) */
    int32_t piece_len;
    char piece[256];
} bw_session;

/* The last failure of a bw_* call on this (the only) thread, for the caller
 * to turn into an Error. The library's own message when it has one. */
static _Thread_local char last_error[512];

static void set_error(const char *msg) {
    snprintf(last_error, sizeof last_error, "%s", msg && *msg ? msg : "unknown error");
}

EMSCRIPTEN_KEEPALIVE const char *bw_error(void) { return last_error; }

EMSCRIPTEN_KEEPALIVE void bw_free(bw_session *s) {
    if (!s) return;
    bitnet_sampler_free(s->sampler);
    bitnet_context_free(s->ctx);
    bitnet_model_free(s->model);
    free(s->image);
    free(s);
}

/* Loads `image` (size bytes, from malloc; owned from now on, also on
 * failure) named `name` for messages, with a context of n_ctx tokens (0:
 * the model's training context). NULL on failure: bw_error() says why. */
EMSCRIPTEN_KEEPALIVE bw_session *bw_load(void *image, double size, const char *name, int32_t n_ctx,
                                         int32_t n_batch) {
    bw_session *s = calloc(1, sizeof *s);
    if (!s) {
        free(image);
        set_error("out of memory for the session");
        return NULL;
    }
    s->image = image;
    s->pending = -1;
    s->model = bitnet_model_load_from_buffer(image, (size_t)size, name, NULL);
    if (!s->model) {
        set_error(bitnet_get_last_error());
        bw_free(s);
        return NULL;
    }
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = n_ctx;
    if (n_batch > 0) cp.n_batch = n_batch;
    s->ctx = bitnet_context_new(s->model, &cp);
    if (!s->ctx) {
        set_error(bitnet_get_last_error());
        bw_free(s);
        return NULL;
    }
    return s;
}

/* 0 n_vocab, 1 n_ctx, 2 n_layer, 3 n_embd, 4 n_head, 5 n_head_kv, 6 BOS, 7 EOS. */
EMSCRIPTEN_KEEPALIVE int32_t bw_info(const bw_session *s, int32_t what) {
    switch (what) {
    case 0: return bitnet_model_n_vocab(s->model);
    case 1: return bitnet_context_n_ctx(s->ctx);
    case 2: return bitnet_model_n_layer(s->model);
    case 3: return bitnet_model_n_embd(s->model);
    case 4: return bitnet_model_n_head(s->model);
    case 5: return bitnet_model_n_head_kv(s->model);
    case 6: return bitnet_token_bos(s->model);
    case 7: return bitnet_token_eos(s->model);
    default: return -1;
    }
}

EMSCRIPTEN_KEEPALIVE const char *bw_arch(const bw_session *s) {
    return bitnet_model_arch(s->model);
}
EMSCRIPTEN_KEEPALIVE const char *bw_isa(const bw_session *s) { return bitnet_context_isa(s->ctx); }
EMSCRIPTEN_KEEPALIVE double bw_memory(const bw_session *s) {
    return (double)bitnet_context_memory(s->ctx);
}

/* Token ids of `text` into out[max]; the count, minus the count needed when
 * max is too small, INT32_MIN on error. */
EMSCRIPTEN_KEEPALIVE int32_t bw_tokenize(const bw_session *s, const char *text, int32_t *out,
                                         int32_t max, int32_t add_special) {
    int32_t n = bitnet_tokenize(s->model, text, -1, out, max, add_special != 0, true);
    if (n == INT32_MIN) set_error(bitnet_get_last_error());
    return n;
}

/* The piece of text of `token` (control tokens as their text when special). */
EMSCRIPTEN_KEEPALIVE int32_t bw_token_piece(bw_session *s, int32_t token, int32_t special) {
    int32_t n = bitnet_token_to_piece(s->model, token, s->piece, (int32_t)sizeof s->piece - 1,
                                      special != 0);
    s->piece_len = n < 0 ? 0 : n;
    return n;
}

EMSCRIPTEN_KEEPALIVE const char *bw_piece(const bw_session *s) { return s->piece; }
EMSCRIPTEN_KEEPALIVE int32_t bw_piece_len(const bw_session *s) { return s->piece_len; }

/* Starts a generation: clears the KV cache, evaluates the prompt (BOS added
 * as the model asks) and sets the sampler (temperature <= 0: greedy).
 * Returns the number of prompt tokens, or -1 (bw_error() says why). */
EMSCRIPTEN_KEEPALIVE int32_t bw_begin(bw_session *s, const char *prompt, float temperature,
                                      int32_t top_k, float top_p, float min_p, float repeat_penalty,
                                      double seed) {
    bitnet_sampler_free(s->sampler);
    s->sampler = NULL;
    s->pending = -1;
    bitnet_sampler_params sp = bitnet_sampler_default_params();
    sp.temperature = temperature;
    sp.top_k = top_k;
    sp.top_p = top_p;
    sp.min_p = min_p;
    sp.repeat_penalty = repeat_penalty;
    sp.seed = (uint64_t)seed;
    if (!(s->sampler = bitnet_sampler_new(&sp))) {
        set_error(bitnet_get_last_error());
        return -1;
    }
    const int32_t n_ctx = bitnet_context_n_ctx(s->ctx);
    bitnet_token *tokens = malloc(sizeof *tokens * (size_t)n_ctx);
    if (!tokens) {
        set_error("out of memory for the prompt's tokens");
        return -1;
    }
    int32_t n = bitnet_tokenize(s->model, prompt, -1, tokens, n_ctx, true, true);
    if (n <= 0) {
        if (n == INT32_MIN)
            set_error(bitnet_get_last_error());
        else if (n == 0)
            set_error("the prompt gives no tokens");
        else {
            char msg[160];
            snprintf(msg, sizeof msg, "the prompt is %d tokens, more than the context of %d",
                     (int)-n, (int)n_ctx);
            set_error(msg);
        }
        free(tokens);
        return -1;
    }
    bitnet_status st = bitnet_kv_truncate(s->ctx, 0);
    if (!st) st = bitnet_decode(s->ctx, tokens, n, false);
    if (st) set_error(bitnet_get_last_error());
    for (int32_t i = 0; !st && i < n; i++) bitnet_sampler_accept(s->sampler, tokens[i]);
    free(tokens);
    return st ? -1 : n;
}

/* One token: evaluates the one sampled before (so the last token of a
 * generation is never evaluated for nothing), then samples the next from
 * the logits. Returns its id, with its text in bw_piece(); -1 when it ends
 * the generation (EOG, unless ignore_eos), -2 when the context is full, -3
 * on error (bw_error()). */
EMSCRIPTEN_KEEPALIVE int32_t bw_step(bw_session *s, int32_t ignore_eos) {
    if (!s->sampler) {
        set_error("bw_step before bw_begin");
        return -3;
    }
    if (s->pending >= 0) {
        if (bitnet_n_past(s->ctx) >= bitnet_context_n_ctx(s->ctx)) return -2;
        if (bitnet_decode(s->ctx, &s->pending, 1, false)) {
            set_error(bitnet_get_last_error());
            return -3;
        }
        s->pending = -1;
    }
    const float *logits = bitnet_get_logits_ith(s->ctx, -1);
    if (!logits) {
        set_error(bitnet_get_last_error());
        return -3;
    }
    bitnet_token t = bitnet_sampler_sample(s->sampler, logits, bitnet_model_n_vocab(s->model));
    if (t < 0) {
        set_error(bitnet_get_last_error());
        return -3;
    }
    bitnet_sampler_accept(s->sampler, t);
    if (!ignore_eos && bitnet_token_is_eog(s->model, t)) return -1;
    bw_token_piece(s, t, 0);
    s->pending = t;
    return t;
}

/* The chat prompt of n messages (roles[i], contents[i]) in the model's chat
 * format, ending with the opening of the assistant's turn, into buf; the
 * length (snprintf semantics) or INT32_MIN (bw_error()). */
EMSCRIPTEN_KEEPALIVE int32_t bw_chat(const bw_session *s, const char **roles, const char **contents,
                                     int32_t n, char *buf, int32_t buf_len) {
    bitnet_chat_message *msgs = malloc(sizeof *msgs * (size_t)(n > 0 ? n : 1));
    if (!msgs) {
        set_error("out of memory for the chat messages");
        return INT32_MIN;
    }
    for (int32_t i = 0; i < n; i++) msgs[i] = (bitnet_chat_message){roles[i], contents[i]};
    int32_t len = bitnet_chat_apply_template(s->model, NULL, msgs, (size_t)n, true, buf, buf_len);
    if (len == INT32_MIN) set_error(bitnet_get_last_error());
    free(msgs);
    return len;
}
