/* A Python runner speaking the JSON-lines protocol of baseline/python/README.md:
 * the numpy reference (`python -m bitnet_ref.runner`) and the Hugging Face
 * transformers baseline (`python -m tf_runner`, backend_transformers.c). One
 * long-lived child, one request per line, each answer awaited with a deadline.
 * Full logits travel through a temporary file of little-endian float32 (the
 * runner's "full"/"out" option) because a 32000-wide row in JSON text would
 * dominate the run time. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "subproc.h"

typedef struct py_impl {
    sp_proc proc;
    double timeout_s;
    int32_t n_vocab;
    char tmp_path[256];
    int seq;
    bool exact; /* the reference's float64 mode instead of bitnet.cpp's roundings */
    char label[48]; /* names the runner in messages: "python reference", "transformers" */
} py_impl;

/* Sends req (consumed) and parses the answer; NULL with a message on error or
 * when the runner answers ok:false. */
static cJSON *py_call(py_impl *im, cJSON *req, double timeout_s, verr *e) {
    cJSON_AddNumberToObject(req, "id", ++im->seq);
    char *line = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!line) {
        verr_set(e, "out of memory");
        return NULL;
    }
    vstr reply = {0};
    verr pe;
    bool ok = sp_request(&im->proc, line, timeout_s, &reply, &pe);
    free(line);
    if (!ok) {
        verr_set(e, "%s: %s", im->label, pe.msg);
        vs_free(&reply);
        return NULL;
    }
    cJSON *resp = cJSON_Parse(reply.s ? reply.s : "");
    if (!resp) {
        verr_set(e, "%s: unreadable answer: %.200s", im->label, reply.s ? reply.s : "");
        vs_free(&reply);
        return NULL;
    }
    vs_free(&reply);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok"))) {
        const cJSON *err = cJSON_GetObjectItem(resp, "error");
        verr_set(e, "%s: %s", im->label, cJSON_IsString(err) ? err->valuestring : "failed");
        cJSON_Delete(resp);
        return NULL;
    }
    return resp;
}

static cJSON *token_array(const int32_t *t, int32_t n) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(t[i]));
    return a;
}

static int py_load(vbackend *b, const char *path, verr *e) {
    py_impl *im = b->impl;
    char abs[4096];
    if (!realpath(path, abs)) snprintf(abs, sizeof abs, "%s", path);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "load");
    cJSON_AddStringToObject(req, "model", abs);
    cJSON_AddStringToObject(req, "numerics", im->exact ? "exact" : "compat");
    cJSON *resp = py_call(im, req, im->timeout_s, e);
    if (!resp) return -1;
    im->n_vocab = (int32_t)cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "n_vocab"));
    cJSON_Delete(resp);
    return 0;
}

static void py_unload(vbackend *b) { (void)b; /* the next load replaces the model */ }

static void py_destroy(vbackend *b) {
    py_impl *im = b->impl;
    if (!im->proc.dead) {
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", "quit");
        verr e;
        cJSON_Delete(py_call(im, req, 5, &e));
    }
    sp_close(&im->proc, 2);
    unlink(im->tmp_path);
    free(im);
    free(b);
}

static int py_logits(vbackend *b, const int32_t *tokens, int32_t n, vb_logits *out, verr *e) {
    py_impl *im = b->impl;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "logits");
    cJSON_AddItemToObject(req, "tokens", token_array(tokens, n));
    cJSON_AddNumberToObject(req, "top_k", 0);
    cJSON_AddBoolToObject(req, "full", true);
    cJSON_AddStringToObject(req, "out", im->tmp_path);
    cJSON *resp = py_call(im, req, im->timeout_s, e);
    if (!resp) return -1;
    int32_t nv = (int32_t)cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "n_vocab"));
    cJSON_Delete(resp);
    size_t len = 0;
    char *data = vu_read_file(im->tmp_path, &len);
    if (!data || nv <= 0 || len != sizeof(float) * (size_t)n * (size_t)nv) {
        verr_set(e, "%s: logits file %s has %zu bytes, expected %d x %d floats", im->label,
                 im->tmp_path, len, n, nv);
        free(data);
        return -1;
    }
    out->n_pos = n;
    out->n_vocab = nv;
    out->data = (float *)data; /* malloc'd by vu_read_file, suitably aligned */
    return 0;
}

static float json_float(const cJSON *v) {
    if (cJSON_IsNumber(v)) return (float)v->valuedouble;
    if (cJSON_IsString(v)) return strcmp(v->valuestring, "nan") == 0 ? NAN : INFINITY;
    return NAN;
}

