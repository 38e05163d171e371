/* The metrics registry (server/metrics.c): the exact exposition text
 * (HELP/TYPE lines, labels, cumulative buckets with le, _sum/_count,
 * escaping, number formats), refused registrations and updates, updates
 * from several threads while another renders, out-of-memory at every
 * allocation of bitnet serve's metric set, and docs/server.md naming every
 * metric. */
#include "testutil.h"

#include <pthread.h>

#include "alloc.h"
#include "bitnet.h"
#include "metrics.h"

static bool text_is(bn_metrics *m, const char *want) {
    size_t len = 0;
    char *text = bn_metrics_render(m, &len);
    bool ok = text && len == strlen(text) && !strcmp(text, want);
    if (!ok) fprintf(stderr, "--- got:\n%s--- want:\n%s---\n", text ? text : "(null)", want);
    free(text);
    return ok;
}

static void test_exact_text(void) {
    bn_metrics *m = bn_metrics_new();
    static const char *const outcomes[] = {"ok", "err\"or\\\n", NULL};
    bn_metric *c = bn_metrics_counter(m, "app_requests_total", "Requests\\done\nby outcome.",
                                      "outcome", outcomes);
    bn_metric *g = bn_metrics_gauge(m, "app:queue", "", NULL, NULL);
    static const double bounds[] = {0.5, 1, 2.5};
    bn_metric *h = bn_metrics_histogram(m, "app_latency_seconds", "Latency.", bounds, 3);
    CHECK(c && g && h);
    CHECK(text_is(m, "# HELP app_requests_total Requests\\\\done\\nby outcome.\n"
                     "# TYPE app_requests_total counter\n"
                     "app_requests_total{outcome=\"ok\"} 0\n"
                     "app_requests_total{outcome=\"err\\\"or\\\\\\n\"} 0\n"
                     "# HELP app:queue \n"
                     "# TYPE app:queue gauge\n"
                     "app:queue 0\n"
                     "# HELP app_latency_seconds Latency.\n"
                     "# TYPE app_latency_seconds histogram\n"
                     "app_latency_seconds_bucket{le=\"0.5\"} 0\n"
                     "app_latency_seconds_bucket{le=\"1\"} 0\n"
                     "app_latency_seconds_bucket{le=\"2.5\"} 0\n"
                     "app_latency_seconds_bucket{le=\"+Inf\"} 0\n"
                     "app_latency_seconds_sum 0\n"
                     "app_latency_seconds_count 0\n"));
    CHECK(bn_metric_inc(c, 0, 3) && bn_metric_inc(c, 0, 1) && bn_metric_inc(c, 1, 0.25));
    CHECK(bn_metric_set(g, 0, 5) && bn_metric_add(g, 0, -7));
    /* a value on a bound counts in that bucket (le = "less or equal") */
    CHECK(bn_metric_observe(h, 0.5) && bn_metric_observe(h, 0.75) && bn_metric_observe(h, 1) &&
          bn_metric_observe(h, 100) && bn_metric_observe(h, -1));
    CHECK(text_is(m, "# HELP app_requests_total Requests\\\\done\\nby outcome.\n"
                     "# TYPE app_requests_total counter\n"
                     "app_requests_total{outcome=\"ok\"} 4\n"
                     "app_requests_total{outcome=\"err\\\"or\\\\\\n\"} 0.25\n"
                     "# HELP app:queue \n"
                     "# TYPE app:queue gauge\n"
                     "app:queue -2\n"
                     "# HELP app_latency_seconds Latency.\n"
                     "# TYPE app_latency_seconds histogram\n"
                     "app_latency_seconds_bucket{le=\"0.5\"} 2\n"
                     "app_latency_seconds_bucket{le=\"1\"} 4\n"
                     "app_latency_seconds_bucket{le=\"2.5\"} 4\n"
                     "app_latency_seconds_bucket{le=\"+Inf\"} 5\n"
                     "app_latency_seconds_sum 101.25\n"
                     "app_latency_seconds_count 5\n"));
    CHECK(bn_metric_value(c, 0) == 4 && bn_metric_value(g, 0) == -2 && bn_metric_value(h, 0) == 5);

    /* misuse changes nothing */
    CHECK(!bn_metric_inc(c, 0, -1) && !bn_metric_inc(c, 2, 1) && !bn_metric_inc(c, 0, NAN) &&
          !bn_metric_inc(c, 0, INFINITY) && !bn_metric_set(c, 0, 1) && !bn_metric_inc(g, 0, 1) &&
          !bn_metric_set(g, 1, 1) && !bn_metric_set(g, 0, NAN) && !bn_metric_observe(h, NAN) &&
          !bn_metric_observe(g, 1) && !bn_metric_inc(h, 0, 1) && !bn_metric_inc(NULL, 0, 1));
    CHECK(bn_metric_value(c, 0) == 4 && bn_metric_value(g, 0) == -2 && bn_metric_value(h, 0) == 5);
    CHECK(isnan(bn_metric_value(c, 2)) && isnan(bn_metric_value(NULL, 0)));

    /* large and fractional values keep full precision */
    CHECK(bn_metric_set(g, 0, 9007199254740992.0) && bn_metric_inc(c, 1, 0.1));
    size_t len = 0;
    char *text = bn_metrics_render(m, &len);
    CHECK(text && strstr(text, "app:queue 9007199254740992\n"));
    CHECK(text && strstr(text, "{outcome=\"err\\\"or\\\\\\n\"} 0.35\n"));
    free(text);
    bn_metrics_free(m);
    bn_metrics_free(NULL);
}

