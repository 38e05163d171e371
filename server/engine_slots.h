/* The scheduler's view of the engine: N independent sequences ("slots"),
 * each with its own tokens in the KV cache, evaluated together one step at a
 * time. This is the only file that knows how slots map onto libbitnet: the
 * sequences of one context and bitnet_decode_batch() (engine_slots.c). */
#ifndef BN_ENGINE_SLOTS_H
#define BN_ENGINE_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"

typedef struct bn_engine_slots bn_engine_slots;

/* One slot's part of a step: tokens appended after what its cache holds. */
typedef struct bn_slot_job {
    int32_t slot;
    const bitnet_token *tokens; /* [n] */
    int32_t n;
    /* out */
    bitnet_status status;
    const float *logits; /* [n_vocab] of the last token; valid until the next eval */
} bn_slot_job;

/* Polled while a step is evaluated, for each slot in it: true abandons the
 * step (every job's status is then BITNET_ERR_ABORTED and no token of it is
 * in the cache), so a cancelled request's prompt chunk stops within a layer. */
typedef bool (*bn_slot_abort_fn)(void *user_data, int32_t slot);

/* n_slots sequences of cp->n_ctx tokens each (cp's own abort callback is
 * replaced by should_abort, which may be NULL). NULL with the library's
 * message (bitnet_get_last_error) on failure. */
bn_engine_slots *bn_engine_slots_new(const bitnet_model *model, const bitnet_context_params *cp,
                                     int32_t n_slots, bn_slot_abort_fn should_abort,
                                     void *abort_user_data);
void bn_engine_slots_free(bn_engine_slots *es);

/* Evaluates every job in one step (each job's status says how it went). A
 * failed step leaves every slot's cache as it was: BITNET_ERR_ABORTED when
 * the abort poll asked for any of its slots. Returns BITNET_OK when all
 * succeeded, else the failure's status. */
bitnet_status bn_engine_slots_eval(bn_engine_slots *es, bn_slot_job *jobs, int32_t n_jobs);

/* Keeps the first n_keep tokens of a slot's cache (0 empties it). */
bitnet_status bn_engine_slots_keep(bn_engine_slots *es, int32_t slot, int32_t n_keep);

int32_t bn_engine_slots_n_past(const bn_engine_slots *es, int32_t slot);
int32_t bn_engine_slots_n_ctx(const bn_engine_slots *es); /* per slot */
int32_t bn_engine_slots_count(const bn_engine_slots *es);
/* Tokens held over all slots, and the capacity (for metrics). */
int64_t bn_engine_slots_cells_used(const bn_engine_slots *es);
int64_t bn_engine_slots_cells_total(const bn_engine_slots *es);
uint64_t bn_engine_slots_memory(const bn_engine_slots *es);
const char *bn_engine_slots_isa(const bn_engine_slots *es);
int32_t bn_engine_slots_n_threads(const bn_engine_slots *es);

#endif
