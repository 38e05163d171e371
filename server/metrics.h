/* A small metrics registry rendered in the Prometheus text exposition
 * format (version 0.0.4): counters and gauges with at most one label whose
 * values are fixed when the metric is registered (outcome="ok|error|..."),
 * and histograms with fixed buckets.
 *
 * Fixed label values keep the number of series bounded (a request can never
 * create one) and let an update be an index, not a string lookup; every
 * series is exposed from the start with 0, so rate() sees the first event.
 *
 * Thread-safe: one mutex per registry guards every value, so the scheduler
 * can update while HTTP threads render; an update is a few adds under the
 * lock, and a render copies nothing it does not print. Registration happens
 * before the threads start (it is not meant to race with updates). */
#ifndef BN_SERVER_METRICS_H
#define BN_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bn_metrics bn_metrics;
typedef struct bn_metric bn_metric;

#define BN_METRIC_MAX_SERIES 16  /* label values per metric */
#define BN_METRIC_MAX_BUCKETS 32 /* histogram bounds, +Inf not counted */

/* NULL on out-of-memory (bitnet_get_last_error() says so). */
bn_metrics *bn_metrics_new(void);
void bn_metrics_free(bn_metrics *m); /* frees its metrics too; NULL is a no-op */

/* Registers a metric. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*, `label`
 * [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__", not "le"), `label_values`
 * is NULL-terminated (1..BN_METRIC_MAX_SERIES values); label NULL for a
 * single unlabelled series. Names, help text and label values are copied.
 * Returns NULL, with the reason in bitnet_get_last_error(), on a bad or
 * repeated name or out-of-memory. */
bn_metric *bn_metrics_counter(bn_metrics *m, const char *name, const char *help, const char *label,
                              const char *const *label_values);
bn_metric *bn_metrics_gauge(bn_metrics *m, const char *name, const char *help, const char *label,
                            const char *const *label_values);
/* `bounds`: strictly increasing finite upper bounds (the +Inf bucket is
 * implicit), 1..BN_METRIC_MAX_BUCKETS of them. */
bn_metric *bn_metrics_histogram(bn_metrics *m, const char *name, const char *help,
                                const double *bounds, size_t n_bounds);

/* Updates; `series` is the index of the label value (0 without a label).
 * They return false and change nothing on a misuse: a wrong metric kind,
 * an index out of range, a negative or non-finite counter increment, a
 * non-finite gauge value or observation. */
bool bn_metric_inc(bn_metric *c, size_t series, double by); /* counters */
bool bn_metric_set(bn_metric *g, size_t series, double v);  /* gauges */
bool bn_metric_add(bn_metric *g, size_t series, double by); /* gauges: +/- */
bool bn_metric_observe(bn_metric *h, double v);             /* histograms */

/* A series' current value (counters and gauges), or a histogram's count;
 * NaN on a misuse. For tests and logs. */
double bn_metric_value(bn_metric *metric, size_t series);

/* The whole registry as exposition text, in registration order. Returns a
 * NUL-terminated string from malloc (free it with free(), so it can be
 * handed to an HTTP library that frees it) and its length in *len; NULL on
 * out-of-memory. Serve it with BN_METRICS_CONTENT_TYPE. */
char *bn_metrics_render(bn_metrics *m, size_t *len);
#define BN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---------------------------------------------------------------------------
 * The metrics bitnet serve exposes (docs/server.md lists them)
 * ------------------------------------------------------------------------- */

/* Label values of bitnet_requests_total, by index. */
typedef enum bn_srv_outcome {
    BN_SRV_OUTCOME_OK = 0,    /* finished normally (stop or length) */
    BN_SRV_OUTCOME_ERROR,     /* refused (4xx) or failed (5xx) after it was accepted */
    BN_SRV_OUTCOME_CANCELLED, /* the client went away, or shutdown cancelled it */
    BN_SRV_OUTCOME_REJECTED,  /* queue full: 503 with Retry-After */
    BN_SRV_OUTCOME_COUNT
} bn_srv_outcome;

typedef struct bn_srv_metrics {
    bn_metrics *registry;
    bn_metric *requests;         /* counter, label outcome */
    bn_metric *prompt_tokens;    /* counter */
    bn_metric *generated_tokens; /* counter */
    bn_metric *ttft;             /* histogram: seconds from arrival to the first token */
    bn_metric *token_latency;    /* histogram: seconds between two generated tokens */
    bn_metric *request_duration; /* histogram: seconds from arrival to the last byte */
    bn_metric *queue_depth;      /* gauge: requests waiting for a slot */
    bn_metric *slots_busy;       /* gauge */
    bn_metric *slots_total;      /* gauge */
    bn_metric *kv_used;          /* gauge: KV cells holding a token */
    bn_metric *kv_total;         /* gauge: KV cells in the cache */
} bn_srv_metrics;

/* Registers them all in a new registry; false (nothing to free) on
 * out-of-memory. n_slots and kv_cells fill the two constant gauges. */
bool bn_srv_metrics_init(bn_srv_metrics *sm, double n_slots, double kv_cells);
void bn_srv_metrics_free(bn_srv_metrics *sm);

#endif
