/* The metrics registry and its Prometheus text rendering (metrics.h). */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

typedef enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

struct bn_metric {
    bn_metrics *owner;
    metric_kind kind;
    char *name, *help, *label;
    char *label_values[BN_METRIC_MAX_SERIES];
    size_t n_series;
    double value[BN_METRIC_MAX_SERIES]; /* counters, gauges */
    /* histograms: per-bucket counts (not cumulative; the last is +Inf) */
    double bounds[BN_METRIC_MAX_BUCKETS];
    size_t n_bounds;
    unsigned long long bucket[BN_METRIC_MAX_BUCKETS + 1];
    unsigned long long count;
    double sum;
    struct bn_metric *next;
};

struct bn_metrics {
    pthread_mutex_t lock;
    bn_metric *first, *last;
};

bn_metrics *bn_metrics_new(void) {
    bn_metrics *m = bn_calloc(1, sizeof *m);
    if (!m) return NULL;
    if (pthread_mutex_init(&m->lock, NULL)) {
        bn_free(m);
        bn_fail(BITNET_ERR_NOMEM, "metrics: cannot create a mutex");
        return NULL;
    }
    return m;
}

static void metric_free(bn_metric *x) {
    bn_free(x->name);
    bn_free(x->help);
    bn_free(x->label);
    for (size_t i = 0; i < BN_METRIC_MAX_SERIES; i++) bn_free(x->label_values[i]);
    bn_free(x);
}

void bn_metrics_free(bn_metrics *m) {
    if (!m) return;
    for (bn_metric *x = m->first, *next; x; x = next) {
        next = x->next;
        metric_free(x);
    }
    pthread_mutex_destroy(&m->lock);
    bn_free(m);
}

/* ---------------------------------------------------------------------------
 * Registration
 * ------------------------------------------------------------------------- */

static bool name_ok(const char *s, bool colon) {
    if (!s || !*s) return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!alpha && !(p > s && c >= '0' && c <= '9')) return false;
    }
    return true;
}

static bn_metric *reg(bn_metrics *m, metric_kind kind, const char *name, const char *help,
                      const char *label, const char *const *values) {
    if (!m || !name_ok(name, true)) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "metrics: bad metric name '%s'",
                name ? name : "(null)");
        return NULL;
    }
    for (bn_metric *x = m->first; x; x = x->next)
        if (!strcmp(x->name, name)) {
            bn_fail(BITNET_ERR_INVALID_ARGUMENT, "metrics: '%s' registered twice", name);
            return NULL;
        }
    size_t n_values = 0;
    if (label) {
        if (!name_ok(label, false) || !strncmp(label, "__", 2) || !strcmp(label, "le") || !values) {
            bn_fail(BITNET_ERR_INVALID_ARGUMENT, "metrics: %s: bad label name '%s'", name, label);
            return NULL;
        }
        while (values[n_values]) n_values++;
        if (n_values == 0 || n_values > BN_METRIC_MAX_SERIES) {
            bn_fail(BITNET_ERR_INVALID_ARGUMENT, "metrics: %s: %zu label values, want 1..%d", name,
                    n_values, BN_METRIC_MAX_SERIES);
            return NULL;
        }
    }
    bn_metric *x = bn_calloc(1, sizeof *x);
    if (!x) return NULL;
    x->owner = m;
    x->kind = kind;
    x->n_series = label ? n_values : 1;
    bool ok = (x->name = bn_strdup(name)) && (x->help = bn_strdup(help ? help : ""));
    if (ok && label) ok = (x->label = bn_strdup(label)) != NULL;
    for (size_t i = 0; ok && i < n_values; i++) ok = (x->label_values[i] = bn_strdup(values[i]));
    if (!ok) {
        metric_free(x);
        return NULL;
    }
    if (m->last)
        m->last->next = x;
    else
        m->first = x;
    m->last = x;
    return x;
}

bn_metric *bn_metrics_counter(bn_metrics *m, const char *name, const char *help, const char *label,
                              const char *const *label_values) {
    return reg(m, KIND_COUNTER, name, help, label, label_values);
}

bn_metric *bn_metrics_gauge(bn_metrics *m, const char *name, const char *help, const char *label,
                            const char *const *label_values) {
    return reg(m, KIND_GAUGE, name, help, label, label_values);
}

