/* Text <-> tokens over a loaded vocabulary: finds special-token texts,
 * hands the plain text between them to the SPM or BPE tokenizer, adds
 * BOS/EOS, and renders tokens back to bytes. Contracts are those of
 * bitnet_tokenize / bitnet_token_to_piece / bitnet_detokenize in bitnet.h. */
#include <limits.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "tokenizer_internal.h"

/* A piece of the input: a special token, or a span of plain text. */
typedef struct fragment {
    bitnet_token token; /* -1: text */
    size_t off, len;
} fragment;

typedef struct frag_list {
    fragment *a;
    size_t n, cap;
} frag_list;

static bool frag_push(frag_list *l, fragment f) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        fragment *a = bn_realloc(l->a, cap * sizeof *a);
        if (!a) return false;
        l->a = a;
        l->cap = cap;
    }
    l->a[l->n++] = f;
    return true;
}

/* First occurrence of needle (nlen >= 1) in hay, or NULL (memmem is not in
 * C11 or POSIX). */
static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen) {
    if (nlen > hlen) return NULL;
    const char *last = hay + (hlen - nlen);
    for (const char *p = hay; p <= last; p++) {
        p = memchr(p, needle[0], (size_t)(last - p) + 1);
        if (!p) return NULL;
        if (memcmp(p, needle, nlen) == 0) return p;
    }
    return NULL;
}

/* Splits the text fragments at every occurrence of each special token's
 * text, longest token first. Control and unknown tokens are only looked for
 * when parse_special; user-defined ones always are (as in llama.cpp and HF
 * tokenizers). */
static bool partition(const bn_vocab *v, const char *text, frag_list *list, bool parse_special) {
    frag_list next = {0};
    for (int32_t k = 0; k < v->n_specials; k++) {
        bitnet_token id = v->specials[k];
        const bn_token_data *t = &v->tokens[id];
        if (!parse_special && t->type != BN_TOKEN_USER_DEFINED) continue;
        next.n = 0;
        bool found = false;
        for (size_t f = 0; f < list->n; f++) {
            fragment fr = list->a[f];
            if (fr.token >= 0 || fr.len < t->len) {
                if (!frag_push(&next, fr)) goto nomem;
                continue;
            }
            size_t pos = fr.off, end = fr.off + fr.len;
            while (pos < end) {
                const char *hit = find_bytes(text + pos, end - pos, t->text, t->len);
                if (!hit) {
                    if (!frag_push(&next, (fragment){-1, pos, end - pos})) goto nomem;
                    break;
                }
                size_t at = (size_t)(hit - text);
                found = true;
                if (at > pos && !frag_push(&next, (fragment){-1, pos, at - pos})) goto nomem;
                if (!frag_push(&next, (fragment){id, at, t->len})) goto nomem;
                pos = at + t->len;
            }
        }
        if (found) {
            frag_list tmp = *list;
            *list = next;
            next = tmp;
        }
    }
    bn_free(next.a);
    return true;
nomem:
    bn_free(next.a);
    return false;
}

int32_t bn_vocab_tokenize(const bn_vocab *v, const char *text, int32_t text_len,
                          bitnet_token *tokens, int32_t n_tokens_max, bool add_special,
                          bool parse_special) {
    if (!v) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "tokenize: model is NULL"), INT32_MIN;
    if (!text && text_len != 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "tokenize: text is NULL"), INT32_MIN;
    if (n_tokens_max < 0 || (!tokens && n_tokens_max > 0))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "tokenize: bad output buffer (%d tokens)",
                       n_tokens_max),
               INT32_MIN;
    size_t len = text_len < 0 ? strlen(text) : (size_t)text_len;

    frag_list frags = {0};
    bn_tokbuf out = {0};
    bool ok = true;
    if (len > 0) {
        ok = frag_push(&frags, (fragment){-1, 0, len}) && partition(v, text, &frags, parse_special);
    }
    if (ok && add_special && v->add_bos) ok = bn_tokbuf_push(&out, v->bos);
    /* SPM: a space is put before text that starts the input or follows a
     * special token, as SentencePiece does with add_dummy_prefix. */
    bool after_special = true;
    for (size_t f = 0; ok && f < frags.n; f++) {
        const fragment *fr = &frags.a[f];
        if (fr->token >= 0) {
            ok = bn_tokbuf_push(&out, fr->token);
            after_special = true;
        } else if (v->kind == BN_VOCAB_SPM) {
            ok = bn_spm_tokenize(v, text + fr->off, fr->len, v->add_space_prefix && after_special,
                                 &out);
            after_special = false;
        } else {
            ok = bn_bpe_tokenize(v, text + fr->off, fr->len, &out);
        }
    }
    if (ok && add_special && v->add_eos) ok = bn_tokbuf_push(&out, v->eos);
    bn_free(frags.a);

    int32_t result;
    if (!ok) {
        bn_fail(BITNET_ERR_NOMEM, "tokenize: out of memory for %zu bytes of text", len);
        result = INT32_MIN;
    } else if (out.n > (size_t)INT32_MAX) {
        bn_fail(BITNET_ERR_INPUT, "tokenize: the text gives more than 2^31 tokens");
        result = INT32_MIN;
    } else if (out.n > (size_t)n_tokens_max) {
        result = -(int32_t)out.n;
    } else {
        if (out.n) memcpy(tokens, out.ids, out.n * sizeof *tokens);
        result = (int32_t)out.n;
    }
    bn_free(out.ids);
    return result;
}

