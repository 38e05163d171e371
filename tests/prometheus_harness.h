/* A real Prometheus (Debian's `prometheus`) for tests: started on loopback
 * with a scrape job for one target, asked through its HTTP API, stopped.
 * The exposition text a server renders is then checked by Prometheus' own
 * parser: a target whose text does not parse is "down" with the parser's
 * message in lastError. test_serve_prometheus.c points it at a small test
 * endpoint; a test of the real `bitnet serve` points it at /metrics.
 *
 * Only 127.0.0.1 is ever contacted; every wait is bounded. */
#ifndef BN_PROMETHEUS_HARNESS_H
#define BN_PROMETHEUS_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json_util.h"

typedef struct prom {
    pid_t pid;
    int port;
    char dir[4096], log[4200];
} prom;

static inline double prom_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void prom_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* $BITNET_PROMETHEUS, else `prometheus` on PATH, else /usr/bin/prometheus. */
static inline bool prom_find(char *out, size_t n) {
    const char *env = getenv("BITNET_PROMETHEUS");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return access(out, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    char dirs[8192];
    snprintf(dirs, sizeof dirs, "%s:/usr/bin", path ? path : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/prometheus", d);
        if (access(out, X_OK) == 0) return true;
    }
    return false;
}

/* A TCP port on 127.0.0.1 that was free a moment ago (0 on failure). */
static inline int prom_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* GET http://127.0.0.1:port/path (HTTP/1.0: the server closes when done).
 * Returns the body (malloc'd, NUL-terminated) of a 200 answer, else NULL. */
static inline char *prom_http_get(int port, const char *path, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[8192];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || n <= 0 || n >= (int)sizeof req ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (ssize_t got; buf; len += (size_t)got) {
        if (len + 1 >= cap) {
            char *grown = cap < (1u << 26) ? realloc(buf, cap *= 2) : NULL;
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        got = recv(fd, buf + len, cap - len - 1, 0);
        if (got <= 0) break;
    }
    close(fd);
    if (!buf) return NULL;
    buf[len] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4) || !body) {
        free(buf);
        return NULL;
    }
    memmove(buf, body + 4, strlen(body + 4) + 1);
    return buf;
}

/* Starts Prometheus scraping http://target/metrics every second; its
 * storage, config and log go under dir (made empty first). */
static inline bool prom_start(prom *p, const char *bin, const char *dir, const char *target) {
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    snprintf(p->log, sizeof p->log, "%s/prometheus.log", dir);
    char cmd[8400], conf[4200], data[4200], flag_conf[4300], flag_data[4300], flag_web[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) return false;
    snprintf(conf, sizeof conf, "%s/prometheus.yml", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    FILE *f = fopen(conf, "w");
    if (!f) return false;
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: bitnet\n    metrics_path: /metrics\n"
            "    static_configs:\n      - targets: ['%s']\n",
            target);
    fclose(f);
    p->port = prom_free_port();
    if (!p->port) return false;
    snprintf(flag_conf, sizeof flag_conf, "--config.file=%s", conf);
    snprintf(flag_data, sizeof flag_data, "--storage.tsdb.path=%s", data);
    snprintf(flag_web, sizeof flag_web, "--web.listen-address=127.0.0.1:%d", p->port);
    p->pid = fork();
    if (p->pid < 0) return false;
    if (p->pid == 0) {
        int log = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        execl(bin, bin, flag_conf, flag_data, flag_web, "--log.level=warn", (char *)NULL);
        _exit(127);
    }
    /* ready when its API answers (bounded: 60 s) */
    for (double end = prom_now() + 60; prom_now() < end; prom_sleep_ms(200)) {
        char *ready = prom_http_get(p->port, "/-/ready", 2000);
        free(ready);
        if (ready) return true;
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            return false;
        }
    }
    return false;
}

static inline void prom_stop(prom *p) {
    if (p->pid <= 0) return;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 100; i++, prom_sleep_ms(100))
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            return;
        }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

static inline void prom_print_log(const prom *p) {
    FILE *f = fopen(p->log, "r");
    char line[1024];
    fprintf(stderr, "--- %s:\n", p->log);
    while (f && fgets(line, sizeof line, f)) fputs(line, stderr);
    if (f) fclose(f);
}

static inline cJSON *prom_api(const prom *p, const char *path_and_query) {
    char *body = prom_http_get(p->port, path_and_query, 5000);
    if (!body) return NULL;
    char err[256];
    bn_json_limits lim = {.max_bytes = 1 << 26, .max_depth = 64};
    cJSON *j = bn_json_parse(body, strlen(body), &lim, err, sizeof err);
    free(body);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (!cJSON_IsString(status) || strcmp(status->valuestring, "success")) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The value (as Prometheus prints it) of the first series an instant query
 * returns; false when the query fails or returns nothing. */
static inline bool prom_query(const prom *p, const char *promql, char *out, size_t n) {
    char path[4096] = "/api/v1/query?query=";
    size_t k = strlen(path);
    for (const unsigned char *c = (const unsigned char *)promql; *c && k + 4 < sizeof path; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '_')
            path[k++] = (char)*c;
        else
            k += (size_t)snprintf(path + k, sizeof path - k, "%%%02X", *c);
    }
    path[k] = '\0';
    cJSON *j = prom_api(p, path);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(data, "result"), 0);
    const cJSON *value = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(first, "value"), 1);
    bool ok = cJSON_IsString(value);
    if (ok) snprintf(out, n, "%s", value->valuestring);
    cJSON_Delete(j);
    return ok;
}

/* Waits (at most timeout_s) until the query returns `want`; *last gets the
 * last value seen. */
static inline bool prom_wait_value(const prom *p, const char *promql, const char *want,
                                   double timeout_s, char *last, size_t n) {
    snprintf(last, n, "(no result)");
    for (double end = prom_now() + timeout_s; prom_now() < end; prom_sleep_ms(250))
        if (prom_query(p, promql, last, n) && !strcmp(last, want)) return true;
    return false;
}

/* The scrape target's health ("up", "down", "unknown") and last error. */
static inline bool prom_target(const prom *p, char *health, size_t hn, char *error, size_t en) {
    cJSON *j = prom_api(p, "/api/v1/targets");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(data, "activeTargets"), 0);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(t, "health");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(t, "lastError");
    bool ok = cJSON_IsString(h) && cJSON_IsString(e);
    if (ok) {
        snprintf(health, hn, "%s", h->valuestring);
        snprintf(error, en, "%s", e->valuestring);
    }
    cJSON_Delete(j);
    return ok;
}

#endif
