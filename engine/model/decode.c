/* bitnet_decode (one sequence) and bitnet_decode_batch (several): both
 * check their input, then one driver gives every token a KV cell, cuts the
 * tokens into micro-batches of at most n_ubatch, runs bn_forward on each and
 * puts the cache back as it was if a pass fails. Also the batch allocator
 * and the logits getters. */
#include <string.h>

#include "alloc.h"
#include "context.h"
#include "error.h"

/* Most tokens bitnet_batch_init allocates for (as n_ctx's limit). */
enum { BATCH_MAX = 1 << 24 };

bitnet_batch bitnet_batch_init(int32_t n_tokens_max) {
    bitnet_batch b = {0};
    if (n_tokens_max <= 0 || n_tokens_max > BATCH_MAX) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                "bitnet_batch_init: n_tokens_max %d is outside [1, %d]", n_tokens_max, BATCH_MAX);
        return b;
    }
    const size_t n = (size_t)n_tokens_max;
    b.token = bn_malloc_array(n, sizeof *b.token);
    b.pos = bn_malloc_array(n, sizeof *b.pos);
    b.seq_id = bn_malloc_array(n, sizeof *b.seq_id);
    b.logits = bn_calloc(n, sizeof *b.logits);
    if (!b.token || !b.pos || !b.seq_id || !b.logits) {
        bitnet_batch_free(&b);
        bn_error_prefix("bitnet_batch_init(%d)", n_tokens_max);
    }
    return b;
}

void bitnet_batch_free(bitnet_batch *batch) {
    if (!batch) return;
    bn_free(batch->token);
    bn_free(batch->pos);
    bn_free(batch->seq_id);
    bn_free(batch->logits);
    memset(batch, 0, sizeof *batch);
}

/* What the driver evaluates: n tokens, each of sequence seq[i] (NULL: all of
 * sequence 0) at that sequence's next position, the logits of those flagged
 * in keep (NULL: of every token when all, else of the last one). */
typedef struct decode_input {
    const bitnet_token *token;
    const bitnet_seq_id *seq;
    const int8_t *keep;
    bool all;
    int32_t n;
} decode_input;

static bool wants_logits(const decode_input *in, int32_t i) {
    if (in->keep) return in->keep[i] != 0;
    return in->all || i == in->n - 1;
}

/* Cells, sequence, position and Q rounding of tokens [i0, i0 + T) into
 * ctx->ub, and the micro-batch indices of the tokens whose logits are kept.
 * Returns how many are kept. */
static int fill_ubatch(bitnet_context *ctx, const decode_input *in, int32_t i0, int T) {
    bn_ubatch *ub = &ctx->ub;
    int n_out = 0;
    for (int t = 0; t < T; t++) {
        const int32_t s = in->seq ? in->seq[i0 + t] : 0;
        ub->seq[t] = s;
        ub->pos[t] = ctx->kv.seq_len[s];
        ub->cell[t] = bn_kv_append(&ctx->kv, s);
        ctx->seq_count[s]++;
        if (wants_logits(in, i0 + t)) ub->out[n_out++] = t;
    }
    /* a sequence's Q is rounded to F16 when it has several tokens in this
     * pass: what decoding that sequence alone in the same chunks does */
    for (int t = 0; t < T; t++) ub->q_f16[t] = ctx->seq_count[ub->seq[t]] > 1;
    for (int t = 0; t < T; t++) ctx->seq_count[ub->seq[t]] = 0;
    return n_out;
}

/* Every sequence back to its length before the call. */
static void roll_back(bitnet_context *ctx) {
    for (int32_t s = 0; s < ctx->kv.n_seq; s++)
        if (ctx->kv.seq_len[s] > ctx->seq_len0[s]) bn_kv_keep(&ctx->kv, s, ctx->seq_len0[s]);
}

/* The caller checked ids, sequences, positions and that n free cells exist;
 * n_keep is the number of tokens whose logits are kept. */
