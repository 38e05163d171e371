/* libbitnet in-process, one backend per ISA: the same public API a user
 * calls, with params.isa forcing the kernel set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bitnet.h"

typedef struct lb_impl {
    char isa[16];
    int32_t threads;
    bool exact;
    bitnet_model *model;
    bitnet_context *ctx; /* correctness context, made on demand for a size */
    int32_t ctx_size;
} lb_impl;

void vb_logits_free(vb_logits *l) {
    free(l->data);
    l->data = NULL;
}

void vb_gen_free(vb_gen *g) {
    free(g->tokens);
    free(g->margins);
    free(g->text);
    memset(g, 0, sizeof *g);
}

static int lb_load(vbackend *b, const char *path, verr *e) {
    lb_impl *im = b->impl;
    bitnet_model_params mp = bitnet_model_default_params();
    im->model = bitnet_model_load(path, &mp);
    if (!im->model) {
        verr_set(e, "load: %s", bitnet_get_last_error());
        return -1;
    }
    return 0;
}

static void lb_unload(vbackend *b) {
    lb_impl *im = b->impl;
    bitnet_context_free(im->ctx);
    bitnet_model_free(im->model);
    im->ctx = NULL;
    im->model = NULL;
    im->ctx_size = 0;
}

static void lb_destroy(vbackend *b) {
    lb_unload(b);
    free(b->impl);
    free(b);
}

static bitnet_context *make_ctx(lb_impl *im, int32_t n_ctx, int32_t n_batch, int32_t threads,
                                verr *e) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = threads;
    cp.isa = im->isa;
    cp.numerics = im->exact ? BITNET_NUMERICS_EXACT : BITNET_NUMERICS_COMPAT;
    bitnet_context *c = bitnet_context_new(im->model, &cp);
    if (!c) verr_set(e, "context: %s", bitnet_get_last_error());
    return c;
}

/* One context big enough for every correctness request, grown when needed. */
static bitnet_context *need_ctx(lb_impl *im, int32_t n, verr *e) {
    if (im->ctx && im->ctx_size >= n) {
        bitnet_kv_truncate(im->ctx, 0);
        return im->ctx;
    }
    bitnet_context_free(im->ctx);
    int32_t size = n < 256 ? 256 : n;
    im->ctx = make_ctx(im, size, size, im->threads, e);
    im->ctx_size = im->ctx ? size : 0;
    return im->ctx;
}

static int lb_tokenize(vbackend *b, const char *text, int32_t **tokens, int32_t *n, verr *e) {
    lb_impl *im = b->impl;
    int32_t need = bitnet_tokenize(im->model, text, -1, NULL, 0, true, false);
    if (need == INT32_MIN) {
        verr_set(e, "tokenize: %s", bitnet_get_last_error());
        return -1;
    }
    if (need < 0) need = -need;
    *tokens = malloc(sizeof(int32_t) * (size_t)(need + 1));
    if (!*tokens) return -1;
    *n = bitnet_tokenize(im->model, text, -1, *tokens, need + 1, true, false);
    if (*n < 0) {
        verr_set(e, "tokenize: %s", bitnet_get_last_error());
        free(*tokens);
        *tokens = NULL;
        return -1;
    }
    return 0;
}

static int lb_logits(vbackend *b, const int32_t *tokens, int32_t n, vb_logits *out, verr *e) {
    lb_impl *im = b->impl;
    bitnet_context *c = need_ctx(im, n, e);
    if (!c) return -1;
    if (bitnet_decode(c, tokens, n, true) != BITNET_OK) {
        verr_set(e, "decode: %s", bitnet_get_last_error());
        return -1;
    }
    int32_t nv = bitnet_model_n_vocab(im->model);
    out->n_pos = n;
    out->n_vocab = nv;
    out->data = malloc(sizeof(float) * (size_t)n * (size_t)nv);
    if (!out->data) {
        verr_set(e, "out of memory for %d x %d logits", n, nv);
        return -1;
    }
    for (int32_t i = 0; i < n; i++)
        memcpy(out->data + (size_t)i * nv, bitnet_get_logits_ith(c, i), sizeof(float) * nv);
    return 0;
}

/* argmax with the lowest id on ties (the reference's rule) and the top-2 gap */
static int32_t top2(const float *l, int32_t n, float *margin) {
    int32_t best = 0;
    float b1 = l[0], b2 = -INFINITY;
    for (int32_t i = 1; i < n; i++) {
        if (l[i] > b1) {
            b2 = b1;
            b1 = l[i];
            best = i;
        } else if (l[i] > b2) {
            b2 = l[i];
        }
    }
    *margin = b1 - b2;
    return best;
}

