/* State shared by the HTTP front end (http.c) and the process around it
 * (server.c). */
#ifndef BN_SERVE_INTERNAL_H
#define BN_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "http_guard.h"
#include "scheduler.h"
#include "server.h"

typedef enum bn_server_state {
    BN_STATE_LOADING = 0, /* /health and completions answer 503 */
    BN_STATE_READY = 1,
    BN_STATE_DRAINING = 2, /* SIGTERM: new completions answer 503 */
} bn_server_state;

typedef struct bn_server {
    const bn_serve_opts *opts;
    atomic_int state;
    /* set before state becomes READY (release), read after seeing it (acquire) */
    bitnet_model *model;
    bn_sched *sched;
    bn_serve_limits limits; /* opts->limits with max_prompt from the slot context */
    bn_chat_format chat_format;
    char model_name[256];
    int64_t created; /* Unix time the model was loaded */
    atomic_uint_fast64_t next_id;
    /* requests whose response has not been completed (or abandoned) yet: a
     * drain waits for these too, since a finished generation may still have
     * its last chunks and `data: [DONE]` to send */
    atomic_int n_open_requests;
    bn_conn_guard *guard;
    bn_srv_metrics metrics; /* registry NULL when --no-metrics */
    pthread_mutex_t log_mu;
    struct MHD_Daemon *daemon;
} bn_server;

/* One log line on stderr (a JSON object with --log-json). */
void bn_server_log(bn_server *s, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line for a finished HTTP request. */
void bn_server_log_request(bn_server *s, uint64_t id, const char *method, const char *path,
                           int status, const bn_request *r, double ms);

/* Starts libmicrohttpd on opts->host:opts->port; false after logging why. */
bool bn_http_start(bn_server *s);
/* Stops accepting connections (the listening socket is closed). */
void bn_http_quiesce(bn_server *s);
void bn_http_stop(bn_server *s);
int bn_http_port(bn_server *s);

#endif