bn_metric *bn_metrics_histogram(bn_metrics *m, const char *name, const char *help,
                                const double *bounds, size_t n_bounds) {
    if (!bounds || n_bounds == 0 || n_bounds > BN_METRIC_MAX_BUCKETS) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "metrics: %s: %zu buckets, want 1..%d", name, n_bounds,
                BN_METRIC_MAX_BUCKETS);
        return NULL;
    }
    for (size_t i = 0; i < n_bounds; i++)
        if (!isfinite(bounds[i]) || (i && !(bounds[i] > bounds[i - 1]))) {
            bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                    "metrics: %s: bucket bounds must be finite and increasing", name);
            return NULL;
        }
    bn_metric *x = reg(m, KIND_HISTOGRAM, name, help, NULL, NULL);
    if (!x) return NULL;
    memcpy(x->bounds, bounds, n_bounds * sizeof *bounds);
    x->n_bounds = n_bounds;
    return x;
}

/* ---------------------------------------------------------------------------
 * Updates
 * ------------------------------------------------------------------------- */

static bool update(bn_metric *x, metric_kind kind, size_t series, double v, bool add) {
    if (!x || x->kind != kind || series >= x->n_series || !isfinite(v)) return false;
    if (kind == KIND_COUNTER && v < 0) return false;
    pthread_mutex_lock(&x->owner->lock);
    x->value[series] = add ? x->value[series] + v : v;
    pthread_mutex_unlock(&x->owner->lock);
    return true;
}

bool bn_metric_inc(bn_metric *c, size_t series, double by) {
    return update(c, KIND_COUNTER, series, by, true);
}
bool bn_metric_set(bn_metric *g, size_t series, double v) {
    return update(g, KIND_GAUGE, series, v, false);
}
bool bn_metric_add(bn_metric *g, size_t series, double by) {
    return update(g, KIND_GAUGE, series, by, true);
}

bool bn_metric_observe(bn_metric *h, double v) {
    if (!h || h->kind != KIND_HISTOGRAM || !isfinite(v)) return false;
    size_t b = 0;
    while (b < h->n_bounds && v > h->bounds[b]) b++; /* le: a value on a bound counts in it */
    pthread_mutex_lock(&h->owner->lock);
    h->bucket[b]++;
    h->count++;
    h->sum += v;
    pthread_mutex_unlock(&h->owner->lock);
    return true;
}

double bn_metric_value(bn_metric *x, size_t series) {
    if (!x || (x->kind != KIND_HISTOGRAM && series >= x->n_series)) return NAN;
    pthread_mutex_lock(&x->owner->lock);
    double v = x->kind == KIND_HISTOGRAM ? (double)x->count : x->value[series];
    pthread_mutex_unlock(&x->owner->lock);
    return v;
}

/* ---------------------------------------------------------------------------
 * Rendering
 * ------------------------------------------------------------------------- */

typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    if (t->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 1;
        char *grown = bn_realloc(t->buf, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

/* HELP text escapes backslash and newline; label values also the double
 * quote (the exposition format's two escaping rules). */
static void put_escaped(text *t, const char *s, bool quote) {
    for (; *s; s++) {
        if (*s == '\\')
            put(t, "\\\\");
        else if (*s == '\n')
            put(t, "\\n");
        else if (quote && *s == '"')
            put(t, "\\\"");
        else
            put(t, "%c", *s);
    }
}

/* The shortest decimal that reads back as the same double (as Prometheus'
 * own clients print: 0.35, not 0.34999999999999998); integers print
 * without a fraction. Go's ParseFloat reads these and "+Inf", "-Inf",
 * "NaN". */
static void put_number(text *t, double v) {
    if (isnan(v)) {
        put(t, "NaN");
    } else if (isinf(v)) {
        put(t, v > 0 ? "+Inf" : "-Inf");
    } else {
        char buf[40];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, v);
            if (strtod(buf, NULL) == v) break;
        }
        put(t, "%s", buf);
    }
}