static int lb_generate(vbackend *b, const int32_t *prompt, int32_t n_prompt, int32_t n_predict,
                       vb_gen *out, verr *e) {
    lb_impl *im = b->impl;
    bitnet_context *c = need_ctx(im, n_prompt + n_predict + 1, e);
    if (!c) return -1;
    out->tokens = calloc((size_t)n_predict + 1, sizeof(int32_t));
    out->margins = calloc((size_t)n_predict + 1, sizeof(float));
    if (!out->tokens || !out->margins) return -1;
    int32_t nv = bitnet_model_n_vocab(im->model);
    if (bitnet_decode(c, prompt, n_prompt, false) != BITNET_OK) {
        verr_set(e, "decode: %s", bitnet_get_last_error());
        return -1;
    }
    for (int32_t i = 0; i < n_predict; i++) {
        int32_t t = top2(bitnet_get_logits_ith(c, -1), nv, &out->margins[i]);
        out->tokens[out->n++] = t;
        if (i + 1 == n_predict) break;
        if (bitnet_decode(c, &t, 1, false) != BITNET_OK) {
            verr_set(e, "decode: %s", bitnet_get_last_error());
            return -1;
        }
    }
    /* the text as a stream of pieces, like `bitnet run` and llama-cli print it
     * (detokenize would drop the first piece's leading space) */
    size_t cap = 256, len = 0;
    out->text = malloc(cap);
    for (int32_t i = 0; out->text && i < out->n; i++) {
        char piece[256];
        int32_t n = bitnet_token_to_piece(im->model, out->tokens[i], piece, sizeof piece, false);
        if (n <= 0) continue;
        if (len + (size_t)n + 1 > cap) {
            char *t = realloc(out->text, cap = (len + (size_t)n + 1) * 2);
            if (!t) {
                free(out->text);
                out->text = NULL;
                break;
            }
            out->text = t;
        }
        memcpy(out->text + len, piece, (size_t)n);
        len += (size_t)n;
    }
    if (out->text) out->text[len] = '\0';
    return 0;
}

/* One repetition of pp (n_prompt tokens in one batch) and tg (n_gen tokens one
 * at a time from an empty cache), like llama-bench; tokenization and sampling
 * are outside the timed region. */
static int lb_bench(vbackend *b, const vb_bench_req *req, vb_speed *out, verr *e) {
    lb_impl *im = b->impl;
    int32_t n_ctx = (req->n_prompt > req->n_gen ? req->n_prompt : req->n_gen) + 8;
    bitnet_context *c = make_ctx(im, n_ctx, req->n_prompt > 0 ? req->n_prompt : 1, req->threads, e);
    if (!c) return -1;
    int32_t nv = bitnet_model_n_vocab(im->model);
    int32_t n = req->n_prompt > req->n_gen ? req->n_prompt : req->n_gen;
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)(n + 1));
    if (!toks) {
        bitnet_context_free(c);
        return -1;
    }
    uint64_t st = 12345;
    for (int32_t i = 0; i < n; i++) toks[i] = (int32_t)(vu_splitmix(&st) % (uint64_t)nv);
    int rc = 0;
    memset(out, 0, sizeof *out);
    /* A sample lasts at least BENCH_MIN_S: a tiny model's pp32 takes under a
     * millisecond, where one scheduler tick would decide the result. */
    const double BENCH_MIN_S = 0.05;
    if (req->n_prompt > 0) {
        double t0 = vu_now_s(), dt = 0;
        long done = 0;
        do {
            bitnet_kv_truncate(c, 0);
            if (bitnet_decode(c, toks, req->n_prompt, false) != BITNET_OK) rc = -1;
            done += req->n_prompt;
            dt = vu_now_s() - t0;
        } while (rc == 0 && dt < BENCH_MIN_S);
        out->pp_tps = done / dt;
    }
    if (rc == 0 && req->n_gen > 0) {
        double t0 = vu_now_s(), dt = 0;
        long done = 0;
        do {
            bitnet_kv_truncate(c, 0);
            for (int32_t i = 0; i < req->n_gen && rc == 0; i++)
                if (bitnet_decode(c, &toks[i], 1, false) != BITNET_OK) rc = -1;
            done += req->n_gen;
            dt = vu_now_s() - t0;
        } while (rc == 0 && dt < BENCH_MIN_S);
        out->tg_tps = done / dt;
    }
    if (rc) verr_set(e, "decode: %s", bitnet_get_last_error());
    free(toks);
    bitnet_context_free(c);
    return rc;
}

vbackend *vb_libbitnet_new(const char *isa, int32_t threads, bool exact) {
    vbackend *b = calloc(1, sizeof *b);
    lb_impl *im = calloc(1, sizeof *im);
    if (!b || !im) {
        free(b);
        free(im);
        return NULL;
    }
    snprintf(im->isa, sizeof im->isa, "%s", isa);
    im->threads = threads;
    im->exact = exact;
    snprintf(b->name, sizeof b->name, "libbitnet-%s%s", isa, exact ? "-exact" : "");
    snprintf(b->kind, sizeof b->kind, "libbitnet");
    snprintf(b->version, sizeof b->version, "%s; kernels %s, %s numerics, %d thread(s)",
             bitnet_version(), isa, exact ? "exact" : "compat", threads);
    b->impl = im;
    b->load = lb_load;
    b->unload = lb_unload;
    b->destroy = lb_destroy;
    b->tokenize = lb_tokenize;
    b->logits = lb_logits;
    b->generate = lb_generate;
    b->bench = lb_bench;
    return b;
}
