/* The HTTP front end on libmicrohttpd: one thread per connection (a handler
 * may wait for the scheduler), routing, authentication, CORS, body limits,
 * and the OpenAI endpoints in full JSON or SSE.
 *
 * Cancellation: while a request waits for the scheduler, its connection is
 * checked every 20 ms; a client that closed it has its request cancelled,
 * which the scheduler honours at its next step. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "alloc.h"
#include "json_util.h"
#include "server_internal.h"
#include "tokenize_api.h"

#define MAX_URI 8192
#define MAX_HEADER_BYTES 8192
#define POLL_MS 20

typedef enum route {
    R_NONE = 0,
    R_HEALTH,
    R_MODELS,
    R_COMPLETIONS,
    R_CHAT,
    R_TOKENIZE,
    R_DETOKENIZE,
    R_METRICS,
} route;

/* Per request (libmicrohttpd's con_cls). Freed when both the request and a
 * streaming response are done with it. */
typedef struct req_ctx {
    bn_server *srv;
    struct MHD_Connection *conn;
    uint64_t id;
    double t_start;
    char method[16];
    char path[64];
    route route;
    int status;
    char *body; /* [len] */
    size_t len, cap;
    bool read_done;
    bool submitted; /* the scheduler took the request */
    bn_request *req;
    atomic_int refs;
    /* streaming */
    bool role_sent, finish_sent, usage_sent, done_sent;
    size_t text_pos;
    int32_t lp_pos;
    char *out; /* the event being sent */
    size_t out_len, out_pos;
} req_ctx;

static void ctx_release(req_ctx *c) {
    if (atomic_fetch_sub(&c->refs, 1) != 1) return;
    if (c->req) {
        if (c->srv->sched && c->req->finish == BN_FINISH_NONE)
            bn_sched_cancel(c->srv->sched, c->req);
        bn_request_release(c->req);
    }
    bn_free(c->body);
    bn_free(c->out);
    bn_free(c);
}

/* ---- responses ---- */

