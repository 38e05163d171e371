/* The scheduler's worker thread (see scheduler.h). Locking: `s->mu` guards the
 * queue, the slot table's request pointers and the stats; a request's own
 * `mu` guards its output. The worker never holds s->mu while evaluating, so
 * submits and cancels never wait for a step. */
#include "scheduler.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "stop_match.h"
#include "stream.h"

typedef struct slot {
    bn_request *req; /* NULL: free */
    bitnet_sampler *smp;
    int32_t n_done; /* prompt tokens in the cache */
    bool has_next;  /* next_tok sampled and not yet evaluated */
    bitnet_token next_tok;
    bn_stream stream; /* whole UTF-8 characters */
    char *pending;    /* generated text held back by the stop-string check */
    size_t pending_len, pending_cap;
    bool oom;             /* an append failed: end the request with an error */
    bitnet_token *cached; /* [n_ctx] tokens in the slot's KV cache, for prefix reuse */
    int32_t n_cached;
    int32_t *counts;       /* [n_vocab] occurrences among the generated tokens (penalties) */
    bitnet_token *touched; /* [n_ctx] ids whose count is nonzero, to reset cheaply */
    int32_t n_touched;
    double t_last_token_ms; /* for the per-token latency metric */
} slot;

struct bn_sched {
    const bitnet_model *model;
    bn_engine_slots *es;
    bn_sched_opts opts;
    int32_t n_vocab, n_ctx, n_slots;
    slot *slots;       /* [n_slots] */
    float *logits_buf; /* [n_vocab] penalised copy */
    bn_slot_job *jobs; /* [n_slots] */

    pthread_mutex_t mu;
    pthread_cond_t wake;
    bn_request **queue; /* ring of ring_cap = n_slots + queue_max */
    int32_t ring_cap, q_head, q_len;
    bool stopping, refusing;
    bn_sched_stats stats;
    pthread_t thread;
    bool thread_started;
};

/* ---- queue (s->mu held) ---- */

static bn_request *queue_pop(bn_sched *s) {
    if (!s->q_len) return NULL;
    bn_request *r = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % s->ring_cap;
    s->q_len--;
    return r;
}

/* Removes cancelled requests from the queue, keeping the order of the rest. */
static void queue_drop_cancelled(bn_sched *s) {
    int32_t kept = 0, n = s->q_len;
    for (int32_t i = 0; i < n; i++) {
        bn_request *r = s->queue[(s->q_head + i) % s->ring_cap];
        if (atomic_load(&r->cancelled)) {
            pthread_mutex_lock(&r->mu);
            bn_request_finish_locked(r, BN_FINISH_CANCELLED, 0, NULL);
            pthread_mutex_unlock(&r->mu);
            s->stats.requests_cancelled++;
            if (s->opts.metrics)
                bn_metric_inc(s->opts.metrics->requests, BN_SRV_OUTCOME_CANCELLED, 1);
            bn_request_release(r);
        } else {
            s->queue[(s->q_head + kept) % s->ring_cap] = r;
            kept++;
        }
    }
    s->q_len = kept;
}

/* ---- output ---- */

static void end_request(bn_sched *s, slot *sl, bn_finish finish, int status, const char *error) {
    bn_request *r = sl->req;
    pthread_mutex_lock(&r->mu);
    bn_request_finish_locked(r, finish, status, error);
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_lock(&s->mu);
    if (finish == BN_FINISH_CANCELLED)
        s->stats.requests_cancelled++;
    else if (finish == BN_FINISH_ERROR)
        s->stats.requests_failed++;
    else
        s->stats.requests_done++;
    sl->req = NULL;
    pthread_mutex_unlock(&s->mu);
    if (s->opts.metrics)
        bn_metric_inc(s->opts.metrics->requests,
                      finish == BN_FINISH_CANCELLED ? BN_SRV_OUTCOME_CANCELLED
                      : finish == BN_FINISH_ERROR   ? BN_SRV_OUTCOME_ERROR
                                                    : BN_SRV_OUTCOME_OK,
                      1);
    bn_request_release(r);
    for (int32_t i = 0; i < sl->n_touched; i++) sl->counts[sl->touched[i]] = 0;
    sl->n_touched = 0;
    sl->pending_len = 0;
    sl->has_next = false;
    bitnet_sampler_free(sl->smp);
    sl->smp = NULL;
}

