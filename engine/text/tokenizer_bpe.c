/* Byte-level BPE tokenization (tokenizer.ggml.model = "gpt2"), with the
 * same results as llama.cpp's llm_tokenizer_bpe in bitnet.cpp's fork:
 *
 *   1. the pre-tokenizer cuts the text into words (pretokenize.c);
 *   2. each word's bytes are written in GPT-2's printable byte alphabet;
 *   3. (llama-bpe only) a word that is itself a token is taken whole;
 *   4. otherwise, starting from one symbol per character, the adjacent pair
 *      with the lowest merge rank is merged until no listed merge applies
 *      (ties: the leftmost pair);
 *   5. each symbol becomes its token; a symbol that is not a token (possible
 *      only with an incomplete merge list) falls back to the one-character
 *      tokens of its bytes, and bytes without one are dropped, as llama.cpp
 *      does. */
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "merge_queue.h"
#include "tokenizer_internal.h"

typedef struct bpe_sym {
    int32_t prev, next;
    size_t off, n; /* in the encoded word; n == 0: merged away */
} bpe_sym;

typedef struct bpe_work {
    const bn_vocab *v;
    char *word; /* encoded */
    size_t word_cap;
    bpe_sym *sym;
    size_t sym_cap;
    bn_merge_queue heap;
    char *key; /* "left right" for merge lookups */
    size_t key_cap;
} bpe_work;

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = bn_realloc(*p, c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static bool try_pair(bpe_work *w, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return true;
    const bpe_sym *l = &w->sym[left], *r = &w->sym[right];
    size_t klen = l->n + 1 + r->n;
    if (!grow((void **)&w->key, &w->key_cap, klen, 1)) return false;
    memcpy(w->key, w->word + l->off, l->n);
    w->key[l->n] = ' ';
    memcpy(w->key + l->n + 1, w->word + r->off, r->n);
    int64_t rank;
    if (!bn_strmap_get(&w->v->merges, w->key, klen, &rank)) return true;
    return bn_merge_push(&w->heap, (bn_merge){left, right, -(double)rank, l->n + r->n});
}

static bool emit(const bn_vocab *v, const char *s, size_t n, bn_tokbuf *out) {
    int64_t id;
    if (bn_strmap_get(&v->index, s, n, &id)) return bn_tokbuf_push(out, (bitnet_token)id);
    for (size_t i = 0; i < n; i++)
        if (bn_strmap_get(&v->index, s + i, 1, &id) && !bn_tokbuf_push(out, (bitnet_token)id))
            return false;
    return true;
}

static bool encode_word(bpe_work *w, const char *text, size_t len, size_t *elen) {
    /* every byte becomes a code point below U+0144: at most 2 bytes */
    if (!grow((void **)&w->word, &w->word_cap, 2 * len, 1)) return false;
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        k += bn_utf8_encode(bn_bpe_byte_to_cpt((uint8_t)text[i]), w->word + k);
    *elen = k;
    return true;
}

static bool merge_word(bpe_work *w, size_t elen, bn_tokbuf *out) {
    const bn_vocab *v = w->v;
    if (v->ignore_merges && bn_strmap_get(&v->index, w->word, elen, NULL))
        return emit(v, w->word, elen, out);
    if (!grow((void **)&w->sym, &w->sym_cap, elen, sizeof *w->sym)) return false;
    int32_t n_sym = 0;
    for (size_t off = 0; off < elen;) {
        size_t n = bn_utf8_len((uint8_t)w->word[off]);
        if (n > elen - off) n = elen - off;
        w->sym[n_sym] = (bpe_sym){n_sym - 1, off + n == elen ? -1 : n_sym + 1, off, n};
        n_sym++;
        off += n;
    }
    w->heap.n = 0;
    for (int32_t i = 1; i < n_sym; i++)
        if (!try_pair(w, i - 1, i)) return false;
    while (w->heap.n) {
        bn_merge p = bn_merge_pop(&w->heap);
        bpe_sym *l = &w->sym[p.left], *r = &w->sym[p.right];
        /* stale: a side was merged away or has grown since */
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) w->sym[r->next].prev = p.left;
        if (!try_pair(w, l->prev, p.left) || !try_pair(w, p.left, l->next)) return false;
    }
    for (int32_t i = 0; n_sym > 0 && i != -1; i = w->sym[i].next)
        if (!emit(v, w->word + w->sym[i].off, w->sym[i].n, out)) return false;
    return true;
}

bool bn_bpe_tokenize(const bn_vocab *v, const char *text, size_t len, bn_tokbuf *out) {
    size_t *lens = NULL, n_pieces = 0;
    if (!bn_pretokenize(v->pre, text, len, &lens, &n_pieces)) return false;
    bpe_work w = {.v = v};
    bool ok = true;
    size_t off = 0;
    for (size_t p = 0; ok && p < n_pieces; p++) {
        size_t elen;
        ok = encode_word(&w, text + off, lens[p], &elen) && merge_word(&w, elen, out);
        off += lens[p];
    }
    bn_free(lens);
    bn_free(w.word);
    bn_free(w.sym);
    bn_merge_queue_free(&w.heap);
    bn_free(w.key);
    if (!ok) bn_fail(BITNET_ERR_NOMEM, "out of memory tokenizing %zu bytes", len);
    return ok;
}
