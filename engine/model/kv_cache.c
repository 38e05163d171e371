/* KV cache bookkeeping (kv_cache.h) and the public per-sequence calls:
 * bitnet_kv_seq_rm/cp/pos_max, bitnet_kv_cells_used, and the
 * single-sequence bitnet_n_past/bitnet_kv_truncate on sequence 0. */
#include "kv_cache.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "context.h"
#include "error.h"

/* Most cells per page: a sequence's positions then come in runs of up to
 * this many consecutive cells, which attention copies with one memcpy each
 * when it cannot read the cache in place. */
enum { MAX_PAGE = 64 };

static void *kv_alloc(size_t count, size_t size, uint64_t *mem_bytes) {
    void *p = bn_malloc_array(count ? count : 1, size);
    if (p) *mem_bytes += (uint64_t)(count ? count : 1) * size;
    return p;
}

bitnet_status bn_kv_cells_init(bn_kv_cells *kv, int32_t n_cells, int32_t n_seq,
                               uint64_t *mem_bytes) {
    memset(kv, 0, sizeof *kv);
    kv->n_cells = n_cells;
    kv->n_seq = n_seq;
    /* pages small enough that every sequence can own two of them */
    int32_t page = n_cells / (2 * n_seq);
    kv->page = page < 1 ? 1 : page > MAX_PAGE ? MAX_PAGE : page;
    kv->n_pages = (n_cells + kv->page - 1) / kv->page;
    const size_t nc = (size_t)n_cells, ns = (size_t)n_seq, np = (size_t)kv->n_pages;
    kv->pos = kv_alloc(nc, sizeof *kv->pos, mem_bytes);
    kv->seqs = kv_alloc(nc, sizeof *kv->seqs, mem_bytes);
    kv->page_owner = kv_alloc(np, sizeof *kv->page_owner, mem_bytes);
    kv->page_used = kv_alloc(np, sizeof *kv->page_used, mem_bytes);
    kv->seq_len = kv_alloc(ns, sizeof *kv->seq_len, mem_bytes);
    kv->seq_contig = kv_alloc(ns, sizeof *kv->seq_contig, mem_bytes);
    /* ns * nc cannot overflow size_t: both are bounded (64, 2^24) */
    kv->seq_cell = kv_alloc(ns * nc, sizeof *kv->seq_cell, mem_bytes);
    if (!kv->pos || !kv->seqs || !kv->page_owner || !kv->page_used || !kv->seq_len ||
        !kv->seq_contig || !kv->seq_cell)
        return BITNET_ERR_NOMEM;
    for (size_t c = 0; c < nc; c++) kv->pos[c] = -1;
    memset(kv->seqs, 0, nc * sizeof *kv->seqs);
    for (size_t p = 0; p < np; p++) kv->page_owner[p] = -1;
    memset(kv->page_used, 0, np * sizeof *kv->page_used);
    memset(kv->seq_len, 0, ns * sizeof *kv->seq_len);
    memset(kv->seq_contig, 0, ns * sizeof *kv->seq_contig);
    return BITNET_OK;
}

void bn_kv_cells_free(bn_kv_cells *kv) {
    if (!kv) return;
    bn_free(kv->pos);
    bn_free(kv->seqs);
    bn_free(kv->page_owner);
    bn_free(kv->page_used);
    bn_free(kv->seq_len);
    bn_free(kv->seq_contig);
    bn_free(kv->seq_cell);
    memset(kv, 0, sizeof *kv);
}

static int32_t *seq_cells_mut(bn_kv_cells *kv, int32_t s) {
    return kv->seq_cell + (size_t)s * (size_t)kv->n_cells;
}

/* The cell for sequence s's next position: the cell after its last one when
 * free and in a page that is s's or nobody's; else the first cell of the
 * first empty page; else the first free cell. */
static int32_t pick_cell(bn_kv_cells *kv, int32_t s) {
    const int32_t len = kv->seq_len[s];
    if (len > 0) {
        const int32_t c = bn_kv_seq_cells(kv, s)[len - 1] + 1;
        if (c < kv->n_cells && kv->seqs[c] == 0) {
            const int32_t owner = kv->page_owner[c / kv->page];
            if (owner == s || owner < 0) return c;
        }
    }
    for (int32_t p = 0; p < kv->n_pages; p++)
        if (kv->page_used[p] == 0) return p * kv->page;
    for (int32_t c = 0; c < kv->n_cells; c++)
        if (kv->seqs[c] == 0) return c;
    return -1; /* unreachable: the caller checked for a free cell */
}