static void test_bad_registrations(void) {
    bn_metrics *m = bn_metrics_new();
    static const char *const one[] = {"a", NULL}, *const none[] = {NULL};
    static const char *const many[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8",
                                       "9", "a", "b", "c", "d", "e", "f", "g", NULL};
    static const double up[] = {1, 2}, down[] = {2, 1}, same[] = {1, 1}, inf[] = {1, INFINITY};
    CHECK(bn_metrics_counter(m, "ok_total", "", NULL, NULL));
    CHECK(!bn_metrics_counter(m, "ok_total", "", NULL, NULL) &&
          strstr(bitnet_get_last_error(), "'ok_total' registered twice"));
    CHECK(!bn_metrics_counter(m, "1abc", "", NULL, NULL) &&
          strstr(bitnet_get_last_error(), "bad metric name '1abc'"));
    CHECK(!bn_metrics_counter(m, "a-b", "", NULL, NULL) &&
          !bn_metrics_counter(m, "", "", NULL, NULL) &&
          !bn_metrics_counter(m, NULL, "", NULL, NULL) &&
          !bn_metrics_counter(NULL, "x", "", NULL, NULL));
    CHECK(!bn_metrics_gauge(m, "g1", "", "a:b", one) &&
          !bn_metrics_gauge(m, "g2", "", "__x", one) && !bn_metrics_gauge(m, "g3", "", "le", one) &&
          !bn_metrics_gauge(m, "g4", "", "x", NULL) && !bn_metrics_gauge(m, "g5", "", "x", none) &&
          !bn_metrics_gauge(m, "g6", "", "x", many));
    CHECK(strstr(bitnet_get_last_error(), "17 label values, want 1..16"));
    CHECK(bn_metrics_histogram(m, "h_ok", "", up, 2));
    CHECK(!bn_metrics_histogram(m, "h1", "", down, 2) &&
          !bn_metrics_histogram(m, "h2", "", same, 2) &&
          !bn_metrics_histogram(m, "h3", "", inf, 2) && !bn_metrics_histogram(m, "h4", "", up, 0) &&
          !bn_metrics_histogram(m, "h5", "", NULL, 1) &&
          !bn_metrics_histogram(m, "h6", "", up, BN_METRIC_MAX_BUCKETS + 1));
    bn_metrics_free(m);
}

/* Writers on several threads while another renders: no update is lost and
 * every render is consistent (a histogram's +Inf bucket equals its count). */
typedef struct shared {
    bn_metric *c, *h;
    bn_metrics *m;
    volatile int stop;
    int renders, inconsistent;
} shared;

enum { N_WRITERS = 4, N_UPDATES = 20000 };

static void *writer(void *arg) {
    shared *s = arg;
    for (int i = 0; i < N_UPDATES; i++) {
        bn_metric_inc(s->c, (size_t)(i & 1), 1);
        bn_metric_observe(s->h, (i % 7) * 0.1);
    }
    return NULL;
}

static void *renderer(void *arg) {
    shared *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        char *text = bn_metrics_render(s->m, NULL);
        const char *inf = text ? strstr(text, "h_bucket{le=\"+Inf\"} ") : NULL;
        const char *count = text ? strstr(text, "h_count ") : NULL;
        if (!inf || !count || atoll(inf + 20) != atoll(count + 8)) s->inconsistent++;
        s->renders++;
        free(text);
    }
    return NULL;
}

