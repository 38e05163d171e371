/* OpenAI request bodies -> bn_request (see openai.h). Unknown fields are
 * ignored, as OpenAI's own clients send many optional ones; a known field of
 * the wrong type or out of range is a 400 naming it. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "json_util.h"
#include "openai.h"

bool bn_api_fail(bn_api_error *e, int status, const char *type, const char *param, const char *fmt,
                 ...) {
    e->status = status;
    e->type = type;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return false;
}

#define BAD(param, ...) bn_api_fail(err, 400, "invalid_request_error", param, __VA_ARGS__)

/* A present, non-null field (NULL when absent or JSON null: the default). */
static const cJSON *field(const cJSON *obj, const char *name) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    return f && !cJSON_IsNull(f) ? f : NULL;
}

static bool get_bool(const cJSON *obj, const char *name, bool *out, bn_api_error *err) {
    const cJSON *f = field(obj, name);
    if (!f) return true;
    if (!cJSON_IsBool(f)) return BAD(name, "'%s' must be true or false", name);
    *out = cJSON_IsTrue(f);
    return true;
}

static bool get_int(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out,
                    bn_api_error *err) {
    const cJSON *f = field(obj, name);
    if (!f) return true;
    if (!cJSON_IsNumber(f) || !bn_json_int(f, INT64_MIN, INT64_MAX, out))
        return BAD(name, "'%s' must be an integer", name);
    if (*out < min || *out > max)
        return BAD(name, "'%s' is %lld; it must be in [%lld, %lld]", name, (long long)*out,
                   (long long)min, (long long)max);
    return true;
}

static bool get_float(const cJSON *obj, const char *name, double min, double max, float *out,
                      bn_api_error *err) {
    const cJSON *f = field(obj, name);
    if (!f) return true;
    if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
        return BAD(name, "'%s' must be a finite number", name);
    if (f->valuedouble < min || f->valuedouble > max)
        return BAD(name, "'%s' is %g; it must be in [%g, %g]", name, f->valuedouble, min, max);
    *out = (float)f->valuedouble;
    return true;
}

static bool parse_stop(const cJSON *root, const bn_serve_limits *lim, bn_req_params *p,
                       bn_api_error *err) {
    const cJSON *f = field(root, "stop");
    if (!f) return true;
    int n = cJSON_IsString(f) ? 1 : cJSON_IsArray(f) ? cJSON_GetArraySize(f) : -1;
    if (n < 0) return BAD("stop", "'stop' must be a string or an array of strings");
    if (n > lim->max_stop)
        return BAD("stop", "'stop' has %d strings; the limit is %d", n, lim->max_stop);
    if (n == 0) return true;
    p->stop = bn_calloc((size_t)n, sizeof *p->stop);
    if (!p->stop) return bn_api_fail(err, 500, "server_error", NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_IsString(f) ? f : cJSON_GetArrayItem(f, i);
        if (!cJSON_IsString(s)) return BAD("stop", "'stop[%d]' is not a string", i);
        size_t len = strlen(s->valuestring);
        if (len == 0) return BAD("stop", "'stop[%d]' is empty", i);
        if (len > (size_t)lim->max_stop_len)
            return BAD("stop", "'stop[%d]' has %zu bytes; the limit is %d", i, len,
                       lim->max_stop_len);
        if (!(p->stop[i] = bn_strdup(s->valuestring)))
            return bn_api_fail(err, 500, "server_error", NULL, "out of memory");
        p->n_stop = i + 1;
    }
    return true;
}

