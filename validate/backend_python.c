/* The Python reference (baseline/python) through its JSON-lines runner:
 * one long-lived `python -m bitnet_ref.runner` child, one request per line,
 * each answer awaited with a deadline. Full logits travel through a temporary
 * file of little-endian float32 (the runner's "full"/"out" option) because a
 * 32000-wide row in JSON text would dominate the run time. */
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
        verr_set(e, "python reference: %s", pe.msg);
        vs_free(&reply);
        return NULL;
    }
    cJSON *resp = cJSON_Parse(reply.s ? reply.s : "");
    if (!resp) {
        verr_set(e, "python reference: unreadable answer: %.200s", reply.s ? reply.s : "");
        vs_free(&reply);
        return NULL;
    }
    vs_free(&reply);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok"))) {
        const cJSON *err = cJSON_GetObjectItem(resp, "error");
        verr_set(e, "python reference: %s", cJSON_IsString(err) ? err->valuestring : "failed");
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
        verr_set(e, "python reference: logits file %s has %zu bytes, expected %d x %d floats",
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

vbackend *vb_python_new(const char *python, const char *pkg_dir, double timeout_s, bool exact,
                        verr *e) {
    vbackend *b = calloc(1, sizeof *b);
    py_impl *im = calloc(1, sizeof *im);
    if (!b || !im) {
        free(b);
        free(im);
        verr_set(e, "out of memory");
        return NULL;
    }
    im->timeout_s = timeout_s;
    im->exact = exact;
    snprintf(im->tmp_path, sizeof im->tmp_path, "/tmp/bitnet-validate-%d.f32", (int)getpid());
    char *argv[] = {(char *)python, "-m", "bitnet_ref.runner", NULL};
    if (!sp_spawn(&im->proc, argv, pkg_dir, e)) {
        free(im);
        free(b);
        return NULL;
    }
    b->impl = im;
    snprintf(b->name, sizeof b->name, "python-ref");
    snprintf(b->kind, sizeof b->kind, "python");
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "hello");
    cJSON *resp = py_call(im, req, 60, e);
    if (!resp) {
        sp_close(&im->proc, 1);
        free(im);
        free(b);
        return NULL;
    }
    snprintf(b->version, sizeof b->version, "bitnet_ref protocol %d, python %s, numpy %s",
             (int)cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "protocol")),
             cJSON_GetStringValue(cJSON_GetObjectItem(resp, "python")),
             cJSON_GetStringValue(cJSON_GetObjectItem(resp, "numpy")));
    cJSON_Delete(resp);
    b->load = py_load;
    b->unload = py_unload;
    b->destroy = py_destroy;
    b->logits = py_logits;
    b->generate = py_generate;
    return b;
}