/* Sends what the stop-string check allows; true when a stop string ended it. */
static bool release_pending(slot *sl, bool final) {
    bn_request *r = sl->req;
    bool found = false;
    size_t n = bn_stop_scan(sl->pending, sl->pending_len, r->p.stop, r->p.n_stop, &found);
    if (final && !found) n = sl->pending_len; /* nothing more can complete a stop string */
    pthread_mutex_lock(&r->mu);
    if (!bn_request_append_text_locked(r, sl->pending, n)) sl->oom = true;
    pthread_mutex_unlock(&r->mu);
    memmove(sl->pending, sl->pending + n, sl->pending_len - n);
    sl->pending_len -= n;
    if (found) sl->pending_len = 0;
    return found;
}

static bool on_piece(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    slot *sl = user_data;
    if (sl->pending_len + len > sl->pending_cap) {
        size_t cap = sl->pending_cap ? sl->pending_cap : 256;
        while (cap < sl->pending_len + len) cap *= 2;
        char *bigger = bn_realloc(sl->pending, cap);
        if (!bigger) {
            sl->oom = true;
            return false;
        }
        sl->pending = bigger;
        sl->pending_cap = cap;
    }
    memcpy(sl->pending + sl->pending_len, piece, len);
    sl->pending_len += len;
    return true;
}

/* The log-probability of `tok` and the n best alternatives, from raw logits. */
static void fill_logprobs(const float *logits, int32_t n_vocab, bitnet_token tok, int32_t n_top,
                          bn_token_logprob *out) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (int32_t i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - mx);
    double lse = mx + log(sum);
    memset(out, 0, sizeof *out);
    out->token = tok;
    out->logprob = (float)(logits[tok] - lse);
    /* insertion into a short sorted list: n_top <= 20 */
    for (int32_t i = 0; i < n_vocab && n_top > 0; i++) {
        float v = logits[i];
        int32_t k = out->n_top;
        if (k == n_top && v <= out->top_logprob[k - 1]) continue;
        if (k < n_top)
            out->n_top++;
        else
            k--;
        while (k > 0 && out->top_logprob[k - 1] < v) {
            out->top_logprob[k] = out->top_logprob[k - 1];
            out->top_token[k] = out->top_token[k - 1];
            k--;
        }
        out->top_logprob[k] = v;
        out->top_token[k] = i;
    }
    for (int32_t k = 0; k < out->n_top; k++)
        out->top_logprob[k] = (float)(out->top_logprob[k] - lse);
}

/* Samples the next token of a slot whose logits are ready, and passes its
 * text on. Ends the request when it is complete. */