static int py_generate(vbackend *b, const int32_t *prompt, int32_t n_prompt, int32_t n_predict,
                       vb_gen *out, verr *e) {
    py_impl *im = b->impl;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "generate");
    cJSON_AddItemToObject(req, "tokens", token_array(prompt, n_prompt));
    cJSON_AddNumberToObject(req, "n_predict", n_predict);
    cJSON *resp = py_call(im, req, im->timeout_s, e);
    if (!resp) return -1;
    const cJSON *toks = cJSON_GetObjectItem(resp, "tokens");
    const cJSON *margins = cJSON_GetObjectItem(resp, "margins");
    int n = cJSON_GetArraySize(toks);
    out->tokens = calloc((size_t)n + 1, sizeof(int32_t));
    out->margins = calloc((size_t)n + 1, sizeof(float));
    if (!out->tokens || !out->margins) {
        cJSON_Delete(resp);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        out->tokens[i] = (int32_t)cJSON_GetNumberValue(cJSON_GetArrayItem(toks, i));
        out->margins[i] = json_float(cJSON_GetArrayItem(margins, i));
    }
    out->n = n;
    cJSON_Delete(resp);
    return 0;
}

/* The runner's tokenizer (transformers' AutoTokenizer), with the special
 * tokens it adds by default, as libbitnet's tokenize check uses them. */
static int py_tokenize(vbackend *b, const char *text, int32_t **tokens, int32_t *n, verr *e) {
    py_impl *im = b->impl;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "tokenize");
    cJSON_AddStringToObject(req, "text", text);
    cJSON *resp = py_call(im, req, im->timeout_s, e);
    if (!resp) return -1;
    const cJSON *toks = cJSON_GetObjectItem(resp, "tokens");
    int k = cJSON_GetArraySize(toks);
    *tokens = calloc((size_t)k + 1, sizeof(int32_t));
    if (!cJSON_IsArray(toks) || !*tokens) {
        verr_set(e, "%s: tokenize answered no token list", im->label);
        cJSON_Delete(resp);
        free(*tokens);
        *tokens = NULL;
        return -1;
    }
    for (int i = 0; i < k; i++)
        (*tokens)[i] = (int32_t)cJSON_GetNumberValue(cJSON_GetArrayItem(toks, i));
    *n = k;
    cJSON_Delete(resp);
    return 0;
}

static bool hello_lists_op(const cJSON *hello, const char *op) {
    const cJSON *ops = cJSON_GetObjectItem(hello, "ops"), *it;
    cJSON_ArrayForEach(it, ops) if (cJSON_IsString(it) && !strcmp(it->valuestring, op)) return true;
    return false;
}

static const char *hello_str(const cJSON *hello, const char *key) {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(hello, key));
    return v ? v : "?";
}

vbackend *vb_jsonl_new(const vb_jsonl_spec *spec, verr *e) {
    vbackend *b = calloc(1, sizeof *b);
    py_impl *im = calloc(1, sizeof *im);
    if (!b || !im) {
        free(b);
        free(im);
        verr_set(e, "out of memory");
        return NULL;
    }
    im->timeout_s = spec->timeout_s;
    im->exact = spec->exact;
    snprintf(im->label, sizeof im->label, "%s", spec->label);
    /* one file per runner: two runners in one harness must not share it */
    snprintf(im->tmp_path, sizeof im->tmp_path, "/tmp/bitnet-validate-%d-%s.f32", (int)getpid(),
             spec->name);
    char *argv[] = {(char *)spec->python, "-m", (char *)spec->module, NULL};
    if (!sp_spawn(&im->proc, argv, spec->pkg_dir, e)) {
        free(im);
        free(b);
        return NULL;
    }
    b->impl = im;
    snprintf(b->name, sizeof b->name, "%s", spec->name);
    snprintf(b->kind, sizeof b->kind, "%s", spec->kind);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "hello");
    /* importing torch and transformers takes seconds on a loaded machine */
    cJSON *resp = py_call(im, req, spec->hello_timeout_s > 0 ? spec->hello_timeout_s : 60, e);
    if (!resp) {
        sp_close(&im->proc, 1);
        free(im);
        free(b);
        return NULL;
    }
    if (cJSON_GetObjectItem(resp, "transformers"))
        snprintf(b->version, sizeof b->version, "transformers %s, torch %s, python %s, protocol %d",
                 hello_str(resp, "transformers"), hello_str(resp, "torch"),
                 hello_str(resp, "python"),
                 (int)cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "protocol")));
    else
        snprintf(b->version, sizeof b->version, "bitnet_ref protocol %d, python %s, numpy %s",
                 (int)cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "protocol")),
                 hello_str(resp, "python"), hello_str(resp, "numpy"));
    b->load = py_load;
    b->unload = py_unload;
    b->destroy = py_destroy;
    b->logits = py_logits;
    b->generate = py_generate;
    if (hello_lists_op(resp, "tokenize")) b->tokenize = py_tokenize;
    cJSON_Delete(resp);
    return b;
}

vbackend *vb_python_new(const char *python, const char *pkg_dir, double timeout_s, bool exact,
                        verr *e) {
    vb_jsonl_spec spec = {.python = python,
                          .pkg_dir = pkg_dir,
                          .module = "bitnet_ref.runner",
                          .name = "python-ref",
                          .kind = "python",
                          .label = "python reference",
                          .timeout_s = timeout_s,
                          .exact = exact};
    return vb_jsonl_new(&spec, e);
}
