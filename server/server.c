/* bitnet serve's process: the HTTP daemon starts first (so /health answers
 * 503 while the model loads), the model loads on a thread of its own, and the
 * main thread waits for signals. SIGTERM/SIGINT drain: stop accepting, let
 * running requests finish until the drain deadline, cancel the rest, exit 0.
 * A second signal exits at once (status 1). Signals are blocked in every
 * thread and taken with sigtimedwait, so no handler runs in signal context. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cjson/cJSON.h"
#include "server_internal.h"

void bn_serve_default_opts(bn_serve_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->n_slots = 1;
    o->queue_max = 16;
    o->prefill_chunk = 64;
    o->limits.max_body = (size_t)1 << 20;
    o->limits.max_tokens = 1024;
    o->limits.max_stop = 16;
    o->limits.max_stop_len = 256;
    o->limits.max_messages = 1024;
    o->read_timeout_s = 10;
    o->drain_timeout_s = 10;
    o->max_connections = 256;
    o->use_mmap = true;
    o->metrics = true;
    o->log_level = 2;
}

static void iso_time(char *buf, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000L);
}

static void emit(bn_server *s, const char *level, cJSON *fields, const char *text) {
    char ts[40];
    iso_time(ts, sizeof ts);
    char *line = NULL;
    if (s->opts->log_json) {
        cJSON *o = fields ? fields : cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "level", level);
        cJSON_AddStringToObject(o, "msg", text);
        line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    } else {
        cJSON_Delete(fields);
    }
    pthread_mutex_lock(&s->log_mu);
    if (line)
        fprintf(stderr, "%s\n", line);
    else
        fprintf(stderr, "%s bitnet serve: %s: %s\n", ts, level, text);
    fflush(stderr);
    pthread_mutex_unlock(&s->log_mu);
    cJSON_free(line);
}

static int level_rank(const char *level) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(level, names[i])) return i;
    return 2;
}

void bn_server_log(bn_server *s, const char *level, const char *fmt, ...) {
    if (level_rank(level) > s->opts->log_level) return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    emit(s, level, NULL, text);
}

void bn_server_log_request(bn_server *s, uint64_t id, const char *method, const char *path,
                           int status, const bn_request *r, double ms) {
    if (s->opts->log_level < 2) return;
    char text[512];
    int n = snprintf(text, sizeof text, "req %llu %s %s %d %.1f ms", (unsigned long long)id, method,
                     path, status, ms);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "event", "request");
    cJSON_AddNumberToObject(f, "id", (double)id);
    cJSON_AddStringToObject(f, "method", method);
    cJSON_AddStringToObject(f, "path", path);
    cJSON_AddNumberToObject(f, "status", status);
    cJSON_AddNumberToObject(f, "ms", ms);
    if (r && r->n_prompt) {
        /* the scheduler is done with the request or never had it: no lock needed
         * for the fields it no longer writes, but take it for the sanitizers */
        pthread_mutex_lock((pthread_mutex_t *)&r->mu);
        double ttft = r->t_first_token_ms ? r->t_first_token_ms - r->t_submit_ms : -1;
        /* still running but cancelled: the scheduler lets go at its next step */
        const char *finish = r->finish == BN_FINISH_NONE && atomic_load(&r->cancelled)
                                 ? "cancelled"
                                 : bn_finish_name(r->finish);
        snprintf(text + n, sizeof text - (size_t)n,
                 " prompt=%d cached=%d completion=%d finish=%s ttft=%.1f ms", r->n_prompt,
                 r->n_cached, r->n_generated, finish, ttft);
        cJSON_AddNumberToObject(f, "prompt_tokens", r->n_prompt);
        cJSON_AddNumberToObject(f, "cached_tokens", r->n_cached);
        cJSON_AddNumberToObject(f, "completion_tokens", r->n_generated);
        cJSON_AddStringToObject(f, "finish", finish);
        cJSON_AddNumberToObject(f, "ttft_ms", ttft);
        pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
    }
    emit(s, "info", f, text);
}

