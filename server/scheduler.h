/* The scheduler: one worker thread that owns the engine slots and runs steps.
 *
 * A step (1) admits queued requests into free slots (continuous batching:
 * requests join between steps, never waiting for the batch to drain), (2)
 * drops cancelled requests and frees their slots, (3) evaluates one token for
 * every generating slot plus at most `prefill_chunk` prompt tokens over all
 * prefilling slots (long prompts go in chunks so the streams of the others
 * keep a bounded inter-token latency), then (4) samples a token for every
 * slot whose logits are ready and hands its text to the request.
 *
 * A slot keeps its cache after a request: the next request whose prompt
 * starts with the same tokens reuses them (a repeated system prompt or a
 * chat history is not evaluated again). */
#ifndef BN_SERVE_SCHEDULER_H
#define BN_SERVE_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine_slots.h"
#include "metrics.h"
#include "request.h"

typedef struct bn_sched bn_sched;

typedef struct bn_sched_opts {
    int32_t queue_max;     /* requests waiting for a slot before submit refuses (>= 0) */
    int32_t prefill_chunk; /* prompt tokens per step over all slots (>= 1) */
    /* NULL: none. The scheduler counts tokens and finished requests, times the
     * first and every later token, and sets the queue, slot and KV gauges. */
    bn_srv_metrics *metrics;
} bn_sched_opts;

/* Counters and gauges (for /metrics and the logs). */
typedef struct bn_sched_stats {
    int32_t n_slots, slots_busy, queue_len, queue_max;
    uint64_t requests_done, requests_cancelled, requests_failed;
    uint64_t prompt_tokens, prompt_tokens_cached, generated_tokens, steps;
    int64_t kv_cells_used, kv_cells_total;
} bn_sched_stats;

typedef enum bn_submit_result {
    BN_SUBMIT_OK = 0,
    BN_SUBMIT_QUEUE_FULL, /* answer 503 with Retry-After */
    BN_SUBMIT_STOPPING,   /* the server is draining */
} bn_submit_result;

/* Starts the worker over n_slots engine slots of cp (made here, so that a
 * cancelled request's evaluation can be abandoned mid-way). NULL on failure
 * (bitnet_get_last_error says why). */
bn_sched *bn_sched_new(const bitnet_model *model, const bitnet_context_params *cp, int32_t n_slots,
                       const bn_sched_opts *opts);
/* Bytes of KV cache and scratch, the ISA and threads (for the log). */
uint64_t bn_sched_memory(const bn_sched *s);
const char *bn_sched_isa(const bn_sched *s);
int32_t bn_sched_n_threads(const bn_sched *s);
int32_t bn_sched_n_slots(const bn_sched *s);
/* Stops the worker (cancelling what runs) and frees everything. */
void bn_sched_free(bn_sched *s);

/* Queues a request (the scheduler takes its own reference). */
bn_submit_result bn_sched_submit(bn_sched *s, bn_request *r);
/* Marks a request cancelled and wakes the worker: a queued request is
 * dropped, a running one leaves its slot at the next step. */
void bn_sched_cancel(bn_sched *s, bn_request *r);
/* Draining: refuse new requests from now on. */
void bn_sched_refuse_new(bn_sched *s);
/* Cancels every queued and running request. */
void bn_sched_cancel_all(bn_sched *s);
/* True when no request is queued or running. */
bool bn_sched_idle(bn_sched *s);

void bn_sched_get_stats(bn_sched *s, bn_sched_stats *out);
int32_t bn_sched_n_ctx(const bn_sched *s); /* per slot */

#endif
