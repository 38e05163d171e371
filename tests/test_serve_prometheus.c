/* bitnet serve's metric set as a real Prometheus reads it: a small HTTP
 * endpoint in this process serves bn_metrics_render()'s text on
 * 127.0.0.1, Debian's `prometheus` scrapes it every second, and its HTTP
 * API must return the token counter, a labelled counter and a histogram's
 * series, and see an update. Then the endpoint serves broken text, and the
 * target must go down with a parse error: the check is Prometheus' parser,
 * not ours. Skipped (exit 77) without the prometheus binary. */
#include "testutil.h"

#include <pthread.h>

#include "metrics.h"
#include "prometheus_harness.h"

typedef struct endpoint {
    int fd, port;
    bn_srv_metrics *metrics;
    volatile int stop, broken;
    int scrapes;
} endpoint;

/* One request per connection: read the head (bounded, 2 s), answer, close. */
static void serve_one(endpoint *e, int c) {
    struct timeval tv = {2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[8192];
    size_t len = 0;
    while (len + 1 < sizeof req) {
        ssize_t n = recv(c, req + len, sizeof req - len - 1, 0);
        if (n <= 0) break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n")) break;
    }
    req[len] = '\0';
    char *body = NULL;
    size_t body_len = 0;
    const char *status = "200 OK";
    if (strncmp(req, "GET /metrics ", 13)) {
        status = "404 Not Found";
    } else if (__atomic_load_n(&e->broken, __ATOMIC_ACQUIRE)) {
        body = strdup("# TYPE bitnet_generated_tokens_total counter\n"
                      "bitnet_generated_tokens_total{outcome=\"ok\" 5\n");
        body_len = body ? strlen(body) : 0;
    } else {
        body = bn_metrics_render(e->metrics->registry, &body_len);
    }
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: " BN_METRICS_CONTENT_TYPE
                     "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, body_len);
    send(c, head, (size_t)n, MSG_NOSIGNAL);
    if (body) send(c, body, body_len, MSG_NOSIGNAL);
    free(body);
    __atomic_add_fetch(&e->scrapes, 1, __ATOMIC_RELAXED);
}

static void *serve(void *arg) {
    endpoint *e = arg;
    while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
        struct pollfd pfd = {.fd = e->fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) continue;
        int c = accept(e->fd, NULL, NULL);
        if (c < 0) continue;
        serve_one(e, c);
        close(c);
    }
    return NULL;
}

static bool endpoint_open(endpoint *e) {
    e->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (e->fd < 0 || bind(e->fd, (struct sockaddr *)&a, sizeof a) || listen(e->fd, 16) ||
        getsockname(e->fd, (struct sockaddr *)&a, &len))
        return false;
    e->port = ntohs(a.sin_port);
    return true;
}

int main(void) {
    char bin[4096];
    if (!prom_find(bin, sizeof bin))
        SKIP("no prometheus binary (apt-get install prometheus, or set BITNET_PROMETHEUS)");

    bn_srv_metrics sm;
    CHECK(bn_srv_metrics_init(&sm, 4, 8192));
    bn_metric_inc(sm.generated_tokens, 0, 1234);
    bn_metric_inc(sm.prompt_tokens, 0, 567);
    bn_metric_inc(sm.requests, BN_SRV_OUTCOME_OK, 7);
    bn_metric_inc(sm.requests, BN_SRV_OUTCOME_CANCELLED, 1);
    for (int i = 0; i < 8; i++) {
        bn_metric_observe(sm.ttft, 0.02 * (i + 1));
        bn_metric_observe(sm.token_latency, 0.004 * (i + 1));
    }
    bn_metric_set(sm.queue_depth, 0, 3);

    endpoint e = {.metrics = &sm};
    CHECK(endpoint_open(&e));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, serve, &e) == 0);
    /* our own client sees the text first (a failure here is not Prometheus') */
    char path[64];
    snprintf(path, sizeof path, "/metrics");
    char *direct = prom_http_get(e.port, path, 2000);
    CHECK(direct && strstr(direct, "bitnet_generated_tokens_total 1234\n"));
    free(direct);

    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", e.port);
    prom p;
    bool started = prom_start(&p, bin, test_tmpdir("serve_prometheus/run"), target);
    CHECKF(started, "prometheus did not start (%s)", bin);
    if (started) {
        char v[128], health[64], error[512];
        double t0 = prom_now();
        CHECKF(prom_wait_value(&p, "bitnet_generated_tokens_total", "1234", 60, v, sizeof v),
               "generated tokens: %s", v);
        printf("prometheus %s scraped 127.0.0.1:%d: bitnet_generated_tokens_total = %s after "
               "%.1f s\n",
               bin, e.port, v, prom_now() - t0);
        CHECK(prom_target(&p, health, sizeof health, error, sizeof error));
        CHECKF(!strcmp(health, "up") && !error[0], "target %s: %s", health, error);
        CHECKF(prom_query(&p, "bitnet_prompt_tokens_total", v, sizeof v) && !strcmp(v, "567"), "%s",
               v);
        CHECKF(prom_query(&p, "bitnet_requests_total{outcome=\"cancelled\"}", v, sizeof v) &&
                   !strcmp(v, "1"),
               "%s", v);
        CHECKF(prom_query(&p, "sum(bitnet_requests_total)", v, sizeof v) && !strcmp(v, "8"), "%s",
               v);
        CHECKF(
            prom_query(&p, "bitnet_time_to_first_token_seconds_bucket{le=\"0.1\"}", v, sizeof v) &&
                !strcmp(v, "5"),
            "%s", v);
        CHECKF(prom_query(&p, "bitnet_time_per_output_token_seconds_count", v, sizeof v) &&
                   !strcmp(v, "8"),
               "%s", v);
        CHECKF(prom_query(&p, "bitnet_slots_total", v, sizeof v) && !strcmp(v, "4"), "%s", v);
        CHECKF(prom_query(&p, "bitnet_queue_depth", v, sizeof v) && !strcmp(v, "3"), "%s", v);

        /* an update shows up at the next scrape */
        bn_metric_inc(sm.generated_tokens, 0, 100);
        CHECKF(prom_wait_value(&p, "bitnet_generated_tokens_total", "1334", 30, v, sizeof v),
               "after +100: %s", v);

        /* broken text: Prometheus' parser refuses it and says so */
        __atomic_store_n(&e.broken, 1, __ATOMIC_RELEASE);
        bool down = false;
        for (double end = prom_now() + 30; !down && prom_now() < end; prom_sleep_ms(250))
            down = prom_target(&p, health, sizeof health, error, sizeof error) &&
                   !strcmp(health, "down") && error[0];
        CHECKF(down, "target stayed %s after broken text", health);
        printf("broken text: target %s, lastError \"%s\"\n", health, error);
        if (test_failures) prom_print_log(&p);
        prom_stop(&p);
    }
    __atomic_store_n(&e.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    close(e.fd);
    printf("%d scrapes served\n", e.scrapes);
    bn_srv_metrics_free(&sm);
    TEST_END();
}