typedef struct loader {
    bn_server *s;
    bool ok;          /* read after the join */
    atomic_bool done; /* polled by the main thread */
} loader;

static void log_from_library(bitnet_log_level level, const char *message, void *user_data) {
    bn_server *s = user_data;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    bn_server_log(s, names[level], "%s", message);
}

static void base_name(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && !strcmp(dot, ".gguf")) *dot = '\0';
}

static void *load_model(void *arg) {
    loader *ld = arg;
    bn_server *s = ld->s;
    const bn_serve_opts *o = s->opts;
    /* testing aid: a slow load, to see /health answer 503 meanwhile */
    const char *delay = getenv("BITNET_SERVE_TEST_LOAD_DELAY_MS");
    if (delay && atoi(delay) > 0) {
        struct timespec ts = {atoi(delay) / 1000, (atoi(delay) % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    bitnet_model_params mp = bitnet_model_default_params();
    mp.log_callback = log_from_library;
    mp.log_user_data = s;
    mp.use_mmap = o->use_mmap;
    mp.use_mlock = o->mlock;
    mp.check_tensors = o->check_tensors;
    bitnet_model *m = bitnet_model_load(o->model_path, &mp);
    if (!m) {
        bn_server_log(s, "error", "%s", bitnet_get_last_error());
        atomic_store(&ld->done, true);
        return NULL;
    }
    bitnet_context_params cp = bitnet_context_default_params();
    int32_t train = bitnet_model_n_ctx_train(m);
    /* -c is shared by the slots; 0: the training context, shared too */
    cp.n_ctx = (o->n_ctx ? o->n_ctx : train) / o->n_slots;
    cp.n_threads = o->n_threads;
    cp.isa = o->isa;
    cp.numerics = o->numerics;
    if (cp.n_ctx < 8) {
        bn_server_log(s, "error",
                      "a context of %d over %d slots leaves %d tokens a slot (at least 8)",
                      o->n_ctx ? o->n_ctx : train, o->n_slots, cp.n_ctx);
        bitnet_model_free(m);
        atomic_store(&ld->done, true);
        return NULL;
    }
    if (o->metrics &&
        !bn_srv_metrics_init(&s->metrics, o->n_slots, (double)cp.n_ctx * o->n_slots)) {
        bn_server_log(s, "error", "cannot set up the metrics: out of memory");
        bitnet_model_free(m);
        atomic_store(&ld->done, true);
        return NULL;
    }
    bn_sched_opts so = {.queue_max = o->queue_max,
                        .prefill_chunk = o->prefill_chunk,
                        .metrics = o->metrics ? &s->metrics : NULL};
    bn_sched *sched = bn_sched_new(m, &cp, o->n_slots, &so);
    if (!sched) {
        bn_server_log(s, "error", "%s", bitnet_get_last_error());
        bn_srv_metrics_free(&s->metrics);
        bitnet_model_free(m);
        atomic_store(&ld->done, true);
        return NULL;
    }
    bn_server_log(s, "info", "%d slots of %d tokens, %s, %d threads, %.1f MiB of contexts",
                  bn_sched_n_slots(sched), bn_sched_n_ctx(sched), bn_sched_isa(sched),
                  bn_sched_n_threads(sched), (double)bn_sched_memory(sched) / 1048576.0);
    int32_t room = bn_sched_n_ctx(sched) - 1; /* one token must fit after the prompt */
    if (s->limits.max_prompt <= 0 || s->limits.max_prompt > room) s->limits.max_prompt = room;
    s->chat_format = o->chat_format_set ? o->chat_format : bn_chat_format_detect(m);
    if (o->alias)
        snprintf(s->model_name, sizeof s->model_name, "%s", o->alias);
    else
        base_name(o->model_path, s->model_name, sizeof s->model_name);
    s->created = (int64_t)time(NULL);
    s->model = m;
    s->sched = sched;
    ld->ok = true;
    atomic_store(&ld->done, true);
    atomic_store_explicit(&s->state, BN_STATE_READY, memory_order_release);
    bn_server_log(s, "info", "model %s loaded (%s, chat format %s); ready", s->model_name,
                  bitnet_model_arch(m), bn_chat_format_name(s->chat_format));
    return NULL;
}

/* Waits up to ms for SIGTERM/SIGINT; true when one came. */
static bool wait_signal(const sigset_t *set, long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    int sig = sigtimedwait(set, NULL, &ts);
    return sig == SIGTERM || sig == SIGINT;
}

int bn_serve_run(const bn_serve_opts *o) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread started from here inherits it */

    bn_server s;
    memset(&s, 0, sizeof s);
    s.opts = o;
    atomic_init(&s.state, BN_STATE_LOADING);
    s.limits = o->limits; /* max_prompt is set once the slots exist, before READY */
    atomic_init(&s.next_id, 0);
    atomic_init(&s.n_open_requests, 0);
    pthread_mutex_init(&s.log_mu, NULL);
    if (!bn_http_start(&s)) {
        pthread_mutex_destroy(&s.log_mu);
        return 1;
    }
    bn_server_log(&s, "info", "listening on http://%s:%d (%s)", o->host, bn_http_port(&s),
                  o->api_key ? "API key required" : "no API key");

    loader ld = {.s = &s, .ok = false};
    atomic_init(&ld.done, false);
    pthread_t lt;
    if (pthread_create(&lt, NULL, load_model, &ld)) {
        bn_http_stop(&s);
        return 1;
    }
    bool signalled = false;
    for (;;) {
        if (wait_signal(&set, 100)) {
            signalled = true;
            break;
        }
        if (atomic_load(&ld.done) && !ld.ok) break;
    }
    if (signalled) bn_server_log(&s, "info", "signal: draining (a second signal exits at once)");
    atomic_store(&s.state, BN_STATE_DRAINING);
    bn_http_quiesce(&s);
    /* a load in progress cannot be interrupted; a second signal still can */
    while (!atomic_load(&ld.done))
        if (wait_signal(&set, 50)) {
            bn_server_log(&s, "warn", "second signal: exiting now");
            _exit(1);
        }
    pthread_join(lt, NULL);
    int rc = ld.ok ? 0 : 1;
    if (ld.ok) {
        bn_sched_refuse_new(s.sched);
        double t0 = bn_serve_now_ms();
        while (!bn_sched_idle(s.sched) && bn_serve_now_ms() - t0 < o->drain_timeout_s * 1e3)
            if (wait_signal(&set, 50)) {
                bn_server_log(&s, "warn", "second signal: exiting now");
                _exit(1);
            }
        if (!bn_sched_idle(s.sched)) {
            bn_server_log(&s, "warn", "drain deadline (%.0f s) passed: cancelling what runs",
                          o->drain_timeout_s);
            bn_sched_cancel_all(s.sched);
            while (!bn_sched_idle(s.sched))
                if (wait_signal(&set, 20)) _exit(1);
        }
        /* finished generations still send their last chunks: stopping the
         * daemon now would cut those streams short of `data: [DONE]` */
        while (atomic_load(&s.n_open_requests) > 0 &&
               bn_serve_now_ms() - t0 < o->drain_timeout_s * 1e3 + 2e3)
            if (wait_signal(&set, 20)) {
                bn_server_log(&s, "warn", "second signal: exiting now");
                _exit(1);
            }
    }
    bn_http_stop(&s); /* waits for the connection threads */
    bn_sched_free(s.sched);
    bn_srv_metrics_free(&s.metrics);
    bitnet_model_free(s.model);
    bn_server_log(&s, "info", "stopped");
    pthread_mutex_destroy(&s.log_mu);
    return signalled ? 0 : rc;
}