int32_t bn_kv_append(bn_kv_cells *kv, int32_t s) {
    const int32_t c = pick_cell(kv, s);
    if (c < 0) return -1;
    const int32_t p = kv->seq_len[s];
    const int32_t pg = c / kv->page;
    if (kv->page_owner[pg] < 0) kv->page_owner[pg] = s;
    kv->page_used[pg]++;
    kv->n_used++;
    kv->pos[c] = p;
    kv->seqs[c] = (uint64_t)1 << s;
    int32_t *cells = seq_cells_mut(kv, s);
    cells[p] = c;
    if (kv->seq_contig[s] == p && (p == 0 || c == cells[0] + p)) kv->seq_contig[s] = p + 1;
    kv->seq_len[s] = p + 1;
    return c;
}

void bn_kv_keep(bn_kv_cells *kv, int32_t s, int32_t len) {
    const int32_t *cells = bn_kv_seq_cells(kv, s);
    const uint64_t bit = (uint64_t)1 << s;
    for (int32_t p = len; p < kv->seq_len[s]; p++) {
        const int32_t c = cells[p];
        kv->seqs[c] &= ~bit;
        if (kv->seqs[c] != 0) continue; /* still shared with another sequence */
        kv->pos[c] = -1;
        kv->n_used--;
        const int32_t pg = c / kv->page;
        if (--kv->page_used[pg] == 0) kv->page_owner[pg] = -1;
    }
    kv->seq_len[s] = len;
    if (kv->seq_contig[s] > len) kv->seq_contig[s] = len;
    if (len == 0) /* an empty sequence appends nowhere: its pages go back */
        for (int32_t pg = 0; pg < kv->n_pages; pg++)
            if (kv->page_owner[pg] == s) kv->page_owner[pg] = -1;
}

void bn_kv_share(bn_kv_cells *kv, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    const int32_t *from = bn_kv_seq_cells(kv, src);
    int32_t *to = seq_cells_mut(kv, dst);
    for (int32_t p = p0; p < p1; p++) {
        to[p] = from[p];
        kv->seqs[from[p]] |= (uint64_t)1 << dst;
    }
    kv->seq_len[dst] = p1;
    int32_t contig = kv->seq_contig[dst];
    while (contig < p1 && to[contig] == to[0] + contig) contig++;
    kv->seq_contig[dst] = contig;
}

bool bn_kv_cells_check(const bn_kv_cells *kv, char *msg, size_t msg_size) {
#define KV_BAD(...)                                                                                \
    do {                                                                                           \
        snprintf(msg, msg_size, __VA_ARGS__);                                                      \
        return false;                                                                              \
    } while (0)
    int32_t used = 0;
    for (int32_t c = 0; c < kv->n_cells; c++) {
        if ((kv->seqs[c] == 0) != (kv->pos[c] < 0))
            KV_BAD("cell %d: position %d but sequence set %#llx", c, kv->pos[c],
                   (unsigned long long)kv->seqs[c]);
        if (kv->seqs[c] >> (kv->n_seq - 1) >> 1)
            KV_BAD("cell %d: sequence set %#llx names a sequence >= %d", c,
                   (unsigned long long)kv->seqs[c], kv->n_seq);
        used += kv->seqs[c] != 0;
    }
    if (used != kv->n_used) KV_BAD("n_used %d but %d cells are used", kv->n_used, used);
    for (int32_t pg = 0; pg < kv->n_pages; pg++) {
        int32_t n = 0;
        for (int32_t c = pg * kv->page; c < (pg + 1) * kv->page && c < kv->n_cells; c++)
            n += kv->seqs[c] != 0;
        if (n != kv->page_used[pg])
            KV_BAD("page %d: page_used %d, counted %d", pg, kv->page_used[pg], n);
        if (n == 0 && kv->page_owner[pg] >= 0)
            KV_BAD("page %d is empty but owned by sequence %d", pg, kv->page_owner[pg]);
    }
    int32_t held = 0; /* (sequence, cell) pairs: each set bit once */
    for (int32_t s = 0; s < kv->n_seq; s++) {
        const int32_t *cells = bn_kv_seq_cells(kv, s);
        const int32_t len = kv->seq_len[s];
        int32_t contig = 0;
        while (contig < len && cells[contig] == cells[0] + contig) contig++;
        if (contig != kv->seq_contig[s])
            KV_BAD("sequence %d: seq_contig %d, counted %d", s, kv->seq_contig[s], contig);
        for (int32_t p = 0; p < len; p++) {
            const int32_t c = cells[p];
            if (c < 0 || c >= kv->n_cells) KV_BAD("sequence %d position %d: cell %d", s, p, c);
            if (kv->pos[c] != p || !(kv->seqs[c] >> s & 1))
                KV_BAD("sequence %d position %d: cell %d holds position %d, set %#llx", s, p, c,
                       kv->pos[c], (unsigned long long)kv->seqs[c]);
        }
        held += len;
    }
    int32_t bits = 0;
    for (int32_t c = 0; c < kv->n_cells; c++) bits += __builtin_popcountll(kv->seqs[c]);
    if (bits != held) KV_BAD("%d sequence bits set in cells, %d positions held", bits, held);
    return true;
#undef KV_BAD
}