/* Sampling, limits and output options shared by both endpoints. */
static bool parse_common(const cJSON *root, const bn_serve_limits *lim, int32_t n_vocab,
                         bn_req_kind kind, bn_req_params *p, bn_api_error *err) {
    p->sampling = bitnet_sampler_default_params();
    p->max_tokens = lim->max_tokens;
    int64_t v;
    const char *names[] = {"max_tokens", "max_completion_tokens", "n_predict"};
    for (int i = 0; i < 3; i++) {
        v = p->max_tokens;
        /* n_predict -1 (llama.cpp): as many as the server allows */
        if (!get_int(root, names[i], i == 2 ? -1 : 1, lim->max_tokens, &v, err)) return false;
        /* 0 would still generate one token (the scheduler samples before it
         * counts): refused like max_tokens 0 */
        if (v == 0)
            return BAD(names[i], "'%s' is 0; it must be -1 or in [1, %d]", names[i],
                       lim->max_tokens);
        p->max_tokens = v < 0 ? lim->max_tokens : (int32_t)v;
    }
    if (!get_float(root, "temperature", 0, 100, &p->sampling.temperature, err) ||
        !get_float(root, "top_p", 0, 1, &p->sampling.top_p, err) ||
        !get_float(root, "min_p", 0, 1, &p->sampling.min_p, err) ||
        !get_float(root, "repeat_penalty", 0, 100, &p->sampling.repeat_penalty, err) ||
        !get_float(root, "presence_penalty", -2, 2, &p->presence_penalty, err) ||
        !get_float(root, "frequency_penalty", -2, 2, &p->frequency_penalty, err))
        return false;
    if (p->sampling.top_p == 0) return BAD("top_p", "'top_p' must be greater than 0");
    if (p->sampling.repeat_penalty == 0)
        return BAD("repeat_penalty", "'repeat_penalty' must be greater than 0");
    v = p->sampling.top_k;
    if (!get_int(root, "top_k", 0, n_vocab, &v, err)) return false;
    p->sampling.top_k = (int32_t)v;
    v = p->sampling.repeat_last_n;
    if (!get_int(root, "repeat_last_n", 0, 1 << 20, &v, err)) return false;
    p->sampling.repeat_last_n = (int32_t)v;
    v = 0;
    /* 2^53: the largest integer a JSON number carries exactly */
    if (!get_int(root, "seed", 0, (int64_t)1 << 53, &v, err)) return false;
    p->sampling.seed = (uint64_t)v;
    v = 1;
    if (!get_int(root, "n", 1, INT32_MAX, &v, err)) return false;
    if (v != 1)
        return BAD("n", "'n' is %lld; this server returns one choice per request", (long long)v);
    bool echo = false;
    if (!get_bool(root, "echo", &echo, err)) return false;
    if (echo) return BAD("echo", "'echo' is not supported");
    if (!get_bool(root, "stream", &p->stream, err) ||
        !get_bool(root, "ignore_eos", &p->ignore_eos, err))
        return false;
    const cJSON *so = field(root, "stream_options");
    if (so && !cJSON_IsObject(so))
        return BAD("stream_options", "'stream_options' must be an object");
    if (so && !get_bool(so, "include_usage", &p->include_usage, err)) {
        snprintf(err->param, sizeof err->param, "stream_options.include_usage");
        return false;
    }
    /* log-probabilities: chat has logprobs (bool) + top_logprobs; completions
     * has logprobs (int: the number of alternatives); llama.cpp has n_probs */
    v = 0;
    if (kind == BN_REQ_CHAT) {
        if (!get_bool(root, "logprobs", &p->logprobs, err)) return false;
        if (!get_int(root, "top_logprobs", 0, BN_SERVE_MAX_TOP_LOGPROBS, &v, err)) return false;
        if (v && !p->logprobs) return BAD("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    } else {
        const cJSON *lp = field(root, "logprobs");
        if (lp && cJSON_IsBool(lp)) {
            p->logprobs = cJSON_IsTrue(lp);
        } else if (lp) {
            if (!get_int(root, "logprobs", 0, BN_SERVE_MAX_TOP_LOGPROBS, &v, err)) return false;
            p->logprobs = true;
        }
    }
    int64_t n_probs = 0;
    if (!get_int(root, "n_probs", 0, BN_SERVE_MAX_TOP_LOGPROBS, &n_probs, err)) return false;
    if (n_probs) {
        p->logprobs = true;
        v = n_probs;
    }
    p->top_logprobs = (int32_t)v;
    return parse_stop(root, lim, p, err);
}

/* The text of a chat message's content: a string, or an array of parts of
 * which the "text" ones are joined. Returns a malloc'd string. */
static char *message_content(const cJSON *c, int idx, bn_api_error *err) {
    char param[64];
    snprintf(param, sizeof param, "messages[%d].content", idx);
    if (!c || cJSON_IsNull(c)) return bn_strdup("");
    if (cJSON_IsString(c)) return bn_strdup(c->valuestring);
    if (!cJSON_IsArray(c)) {
        BAD(param, "'%s' must be a string or an array of text parts", param);
        return NULL;
    }
    size_t total = 1;
    const cJSON *part;
    cJSON_ArrayForEach(part, c) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type) || strcmp(type->valuestring, "text") ||
            !cJSON_IsString(text)) {
            BAD(param, "'%s': only parts {\"type\": \"text\", \"text\": ...} are supported", param);
            return NULL;
        }
        total += strlen(text->valuestring);
    }
    char *out = bn_malloc(total);
    if (!out) return NULL;
    size_t n = 0;
    cJSON_ArrayForEach(part, c) {
        const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        size_t k = strlen(t);
        memcpy(out + n, t, k);
        n += k;
    }
    out[n] = '\0';
    return out;
}

