/* See vocab_check.h. */
#include "vocab_check.h"

#include <limits.h>
#include <string.h>

#include "fuzz.h"
#include "gguf_builder.h"
#include "tokenizer_internal.h"

static size_t text_len(const fuzz_vocab_keys *k, size_t i) {
    return k->len ? (size_t)k->len[i] : strlen(k->text[i]);
}

bitnet_status fuzz_vocab_load(const fuzz_vocab_keys *k, fuzz_vocab *fv) {
    memset(fv, 0, sizeof *fv);
    gb b = {0};
    uint64_t n_kv = 2 + (k->pre != NULL) + (k->score != NULL) + (k->type != NULL) +
                    (k->merge != NULL) + (k->bos >= 0) + (k->eos >= 0) + (k->unk >= 0) +
                    (k->add_bos >= 0);
    gb_header(&b, 3, 0, n_kv);
    gb_kv_str(&b, "tokenizer.ggml.model", k->model);
    if (k->pre) gb_kv_str(&b, "tokenizer.ggml.pre", k->pre);
    gb_arr(&b, "tokenizer.ggml.tokens", BN_GGUF_STRING, k->n);
    for (size_t i = 0; i < k->n; i++) gb_str_n(&b, k->text[i], text_len(k, i));
    if (k->score) {
        gb_arr(&b, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, k->n);
        for (size_t i = 0; i < k->n; i++) gb_f32(&b, k->score[i]);
    }
    if (k->type) {
        gb_arr(&b, "tokenizer.ggml.token_type", BN_GGUF_INT32, k->n);
        for (size_t i = 0; i < k->n; i++) gb_u32(&b, (uint32_t)k->type[i]);
    }
    if (k->merge) {
        gb_arr(&b, "tokenizer.ggml.merges", BN_GGUF_STRING, k->n_merges);
        for (size_t i = 0; i < k->n_merges; i++)
            gb_str_n(&b, k->merge[i], k->merge_len ? (size_t)k->merge_len[i] : strlen(k->merge[i]));
    }
    if (k->bos >= 0) gb_kv_u32(&b, "tokenizer.ggml.bos_token_id", (uint32_t)k->bos);
    if (k->eos >= 0) gb_kv_u32(&b, "tokenizer.ggml.eos_token_id", (uint32_t)k->eos);
    if (k->unk >= 0) gb_kv_u32(&b, "tokenizer.ggml.unknown_token_id", (uint32_t)k->unk);
    if (k->add_bos >= 0) {
        gb_key(&b, "tokenizer.ggml.add_bos_token", BN_GGUF_BOOL);
        gb_u8(&b, (uint8_t)k->add_bos);
    }
    fv->file = b.data;
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_status st = bn_gguf_open_memory(b.data, b.len, "fuzz.gguf", &fv->g);
    if (!st) st = bn_vocab_load(fv->g, &mp, &fv->v);
    if (st) fuzz_vocab_free(fv);
    return st;
}

void fuzz_vocab_free(fuzz_vocab *fv) {
    bn_vocab_free(fv->v);
    bn_gguf_close(fv->g);
    free(fv->file);
    memset(fv, 0, sizeof *fv);
}

static bool contains(const char *s, size_t n, const char *pat) {
    size_t m = strlen(pat);
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(s + i, pat, m)) return true;
    return false;
}

/* Whether llama.cpp's clean-up of spaces (BPE detokenize) could change s. */
static bool cleanup_may_change(const char *s, size_t n) {
    return contains(s, n, " ?") || contains(s, n, " !") || contains(s, n, " .") ||
           contains(s, n, " ,") || contains(s, n, " '");
}

/* SentencePiece steps through text by the length its lead bytes claim (as
 * llama.cpp does) after spaces become U+2581: a truncated sequence that
 * swallows a space ("\xd0 ") makes a symbol of the lead byte and the first
 * byte of U+2581, which comes back as those bytes, not as a space. */
static bool spm_swallows_space(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t l = bn_utf8_len((uint8_t)s[i]);
        for (size_t j = 1; j < l && i + j < n; j++)
            if (s[i + j] == ' ') return true;
        i += l;
    }
    return false;
}

/* The detokenize size query matches the write, and the text is NUL-terminated. */
static void check_detokenize(const bn_vocab *v, const bitnet_token *ids, int32_t n, bool remove,
                             bool unparse, char **out, int32_t *out_len) {
    int32_t need = bn_vocab_detokenize(v, ids, n, NULL, 0, remove, unparse);
    FUZZ_ASSERT(need < 0 && need != INT32_MIN);
    int32_t len = -need - 1;
    char *buf = malloc((size_t)len + 1);
    FUZZ_ASSERT(buf != NULL);
    if (len > 0) FUZZ_ASSERT(bn_vocab_detokenize(v, ids, n, buf, len, remove, unparse) == need);
    FUZZ_ASSERT(bn_vocab_detokenize(v, ids, n, buf, len + 1, remove, unparse) == len);
    FUZZ_ASSERT(buf[len] == '\0');
    *out = buf;
    *out_len = len;
}

