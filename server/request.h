/* One completion request as the HTTP front end and the scheduler share it.
 *
 * The front end fills the parameters and the prompt, submits it, then reads
 * the output as the scheduler appends it. Everything below `mu` is guarded by
 * it; `cancelled` may be set from any thread without it. The object is
 * reference counted: the front end holds one reference, the scheduler another
 * while the request is queued or in a slot; the last release frees it. */
#ifndef BN_SERVE_REQUEST_H
#define BN_SERVE_REQUEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"

#define BN_SERVE_MAX_TOP_LOGPROBS 20

typedef enum bn_req_kind { BN_REQ_COMPLETION = 0, BN_REQ_CHAT = 1 } bn_req_kind;

typedef enum bn_finish {
    BN_FINISH_NONE = 0, /* still running */
    BN_FINISH_STOP,     /* end-of-generation token or a stop string */
    BN_FINISH_LENGTH,   /* max_tokens or a full context */
    BN_FINISH_CANCELLED,
    BN_FINISH_ERROR,
} bn_finish;

typedef struct bn_req_params {
    int32_t max_tokens;
    bitnet_sampler_params sampling;
    float presence_penalty, frequency_penalty; /* OpenAI's, over the generated tokens */
    char **stop;                               /* [n_stop] NUL-terminated, non-empty */
    int32_t n_stop;
    bool logprobs;        /* return the chosen token's log-probability */
    int32_t top_logprobs; /* and this many alternatives (0..BN_SERVE_MAX_TOP_LOGPROBS) */
    bool stream, include_usage, ignore_eos;
} bn_req_params;

/* The log-probabilities of one generated token. */
typedef struct bn_token_logprob {
    bitnet_token token;
    float logprob;
    int32_t n_top;
    bitnet_token top_token[BN_SERVE_MAX_TOP_LOGPROBS];
    float top_logprob[BN_SERVE_MAX_TOP_LOGPROBS];
} bn_token_logprob;

typedef struct bn_request {
    uint64_t id;
    bn_req_kind kind;
    bn_req_params p;
    bitnet_token *prompt; /* [n_prompt] */
    int32_t n_prompt;
    double t_submit_ms;

    atomic_bool cancelled; /* the client went away, or the server is stopping */
    atomic_int refs;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled whenever output is appended or the request ends */
    bn_finish finish;
    int http_status; /* for BN_FINISH_ERROR */
    char error[256]; /* for BN_FINISH_ERROR */
    char *text;      /* released text: never retracted (stop strings are held back first) */
    size_t text_len, text_cap;
    bn_token_logprob *lp; /* [n_lp] when p.logprobs */
    int32_t n_lp, lp_cap;
    int32_t n_generated; /* tokens sampled, the end-of-generation token excluded */
    int32_t n_cached;    /* prompt tokens found in the slot's cache (not evaluated again) */
    double t_first_token_ms, t_done_ms;
    int32_t slot;
} bn_request;

/* A new request with one reference; NULL when out of memory. */
bn_request *bn_request_new(uint64_t id, bn_req_kind kind);
void bn_request_retain(bn_request *r);
void bn_request_release(bn_request *r);
/* Frees what the parameters own (stop strings). */
void bn_req_params_clear(bn_req_params *p);

/* Scheduler side, with r->mu held: append released text / a log-probability
 * entry (false when out of memory), and end the request. */
bool bn_request_append_text_locked(bn_request *r, const char *text, size_t n);
bool bn_request_append_logprob_locked(bn_request *r, const bn_token_logprob *lp);
void bn_request_finish_locked(bn_request *r, bn_finish finish, int http_status, const char *error);

const char *bn_finish_name(bn_finish f); /* "stop", "length", ... */

double bn_serve_now_ms(void); /* monotonic */

#endif