/* Renders the messages in the chat format; a malloc'd prompt. */
static char *render_messages(const cJSON *root, const bn_serve_limits *lim, bn_chat_format fmt,
                             bn_api_error *err) {
    const cJSON *msgs = field(root, "messages");
    if (!msgs) return BAD("messages", "'messages' is required"), NULL;
    if (!cJSON_IsArray(msgs)) return BAD("messages", "'messages' must be an array"), NULL;
    int n = cJSON_GetArraySize(msgs);
    if (n == 0) return BAD("messages", "'messages' is empty"), NULL;
    if (n > lim->max_messages)
        return BAD("messages", "'messages' has %d entries; the limit is %d", n, lim->max_messages),
               NULL;
    bitnet_chat_message *m = bn_calloc((size_t)n, sizeof *m);
    char **contents = bn_calloc((size_t)n, sizeof *contents);
    char *prompt = NULL;
    bool ok = m && contents;
    if (!ok) bn_api_fail(err, 500, "server_error", NULL, "out of memory");
    for (int i = 0; ok && i < n; i++) {
        const cJSON *msg = cJSON_GetArrayItem(msgs, i);
        char param[64];
        snprintf(param, sizeof param, "messages[%d].role", i);
        const cJSON *role =
            cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "role") : NULL;
        if (!cJSON_IsObject(msg)) {
            snprintf(param, sizeof param, "messages[%d]", i);
            ok = BAD(param, "'%s' must be an object", param);
            break;
        }
        if (!cJSON_IsString(role)) {
            ok = BAD(param, "'%s' must be a string", param);
            break;
        }
        const char *r = role->valuestring;
        if (!strcmp(r, "developer")) r = "system"; /* OpenAI's newer name for it */
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant")) {
            ok = BAD(param, "'%s' is '%.40s'; it must be system, user or assistant", param, r);
            break;
        }
        contents[i] = message_content(cJSON_GetObjectItemCaseSensitive(msg, "content"), i, err);
        if (!contents[i]) {
            ok = false;
            if (!err->status) bn_api_fail(err, 500, "server_error", NULL, "out of memory");
            break;
        }
        m[i].role = r;
        m[i].content = contents[i];
    }
    if (ok) {
        int32_t len = bn_chat_render(fmt, m, (size_t)n, true, NULL, 0);
        prompt = len >= 0 ? bn_malloc((size_t)len + 1) : NULL;
        if (prompt)
            bn_chat_render(fmt, m, (size_t)n, true, prompt, len + 1);
        else
            bn_api_fail(err, len < 0 ? 400 : 500,
                        len < 0 ? "invalid_request_error" : "server_error", "messages",
                        "the messages cannot be rendered as %s chat: %s", bn_chat_format_name(fmt),
                        bitnet_get_last_error());
    }
    for (int i = 0; contents && i < n; i++) bn_free(contents[i]);
    bn_free(contents);
    bn_free(m);
    return prompt;
}

/* The tokenizer takes any valid UTF-8 (JSON strings are) shorter than 2^31
 * bytes (the body cap is 1 GiB at most): when it fails, memory ran out, and
 * that is the server's fault, a 500, not the request's. */
static bool tokenizer_failed(bn_api_error *err, const char *param) {
    return bn_api_fail(err, 500, "server_error", param, "'%s' could not be tokenized: %s", param,
                       bitnet_get_last_error());
}