static void sample_and_emit(bn_sched *s, slot *sl, const float *logits) {
    bn_request *r = sl->req;
    const bn_req_params *p = &r->p;
    const float *use = logits;
    if ((p->presence_penalty != 0 || p->frequency_penalty != 0) && sl->n_touched) {
        memcpy(s->logits_buf, logits, (size_t)s->n_vocab * sizeof *logits);
        for (int32_t i = 0; i < sl->n_touched; i++) {
            bitnet_token t = sl->touched[i];
            s->logits_buf[t] -= (float)sl->counts[t] * p->frequency_penalty + p->presence_penalty;
        }
        use = s->logits_buf;
    }
    bitnet_token tok = bitnet_sampler_sample(sl->smp, use, s->n_vocab);
    if (tok < 0) {
        end_request(s, sl, BN_FINISH_ERROR, 500, "sampling failed: out of memory");
        return;
    }
    bitnet_sampler_accept(sl->smp, tok);
    double now = bn_serve_now_ms();
    bn_srv_metrics *mx = s->opts.metrics;
    pthread_mutex_lock(&r->mu); /* the connection's log line reads it */
    bool first = r->t_first_token_ms == 0;
    if (first) r->t_first_token_ms = now;
    pthread_mutex_unlock(&r->mu);
    if (first) {
        if (mx) bn_metric_observe(mx->ttft, (now - r->t_submit_ms) / 1e3);
    } else if (mx) {
        bn_metric_observe(mx->token_latency, (now - sl->t_last_token_ms) / 1e3);
    }
    sl->t_last_token_ms = now;
    if (!p->ignore_eos && bitnet_token_is_eog(s->model, tok)) {
        bn_stream_push(&sl->stream, "", 0, -1, true);
        release_pending(sl, true);
        end_request(s, sl, BN_FINISH_STOP, 0, NULL);
        return;
    }
    if (sl->counts[tok]++ == 0) sl->touched[sl->n_touched++] = tok;
    pthread_mutex_lock(&r->mu);
    r->n_generated++; /* as usage.completion_tokens counts: without the EOG token */
    pthread_mutex_unlock(&r->mu);
    if (mx) bn_metric_inc(mx->generated_tokens, 0, 1);
    pthread_mutex_lock(&s->mu);
    s->stats.generated_tokens++;
    pthread_mutex_unlock(&s->mu);
    if (p->logprobs) {
        bn_token_logprob lp;
        fill_logprobs(logits, s->n_vocab, tok, p->top_logprobs, &lp);
        pthread_mutex_lock(&r->mu);
        if (!bn_request_append_logprob_locked(r, &lp)) sl->oom = true;
        pthread_mutex_unlock(&r->mu);
    }
    char piece[256];
    int32_t n = bitnet_token_to_piece(s->model, tok, piece, (int32_t)sizeof piece, false);
    if (n < 0) n = 0; /* a piece over 256 bytes is in no real vocabulary */
    bool last =
        r->n_generated >= p->max_tokens || bn_engine_slots_n_past(s->es, r->slot) + 1 > s->n_ctx;
    bn_stream_push(&sl->stream, piece, (size_t)n, tok, last);
    if (sl->oom) {
        end_request(s, sl, BN_FINISH_ERROR, 500, "out of memory");
        return;
    }
    if (release_pending(sl, last)) {
        end_request(s, sl, BN_FINISH_STOP, 0, NULL);
        return;
    }
    if (last) {
        end_request(s, sl, BN_FINISH_LENGTH, 0, NULL);
        return;
    }
    sl->next_tok = tok;
    sl->has_next = true;
}

/* ---- admission ---- */

static int32_t common_prefix(const bitnet_token *a, int32_t na, const bitnet_token *b, int32_t nb) {
    int32_t n = 0;
    while (n < na && n < nb && a[n] == b[n]) n++;
    return n;
}

/* Puts a request into a free slot: the one whose cache shares the longest
 * prefix with its prompt. s->mu held. False when no slot is free. */
static bool admit(bn_sched *s, bn_request *r) {
    int32_t best = -1, best_len = -1;
    for (int32_t i = 0; i < s->n_slots; i++) {
        if (s->slots[i].req) continue;
        int32_t n = common_prefix(s->slots[i].cached, s->slots[i].n_cached, r->prompt, r->n_prompt);
        if (n > best_len) {
            best = i;
            best_len = n;
        }
    }
    if (best < 0) return false;
    slot *sl = &s->slots[best];
    sl->req = r;
    r->slot = best;
    /* at least the last prompt token is evaluated again: its logits start the reply */
    int32_t keep = best_len < r->n_prompt ? best_len : r->n_prompt - 1;
    sl->n_done = keep;
    pthread_mutex_lock(&r->mu); /* s->mu, then r->mu: the one lock order */
    r->n_cached = keep;
    pthread_mutex_unlock(&r->mu);
    s->stats.prompt_tokens += (uint64_t)r->n_prompt;
    s->stats.prompt_tokens_cached += (uint64_t)keep;
    if (s->opts.metrics) bn_metric_inc(s->opts.metrics->prompt_tokens, 0, r->n_prompt);
    return true;
}