static bitnet_status run_decode(bitnet_context *ctx, const decode_input *in, int32_t n_keep,
                                const char *fn) {
    const size_t V = (size_t)ctx->model->hp.n_vocab;
    ctx->n_outputs = 0;
    ctx->out_by_batch = false;
    ctx->n_out_index = 0;
    if (!bn_context_grow_logits(ctx, (size_t)n_keep * V)) return BITNET_ERR_NOMEM;
    memcpy(ctx->seq_len0, ctx->kv.seq_len, sizeof(int32_t) * (size_t)ctx->kv.n_seq);
    int32_t kept = 0;
    for (int32_t done = 0; done < in->n;) {
        const int T = in->n - done < ctx->n_ubatch ? (int)(in->n - done) : ctx->n_ubatch;
        const int n_out = fill_ubatch(ctx, in, done, T);
        bitnet_status st =
            bn_forward(ctx, in->token + done, T, n_out, ctx->logits + (size_t)kept * V);
        if (st) {
            roll_back(ctx);
            return st == BITNET_ERR_ABORTED ? bn_fail(st, "%s: aborted by the callback", fn) : st;
        }
        kept += n_out;
        done += T;
    }
    ctx->n_outputs = kept;
    return BITNET_OK;
}

bitnet_status bitnet_decode(bitnet_context *ctx, const bitnet_token *tokens, int32_t n_tokens,
                            bool all_logits) {
    if (!ctx || (!tokens && n_tokens > 0))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_decode: NULL argument");
    if (n_tokens <= 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_decode: n_tokens is %d", n_tokens);
    const bn_hparams *hp = &ctx->model->hp;
    if (n_tokens > bn_kv_free_cells(&ctx->kv))
        return bn_fail(BITNET_ERR_CONTEXT_FULL,
                       "bitnet_decode: %d tokens do not fit: %d of %d context positions are used",
                       n_tokens, ctx->kv.n_used, ctx->n_ctx);
    if (all_logits && n_tokens > ctx->n_batch)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "bitnet_decode: all_logits for %d tokens exceeds n_batch %d", n_tokens,
                       ctx->n_batch);
    for (int32_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return bn_fail(BITNET_ERR_INPUT,
                           "bitnet_decode: token %d at index %d is outside [0, %d)", tokens[i], i,
                           hp->n_vocab);
    const decode_input in = {.token = tokens, .all = all_logits, .n = n_tokens};
    return run_decode(ctx, &in, all_logits ? n_tokens : 1, "bitnet_decode");
}

/* The index of an earlier token of the batch with the same (seq, pos), -1
 * if none. Only called on an error path. */
static int32_t find_duplicate(const bitnet_batch *b, int32_t i) {
    for (int32_t j = 0; j < i; j++)
        if (b->seq_id[j] == b->seq_id[i] && b->pos[j] == b->pos[i]) return j;
    return -1;
}

/* Every field of every token; ctx->seq_count is left zeroed. */
static bitnet_status check_batch(bitnet_context *ctx, const bitnet_batch *b, int32_t *n_keep) {
    const int32_t n_vocab = ctx->model->hp.n_vocab, n_seq = ctx->kv.n_seq;
    bitnet_status st = BITNET_OK;
    int32_t keep = 0;
    for (int32_t i = 0; i < b->n_tokens && !st; i++) {
        const bitnet_token tok = b->token[i];
        const bitnet_seq_id s = b->seq_id[i];
        if (tok < 0 || tok >= n_vocab) {
            st = bn_fail(BITNET_ERR_INPUT,
                         "bitnet_decode_batch: batch index %d: token %d is outside [0, %d)", i, tok,
                         n_vocab);
            break;
        }
        if (s < 0 || s >= n_seq) {
            st = bn_fail(BITNET_ERR_INPUT,
                         "bitnet_decode_batch: batch index %d: seq_id %d is outside [0, %d) "
                         "(n_seq_max)",
                         i, s, n_seq);
            break;
        }
        /* positions of s continue its cache, in batch order */
        const int32_t expected = ctx->kv.seq_len[s] + ctx->seq_count[s];
        if (b->pos[i] != expected) {
            const int32_t dup = find_duplicate(b, i);
            if (dup >= 0)
                st = bn_fail(BITNET_ERR_INPUT,
                             "bitnet_decode_batch: batch index %d: (seq_id %d, pos %d) repeats "
                             "batch index %d",
                             i, s, b->pos[i], dup);
            else
                st = bn_fail(BITNET_ERR_INPUT,
                             "bitnet_decode_batch: batch index %d: pos %d does not continue "
                             "sequence %d, whose next position is %d (%d in the cache, %d earlier "
                             "in this batch)",
                             i, b->pos[i], s, expected, ctx->kv.seq_len[s], ctx->seq_count[s]);
            break;
        }
        ctx->seq_count[s]++;
        keep += b->logits ? b->logits[i] != 0 : i == b->n_tokens - 1;
    }
    memset(ctx->seq_count, 0, sizeof(int32_t) * (size_t)n_seq);
    *n_keep = keep;
    return st;
}

static bool grow_out_rows(bitnet_context *ctx, size_t n) {
    if (n <= ctx->out_row_cap) return true;
    int32_t *p = bn_malloc_array(n, sizeof *p);
    if (!p) return false;
    ctx->mem_bytes += (n - ctx->out_row_cap) * sizeof *p;
    bn_free(ctx->out_row);
    ctx->out_row = p;
    ctx->out_row_cap = n;
    return true;
}

bitnet_status bitnet_decode_batch(bitnet_context *ctx, const bitnet_batch *batch) {
    if (!ctx || !batch)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_decode_batch: NULL argument");
    if (batch->n_tokens <= 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_decode_batch: n_tokens is %d",
                       batch->n_tokens);
    if (!batch->token || !batch->pos || !batch->seq_id)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "bitnet_decode_batch: the batch's token, pos or seq_id array is NULL");
    int32_t n_keep = 0;
    bitnet_status st = check_batch(ctx, batch, &n_keep);
    if (st) return st;
    if (n_keep > ctx->n_batch)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "bitnet_decode_batch: %d tokens want logits, more than n_batch %d", n_keep,
                       ctx->n_batch);
    if (batch->n_tokens > bn_kv_free_cells(&ctx->kv))
        return bn_fail(BITNET_ERR_CONTEXT_FULL,
                       "bitnet_decode_batch: %d tokens do not fit: %d of %d KV cells are used",
                       batch->n_tokens, ctx->kv.n_used, ctx->n_ctx);
    if (!grow_out_rows(ctx, (size_t)batch->n_tokens)) return BITNET_ERR_NOMEM;
    const decode_input in = {
        .token = batch->token, .seq = batch->seq_id, .keep = batch->logits, .n = batch->n_tokens};
    st = run_decode(ctx, &in, n_keep, "bitnet_decode_batch");
    if (st) return st;
    int32_t row = 0;
    for (int32_t i = 0; i < batch->n_tokens; i++)
        ctx->out_row[i] = wants_logits(&in, i) ? row++ : -1;
    ctx->n_out_index = batch->n_tokens;
    ctx->out_by_batch = true;
    return BITNET_OK;
}

const float *bitnet_get_logits(const bitnet_context *ctx) { return ctx ? ctx->logits : NULL; }

int32_t bitnet_get_n_outputs(const bitnet_context *ctx) { return ctx ? ctx->n_outputs : 0; }

const float *bitnet_get_logits_ith(const bitnet_context *ctx, int32_t i) {
    if (!ctx || ctx->n_outputs == 0) return NULL;
    int32_t row;
    if (i == -1) {
        row = ctx->n_outputs - 1;
    } else if (ctx->out_by_batch) {
        if (i < 0 || i >= ctx->n_out_index || ctx->out_row[i] < 0) return NULL;
        row = ctx->out_row[i];
    } else {
        row = i < 0 ? i + ctx->n_outputs : i;
        if (row < 0 || row >= ctx->n_outputs) return NULL;
    }
    return ctx->logits + (size_t)row * (size_t)ctx->model->hp.n_vocab;
}