/* ------------------------------------------------------------------------ */
/* Public calls                                                             */
/* ------------------------------------------------------------------------ */

static bool seq_ok(const bitnet_context *ctx, bitnet_seq_id seq, const char *fn, const char *what) {
    if (seq >= 0 && seq < ctx->kv.n_seq) return true;
    bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s: %s %d is outside [0, %d) (n_seq_max)", fn, what, seq,
            ctx->kv.n_seq);
    return false;
}

/* The range [p0, p1) with p0 < 0 meaning 0 and p1 < 0 the end. */
static void clamp_range(bitnet_pos *p0, bitnet_pos *p1) {
    if (*p0 < 0) *p0 = 0;
    if (*p1 < 0) *p1 = INT32_MAX;
}

static bitnet_status seq_rm_one(bitnet_context *ctx, bitnet_seq_id seq, bitnet_pos p0,
                                bitnet_pos p1) {
    const int32_t len = ctx->kv.seq_len[seq];
    if (p0 >= len || p0 >= p1) return BITNET_OK; /* nothing held there */
    if (p1 < len)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "bitnet_kv_seq_rm: removing positions [%d, %d) of sequence %d would leave "
                       "a gap before its positions %d..%d; only a tail [p0, end) can be removed",
                       p0, p1, seq, p1, len - 1);
    bn_kv_keep(&ctx->kv, seq, p0);
    return BITNET_OK;
}

bitnet_status bitnet_kv_seq_rm(bitnet_context *ctx, bitnet_seq_id seq, bitnet_pos p0,
                               bitnet_pos p1) {
    if (!ctx) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_kv_seq_rm: ctx is NULL");
    clamp_range(&p0, &p1);
    if (seq == -1) { /* every sequence: check all first, so that a refusal changes nothing */
        for (int32_t s = 0; s < ctx->kv.n_seq; s++) {
            const int32_t len = ctx->kv.seq_len[s];
            if (p0 < len && p0 < p1 && p1 < len) return seq_rm_one(ctx, s, p0, p1);
        }
        for (int32_t s = 0; s < ctx->kv.n_seq; s++) seq_rm_one(ctx, s, p0, p1);
        return BITNET_OK;
    }
    if (!seq_ok(ctx, seq, "bitnet_kv_seq_rm", "sequence")) return BITNET_ERR_INVALID_ARGUMENT;
    return seq_rm_one(ctx, seq, p0, p1);
}

bitnet_status bitnet_kv_seq_cp(bitnet_context *ctx, bitnet_seq_id src, bitnet_seq_id dst,
                               bitnet_pos p0, bitnet_pos p1) {
    if (!ctx) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_kv_seq_cp: ctx is NULL");
    if (!seq_ok(ctx, src, "bitnet_kv_seq_cp", "source sequence") ||
        !seq_ok(ctx, dst, "bitnet_kv_seq_cp", "destination sequence"))
        return BITNET_ERR_INVALID_ARGUMENT;
    clamp_range(&p0, &p1);
    const int32_t src_len = ctx->kv.seq_len[src], dst_len = ctx->kv.seq_len[dst];
    if (p1 > src_len) p1 = src_len;
    if (src == dst || p0 >= p1) return BITNET_OK; /* nothing to share */
    if (dst_len != p0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "bitnet_kv_seq_cp: sequence %d holds positions 0..%d, so it cannot take "
                       "positions from %d (a sequence's positions have no gaps and no "
                       "duplicates); remove them first: bitnet_kv_seq_rm(ctx, %d, %d, -1)",
                       dst, dst_len - 1, p0, dst, p0);
    bn_kv_share(&ctx->kv, src, dst, p0, p1);
    return BITNET_OK;
}

bitnet_pos bitnet_kv_seq_pos_max(const bitnet_context *ctx, bitnet_seq_id seq) {
    if (!ctx) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_kv_seq_pos_max: ctx is NULL");
        return -1;
    }
    if (!seq_ok(ctx, seq, "bitnet_kv_seq_pos_max", "sequence")) return -1;
    return ctx->kv.seq_len[seq] - 1;
}

int32_t bitnet_kv_cells_used(const bitnet_context *ctx) { return ctx ? ctx->kv.n_used : 0; }

int32_t bitnet_n_past(const bitnet_context *ctx) { return ctx ? ctx->kv.seq_len[0] : 0; }

bitnet_status bitnet_kv_truncate(bitnet_context *ctx, int32_t n_keep) {
    if (!ctx) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_kv_truncate: ctx is NULL");
    const int32_t n_past = ctx->kv.seq_len[0];
    if (n_keep < 0 || n_keep > n_past)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "bitnet_kv_truncate: n_keep %d outside [0, %d] (tokens in the cache)",
                       n_keep, n_past);
    bn_kv_keep(&ctx->kv, 0, n_keep);
    return BITNET_OK;
}
