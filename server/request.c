/* bn_request: reference counting and the guarded output buffers. */
#include "request.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"

double bn_serve_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bn_request *bn_request_new(uint64_t id, bn_req_kind kind) {
    bn_request *r = bn_calloc(1, sizeof *r);
    if (!r) return NULL;
    if (pthread_mutex_init(&r->mu, NULL)) {
        bn_free(r);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timed waits immune to clock changes */
    int rc = pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        pthread_mutex_destroy(&r->mu);
        bn_free(r);
        return NULL;
    }
    r->id = id;
    r->kind = kind;
    r->slot = -1;
    r->t_submit_ms = bn_serve_now_ms();
    atomic_init(&r->cancelled, false);
    atomic_init(&r->refs, 1);
    return r;
}

void bn_request_retain(bn_request *r) { atomic_fetch_add(&r->refs, 1); }

void bn_req_params_clear(bn_req_params *p) {
    for (int32_t i = 0; i < p->n_stop; i++) bn_free(p->stop[i]);
    bn_free(p->stop);
    p->stop = NULL;
    p->n_stop = 0;
}

void bn_request_release(bn_request *r) {
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
    bn_req_params_clear(&r->p);
    bn_free(r->prompt);
    bn_free(r->text);
    bn_free(r->lp);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    bn_free(r);
}

bool bn_request_append_text_locked(bn_request *r, const char *text, size_t n) {
    if (n == 0) return true;
    if (r->text_len + n + 1 > r->text_cap) {
        size_t cap = r->text_cap ? r->text_cap : 256;
        while (cap < r->text_len + n + 1) cap *= 2;
        char *bigger = bn_realloc(r->text, cap);
        if (!bigger) return false;
        r->text = bigger;
        r->text_cap = cap;
    }
    memcpy(r->text + r->text_len, text, n);
    r->text_len += n;
    r->text[r->text_len] = '\0';
    pthread_cond_broadcast(&r->cv);
    return true;
}

bool bn_request_append_logprob_locked(bn_request *r, const bn_token_logprob *lp) {
    if (r->n_lp == r->lp_cap) {
        int32_t cap = r->lp_cap ? r->lp_cap * 2 : 16;
        bn_token_logprob *bigger = bn_realloc(r->lp, (size_t)cap * sizeof *bigger);
        if (!bigger) return false;
        r->lp = bigger;
        r->lp_cap = cap;
    }
    r->lp[r->n_lp++] = *lp;
    pthread_cond_broadcast(&r->cv);
    return true;
}

void bn_request_finish_locked(bn_request *r, bn_finish finish, int http_status, const char *error) {
    if (r->finish != BN_FINISH_NONE) return;
    r->finish = finish;
    r->http_status = http_status;
    if (error) snprintf(r->error, sizeof r->error, "%s", error);
    r->t_done_ms = bn_serve_now_ms();
    pthread_cond_broadcast(&r->cv);
}

const char *bn_finish_name(bn_finish f) {
    switch (f) {
    case BN_FINISH_STOP: return "stop";
    case BN_FINISH_LENGTH: return "length";
    case BN_FINISH_CANCELLED: return "cancelled";
    case BN_FINISH_ERROR: return "error";
    case BN_FINISH_NONE: break;
    }
    return "none";
}
