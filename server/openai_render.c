/* OpenAI response bodies and SSE chunks (see openai.h). Built with cJSON,
 * which escapes what JSON needs; the text is made valid UTF-8 first. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "openai.h"
#include "utf8.h"

char *bn_serve_clean_text(const char *s, size_t n) {
    /* each bad byte becomes 3 bytes (U+FFFD) */
    if (n > (SIZE_MAX - 1) / 3) return NULL;
    char *out = bn_malloc(n * 3 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = s[i] ? bn_utf8_valid_seq((const unsigned char *)s + i, n - i) : 0;
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

char *bn_openai_error_json(const bn_api_error *e) {
    cJSON *root = cJSON_CreateObject(), *er = cJSON_AddObjectToObject(root, "error");
    char *out = NULL;
    if (er) {
        cJSON_AddNumberToObject(er, "code", e->status);
        cJSON_AddStringToObject(er, "message", e->message);
        cJSON_AddStringToObject(er, "type", e->type ? e->type : "invalid_request_error");
        if (e->param[0])
            cJSON_AddStringToObject(er, "param", e->param);
        else
            cJSON_AddNullToObject(er, "param");
        out = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(root);
    return out;
}

/* {"token": piece, "logprob": x, "bytes": [...]} */
static cJSON *token_entry(const bitnet_model *model, bitnet_token tok, float logprob) {
    char piece[256];
    int32_t n = bitnet_token_to_piece(model, tok, piece, (int32_t)sizeof piece, true);
    if (n < 0) n = 0;
    cJSON *e = cJSON_CreateObject();
    char *clean = bn_serve_clean_text(piece, (size_t)n);
    cJSON_AddStringToObject(e, "token", clean ? clean : "");
    bn_free(clean);
    cJSON_AddNumberToObject(e, "logprob", logprob);
    cJSON *bytes = cJSON_AddArrayToObject(e, "bytes");
    for (int32_t i = 0; i < n; i++)
        cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)piece[i]));
    return e;
}

/* Chat: {"content": [{token, logprob, bytes, top_logprobs: [...]}]}.
 * Completions: {"tokens", "token_logprobs", "top_logprobs": [{piece: lp}], "text_offset"}. */
static cJSON *logprobs_json(const bn_request *r, const bitnet_model *model,
                            const bn_token_logprob *lp, int32_t n_lp, size_t text_offset) {
    if (!r->p.logprobs) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (r->kind == BN_REQ_CHAT) {
        cJSON *content = cJSON_AddArrayToObject(o, "content");
        for (int32_t i = 0; i < n_lp; i++) {
            cJSON *e = token_entry(model, lp[i].token, lp[i].logprob);
            cJSON *top = cJSON_AddArrayToObject(e, "top_logprobs");
            for (int32_t k = 0; k < lp[i].n_top; k++)
                cJSON_AddItemToArray(top,
                                     token_entry(model, lp[i].top_token[k], lp[i].top_logprob[k]));
            cJSON_AddItemToArray(content, e);
        }
        return o;
    }
    cJSON *tokens = cJSON_AddArrayToObject(o, "tokens");
    cJSON *lps = cJSON_AddArrayToObject(o, "token_logprobs");
    cJSON *tops = cJSON_AddArrayToObject(o, "top_logprobs");
    cJSON *offs = cJSON_AddArrayToObject(o, "text_offset");
    for (int32_t i = 0; i < n_lp; i++) {
        cJSON *e = token_entry(model, lp[i].token, lp[i].logprob);
        cJSON_AddItemToArray(tokens,
                             cJSON_CreateString(cJSON_GetObjectItem(e, "token")->valuestring));
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(lp[i].logprob));
        cJSON *top = cJSON_CreateObject();
        for (int32_t k = 0; k < lp[i].n_top; k++) {
            cJSON *t = token_entry(model, lp[i].top_token[k], 0);
            const char *name = cJSON_GetObjectItem(t, "token")->valuestring;
            if (!cJSON_GetObjectItemCaseSensitive(top, name)) /* two ids may share a text */
                cJSON_AddNumberToObject(top, name, lp[i].top_logprob[k]);
            cJSON_Delete(t);
        }
        cJSON_AddItemToArray(tops, top);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)text_offset));
        text_offset += cJSON_GetArraySize(cJSON_GetObjectItem(e, "bytes"));
        cJSON_Delete(e);
    }
    return o;
}