/* Slot setup that may fail, outside s->mu. False: the request was ended. */
static bool start_slot(bn_sched *s, slot *sl) {
    bn_request *r = sl->req;
    if (bn_engine_slots_keep(s->es, r->slot, sl->n_done) != BITNET_OK) {
        sl->n_done = 0;
        pthread_mutex_lock(&r->mu);
        r->n_cached = 0;
        pthread_mutex_unlock(&r->mu);
        bn_engine_slots_keep(s->es, r->slot, 0);
    }
    sl->n_cached = sl->n_done;
    sl->smp = bitnet_sampler_new(&r->p.sampling);
    if (!sl->smp) {
        end_request(s, sl, BN_FINISH_ERROR, 400, bitnet_get_last_error());
        return false;
    }
    for (int32_t i = 0; i < r->n_prompt; i++) bitnet_sampler_accept(sl->smp, r->prompt[i]);
    memset(&sl->stream, 0, sizeof sl->stream);
    sl->stream.on_piece = on_piece;
    sl->stream.user_data = sl;
    sl->pending_len = 0;
    sl->oom = false;
    sl->has_next = false;
    return true;
}

/* ---- the worker ---- */

static void publish_gauges(bn_sched *s) {
    bn_srv_metrics *mx = s->opts.metrics;
    if (!mx) return;
    pthread_mutex_lock(&s->mu);
    int32_t busy = 0;
    for (int32_t i = 0; i < s->n_slots; i++) busy += s->slots[i].req != NULL;
    double queued = s->q_len, used = (double)s->stats.kv_cells_used;
    pthread_mutex_unlock(&s->mu);
    bn_metric_set(mx->queue_depth, 0, queued);
    bn_metric_set(mx->slots_busy, 0, busy);
    bn_metric_set(mx->kv_used, 0, used);
}

static void run_step(bn_sched *s) {
    int32_t n_jobs = 0, budget = s->opts.prefill_chunk;
    for (int32_t i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        bn_request *r = sl->req;
        if (!r) continue;
        if (atomic_load(&r->cancelled)) {
            end_request(s, sl, BN_FINISH_CANCELLED, 0, NULL);
            continue;
        }
        bn_slot_job *job = &s->jobs[n_jobs];
        if (sl->n_done < r->n_prompt) {
            int32_t n = r->n_prompt - sl->n_done;
            if (n > budget) n = budget;
            if (n == 0) continue; /* its next chunk waits for the next step */
            budget -= n;
            *job = (bn_slot_job){.slot = i, .tokens = r->prompt + sl->n_done, .n = n};
        } else if (sl->has_next) {
            *job = (bn_slot_job){.slot = i, .tokens = &sl->next_tok, .n = 1};
        } else {
            continue;
        }
        n_jobs++;
    }
    if (!n_jobs) return;
    bn_engine_slots_eval(s->es, s->jobs, n_jobs);
    for (int32_t j = 0; j < n_jobs; j++) {
        bn_slot_job *job = &s->jobs[j];
        slot *sl = &s->slots[job->slot];
        bn_request *r = sl->req;
        if (job->status == BITNET_ERR_ABORTED) {
            /* the step was abandoned for a cancelled request: nothing of it is
             * in the cache; the others run their jobs again next step */
            if (atomic_load(&r->cancelled)) end_request(s, sl, BN_FINISH_CANCELLED, 0, NULL);
            continue;
        }
        if (job->status != BITNET_OK) {
            /* the cache no longer says what `cached` says */
            sl->n_cached = 0;
            bn_engine_slots_keep(s->es, job->slot, 0);
            bool full = job->status == BITNET_ERR_CONTEXT_FULL;
            end_request(s, sl, full ? BN_FINISH_LENGTH : BN_FINISH_ERROR, 500,
                        bitnet_get_last_error());
            continue;
        }
        /* the cache now holds these tokens */
        memcpy(sl->cached + sl->n_cached, job->tokens, (size_t)job->n * sizeof *job->tokens);
        sl->n_cached += job->n;
        bool prefill = sl->n_done < r->n_prompt;
        if (prefill) {
            sl->n_done += job->n;
            if (sl->n_done < r->n_prompt) continue;
        }
        sl->has_next = false;
        sample_and_emit(s, sl, job->logits);
    }
    int64_t used = 0;
    for (int32_t i = 0; i < s->n_slots; i++) used += s->slots[i].n_cached;
    pthread_mutex_lock(&s->mu);
    s->stats.steps++;
    s->stats.kv_cells_used = used;
    pthread_mutex_unlock(&s->mu);
}

