/* /tokenize and /detokenize bodies (see tokenize_api.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "json_util.h"
#include "tokenize_api.h"

#define BAD(param, ...) bn_api_fail(err, 400, "invalid_request_error", param, __VA_ARGS__)
#define OOM() bn_api_fail(err, 500, "server_error", NULL, "out of memory")

/* The body as one JSON object (depth 8: these bodies are flat). */
static cJSON *body_object(const char *body, size_t len, const bn_serve_limits *lim,
                          bn_api_error *err) {
    char msg[256];
    bn_json_limits jl = {.max_bytes = lim->max_body, .max_depth = 8};
    cJSON *root;
    bitnet_status st = bn_json_parse_status(body ? body : "", len, &jl, &root, msg, sizeof msg);
    if (st == BITNET_ERR_NOMEM) return OOM(), NULL;
    if (!root) return BAD(NULL, "the body is not valid JSON: %s", msg), NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return BAD(NULL, "the body must be a JSON object"), NULL;
    }
    return root;
}

/* An optional boolean field (absent or null: false). */
static bool opt_bool(const cJSON *root, const char *name, bool *out, bn_api_error *err) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, name);
    *out = false;
    if (!f || cJSON_IsNull(f)) return true;
    if (!cJSON_IsBool(f)) return BAD(name, "'%s' must be true or false", name);
    *out = cJSON_IsTrue(f);
    return true;
}

bool bn_tokenize_parse(const char *body, size_t len, const bn_serve_limits *lim,
                       bn_tokenize_req *out, bn_api_error *err) {
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    cJSON *root = body_object(body, len, lim, err);
    if (!root) return false;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    bool ok = true;
    if (!cJSON_IsString(content)) ok = BAD("content", "'content' must be a string");
    ok = ok && opt_bool(root, "add_special", &out->add_special, err) &&
         opt_bool(root, "with_pieces", &out->with_pieces, err);
    if (ok && !(out->content = bn_strdup(content->valuestring))) ok = OOM();
    cJSON_Delete(root);
    if (!ok) bn_tokenize_req_clear(out);
    return ok;
}

void bn_tokenize_req_clear(bn_tokenize_req *t) {
    bn_free(t->content);
    t->content = NULL;
}

bool bn_detokenize_parse(const char *body, size_t len, const bn_serve_limits *lim, int32_t n_vocab,
                         bitnet_token **toks, int32_t *n, bn_api_error *err) {
    *toks = NULL;
    *n = 0;
    memset(err, 0, sizeof *err);
    cJSON *root = body_object(body, len, lim, err);
    if (!root) return false;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    bool ok = true;
    if (!cJSON_IsArray(arr)) ok = BAD("tokens", "'tokens' must be an array of token ids");
    int count = ok ? cJSON_GetArraySize(arr) : 0;
    bitnet_token *t = ok ? bn_malloc_array((size_t)count + 1, sizeof *t) : NULL;
    if (ok && !t) ok = OOM();
    int i = 0;
    const cJSON *e;
    if (ok) cJSON_ArrayForEach(e, arr) {
            int64_t id;
            if (!cJSON_IsNumber(e) || !bn_json_int(e, 0, n_vocab - 1, &id)) {
                ok = BAD("tokens", "'tokens[%d]' is not a token id in [0, %d]", i, n_vocab - 1);
                break;
            }
            t[i++] = (bitnet_token)id;
        }
    cJSON_Delete(root);
    if (!ok) {
        bn_free(t);
        return false;
    }
    *toks = t;
    *n = i;
    return true;
}

/* {"id": tok, "piece": text} (with_pieces) or the bare id. */
static cJSON *token_item(const bitnet_model *m, bitnet_token tok, bool with_piece) {
    if (!with_piece) return cJSON_CreateNumber(tok);
    char piece[256];
    int32_t k = bitnet_token_to_piece(m, tok, piece, (int32_t)sizeof piece, true);
    char *clean = bn_serve_clean_text(piece, k > 0 ? (size_t)k : 0);
    cJSON *e = cJSON_CreateObject();
    if (!clean || !e || !cJSON_AddNumberToObject(e, "id", tok) ||
        !cJSON_AddStringToObject(e, "piece", clean)) {
        cJSON_Delete(e);
        e = NULL;
    }
    bn_free(clean);
    return e;
}

/* Prints and frees root; NULL (out of memory) sets *err. */
static char *print_answer(cJSON *root, bool built, bn_api_error *err) {
    char *text = built ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) OOM();
    return text;
}

char *bn_serve_tokenize_json(const char *body, size_t len, const bn_serve_limits *lim,
                             const bitnet_model *model, bn_api_error *err) {
    bn_tokenize_req q;
    if (!bn_tokenize_parse(body, len, lim, &q, err)) return NULL;
    int32_t n = bitnet_tokenize(model, q.content, -1, NULL, 0, q.add_special, true);
    bitnet_token *toks = NULL;
    if (n != INT32_MIN) {
        int32_t need = n < 0 ? -n : n;
        toks = bn_malloc_array((size_t)need + 1, sizeof *toks);
        if (!toks) {
            bn_tokenize_req_clear(&q);
            return OOM(), NULL;
        }
        if (n < 0) n = bitnet_tokenize(model, q.content, -1, toks, need, q.add_special, true);
    }
    bn_tokenize_req_clear(&q);
    /* any valid UTF-8 under the body cap tokenizes: a failure is memory */
    if (n < 0) {
        bn_free(toks);
        return bn_api_fail(err, 500, "server_error", "content",
                           "'content' could not be tokenized: %s", bitnet_get_last_error()),
               NULL;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = out ? cJSON_AddArrayToObject(out, "tokens") : NULL;
    bool built = arr != NULL;
    for (int32_t i = 0; built && i < n; i++) {
        cJSON *e = token_item(model, toks[i], q.with_pieces);
        built = e && cJSON_AddItemToArray(arr, e);
    }
    bn_free(toks);
    return print_answer(out, built, err);
}

char *bn_serve_detokenize_json(const char *body, size_t len, const bn_serve_limits *lim,
                               const bitnet_model *model, bn_api_error *err) {
    bitnet_token *toks;
    int32_t n;
    if (!bn_detokenize_parse(body, len, lim, bitnet_model_n_vocab(model), &toks, &n, err))
        return NULL;
    /* the size query answers minus the length needed (0 for no text) */
    int32_t need = bitnet_detokenize(model, toks, n, NULL, 0, false, true);
    if (need == INT32_MIN) {
        bn_free(toks);
        return bn_api_fail(err, 500, "server_error", NULL, "detokenize failed: %s",
                           bitnet_get_last_error()),
               NULL;
    }
    if (need < 0) need = -need;
    char *text = bn_malloc((size_t)need + 1);
    int32_t got = text ? bitnet_detokenize(model, toks, n, text, need + 1, false, true) : 0;
    bn_free(toks);
    char *clean = text && got >= 0 ? bn_serve_clean_text(text, (size_t)got) : NULL;
    bool text_ok = text && got >= 0;
    bn_free(text);
    if (!text_ok) {
        bn_free(clean);
        return text ? (bn_api_fail(err, 500, "server_error", NULL, "detokenize failed: %s",
                                   bitnet_get_last_error()),
                       NULL)
                    : (OOM(), NULL);
    }
    cJSON *out = cJSON_CreateObject();
    bool built = clean && out && cJSON_AddStringToObject(out, "content", clean);
    bn_free(clean);
    return print_answer(out, built, err);
}
