/* Slots as the sequences of one bitnet_context (see engine_slots.h): slot i
 * is sequence i, and a step is one bitnet_decode_batch() over every job's
 * tokens, so the weights are read once per step whatever the number of
 * streams. Each slot may hold n_ctx tokens; the cache has n_ctx x n_slots
 * cells, so one slot can never take another's room. */
#include "engine_slots.h"

#include "alloc.h"
#include "error.h"

struct bn_engine_slots {
    int32_t n_slots;
    int32_t n_ctx; /* per slot */
    bitnet_context *ctx;
    bitnet_batch batch;
    int32_t batch_cap;
    /* the abort poll of the step in progress */
    bn_slot_abort_fn should_abort;
    void *abort_user_data;
    const bn_slot_job *jobs;
    int32_t n_jobs;
};

/* The context's abort callback: a step is abandoned when one of its jobs'
 * slots asks (the cache is then as before the step; the scheduler retries
 * the jobs whose requests go on). */
static bool step_abort(void *user_data) {
    const bn_engine_slots *es = user_data;
    for (int32_t j = 0; j < es->n_jobs; j++)
        if (es->should_abort(es->abort_user_data, es->jobs[j].slot)) return true;
    return false;
}

bn_engine_slots *bn_engine_slots_new(const bitnet_model *model, const bitnet_context_params *cp,
                                     int32_t n_slots, bn_slot_abort_fn should_abort,
                                     void *abort_user_data) {
    if (!model || !cp || n_slots < 1 || n_slots > 64 || cp->n_ctx < 1 ||
        cp->n_ctx > INT32_MAX / n_slots) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                "engine slots: %d slots of %d tokens (1..64 slots, the product below 2^31)",
                n_slots, cp ? cp->n_ctx : 0);
        return NULL;
    }
    bn_engine_slots *es = bn_calloc(1, sizeof *es);
    if (!es) return NULL;
    es->n_slots = n_slots;
    es->n_ctx = cp->n_ctx;
    es->should_abort = should_abort;
    es->abort_user_data = abort_user_data;
    bitnet_context_params p = *cp;
    p.n_ctx = cp->n_ctx * n_slots;
    p.n_seq_max = n_slots;
    p.abort_callback = should_abort ? step_abort : NULL;
    p.abort_user_data = should_abort ? es : NULL;
    es->ctx = bitnet_context_new(model, &p);
    if (!es->ctx) {
        bn_free(es);
        return NULL;
    }
    return es;
}

void bn_engine_slots_free(bn_engine_slots *es) {
    if (!es) return;
    bitnet_batch_free(&es->batch);
    bitnet_context_free(es->ctx);
    bn_free(es);
}

static bool reserve(bn_engine_slots *es, int32_t n) {
    if (n <= es->batch_cap) return true;
    bitnet_batch_free(&es->batch);
    es->batch_cap = 0;
    es->batch = bitnet_batch_init(n);
    if (!es->batch.token) return false;
    es->batch_cap = n;
    return true;
}

bitnet_status bn_engine_slots_eval(bn_engine_slots *es, bn_slot_job *jobs, int32_t n_jobs) {
    int64_t total = 0;
    for (int32_t j = 0; j < n_jobs; j++) {
        jobs[j].logits = NULL;
        jobs[j].status = BITNET_OK;
        if (jobs[j].slot < 0 || jobs[j].slot >= es->n_slots || jobs[j].n < 1 || !jobs[j].tokens)
            return jobs[j].status =
                       bn_fail(BITNET_ERR_INVALID_ARGUMENT, "engine slots: bad job %d", j);
        total += jobs[j].n;
    }
    if (total == 0) return BITNET_OK;
    if (total > INT32_MAX || !reserve(es, (int32_t)total)) {
        for (int32_t j = 0; j < n_jobs; j++) jobs[j].status = BITNET_ERR_NOMEM;
        return bn_fail(BITNET_ERR_NOMEM, "engine slots: a batch of %lld tokens", (long long)total);
    }
    /* [total] the jobs' tokens one after the other; the last of each keeps its logits */
    bitnet_batch *b = &es->batch;
    int32_t k = 0;
    for (int32_t j = 0; j < n_jobs; j++) {
        bitnet_pos pos = bitnet_kv_seq_pos_max(es->ctx, jobs[j].slot) + 1;
        for (int32_t i = 0; i < jobs[j].n; i++, k++) {
            b->token[k] = jobs[j].tokens[i];
            b->pos[k] = pos + i;
            b->seq_id[k] = jobs[j].slot;
            b->logits[k] = i == jobs[j].n - 1;
        }
    }
    b->n_tokens = k;
    es->jobs = jobs;
    es->n_jobs = n_jobs;
    bitnet_status st = bitnet_decode_batch(es->ctx, b);
    es->jobs = NULL;
    es->n_jobs = 0;
    /* all or nothing: on failure no job's tokens are in the cache */
    k = 0;
    for (int32_t j = 0; j < n_jobs; j++) {
        k += jobs[j].n;
        jobs[j].status = st;
        if (st == BITNET_OK) jobs[j].logits = bitnet_get_logits_ith(es->ctx, k - 1);
    }
    return st;
}

bitnet_status bn_engine_slots_keep(bn_engine_slots *es, int32_t slot, int32_t n_keep) {
    if (slot < 0 || slot >= es->n_slots)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "engine slots: slot %d", slot);
    if (n_keep > bitnet_kv_seq_pos_max(es->ctx, slot)) return BITNET_OK; /* nothing to remove */
    return bitnet_kv_seq_rm(es->ctx, slot, n_keep, -1);
}

int32_t bn_engine_slots_n_past(const bn_engine_slots *es, int32_t slot) {
    return slot >= 0 && slot < es->n_slots ? bitnet_kv_seq_pos_max(es->ctx, slot) + 1 : -1;
}

int32_t bn_engine_slots_n_ctx(const bn_engine_slots *es) { return es->n_ctx; }
int32_t bn_engine_slots_count(const bn_engine_slots *es) { return es->n_slots; }

int64_t bn_engine_slots_cells_used(const bn_engine_slots *es) {
    return bitnet_kv_cells_used(es->ctx);
}

int64_t bn_engine_slots_cells_total(const bn_engine_slots *es) {
    return bitnet_context_n_ctx(es->ctx);
}

uint64_t bn_engine_slots_memory(const bn_engine_slots *es) {
    return bitnet_context_memory(es->ctx);
}

const char *bn_engine_slots_isa(const bn_engine_slots *es) { return bitnet_context_isa(es->ctx); }

int32_t bn_engine_slots_n_threads(const bn_engine_slots *es) {
    return bitnet_context_n_threads(es->ctx);
}