/* The piece of a token as detokenization shows it: control and unknown
 * tokens are empty unless `special`. */
static void piece_of(const bn_vocab *v, bitnet_token id, bool special, const char **p, size_t *n) {
    int ty = v->tokens[id].type;
    if (!special && (ty == BN_TOKEN_CONTROL || ty == BN_TOKEN_UNKNOWN)) {
        *p = "";
        *n = 0;
        return;
    }
    *p = v->pieces + v->piece_off[id];
    *n = v->piece_off[id + 1] - v->piece_off[id];
}

int32_t bn_vocab_token_to_piece(const bn_vocab *v, bitnet_token token, char *buf, int32_t buf_len,
                                bool special) {
    if (!v) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "token_to_piece: model is NULL"), INT32_MIN;
    if (token < 0 || token >= v->n_tokens)
        return bn_fail(BITNET_ERR_INPUT, "token_to_piece: token id %d is out of range [0, %d)",
                       token, v->n_tokens),
               INT32_MIN;
    if (buf_len < 0 || (!buf && buf_len > 0))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "token_to_piece: bad buffer (%d bytes)",
                       buf_len),
               INT32_MIN;
    const char *p;
    size_t n;
    piece_of(v, token, special, &p, &n);
    if ((size_t)buf_len < n) return -(int32_t)n;
    if (n) memcpy(buf, p, n);
    if ((size_t)buf_len > n) buf[n] = '\0';
    return (int32_t)n;
}

/* clean_up_tokenization_spaces, as llama.cpp does it for BPE vocabularies:
 * " ?" " !" " ." " ," lose the space, " ' " becomes "'", and " 's" " 'm"
 * " 're" " 've" lose the space. Works in place; returns the new length. */
static size_t clean_spaces(char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        bool drop = s[i] == ' ' && i + 1 < n &&
                    (s[i + 1] == '?' || s[i + 1] == '!' || s[i + 1] == '.' || s[i + 1] == ',');
        if (!drop) s[w++] = s[i];
    }
    n = w;
    w = 0;
    bool after_pair = false; /* s[i-1] was the space after a " ' " just joined */
    for (size_t i = 0; i < n; i++) {
        if (i >= 1 && !after_pair && s[i] == '\'' && s[i - 1] == ' ' && i + 1 < n &&
            s[i + 1] == ' ') {
            s[w - 1] = '\''; /* the space before goes, and the one after */
            i++;
            after_pair = true;
            continue;
        }
        s[w++] = s[i];
        after_pair = false;
    }
    n = w;
    w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' && i + 2 < n && s[i + 1] == '\'') {
            char a = s[i + 2], b = i + 3 < n ? s[i + 3] : '\0';
            bool contraction = a == 's' || a == 'm' ||
                               (i + 3 < n && ((a == 'r' && b == 'e') || (a == 'v' && b == 'e')));
            if (contraction) continue;
        }
        s[w++] = s[i];
    }
    return w;
}

int32_t bn_vocab_detokenize(const bn_vocab *v, const bitnet_token *tokens, int32_t n_tokens,
                            char *text, int32_t text_len_max, bool remove_special,
                            bool unparse_special) {
    if (!v) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "detokenize: model is NULL"), INT32_MIN;
    if (n_tokens < 0 || (!tokens && n_tokens > 0))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "detokenize: bad token array (%d tokens)",
                       n_tokens),
               INT32_MIN;
    if (text_len_max < 0 || (!text && text_len_max > 0))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "detokenize: bad buffer (%d bytes)",
                       text_len_max),
               INT32_MIN;
    for (int32_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= v->n_tokens)
            return bn_fail(BITNET_ERR_INPUT, "detokenize: tokens[%d] = %d is out of range [0, %d)",
                           i, tokens[i], v->n_tokens),
                   INT32_MIN;

    /* llama.cpp strips the space the tokenizer put in front of the text, but
     * only when the sequence does not start with a BOS it keeps or removes:
     * a BOS (even one rendered as nothing) uses up the stripping. */
    bool strip_space = v->add_space_prefix;
    if (remove_special && v->add_bos && n_tokens > 0 && tokens[0] == v->bos) {
        strip_space = false;
        tokens++;
        n_tokens--;
    }
    if (remove_special && v->add_eos && n_tokens > 0 && tokens[n_tokens - 1] == v->eos) n_tokens--;

    size_t total = 0;
    for (int32_t i = 0; i < n_tokens; i++)
        total += v->piece_off[tokens[i] + 1] - v->piece_off[tokens[i]];
    char *buf = bn_malloc(total + 1);
    if (!buf) return INT32_MIN;
    size_t n = 0;
    for (int32_t i = 0; i < n_tokens; i++) {
        const char *p;
        size_t k;
        piece_of(v, tokens[i], unparse_special, &p, &k);
        if (i == 0 && strip_space && k > 0 && p[0] == ' ') {
            p++;
            k--;
        }
        memcpy(buf + n, p, k);
        n += k;
    }
    if (v->clean_spaces) n = clean_spaces(buf, n);

    int32_t result;
    if (n >= (size_t)INT32_MAX) {
        bn_fail(BITNET_ERR_INPUT, "detokenize: the text is longer than 2^31 bytes");
        result = INT32_MIN;
    } else if (n + 1 > (size_t)text_len_max) {
        result = -(int32_t)(n + 1);
    } else {
        memcpy(text, buf, n);
        text[n] = '\0';
        result = (int32_t)n;
    }
    bn_free(buf);
    return result;
}