static void add_common_headers(req_ctx *c, struct MHD_Response *resp) {
    char id[32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    MHD_add_response_header(resp, "X-Request-Id", id);
    const char *origin = c->srv->opts->cors_origin;
    if (origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
}

/* Sends `body` (taken over; freed here) with `status`. */
static enum MHD_Result send_body(req_ctx *c, int status, char *body, const char *content_type,
                                 const char *retry_after) {
    if (!body) {
        status = 500;
        body = bn_strdup("{\"error\":{\"code\":500,\"message\":\"out of "
                         "memory\",\"type\":\"server_error\",\"param\":null}}");
        if (!body) return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", content_type);
    if (retry_after) MHD_add_response_header(resp, "Retry-After", retry_after);
    add_common_headers(c, resp);
    c->status = status;
    enum MHD_Result rc = MHD_queue_response(c->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_json(req_ctx *c, int status, cJSON *root) {
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return send_body(c, status, text, "application/json", NULL);
}

static enum MHD_Result send_error(req_ctx *c, const bn_api_error *e, const char *retry_after) {
    return send_body(c, e->status, bn_openai_error_json(e), "application/json", retry_after);
}

static enum MHD_Result fail(req_ctx *c, int status, const char *type, const char *param,
                            const char *msg) {
    bn_api_error e;
    bn_api_fail(&e, status, type, param, "%s", msg);
    return send_error(c, &e, status == 503 ? "1" : NULL);
}

/* ---- connection liveness ---- */

/* True when the client closed its side or reset the connection. Bytes the
 * client sent ahead (a pipelined request) do not count as a close. */
static bool client_gone(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return true;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

static void deadline_in(struct timespec *ts, long ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/* Waits (r->mu held) until `ready` or the end of the request; false when the
 * client went away (the request is then cancelled). */
static bool wait_output(req_ctx *c, bool (*ready)(req_ctx *)) {
    bn_request *r = c->req;
    while (!ready(c) && r->finish == BN_FINISH_NONE) {
        struct timespec ts;
        deadline_in(&ts, POLL_MS);
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (!ready(c) && r->finish == BN_FINISH_NONE && client_gone(c->conn)) {
            pthread_mutex_unlock(&r->mu);
            bn_sched_cancel(c->srv->sched, r); /* never call the scheduler holding r->mu */
            pthread_mutex_lock(&r->mu);
            return false;
        }
    }
    return true;
}

/* ---- completions ---- */

static bool never_ready(req_ctx *c) {
    (void)c;
    return false;
}

static bool stream_ready(req_ctx *c) {
    return c->req->text_len > c->text_pos || c->req->n_lp > c->lp_pos;
}

/* The next SSE event of a stream, or NULL at the end (*end set) or when the
 * client went away. */
static char *next_event(req_ctx *c, bool *end, bool *gone) {
    bn_server *s = c->srv;
    bn_request *r = c->req;
    *end = *gone = false;
    if (r->kind == BN_REQ_CHAT && !c->role_sent) {
        c->role_sent = true;
        return bn_openai_chunk_sse(r, s->model, s->model_name, s->created, "", 0, NULL, 0,
                                   BN_FINISH_NONE, true);
    }
    if (c->finish_sent) {
        if (r->p.include_usage && !c->usage_sent && r->finish != BN_FINISH_ERROR) {
            c->usage_sent = true;
            return bn_openai_usage_sse(r, s->model_name, s->created);
        }
        if (!c->done_sent) {
            c->done_sent = true;
            return bn_strdup("data: [DONE]\n\n");
        }
        *end = true;
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    if (!wait_output(c, stream_ready)) {
        pthread_mutex_unlock(&r->mu);
        *gone = true;
        return NULL;
    }
    char *ev = NULL;
    if (stream_ready(c)) {
        ev = bn_openai_chunk_sse(r, s->model, s->model_name, s->created, r->text + c->text_pos,
                                 r->text_len - c->text_pos, r->lp + c->lp_pos, r->n_lp - c->lp_pos,
                                 BN_FINISH_NONE, false);
        c->text_pos = r->text_len;
        c->lp_pos = r->n_lp;
    } else if (r->finish == BN_FINISH_STOP || r->finish == BN_FINISH_LENGTH) {
        ev = bn_openai_chunk_sse(r, s->model, s->model_name, s->created, "", 0, NULL, 0, r->finish,
                                 false);
        c->finish_sent = true;
    } else {
        /* an error after the 200 went out: an error event, then [DONE] */
        bn_api_error e;
        bn_api_fail(&e, r->finish == BN_FINISH_ERROR && r->http_status ? r->http_status : 503,
                    r->finish == BN_FINISH_ERROR ? "server_error" : "unavailable_error", NULL, "%s",
                    r->finish == BN_FINISH_ERROR
                        ? r->error
                        : "the request was cancelled (the server is shutting down)");
        char *json = bn_openai_error_json(&e);
        if (json) {
            size_t n = strlen(json);
            ev = bn_malloc(n + 9);
            if (ev) snprintf(ev, n + 9, "data: %s\n\n", json);
            free(json);
        }
        c->finish_sent = c->usage_sent = true;
    }
    pthread_mutex_unlock(&r->mu);
    return ev;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    req_ctx *c = cls;
    while (c->out_pos == c->out_len) {
        bn_free(c->out);
        c->out = NULL;
        c->out_len = c->out_pos = 0;
        bool end, gone;
        char *ev = next_event(c, &end, &gone);
        if (end) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!ev) return MHD_CONTENT_READER_END_WITH_ERROR; /* gone, or out of memory */
        c->out = ev;
        c->out_len = strlen(ev);
    }
    size_t n = c->out_len - c->out_pos;
    if (n > max) n = max;
    memcpy(buf, c->out + c->out_pos, n);
    c->out_pos += n;
    return (ssize_t)n;
}

static void stream_free(void *cls) { ctx_release(cls); }

static void count_outcome(bn_server *s, bn_srv_outcome outcome) {
    if (s->metrics.registry) bn_metric_inc(s->metrics.requests, outcome, 1);
}

static enum MHD_Result handle_completion(req_ctx *c, bn_req_kind kind) {
    bn_server *s = c->srv;
    bn_request *r = bn_request_new(c->id, kind);
    if (!r) return fail(c, 500, "server_error", NULL, "out of memory");
    c->req = r;
    bn_api_error err;
    if (!bn_openai_parse_request(c->body ? c->body : "", c->len, &s->limits, s->model,
                                 s->chat_format, r, &err)) {
        count_outcome(s, BN_SRV_OUTCOME_ERROR);
        return send_error(c, &err, NULL);
    }
    bn_submit_result sub = bn_sched_submit(s->sched, r);
    if (sub != BN_SUBMIT_OK) count_outcome(s, BN_SRV_OUTCOME_REJECTED);
    c->submitted = sub == BN_SUBMIT_OK;
    switch (sub) {
    case BN_SUBMIT_OK: break;
    case BN_SUBMIT_QUEUE_FULL:
        return fail(c, 503, "unavailable_error", NULL,
                    "every slot is busy and the queue is full; retry later");
    case BN_SUBMIT_STOPPING:
        return fail(c, 503, "unavailable_error", NULL, "the server is shutting down");
    }
    if (r->p.stream) {
        struct MHD_Response *resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 4096, stream_reader, c, stream_free);
        if (!resp) return MHD_NO;
        atomic_fetch_add(&c->refs, 1);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        add_common_headers(c, resp);
        c->status = 200;
        enum MHD_Result rc = MHD_queue_response(c->conn, 200, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    bool here = wait_output(c, never_ready);
    while (r->finish == BN_FINISH_NONE) /* cancelled: the scheduler lets go within a step */
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    if (!here) {
        c->status = 499; /* nginx's "client closed request", for the log */
        return MHD_NO;
    }
    if (r->finish == BN_FINISH_ERROR) {
        bn_api_fail(&err, r->http_status ? r->http_status : 500,
                    r->http_status == 400 ? "invalid_request_error" : "server_error", NULL, "%s",
                    r->error);
        return send_error(c, &err, NULL);
    }
    if (r->finish == BN_FINISH_CANCELLED)
        return fail(c, 503, "unavailable_error", NULL,
                    "the request was cancelled (the server is shutting down)");
    return send_body(c, 200, bn_openai_response_json(r, s->model, s->model_name, s->created),
                     "application/json", NULL);
}

/* ---- small endpoints ---- */

static enum MHD_Result handle_models(req_ctx *c) {
    bn_server *s = c->srv;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", s->model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)s->created);
    cJSON_AddStringToObject(m, "owned_by", "libbitnet");
    cJSON *meta = cJSON_AddObjectToObject(m, "meta");
    cJSON_AddStringToObject(meta, "arch", bitnet_model_arch(s->model));
    cJSON_AddNumberToObject(meta, "n_vocab", bitnet_model_n_vocab(s->model));
    cJSON_AddNumberToObject(meta, "n_ctx_train", bitnet_model_n_ctx_train(s->model));
    cJSON_AddNumberToObject(meta, "n_ctx_slot", bn_sched_n_ctx(s->sched));
    cJSON_AddNumberToObject(meta, "n_slots", s->opts->n_slots);
    cJSON_AddNumberToObject(meta, "n_params", (double)bitnet_model_n_params(s->model));
    cJSON_AddItemToArray(data, m);
    return send_json(c, 200, root);
}

/* llama-server's /tokenize and /detokenize (server/tokenize_api.c). */
static enum MHD_Result send_answer(req_ctx *c, char *json, const bn_api_error *err) {
    return json ? send_body(c, 200, json, "application/json", NULL) : send_error(c, err, NULL);
}

static enum MHD_Result handle_tokenize(req_ctx *c) {
    bn_api_error err;
    char *json = bn_serve_tokenize_json(c->body, c->len, &c->srv->limits, c->srv->model, &err);
    return send_answer(c, json, &err);
}

static enum MHD_Result handle_detokenize(req_ctx *c) {
    bn_api_error err;
    char *json = bn_serve_detokenize_json(c->body, c->len, &c->srv->limits, c->srv->model, &err);
    return send_answer(c, json, &err);
}

/* Prometheus text (server/metrics.c); 501 as llama-server with --no-metrics. */
static enum MHD_Result handle_metrics(req_ctx *c) {
    bn_server *s = c->srv;
    if (!s->metrics.registry)
        return fail(c, 501, "not_supported_error", NULL,
                    "metrics are off (start the server without --no-metrics)");
    size_t len = 0;
    char *text = bn_metrics_render(s->metrics.registry, &len);
    return send_body(c, 200, text, BN_METRICS_CONTENT_TYPE, NULL);
}

/* ---- routing ---- */

static route route_of(const char *path, const char **method_needed) {
    static const struct {
        const char *path, *method;
        route r;
    } table[] = {
        {"/health", "GET", R_HEALTH},
        {"/v1/health", "GET", R_HEALTH},
        {"/v1/models", "GET", R_MODELS},
        {"/models", "GET", R_MODELS},
        {"/v1/completions", "POST", R_COMPLETIONS},
        {"/completions", "POST", R_COMPLETIONS},
        {"/v1/chat/completions", "POST", R_CHAT},
        {"/chat/completions", "POST", R_CHAT},
        {"/tokenize", "POST", R_TOKENIZE},
        {"/detokenize", "POST", R_DETOKENIZE},
        {"/metrics", "GET", R_METRICS},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(path, table[i].path)) {
            *method_needed = table[i].method;
            return table[i].r;
        }
    return R_NONE;
}

static bool constant_time_eq(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* Checks made once the headers are in, before any body is read. */
static enum MHD_Result first_call(req_ctx *c, const char *url, const char *method) {
    bn_server *s = c->srv;
    if (strlen(url) > MAX_URI)
        return fail(c, 414, "invalid_request_error", NULL, "the URI is longer than 8192 bytes");
    size_t header_bytes = 0;
    MHD_get_connection_values(c->conn, MHD_HEADER_KIND, sum_header, &header_bytes);
    if (header_bytes > MAX_HEADER_BYTES)
        return fail(c, 431, "invalid_request_error", NULL,
                    "the request headers are larger than 8192 bytes");
    const char *needed = NULL;
    c->route = route_of(c->path, &needed);
    if (!strcmp(method, "OPTIONS")) {
        if (!s->opts->cors_origin)
            return fail(c, 405, "invalid_request_error", NULL,
                        "CORS is off (start the server with --cors ORIGIN)");
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        add_common_headers(c, resp);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        c->status = 204;
        enum MHD_Result rc = MHD_queue_response(c->conn, 204, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    if (c->route == R_NONE) return fail(c, 404, "invalid_request_error", NULL, "no such endpoint");
    if (strcmp(method, needed)) {
        char msg[96];
        snprintf(msg, sizeof msg, "use %s for %s", needed, c->path);
        bn_api_error e;
        bn_api_fail(&e, 405, "invalid_request_error", NULL, "%s", msg);
        struct MHD_Response *resp = NULL;
        char *body = bn_openai_error_json(&e);
        if (body) resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(body);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Allow", needed);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        add_common_headers(c, resp);
        c->status = 405;
        enum MHD_Result rc = MHD_queue_response(c->conn, 405, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    if (s->opts->api_key && c->route != R_HEALTH) {
        const char *auth = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Authorization");
        if (!auth || strncmp(auth, "Bearer ", 7) || !constant_time_eq(auth + 7, s->opts->api_key))
            return fail(c, 401, "authentication_error", NULL, "Invalid API Key");
    }
    const char *cl = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Content-Length");
    /* both framings at once is how request smuggling starts: refuse it */
    if (cl && MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Transfer-Encoding"))
        return fail(c, 400, "invalid_request_error", NULL,
                    "both Content-Length and Transfer-Encoding");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || end == cl)
            return fail(c, 400, "invalid_request_error", NULL, "bad Content-Length");
        if (n > s->limits.max_body) {
            char msg[96];
            snprintf(msg, sizeof msg, "the body has %llu bytes; the limit is %zu", n,
                     s->limits.max_body);
            return fail(c, 413, "invalid_request_error", NULL, msg);
        }
    }
    if (c->route == R_COMPLETIONS || c->route == R_CHAT || c->route == R_TOKENIZE ||
        c->route == R_DETOKENIZE) {
        const char *ct = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Content-Type");
        if (ct && strncmp(ct, "application/json", 16))
            return fail(c, 415, "invalid_request_error", NULL, "the body must be application/json");
    }
    return MHD_YES;
}

static enum MHD_Result dispatch(req_ctx *c) {
    bn_server *s = c->srv;
    int state = atomic_load_explicit(&s->state, memory_order_acquire);
    if (c->route == R_HEALTH) {
        if (state == BN_STATE_LOADING)
            return fail(c, 503, "unavailable_error", NULL, "Loading model");
        if (state == BN_STATE_DRAINING)
            return fail(c, 503, "unavailable_error", NULL, "Shutting down");
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "status", "ok");
        return send_json(c, 200, root);
    }
    if (state == BN_STATE_LOADING) return fail(c, 503, "unavailable_error", NULL, "Loading model");
    switch (c->route) {
    case R_MODELS: return handle_models(c);
    case R_COMPLETIONS: return handle_completion(c, BN_REQ_COMPLETION);
    case R_CHAT: return handle_completion(c, BN_REQ_CHAT);
    case R_TOKENIZE: return handle_tokenize(c);
    case R_DETOKENIZE: return handle_detokenize(c);
    case R_METRICS: return handle_metrics(c);
    default: break;
    }
    return fail(c, 404, "invalid_request_error", NULL, "no such endpoint");
}

static bn_guarded_conn *guard_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    bn_server *s = cls;
    req_ctx *c = *con_cls;
    if (!c) {
        c = bn_calloc(1, sizeof *c);
        if (!c) return MHD_NO;
        c->srv = s;
        c->conn = conn;
        c->id = atomic_fetch_add(&s->next_id, 1) + 1;
        atomic_fetch_add(&s->n_open_requests, 1);
        c->t_start = bn_serve_now_ms();
        atomic_init(&c->refs, 1);
        snprintf(c->method, sizeof c->method, "%s", method);
        snprintf(c->path, sizeof c->path, "%s", url);
        *con_cls = c;
        return first_call(c, url, method);
    }
    if (*upload_size) {
        if (c->len + *upload_size > s->limits.max_body) {
            /* a chunked body over the limit: no response can be queued in
             * the middle of a body, so the connection is closed */
            c->status = 413;
            return MHD_NO;
        }
        if (c->len + *upload_size > c->cap) {
            size_t cap = c->cap ? c->cap : 4096;
            while (cap < c->len + *upload_size) cap *= 2;
            if (cap > s->limits.max_body) cap = s->limits.max_body;
            char *bigger = bn_realloc(c->body, cap);
            if (!bigger) return MHD_NO;
            c->body = bigger;
            c->cap = cap;
        }
        memcpy(c->body + c->len, upload, *upload_size);
        c->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (c->read_done) return MHD_YES;
    c->read_done = true;
    bn_conn_guard_request_read(s->guard, guard_of(conn));
    /* generating may take longer than the idle timeout: the guard keeps the
     * read deadlines, nothing cuts off a request being answered */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int)0);
    return dispatch(c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    bn_server *s = cls;
    req_ctx *c = *con_cls;
    if (!c) return;
    *con_cls = NULL;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && c->status == 200) c->status = 499;
    /* a stream whose client left: cancelled now (the scheduler frees the slot
     * at its next step), and logged as such */
    if (c->req && s->sched && !atomic_load(&c->req->cancelled)) {
        pthread_mutex_lock(&c->req->mu);
        bool running = c->req->finish == BN_FINISH_NONE;
        pthread_mutex_unlock(&c->req->mu);
        if (running) bn_sched_cancel(s->sched, c->req);
    }
    double ms = bn_serve_now_ms() - c->t_start;
    bn_server_log_request(s, c->id, c->method, c->path, c->status ? c->status : 499, c->req, ms);
    if (c->submitted && s->metrics.registry)
        bn_metric_observe(s->metrics.request_duration, ms / 1e3);
    bn_conn_guard_request_done(s->guard, guard_of(conn));
    ctx_release(c);
    atomic_fetch_sub(&s->n_open_requests, 1);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    bn_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? bn_conn_guard_open(s->guard, ci->connect_fd) : NULL;
    } else {
        bn_conn_guard_close(s->guard, *socket_context);
        *socket_context = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    /* libmicrohttpd hands us its own format strings */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    bn_server_log(cls, "warn", "http: %s", msg);
}

bool bn_http_start(bn_server *s) {
    const bn_serve_opts *o = s->opts;
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, o->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, o->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)o->port);
        flags |= MHD_USE_IPv6;
    } else {
        bn_server_log(s, "error", "--host %s: not an IPv4 or IPv6 address", o->host);
        return false;
    }
    s->guard = bn_conn_guard_new(o->read_timeout_s * 1e3);
    if (!s->guard) return false;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)(o->read_timeout_s + 0.999), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)32768, MHD_OPTION_END);
    if (!s->daemon) {
        bn_server_log(s, "error", "cannot listen on %s:%d: %s", o->host, o->port,
                      errno ? strerror(errno) : "libmicrohttpd refused to start");
        bn_conn_guard_free(s->guard);
        s->guard = NULL;
        return false;
    }
    return true;
}

int bn_http_port(bn_server *s) {
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return di ? di->port : -1;
}

void bn_http_quiesce(bn_server *s) {
    if (!s->daemon) return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void bn_http_stop(bn_server *s) {
    if (s->daemon) MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    bn_conn_guard_free(s->guard);
    s->guard = NULL;
}