char *bn_metrics_render(bn_metrics *m, size_t *len) {
    text t = {.buf = bn_malloc(4096), .cap = 4096};
    if (!m || !t.buf) {
        bn_free(t.buf);
        return NULL;
    }
    t.buf[0] = '\0';
    static const char *const kind_name[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&m->lock);
    for (bn_metric *x = m->first; x; x = x->next) {
        put(&t, "# HELP %s ", x->name);
        put_escaped(&t, x->help, false);
        put(&t, "\n# TYPE %s %s\n", x->name, kind_name[x->kind]);
        if (x->kind == KIND_HISTOGRAM) {
            unsigned long long cum = 0;
            for (size_t b = 0; b <= x->n_bounds; b++) {
                cum += x->bucket[b];
                put(&t, "%s_bucket{le=\"", x->name);
                put_number(&t, b < x->n_bounds ? x->bounds[b] : INFINITY);
                put(&t, "\"} %llu\n", cum);
            }
            put(&t, "%s_sum ", x->name);
            put_number(&t, x->sum);
            put(&t, "\n%s_count %llu\n", x->name, x->count);
            continue;
        }
        for (size_t s = 0; s < x->n_series; s++) {
            put(&t, "%s", x->name);
            if (x->label) {
                put(&t, "{%s=\"", x->label);
                put_escaped(&t, x->label_values[s], true);
                put(&t, "\"}");
            }
            put(&t, " ");
            put_number(&t, x->value[s]);
            put(&t, "\n");
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (t.failed) {
        bn_free(t.buf);
        return NULL;
    }
    if (len) *len = t.len;
    return t.buf;
}

/* ---------------------------------------------------------------------------
 * bitnet serve's metric set
 * ------------------------------------------------------------------------- */

/* Seconds. TTFT spans queueing and prefill (milliseconds to a minute);
 * the gap between tokens is a decode step (a few ms to a fraction of a
 * second on CPU); a whole request up to the longest generation. */
static const double ttft_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                      1,     2.5,  5,     10,   30,  60};
static const double token_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.075, 0.1,    0.25,  0.5,  1};
static const double request_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

void bn_srv_metrics_free(bn_srv_metrics *sm) {
    if (!sm) return;
    bn_metrics_free(sm->registry);
    memset(sm, 0, sizeof *sm);
}

bool bn_srv_metrics_init(bn_srv_metrics *sm, double n_slots, double kv_cells) {
    static const char *const outcomes[] = {"ok", "error", "cancelled", "rejected", NULL};
    _Static_assert(sizeof outcomes / sizeof outcomes[0] == BN_SRV_OUTCOME_COUNT + 1,
                   "one label value per bn_srv_outcome");
    memset(sm, 0, sizeof *sm);
    bn_metrics *m = sm->registry = bn_metrics_new();
    if (!m) return false;
#define N(a) (sizeof(a) / sizeof((a)[0]))
    sm->requests =
        bn_metrics_counter(m, "bitnet_requests_total", "Completion requests finished, by outcome.",
                           "outcome", outcomes);
    sm->prompt_tokens =
        bn_metrics_counter(m, "bitnet_prompt_tokens_total", "Prompt tokens processed.", NULL, NULL);
    sm->generated_tokens =
        bn_metrics_counter(m, "bitnet_generated_tokens_total", "Tokens generated.", NULL, NULL);
    sm->ttft = bn_metrics_histogram(m, "bitnet_time_to_first_token_seconds",
                                    "Seconds from a request's arrival to its first generated "
                                    "token (queueing and prompt processing).",
                                    ttft_buckets, N(ttft_buckets));
    sm->token_latency = bn_metrics_histogram(m, "bitnet_time_per_output_token_seconds",
                                             "Seconds between two consecutive generated tokens "
                                             "of one request.",
                                             token_buckets, N(token_buckets));
    sm->request_duration = bn_metrics_histogram(m, "bitnet_request_duration_seconds",
                                                "Seconds from a request's arrival to its end.",
                                                request_buckets, N(request_buckets));
    sm->queue_depth =
        bn_metrics_gauge(m, "bitnet_queue_depth", "Requests waiting for a free slot.", NULL, NULL);
    sm->slots_busy =
        bn_metrics_gauge(m, "bitnet_slots_busy", "Slots decoding a request.", NULL, NULL);
    sm->slots_total = bn_metrics_gauge(m, "bitnet_slots_total",
                                       "Slots (sequences decoded together, -np).", NULL, NULL);
    sm->kv_used = bn_metrics_gauge(m, "bitnet_kv_cache_used_cells",
                                   "KV cache cells holding a token of some sequence.", NULL, NULL);
    sm->kv_total =
        bn_metrics_gauge(m, "bitnet_kv_cache_cells", "KV cache cells in all.", NULL, NULL);
#undef N
    if (!sm->requests || !sm->prompt_tokens || !sm->generated_tokens || !sm->ttft ||
        !sm->token_latency || !sm->request_duration || !sm->queue_depth || !sm->slots_busy ||
        !sm->slots_total || !sm->kv_used || !sm->kv_total) {
        bn_srv_metrics_free(sm);
        return false;
    }
    bn_metric_set(sm->slots_total, 0, n_slots);
    bn_metric_set(sm->kv_total, 0, kv_cells);
    return true;
}
