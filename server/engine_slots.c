/* Slots as one bitnet_context each (see engine_slots.h for why this file
 * exists). A step evaluates the jobs one after the other. */
#include "engine_slots.h"

#include "alloc.h"
#include "error.h"

typedef struct slot_abort {
    bn_slot_abort_fn fn;
    void *user_data;
    int32_t slot;
} slot_abort;

struct bn_engine_slots {
    int32_t n_slots;
    int32_t n_ctx;
    bitnet_context **ctx; /* [n_slots] */
    slot_abort *abort;    /* [n_slots] what each context's abort callback asks */
};

static bool abort_trampoline(void *user_data) {
    const slot_abort *a = user_data;
    return a->fn(a->user_data, a->slot);
}

bn_engine_slots *bn_engine_slots_new(const bitnet_model *model, const bitnet_context_params *cp,
                                     int32_t n_slots, bn_slot_abort_fn should_abort,
                                     void *abort_user_data) {
    if (!model || !cp || n_slots < 1 || n_slots > 1024) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "engine slots: %d slots (1..1024)", n_slots);
        return NULL;
    }
    bn_engine_slots *es = bn_calloc(1, sizeof *es);
    if (!es) return NULL;
    es->ctx = bn_calloc((size_t)n_slots, sizeof *es->ctx);
    es->abort = bn_calloc((size_t)n_slots, sizeof *es->abort);
    if (!es->ctx || !es->abort) {
        bn_free(es->ctx);
        bn_free(es->abort);
        bn_free(es);
        return NULL;
    }
    es->n_slots = n_slots;
    for (int32_t i = 0; i < n_slots; i++) {
        bitnet_context_params p = *cp;
        es->abort[i] = (slot_abort){should_abort, abort_user_data, i};
        p.abort_callback = should_abort ? abort_trampoline : NULL;
        p.abort_user_data = should_abort ? &es->abort[i] : NULL;
        es->ctx[i] = bitnet_context_new(model, &p);
        if (!es->ctx[i]) {
            bn_error_prefix("slot %d", i);
            bn_engine_slots_free(es);
            return NULL;
        }
    }
    es->n_ctx = bitnet_context_n_ctx(es->ctx[0]);
    return es;
}

void bn_engine_slots_free(bn_engine_slots *es) {
    if (!es) return;
    for (int32_t i = 0; i < es->n_slots; i++) bitnet_context_free(es->ctx ? es->ctx[i] : NULL);
    bn_free(es->ctx);
    bn_free(es->abort);
    bn_free(es);
}

bitnet_status bn_engine_slots_eval(bn_engine_slots *es, bn_slot_job *jobs, int32_t n_jobs) {
    bitnet_status first = BITNET_OK;
    for (int32_t j = 0; j < n_jobs; j++) {
        bn_slot_job *job = &jobs[j];
        job->logits = NULL;
        if (job->slot < 0 || job->slot >= es->n_slots || job->n < 1 || !job->tokens) {
            job->status = bn_fail(BITNET_ERR_INVALID_ARGUMENT, "engine slots: bad job %d", j);
        } else {
            bitnet_context *c = es->ctx[job->slot];
            job->status = bitnet_decode(c, job->tokens, job->n, false);
            if (job->status == BITNET_OK) job->logits = bitnet_get_logits_ith(c, -1);
        }
        if (job->status != BITNET_OK && first == BITNET_OK) first = job->status;
    }
    return first;
}

bitnet_status bn_engine_slots_keep(bn_engine_slots *es, int32_t slot, int32_t n_keep) {
    if (slot < 0 || slot >= es->n_slots)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "engine slots: slot %d", slot);
    return bitnet_kv_truncate(es->ctx[slot], n_keep);
}

int32_t bn_engine_slots_n_past(const bn_engine_slots *es, int32_t slot) {
    return slot >= 0 && slot < es->n_slots ? bitnet_n_past(es->ctx[slot]) : -1;
}

int32_t bn_engine_slots_n_ctx(const bn_engine_slots *es) { return es->n_ctx; }
int32_t bn_engine_slots_count(const bn_engine_slots *es) { return es->n_slots; }

int64_t bn_engine_slots_cells_used(const bn_engine_slots *es) {
    int64_t used = 0;
    for (int32_t i = 0; i < es->n_slots; i++) used += bitnet_n_past(es->ctx[i]);
    return used;
}

int64_t bn_engine_slots_cells_total(const bn_engine_slots *es) {
    return (int64_t)es->n_ctx * es->n_slots;
}

uint64_t bn_engine_slots_memory(const bn_engine_slots *es) {
    uint64_t bytes = 0;
    for (int32_t i = 0; i < es->n_slots; i++) bytes += bitnet_context_memory(es->ctx[i]);
    return bytes;
}

const char *bn_engine_slots_isa(const bn_engine_slots *es) {
    return bitnet_context_isa(es->ctx[0]);
}

int32_t bn_engine_slots_n_threads(const bn_engine_slots *es) {
    return bitnet_context_n_threads(es->ctx[0]);
}