static void test_threads(void) {
    shared s = {.m = bn_metrics_new()};
    static const char *const two[] = {"even", "odd", NULL};
    static const double b[] = {0.1, 0.3};
    s.c = bn_metrics_counter(s.m, "c_total", "", "parity", two);
    s.h = bn_metrics_histogram(s.m, "h", "", b, 2);
    pthread_t w[N_WRITERS], r;
    CHECK(pthread_create(&r, NULL, renderer, &s) == 0);
    for (int i = 0; i < N_WRITERS; i++) CHECK(pthread_create(&w[i], NULL, writer, &s) == 0);
    for (int i = 0; i < N_WRITERS; i++) pthread_join(w[i], NULL);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(r, NULL);
    CHECK(bn_metric_value(s.c, 0) == N_WRITERS * N_UPDATES / 2);
    CHECK(bn_metric_value(s.c, 1) == N_WRITERS * N_UPDATES / 2);
    CHECK(bn_metric_value(s.h, 0) == N_WRITERS * N_UPDATES);
    CHECKF(s.renders > 0 && s.inconsistent == 0, "%d of %d renders inconsistent", s.inconsistent,
           s.renders);
    bn_metrics_free(s.m);
}

static const char *const srv_names[] = {"bitnet_requests_total",
                                        "bitnet_prompt_tokens_total",
                                        "bitnet_generated_tokens_total",
                                        "bitnet_time_to_first_token_seconds",
                                        "bitnet_time_per_output_token_seconds",
                                        "bitnet_request_duration_seconds",
                                        "bitnet_queue_depth",
                                        "bitnet_slots_busy",
                                        "bitnet_slots_total",
                                        "bitnet_kv_cache_used_cells",
                                        "bitnet_kv_cache_cells"};

static void test_server_set(void) {
    bn_srv_metrics sm;
    CHECK(bn_srv_metrics_init(&sm, 4, 8192));
    CHECK(bn_metric_inc(sm.requests, BN_SRV_OUTCOME_CANCELLED, 1));
    CHECK(bn_metric_inc(sm.generated_tokens, 0, 17) && bn_metric_observe(sm.ttft, 0.2));
    char *text = bn_metrics_render(sm.registry, NULL);
    CHECK(text != NULL);
    for (size_t i = 0; text && i < sizeof srv_names / sizeof *srv_names; i++) {
        char type[128];
        snprintf(type, sizeof type, "# TYPE %s ", srv_names[i]);
        CHECKF(strstr(text, type), "%s missing", srv_names[i]);
    }
    CHECK(text && strstr(text, "bitnet_requests_total{outcome=\"ok\"} 0\n"
                               "bitnet_requests_total{outcome=\"error\"} 0\n"
                               "bitnet_requests_total{outcome=\"cancelled\"} 1\n"
                               "bitnet_requests_total{outcome=\"rejected\"} 0\n"));
    CHECK(text && strstr(text, "bitnet_generated_tokens_total 17\n"));
    CHECK(text && strstr(text, "bitnet_slots_total 4\n") &&
          strstr(text, "bitnet_kv_cache_cells 8192\n"));
    CHECK(text && strstr(text, "bitnet_time_to_first_token_seconds_bucket{le=\"0.1\"} 0\n"
                               "bitnet_time_to_first_token_seconds_bucket{le=\"0.25\"} 1\n"));
    free(text);
    bn_srv_metrics_free(&sm);
    bn_srv_metrics_free(&sm); /* twice is harmless */

    /* out of memory at each allocation in turn: a clean failure, no leak */
    int failures = 0, n;
    for (n = 0; n < 400; n++) {
        bn_alloc_fail_after(n, 0);
        bool ok = bn_srv_metrics_init(&sm, 1, 1);
        bn_alloc_fail_after(-1, 0);
        if (ok) {
            bn_srv_metrics_free(&sm);
            break;
        }
        failures++;
        CHECK(sm.registry == NULL);
    }
    CHECKF(failures > 20 && n < 400, "%d injected failures, stopped at %d", failures, n);

    /* docs/server.md lists every metric */
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/server.md", test_env("BITNET_SOURCE_DIR", "."));
    FILE *f = fopen(path, "rb");
    static char docs[1 << 18];
    size_t len = f ? fread(docs, 1, sizeof docs - 1, f) : 0;
    if (f) fclose(f);
    docs[len] = '\0';
    for (size_t i = 0; i < sizeof srv_names / sizeof *srv_names; i++) {
        char name[128];
        snprintf(name, sizeof name, "`%s`", srv_names[i]);
        CHECKF(strstr(docs, name), "docs/server.md does not list %s", name);
    }
}

int main(void) {
    test_exact_text();
    test_bad_registrations();
    test_threads();
    test_server_set();
    TEST_END();
}