static bool any_busy(const bn_sched *s) {
    for (int32_t i = 0; i < s->n_slots; i++)
        if (s->slots[i].req) return true;
    return false;
}

static void *worker(void *arg) {
    bn_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        queue_drop_cancelled(s);
        while (!s->stopping && !s->q_len && !any_busy(s)) {
            pthread_cond_wait(&s->wake, &s->mu);
            queue_drop_cancelled(s);
        }
        if (s->stopping && !s->q_len && !any_busy(s)) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        bool started[1024] = {false};
        while (s->q_len) {
            bn_request *r = s->queue[s->q_head];
            if (!admit(s, r)) break;
            queue_pop(s);
            started[r->slot] = true;
        }
        pthread_mutex_unlock(&s->mu);
        for (int32_t i = 0; i < s->n_slots; i++)
            if (started[i]) start_slot(s, &s->slots[i]);
        run_step(s);
        publish_gauges(s); /* also after a step that ended every request */
    }
    return NULL;
}

/* ---- public ---- */

/* The engine's abort poll: the slot's request was cancelled. Runs on the
 * worker thread, inside bn_engine_slots_eval. */
static bool slot_cancelled(void *user_data, int32_t index) {
    const bn_sched *s = user_data;
    const bn_request *r = s->slots[index].req;
    return r && atomic_load(&r->cancelled);
}

bn_sched *bn_sched_new(const bitnet_model *model, const bitnet_context_params *cp, int32_t n_slots,
                       const bn_sched_opts *opts) {
    bn_sched *s = bn_calloc(1, sizeof *s);
    if (!s) return NULL;
    bn_engine_slots *es = bn_engine_slots_new(model, cp, n_slots, slot_cancelled, s);
    if (!es) {
        bn_free(s);
        return NULL;
    }
    s->model = model;
    s->es = es;
    s->opts = *opts;
    if (s->opts.queue_max < 0) s->opts.queue_max = 0;
    if (s->opts.prefill_chunk < 1) s->opts.prefill_chunk = 1;
    s->n_vocab = bitnet_model_n_vocab(model);
    s->n_ctx = bn_engine_slots_n_ctx(es);
    s->n_slots = bn_engine_slots_count(es);
    s->stats.n_slots = s->n_slots;
    s->stats.queue_max = opts->queue_max;
    s->slots = bn_calloc((size_t)s->n_slots, sizeof *s->slots);
    s->jobs = bn_calloc((size_t)s->n_slots, sizeof *s->jobs);
    s->logits_buf = bn_malloc_array((size_t)s->n_vocab, sizeof *s->logits_buf);
    s->ring_cap = s->n_slots + s->opts.queue_max;
    s->queue = bn_calloc((size_t)s->ring_cap, sizeof *s->queue);
    bool ok = s->slots && s->jobs && s->logits_buf && s->queue && s->n_slots <= 1024;
    for (int32_t i = 0; ok && i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        sl->cached = bn_malloc_array((size_t)s->n_ctx, sizeof *sl->cached);
        sl->touched = bn_malloc_array((size_t)s->n_ctx, sizeof *sl->touched);
        sl->counts = bn_calloc((size_t)s->n_vocab, sizeof *sl->counts);
        ok = sl->cached && sl->touched && sl->counts;
    }
    if (ok) ok = !pthread_mutex_init(&s->mu, NULL);
    if (ok && pthread_cond_init(&s->wake, NULL)) {
        pthread_mutex_destroy(&s->mu);
        ok = false;
    }
    if (ok && pthread_create(&s->thread, NULL, worker, s)) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
        ok = false;
    }
    if (!ok) {
        for (int32_t i = 0; s->slots && i < s->n_slots; i++) {
            bn_free(s->slots[i].cached);
            bn_free(s->slots[i].touched);
            bn_free(s->slots[i].counts);
        }
        bn_free(s->slots);
        bn_free(s->jobs);
        bn_free(s->logits_buf);
        bn_free(s->queue);
        bn_engine_slots_free(es);
        bn_free(s);
        return NULL;
    }
    s->thread_started = true;
    return s;
}