static void add_header(cJSON *root, const bn_request *r, const char *model_name, int64_t created,
                       bool chunk) {
    char id[48];
    snprintf(id, sizeof id, "%s-%llu", r->kind == BN_REQ_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)r->id);
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "object",
                            r->kind == BN_REQ_CHAT
                                ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                : "text_completion");
    cJSON_AddNumberToObject(root, "created", (double)created);
    cJSON_AddStringToObject(root, "model", model_name);
    cJSON_AddStringToObject(root, "system_fingerprint", "libbitnet-" BITNET_VERSION_STRING);
}

static cJSON *usage_json(const bn_request *r) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", r->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", r->n_generated);
    cJSON_AddNumberToObject(u, "total_tokens", r->n_prompt + r->n_generated);
    cJSON *details = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(details, "cached_tokens", r->n_cached);
    return u;
}

static void add_finish(cJSON *choice, bn_finish f) {
    if (f == BN_FINISH_STOP || f == BN_FINISH_LENGTH)
        cJSON_AddStringToObject(choice, "finish_reason", bn_finish_name(f));
    else
        cJSON_AddNullToObject(choice, "finish_reason");
}

static char *print_and_free(cJSON *root) {
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

char *bn_openai_response_json(const bn_request *r, const bitnet_model *model,
                              const char *model_name, int64_t created) {
    char *text = bn_serve_clean_text(r->text ? r->text : "", r->text_len);
    if (!text) return NULL;
    cJSON *root = cJSON_CreateObject();
    add_header(root, r, model_name, created, false);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    if (r->kind == BN_REQ_CHAT) {
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", text);
    } else {
        cJSON_AddStringToObject(c, "text", text);
    }
    cJSON_AddItemToObject(c, "logprobs", logprobs_json(r, model, r->lp, r->n_lp, 0));
    add_finish(c, r->finish);
    cJSON_AddItemToArray(choices, c);
    cJSON_AddItemToObject(root, "usage", usage_json(r));
    bn_free(text);
    return print_and_free(root);
}

/* "data: " + json + "\n\n", freeing json */
static char *sse_event(char *json) {
    if (!json) return NULL;
    size_t n = strlen(json);
    char *out = bn_malloc(n + 9);
    if (out) {
        memcpy(out, "data: ", 6);
        memcpy(out + 6, json, n);
        memcpy(out + 6 + n, "\n\n", 3);
    }
    cJSON_free(json);
    return out;
}

char *bn_openai_chunk_sse(const bn_request *r, const bitnet_model *model, const char *model_name,
                          int64_t created, const char *text, size_t n, const bn_token_logprob *lp,
                          int32_t n_lp, bn_finish finish, bool role_chunk) {
    char *clean = bn_serve_clean_text(text, n);
    if (!clean) return NULL;
    cJSON *root = cJSON_CreateObject();
    add_header(root, r, model_name, created, true);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    if (r->kind == BN_REQ_CHAT) {
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        if (role_chunk) {
            cJSON_AddStringToObject(d, "role", "assistant");
            cJSON_AddStringToObject(d, "content", "");
        } else if (n) {
            cJSON_AddStringToObject(d, "content", clean);
        }
    } else {
        cJSON_AddStringToObject(c, "text", clean);
    }
    cJSON_AddItemToObject(c, "logprobs",
                          n_lp || !r->p.logprobs ? logprobs_json(r, model, lp, n_lp, 0)
                                                 : cJSON_CreateNull());
    add_finish(c, finish);
    cJSON_AddItemToArray(choices, c);
    bn_free(clean);
    return sse_event(print_and_free(root));
}

char *bn_openai_usage_sse(const bn_request *r, const char *model_name, int64_t created) {
    cJSON *root = cJSON_CreateObject();
    add_header(root, r, model_name, created, true);
    cJSON_AddArrayToObject(root, "choices");
    cJSON_AddItemToObject(root, "usage", usage_json(r));
    return sse_event(print_and_free(root));
}