void fuzz_vocab_exercise(const bn_vocab *v, const char *text, size_t len, unsigned flags) {
    const bool add = flags & FUZZ_TOK_ADD_SPECIAL, parse = flags & FUZZ_TOK_PARSE_SPECIAL;
    const bool remove = flags & FUZZ_TOK_REMOVE_SPECIAL, unparse = flags & FUZZ_TOK_UNPARSE_SPECIAL;
    const int32_t n_vocab = bn_vocab_n_tokens(v);
    const bool spm = bn_vocab_kind_of(v) == BN_VOCAB_SPM;

    int32_t need = bn_vocab_tokenize(v, text, (int32_t)len, NULL, 0, add, parse);
    FUZZ_ASSERT(need != INT32_MIN && need <= 0);
    int32_t n = -need;
    bitnet_token *ids = malloc(((size_t)n + 1) * sizeof *ids);
    FUZZ_ASSERT(ids != NULL);
    if (n > 0) FUZZ_ASSERT(bn_vocab_tokenize(v, text, (int32_t)len, ids, n - 1, add, parse) == -n);
    FUZZ_ASSERT(bn_vocab_tokenize(v, text, (int32_t)len, ids, n, add, parse) == n);
    for (int32_t i = 0; i < n; i++) FUZZ_ASSERT(ids[i] >= 0 && ids[i] < n_vocab);

    /* the pieces, and their size queries */
    size_t cat_len = 0, cat_cap = len + 64;
    char *cat = malloc(cat_cap);
    FUZZ_ASSERT(cat != NULL);
    for (int32_t i = 0; i < n; i++) {
        char piece[8];
        int32_t k = bn_vocab_token_to_piece(v, ids[i], piece, sizeof piece, unparse);
        FUZZ_ASSERT(k != INT32_MIN);
        if (k < 0) { /* too long for 8 bytes: the query says how long */
            FUZZ_ASSERT(bn_vocab_token_to_piece(v, ids[i], NULL, 0, unparse) == k);
        } else {
            FUZZ_ASSERT(k <= (int32_t)sizeof piece);
        }
        int32_t plen = k < 0 ? -k : k;
        if (cat_len + (size_t)plen > cat_cap) {
            cat_cap = 2 * (cat_len + (size_t)plen);
            cat = realloc(cat, cat_cap);
            FUZZ_ASSERT(cat != NULL);
        }
        FUZZ_ASSERT(bn_vocab_token_to_piece(v, ids[i], cat + cat_len, plen, unparse) == plen);
        if (i == 0 && spm && plen > 0 && cat[0] == ' ') memmove(cat, cat + 1, (size_t)--plen);
        cat_len += (size_t)plen;
    }
    FUZZ_ASSERT(bn_vocab_token_to_piece(v, -1, cat, 1, true) == INT32_MIN);
    FUZZ_ASSERT(bn_vocab_token_to_piece(v, n_vocab, cat, 1, true) == INT32_MIN);

    char *back;
    int32_t back_len;
    check_detokenize(v, ids, n, remove, unparse, &back, &back_len);
    /* The round trip, where the tokenizer promises it: plain text (no
     * special tokens added or parsed), not changed by BPE's clean-up of
     * spaces, and for SentencePiece without a literal U+2581 (which stands
     * for a space there, and without a truncated UTF-8 sequence before a
     * space: spm_swallows_space). */
    if (!add && !parse && !(flags & FUZZ_TOK_NO_ROUNDTRIP) &&
        (spm ? !contains(text, len, "\xe2\x96\x81") && !spm_swallows_space(text, len)
             : !cleanup_may_change(text, len))) {
        FUZZ_ASSERT(cat_len == len && !memcmp(cat, text, len));
        FUZZ_ASSERT((size_t)back_len == len && !memcmp(back, text, len));
    }
    free(back);
    free(cat);
    free(ids);

    /* arbitrary ids made from the text: in range, then one out of range */
    int32_t m = (int32_t)(len / 2 < 512 ? len / 2 : 512);
    bitnet_token *any = malloc(((size_t)m + 1) * sizeof *any);
    FUZZ_ASSERT(any != NULL);
    for (int32_t i = 0; i < m; i++)
        any[i] = (bitnet_token)(((uint8_t)text[2 * i] | (uint32_t)(uint8_t)text[2 * i + 1] << 8) %
                                (uint32_t)n_vocab);
    check_detokenize(v, any, m, remove, unparse, &back, &back_len);
    free(back);
    any[m] = flags & FUZZ_TOK_NEGATIVE_ID ? -1 : n_vocab;
    char small[4];
    FUZZ_ASSERT(bn_vocab_detokenize(v, any, m + 1, small, sizeof small, remove, unparse) ==
                INT32_MIN);
    free(any);
}