void bn_sched_free(bn_sched *s) {
    if (!s) return;
    bn_sched_cancel_all(s);
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    s->refusing = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    for (int32_t i = 0; i < s->n_slots; i++) {
        bn_free(s->slots[i].cached);
        bn_free(s->slots[i].touched);
        bn_free(s->slots[i].counts);
        bn_free(s->slots[i].pending);
        bitnet_sampler_free(s->slots[i].smp);
    }
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    bn_free(s->slots);
    bn_free(s->jobs);
    bn_free(s->logits_buf);
    bn_free(s->queue);
    bn_engine_slots_free(s->es);
    bn_free(s);
}

bn_submit_result bn_sched_submit(bn_sched *s, bn_request *r) {
    pthread_mutex_lock(&s->mu);
    bn_submit_result res = BN_SUBMIT_OK;
    int32_t busy = 0;
    for (int32_t i = 0; i < s->n_slots; i++) busy += s->slots[i].req != NULL;
    /* every request passes through the ring; those beyond the free slots wait
     * there, at most queue_max of them */
    if (s->refusing)
        res = BN_SUBMIT_STOPPING;
    else if (busy + s->q_len >= s->n_slots + s->opts.queue_max || s->q_len >= s->ring_cap)
        res = BN_SUBMIT_QUEUE_FULL;
    if (res == BN_SUBMIT_OK) {
        bn_request_retain(r);
        s->queue[(s->q_head + s->q_len) % s->ring_cap] = r;
        s->q_len++;
        pthread_cond_broadcast(&s->wake);
    }
    pthread_mutex_unlock(&s->mu);
    return res;
}

void bn_sched_cancel(bn_sched *s, bn_request *r) {
    atomic_store(&r->cancelled, true);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

void bn_sched_refuse_new(bn_sched *s) {
    pthread_mutex_lock(&s->mu);
    s->refusing = true;
    pthread_mutex_unlock(&s->mu);
}

void bn_sched_cancel_all(bn_sched *s) {
    pthread_mutex_lock(&s->mu);
    for (int32_t i = 0; i < s->q_len; i++)
        atomic_store(&s->queue[(s->q_head + i) % s->ring_cap]->cancelled, true);
    for (int32_t i = 0; i < s->n_slots; i++)
        if (s->slots[i].req) atomic_store(&s->slots[i].req->cancelled, true);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

bool bn_sched_idle(bn_sched *s) {
    pthread_mutex_lock(&s->mu);
    bool idle = !s->q_len && !any_busy(s);
    pthread_mutex_unlock(&s->mu);
    return idle;
}

void bn_sched_get_stats(bn_sched *s, bn_sched_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->queue_len = s->q_len;
    out->slots_busy = 0;
    for (int32_t i = 0; i < s->n_slots; i++) out->slots_busy += s->slots[i].req != NULL;
    pthread_mutex_unlock(&s->mu);
    out->kv_cells_total = (int64_t)s->n_ctx * s->n_slots;
}

int32_t bn_sched_n_ctx(const bn_sched *s) { return s->n_ctx; }
int32_t bn_sched_n_slots(const bn_sched *s) { return s->n_slots; }
uint64_t bn_sched_memory(const bn_sched *s) { return bn_engine_slots_memory(s->es); }
const char *bn_sched_isa(const bn_sched *s) { return bn_engine_slots_isa(s->es); }
int32_t bn_sched_n_threads(const bn_sched *s) { return bn_engine_slots_n_threads(s->es); }