static bool tokenize_text(const bitnet_model *model, const char *text, bn_request *r,
                          bn_api_error *err, const char *param) {
    int32_t n = bitnet_tokenize(model, text, -1, NULL, 0, true, true);
    if (n == INT32_MIN) return tokenizer_failed(err, param);
    if (n < 0) n = -n;
    r->prompt = bn_malloc_array((size_t)(n ? n : 1), sizeof *r->prompt);
    if (!r->prompt) return bn_api_fail(err, 500, "server_error", NULL, "out of memory");
    r->n_prompt = bitnet_tokenize(model, text, -1, r->prompt, n, true, true);
    if (r->n_prompt < 0) return tokenizer_failed(err, param);
    return true;
}

/* "prompt": a string, an array of one string, or an array of token ids. */
static bool parse_prompt(const cJSON *root, const bitnet_model *model, bn_request *r,
                         bn_api_error *err) {
    const cJSON *p = field(root, "prompt");
    if (!p) return BAD("prompt", "'prompt' is required");
    if (cJSON_IsString(p)) return tokenize_text(model, p->valuestring, r, err, "prompt");
    if (!cJSON_IsArray(p)) return BAD("prompt", "'prompt' must be a string or an array");
    int n = cJSON_GetArraySize(p);
    if (n == 1 && cJSON_IsString(cJSON_GetArrayItem(p, 0)))
        return tokenize_text(model, cJSON_GetArrayItem(p, 0)->valuestring, r, err, "prompt");
    if (n >= 1 && cJSON_IsString(cJSON_GetArrayItem(p, 0)))
        return BAD("prompt", "'prompt' has %d strings; this server takes one prompt per request",
                   n);
    r->prompt = bn_malloc_array((size_t)(n ? n : 1), sizeof *r->prompt);
    if (!r->prompt) return bn_api_fail(err, 500, "server_error", NULL, "out of memory");
    int32_t n_vocab = bitnet_model_n_vocab(model);
    for (int i = 0; i < n; i++) {
        int64_t id;
        const cJSON *t = cJSON_GetArrayItem(p, i);
        if (!cJSON_IsNumber(t) || !bn_json_int(t, 0, n_vocab - 1, &id))
            return BAD("prompt", "'prompt[%d]' is not a token id in [0, %d]", i, n_vocab - 1);
        r->prompt[i] = (bitnet_token)id;
    }
    r->n_prompt = n;
    return true;
}

bool bn_openai_parse_request(const char *body, size_t len, const bn_serve_limits *lim,
                             const bitnet_model *model, bn_chat_format fmt, bn_request *r,
                             bn_api_error *err) {
    memset(err, 0, sizeof *err);
    char msg[256];
    bn_json_limits jl = {.max_bytes = lim->max_body, .max_depth = 16};
    cJSON *root;
    bitnet_status st = bn_json_parse_status(body, len, &jl, &root, msg, sizeof msg);
    if (st == BITNET_ERR_NOMEM)
        return bn_api_fail(err, 500, "server_error", NULL, "out of memory reading the body");
    if (!root) return BAD(NULL, "the body is not valid JSON: %s", msg);
    bool ok = true;
    if (!cJSON_IsObject(root)) ok = BAD(NULL, "the body must be a JSON object");
    const cJSON *model_name = ok ? field(root, "model") : NULL;
    if (ok && model_name && !cJSON_IsString(model_name))
        ok = BAD("model", "'model' must be a string");
    if (ok) ok = parse_common(root, lim, bitnet_model_n_vocab(model), r->kind, &r->p, err);
    if (ok && r->kind == BN_REQ_CHAT) {
        char *prompt = render_messages(root, lim, fmt, err);
        ok = prompt && tokenize_text(model, prompt, r, err, "messages");
        bn_free(prompt);
    } else if (ok) {
        ok = parse_prompt(root, model, r, err);
    }
    if (ok && r->n_prompt == 0)
        ok = BAD(r->kind == BN_REQ_CHAT ? "messages" : "prompt", "the prompt is empty");
    if (ok && r->n_prompt > lim->max_prompt)
        ok = BAD(r->kind == BN_REQ_CHAT ? "messages" : "prompt",
                 "the prompt has %d tokens; the limit is %d (the context of a slot, -c / -np, "
                 "less one token to generate)",
                 r->n_prompt, lim->max_prompt);
    cJSON_Delete(root);
    return ok;
}
