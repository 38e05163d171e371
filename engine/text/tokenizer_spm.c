/* SentencePiece-style tokenization (tokenizer.ggml.model = "llama"), with
 * the same results as llama.cpp's llm_tokenizer_spm in bitnet.cpp's fork:
 *
 *   1. optionally prefix a space, then write every space as U+2581 "▁";
 *   2. start from one symbol per UTF-8 character;
 *   3. repeatedly merge the adjacent pair whose concatenation is a token with
 *      the highest score (ties: the leftmost pair);
 *   4. emit each final symbol's token, or its bytes as <0xXX> tokens.
 *
 * llama.cpp also keeps a "reverse merge" map to split a final symbol that is
 * not a token back into its parts. A symbol only ever grows by a merge whose
 * result is a token, so the only symbols that are not tokens are single
 * characters, which have no parts: step 4 is exactly its behaviour. */
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "merge_queue.h"
#include "tokenizer_internal.h"

typedef struct spm_sym {
    int32_t prev, next; /* -1: none */
    size_t off, n;      /* bytes in the escaped text; n == 0: merged away */
} spm_sym;

typedef struct spm_session {
    const bn_vocab *v;
    const char *text; /* escaped */
    spm_sym *sym;
    bn_merge_queue heap;
} spm_session;

static bool try_pair(spm_session *s, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return true;
    const spm_sym *l = &s->sym[left], *r = &s->sym[right];
    size_t size = l->n + r->n;
    int64_t id;
    if (!bn_strmap_get(&s->v->index, s->text + l->off, size, &id)) return true;
    return bn_merge_push(&s->heap, (bn_merge){left, right, s->v->tokens[id].score, size});
}

static bool emit_symbol(const bn_vocab *v, const char *text, size_t n, bn_tokbuf *out) {
    int64_t id;
    if (bn_strmap_get(&v->index, text, n, &id)) return bn_tokbuf_push(out, (bitnet_token)id);
    for (size_t i = 0; i < n; i++) {
        int32_t b = v->byte_token[(uint8_t)text[i]];
        if (b < 0) b = v->unk; /* no byte tokens at all: unknown, else dropped */
        if (b >= 0 && !bn_tokbuf_push(out, b)) return false;
    }
    return true;
}

bool bn_spm_tokenize(const bn_vocab *v, const char *text, size_t len, bool space_prefix,
                     bn_tokbuf *out) {
    /* escape: each space becomes the 3 bytes of U+2581 */
    size_t n_spaces = 0;
    for (size_t i = 0; i < len; i++) n_spaces += text[i] == ' ';
    size_t elen = len + 2 * n_spaces + (space_prefix ? 3 : 0);
    if (elen == 0) return true;
    char *esc = bn_malloc(elen);
    spm_sym *sym = bn_malloc_array(elen, sizeof *sym);
    bool ok = esc && sym;
    if (ok) {
        size_t k = 0;
        if (space_prefix) {
            memcpy(esc, "\xe2\x96\x81", 3);
            k = 3;
        }
        for (size_t i = 0; i < len; i++) {
            if (text[i] == ' ') {
                memcpy(esc + k, "\xe2\x96\x81", 3);
                k += 3;
            } else {
                esc[k++] = text[i];
            }
        }
    }
    spm_session s = {v, esc, sym, {0}};
    int32_t n_sym = 0;
    for (size_t off = 0; ok && off < elen;) {
        size_t n = bn_utf8_len((uint8_t)esc[off]);
        if (n > elen - off) n = elen - off;
        sym[n_sym] = (spm_sym){n_sym - 1, off + n == elen ? -1 : n_sym + 1, off, n};
        n_sym++;
        off += n;
    }
    for (int32_t i = 1; ok && i < n_sym; i++) ok = try_pair(&s, i - 1, i);

    while (ok && s.heap.n) {
        bn_merge p = bn_merge_pop(&s.heap);
        spm_sym *l = &sym[p.left], *r = &sym[p.right];
        /* stale: one side was merged away or grew since the pair was queued */
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        ok = try_pair(&s, l->prev, p.left) && try_pair(&s, p.left, l->next);
    }
    for (int32_t i = 0; ok && n_sym > 0 && i != -1; i = sym[i].next)
        ok = emit_symbol(v, esc + sym[i].off, sym[i].n, out);

    bn_merge_queue_free(&s.heap);
    bn_free(sym);
    bn_free(esc);
    if (!ok) bn_fail(BITNET_ERR_NOMEM, "out of memory tokenizing %zu bytes", len);
    return ok;
}
