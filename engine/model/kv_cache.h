/* Bookkeeping of the KV cache: which cell holds which positions of which
 * sequences. The K and V values themselves live in the context
 * (k_cache/v_cache, one row or column per cell); this file decides where a
 * new token's K and V go and which cells a token attends to.
 *
 * A cell holds one position and a set of sequences (a bit per sequence):
 * bitnet_kv_seq_cp shares a prefix by adding the destination's bit to the
 * source's cells, without copying K or V. Every sequence holds the
 * positions 0..len-1 with no gap (seq_cell maps each to its cell), so a
 * token at position p attends to seq_cell[s][0..p].
 *
 * Cells are handed out by pages of `page` cells: a sequence appends into
 * the page its last cell lies in while the next cell is free and the page is
 * its own (or nobody's), otherwise it claims an empty page, otherwise takes
 * any free cell. A sequence's positions are therefore mostly runs of
 * consecutive cells, and a lone sequence sits in cells 0..len-1, where
 * attention reads the cache in place (see attention.c). */
#ifndef BN_KV_CACHE_H
#define BN_KV_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"

/* Most sequences a context can hold: one bit each in a cell's set. */
#define BN_KV_MAX_SEQ 64

typedef struct bn_kv_cells {
    int32_t n_cells; /* = n_ctx */
    int32_t n_seq;   /* n_seq_max */
    int32_t n_used;  /* cells holding at least one sequence */
    int32_t page;    /* cells per page */
    int32_t n_pages;
    int32_t *pos;        /* [n_cells] position held; -1: free */
    uint64_t *seqs;      /* [n_cells] bit s: sequence s holds the cell; 0: free */
    int32_t *page_owner; /* [n_pages] sequence appending into the page; -1: none */
    int32_t *page_used;  /* [n_pages] used cells of the page */
    int32_t *seq_len;    /* [n_seq] the sequence holds positions 0..seq_len-1 */
    /* [n_seq] positions 0..seq_contig-1 sit in the consecutive cells
     * seq_cell[s][0], seq_cell[s][0]+1, ... (attention reads them in place) */
    int32_t *seq_contig;
    int32_t *seq_cell; /* [n_seq][n_cells] cell of each position of each sequence */
} bn_kv_cells;

/* Allocates the bookkeeping of n_cells cells for n_seq sequences, all
 * empty; adds the bytes to *mem_bytes. BITNET_ERR_NOMEM on failure (then
 * bn_kv_cells_free releases what was allocated). */
bitnet_status bn_kv_cells_init(bn_kv_cells *kv, int32_t n_cells, int32_t n_seq,
                               uint64_t *mem_bytes);
void bn_kv_cells_free(bn_kv_cells *kv);

static inline int32_t bn_kv_free_cells(const bn_kv_cells *kv) { return kv->n_cells - kv->n_used; }

/* [seq_len[s]] the cells of sequence s in position order. */
static inline const int32_t *bn_kv_seq_cells(const bn_kv_cells *kv, int32_t s) {
    return kv->seq_cell + (size_t)s * (size_t)kv->n_cells;
}

/* Gives position seq_len[s] of sequence s a cell and returns it. The caller
 * has checked that a cell is free. */
int32_t bn_kv_append(bn_kv_cells *kv, int32_t s);

/* Keeps positions 0..len-1 of sequence s (len <= seq_len[s]); cells no
 * sequence holds any more become free. */
void bn_kv_keep(bn_kv_cells *kv, int32_t s, int32_t len);

/* Sequence dst (holding exactly positions 0..p0-1) also holds the cells of
 * src's positions p0..p1-1 (p1 <= seq_len[src]). */
void bn_kv_share(bn_kv_cells *kv, int32_t src, int32_t dst, int32_t p0, int32_t p1);

/* Checks every invariant above (for tests); false with a message naming
 * the first broken one. */
bool bn_kv_cells_check(const bn_kv_cells *kv, char *msg, size_t msg_size);

#endif
