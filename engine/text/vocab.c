/* Loading and validating a vocabulary from GGUF tokenizer.* metadata, with
 * the defaults and special-token rules of llama.cpp as built into bitnet.cpp
 * (its llm_load_vocab), so that the same file gives the same token ids.
 *
 * Where llama.cpp would assert, crash or silently substitute (duplicate token
 * texts, a special id past the end, scores of the wrong element type) we
 * refuse the file with a message naming the key and the index instead. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "tokenizer_internal.h"

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_PRE "tokenizer.ggml.pre"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TYPES "tokenizer.ggml.token_type"
#define KEY_MERGES "tokenizer.ggml.merges"
#define KEY_ADD_BOS "tokenizer.ggml.add_bos_token"
#define KEY_ADD_EOS "tokenizer.ggml.add_eos_token"
#define KEY_ADD_PREFIX "tokenizer.ggml.add_space_prefix"
#define KEY_TEMPLATE "tokenizer.chat_template"

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* "<0xHH>" exactly: no sign, no spaces, two hex digits (T4). */
static int parse_byte_token(const char *s, size_t len) {
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hexval(s[3]), lo = hexval(s[4]);
    if (hi < 0 || lo < 0) return -1;
    return hi * 16 + lo;
}

static bitnet_status opt_bool(const bn_gguf *g, const char *key, bool *v) {
    if (!bn_gguf_find(g, key)) return BITNET_OK;
    return bn_gguf_get_bool(g, key, v);
}

/* An optional special-token id: absent keeps *id, present must be in range. */
static bitnet_status opt_id(const bn_gguf *g, const char *key, int32_t n_tokens, bitnet_token *id) {
    if (!bn_gguf_find(g, key)) return BITNET_OK;
    uint32_t v;
    bitnet_status st = bn_gguf_get_u32(g, key, &v);
    if (st) return st;
    if (v >= (uint32_t)n_tokens)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: %s = %u is out of range (the vocabulary has %d tokens)", g->path, key,
                       v, n_tokens);
    *id = (bitnet_token)v;
    return BITNET_OK;
}

bool bn_tokbuf_push(bn_tokbuf *b, bitnet_token id) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        bitnet_token *ids = bn_realloc(b->ids, cap * sizeof *ids);
        if (!ids) return false;
        b->ids = ids;
        b->cap = cap;
    }
    b->ids[b->n++] = id;
    return true;
}

/* ---------------------------------------------------------------------------
 * Token list, scores, types
 * ------------------------------------------------------------------------- */

static bitnet_status load_tokens(const bn_gguf *g, bn_vocab *v, const bn_logger *lg) {
    const bn_gguf_kv *toks, *scores = NULL, *types = NULL;
    bitnet_status st = bn_gguf_get_arr(g, KEY_TOKENS, BN_GGUF_STRING, &toks);
    if (st) return st;
    if (toks->n == 0) return bn_fail(BITNET_ERR_FORMAT, "%s: %s is empty", g->path, KEY_TOKENS);
    if (toks->n > INT32_MAX)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s has %llu entries, more than token ids can hold",
                       g->path, KEY_TOKENS, (unsigned long long)toks->n);
    int32_t n = (int32_t)toks->n;

    if (bn_gguf_find(g, KEY_SCORES)) {
        if ((st = bn_gguf_get_arr(g, KEY_SCORES, BN_GGUF_FLOAT32, &scores))) return st;
        if (scores->n != toks->n)
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s has %llu entries but %s has %d", g->path,
                           KEY_SCORES, (unsigned long long)scores->n, KEY_TOKENS, n);
    }
    if (bn_gguf_find(g, KEY_TYPES)) {
        if ((st = bn_gguf_get_arr(g, KEY_TYPES, BN_GGUF_INT32, &types))) return st;
        if (types->n != toks->n)
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s has %llu entries but %s has %d", g->path,
                           KEY_TYPES, (unsigned long long)types->n, KEY_TOKENS, n);
    }

    v->n_tokens = n;
    v->tokens = bn_calloc((size_t)n, sizeof *v->tokens);
    if (!v->tokens || bn_strmap_init(&v->index, (size_t)n) != 0)
        return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory for %d tokens", g->path, n);

    int32_t n_empty = 0;
    for (int32_t i = 0; i < n; i++) {
        bn_token_data *t = &v->tokens[i];
        const bn_gguf_str *s = &toks->strings[i];
        if (s->len > BN_TOKEN_MAX_LEN)
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%d] is %llu bytes long (limit %d)", g->path,
                           KEY_TOKENS, i, (unsigned long long)s->len, BN_TOKEN_MAX_LEN);
        if (memchr(s->ptr, '\0', s->len))
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%d] contains a NUL byte", g->path, KEY_TOKENS,
                           i);
        t->text = s->ptr;
        t->len = (uint32_t)s->len;
        t->type = BN_TOKEN_NORMAL;
        if (scores) {
            float f;
            memcpy(&f, scores->data + 4 * (size_t)i, 4);
            if (isnan(f))
                return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%d] is NaN", g->path, KEY_SCORES, i);
            t->score = f;
        }
        if (types) {
            int32_t ty;
            memcpy(&ty, types->data + 4 * (size_t)i, 4);
            if (ty < BN_TOKEN_UNDEFINED || ty > BN_TOKEN_BYTE)
                return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%d] = %d is not a token type (0..6)",
                               g->path, KEY_TYPES, i, ty);
            t->type = ty;
        }
        if (t->type == BN_TOKEN_BYTE && parse_byte_token(t->text, t->len) < 0)
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%d] '%.*s' has type BYTE but is not <0xHH>",
                           g->path, KEY_TOKENS, i, (int)t->len, t->text);
        if (t->len == 0) {
            /* llama.cpp renames an empty token "[EMPTY_i]"; it can then never be
             * produced from text, which not indexing it gives as well. */
            n_empty++;
            continue;
        }
        int64_t prev;
        int r = bn_strmap_put(&v->index, t->text, t->len, i, &prev);
        if (r < 0) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", g->path);
        if (r == 0) /* llama.cpp asserts on this; there is no right id to pick. */
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%d] '%.*s' duplicates %s[%lld]", g->path,
                           KEY_TOKENS, i, (int)t->len, t->text, KEY_TOKENS, (long long)prev);
    }
    if (n_empty) BN_LOG_WARN(lg, "%s: %d empty tokens in %s", g->path, n_empty, KEY_TOKENS);
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * BPE merges
 * ------------------------------------------------------------------------- */

static bitnet_status load_merges(const bn_gguf *g, bn_vocab *v) {
    const bn_gguf_kv *m;
    if (!bn_gguf_find(g, KEY_MERGES))
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s is missing (required for gpt2 vocabularies)",
                       g->path, KEY_MERGES);
    bitnet_status st = bn_gguf_get_arr(g, KEY_MERGES, BN_GGUF_STRING, &m);
    if (st) return st;
    if (m->n > BN_VOCAB_MAX_MERGES)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s has %llu entries (limit %u)", g->path, KEY_MERGES,
                       (unsigned long long)m->n, BN_VOCAB_MAX_MERGES);
    if (bn_strmap_init(&v->merges, (size_t)m->n) != 0)
        return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory for %llu merges", g->path,
                       (unsigned long long)m->n);
    for (uint64_t i = 0; i < m->n; i++) {
        const char *s = m->strings[i].ptr;
        size_t len = (size_t)m->strings[i].len;
        /* The split is at the first space after the first byte, as llama.cpp
         * reads it (a left side may itself be a space in some vocabularies). */
        const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp)
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%llu] '%.*s' is not 'left right'", g->path,
                           KEY_MERGES, (unsigned long long)i, (int)(len > 200 ? 200 : len), s);
        size_t ll = (size_t)(sp - s), rl = len - ll - 1;
        if (!bn_strmap_get(&v->index, s, ll, NULL) || !bn_strmap_get(&v->index, sp + 1, rl, NULL))
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s[%llu] '%.*s' names a token not in %s",
                           g->path, KEY_MERGES, (unsigned long long)i, (int)(len > 200 ? 200 : len),
                           s, KEY_TOKENS);
        /* A repeated merge keeps its first (best) rank, as llama.cpp's emplace. */
        if (bn_strmap_put(&v->merges, s, len, (int64_t)i, NULL) < 0)
            return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", g->path);
    }
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * End-of-generation and special tokens
 * ------------------------------------------------------------------------- */

/* Texts llama.cpp takes as end-of-turn when no eot id is stored. */
static const char *const eot_texts[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<EOT>",
    ("<\xef\xbd\x9c"
     "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"), /* DeepSeek */
};
/* Texts that end generation whatever the stored ids say. */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
};

static bitnet_token find_text(const bn_vocab *v, const char *s) {
    int64_t id;
    return bn_strmap_get(&v->index, s, strlen(s), &id) ? (bitnet_token)id : -1;
}

/* llama.cpp turns a token it treats as end-of-generation into a control token
 * (so that it is not printed, and is matched as special text). */
static void make_control(bn_vocab *v, bitnet_token id, const bn_logger *lg) {
    bn_token_data *t = &v->tokens[id];
    if (t->type != BN_TOKEN_CONTROL) {
        BN_LOG_WARN(lg, "token %d '%.*s' looks like a control token; treating it as one", id,
                    (int)t->len, t->text);
        t->type = BN_TOKEN_CONTROL;
    }
}

static bitnet_status setup_eog(bn_vocab *v, const bn_logger *lg) {
    if (v->eot < 0) {
        /* Scan in list order so that the choice does not depend on a hash order. */
        for (size_t k = 0; k < sizeof eot_texts / sizeof eot_texts[0] && v->eot < 0; k++)
            v->eot = find_text(v, eot_texts[k]);
        if (v->eot >= 0) make_control(v, v->eot, lg);
    }
    if (v->eom < 0) {
        v->eom = find_text(v, "<|eom_id|>");
        if (v->eom >= 0) make_control(v, v->eom, lg);
    }
    v->eog = bn_calloc((size_t)v->n_tokens, 1);
    if (!v->eog) return BITNET_ERR_NOMEM;
    for (size_t k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
        bitnet_token id = find_text(v, eog_texts[k]);
        if (id >= 0) {
            v->eog[id] = 1;
            make_control(v, id, lg);
        }
    }
    if (v->eos >= 0) v->eog[v->eos] = 1;
    if (v->eot >= 0) v->eog[v->eot] = 1;
    if (v->eom >= 0) v->eog[v->eom] = 1;
    return BITNET_OK;
}

typedef struct special_key {
    uint32_t len;
    int32_t id;
} special_key;

static int cmp_special(const void *a, const void *b) {
    const special_key *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id); /* equal lengths: by id, a defined order */
}

static bool is_special_type(int32_t ty) {
    return ty == BN_TOKEN_CONTROL || ty == BN_TOKEN_USER_DEFINED || ty == BN_TOKEN_UNKNOWN;
}

static bitnet_status setup_specials(bn_vocab *v) {
    int32_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (is_special_type(v->tokens[i].type) && v->tokens[i].len > 0) n++;
    v->specials = bn_malloc_array(n ? (size_t)n : 1, sizeof *v->specials);
    special_key *keys = bn_malloc_array(n ? (size_t)n : 1, sizeof *keys);
    if (!v->specials || !keys) {
        bn_free(keys);
        return BITNET_ERR_NOMEM;
    }
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (is_special_type(v->tokens[i].type) && v->tokens[i].len > 0)
            keys[v->n_specials++] = (special_key){v->tokens[i].len, i};
    /* Longest first (llama.cpp's order), so that a special text that contains
     * a shorter one is matched whole. */
    qsort(keys, (size_t)n, sizeof *keys, cmp_special);
    for (int32_t i = 0; i < n; i++) v->specials[i] = keys[i].id;
    bn_free(keys);
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * Pieces: the bytes each token stands for
 * ------------------------------------------------------------------------- */

/* Writes the piece of token t to buf (room for t->len bytes: a piece is never
 * longer than its text); returns its length. */
static size_t render_piece(const bn_vocab *v, const bn_token_data *t, char *buf) {
    int ty = t->type;
    if (ty == BN_TOKEN_CONTROL || ty == BN_TOKEN_UNKNOWN || ty == BN_TOKEN_USER_DEFINED) {
        memcpy(buf, t->text, t->len);
        return t->len;
    }
    if (v->kind == BN_VOCAB_SPM) {
        if (ty == BN_TOKEN_BYTE) {
            buf[0] = (char)parse_byte_token(t->text, t->len);
            return 1;
        }
        if (ty != BN_TOKEN_NORMAL) return 0; /* undefined, unused: rendered as nothing */
        size_t n = 0;
        for (uint32_t i = 0; i < t->len; i++) {
            /* U+2581 LOWER ONE EIGHTH BLOCK stands for a space */
            if (i + 2 < t->len && memcmp(t->text + i, "\xe2\x96\x81", 3) == 0) {
                buf[n++] = ' ';
                i += 2;
            } else {
                buf[n++] = t->text[i];
            }
        }
        return n;
    }
    if (ty != BN_TOKEN_NORMAL) return 0;
    /* Byte-level BPE: each code point of the text is one byte. */
    const unsigned char *s = (const unsigned char *)t->text;
    size_t n = 0, i = 0;
    while (i < t->len) {
        uint32_t cpt;
        size_t k = bn_utf8_decode(s + i, t->len - i, &cpt);
        int b = k ? bn_bpe_cpt_to_byte(cpt) : -1;
        if (b >= 0) {
            buf[n++] = (char)b;
            i += k;
            continue;
        }
        /* Not one of the 256 byte code points: llama.cpp writes a marker with
         * the offending bytes; the raw bytes are more useful and as visible. */
        size_t step = k ? k : 1;
        memcpy(buf + n, s + i, step);
        n += step;
        i += step;
    }
    return n;
}

static bitnet_status setup_pieces(bn_vocab *v) {
    size_t total = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) total += v->tokens[i].len;
    /* a piece is never longer than its text (U+2581 -> 1 byte, BPE code
     * points -> 1 byte), except BYTE tokens (6 -> 1) */
    if (total > UINT32_MAX) return bn_fail(BITNET_ERR_FORMAT, "token texts exceed 4 GiB");
    v->pieces = bn_malloc(total + 1);
    v->piece_off = bn_malloc_array((size_t)v->n_tokens + 1, sizeof *v->piece_off);
    if (!v->pieces || !v->piece_off) return BITNET_ERR_NOMEM;
    size_t off = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        v->piece_off[i] = (uint32_t)off;
        off += render_piece(v, &v->tokens[i], v->pieces + off);
    }
    v->piece_off[v->n_tokens] = (uint32_t)off;
    return BITNET_OK;
}

static void setup_byte_tokens(bn_vocab *v) {
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        int64_t id;
        char one = (char)b;
        if (bn_strmap_get(&v->index, name, 6, &id) || bn_strmap_get(&v->index, &one, 1, &id))
            v->byte_token[b] = (int32_t)id;
        else
            v->byte_token[b] = -1;
    }
}

/* ---------------------------------------------------------------------------
 * The loader
 * ------------------------------------------------------------------------- */

static bitnet_status load_kind(const bn_gguf *g, bn_vocab *v, const bn_logger *lg) {
    bn_gguf_str model;
    bitnet_status st = bn_gguf_get_str(g, KEY_MODEL, &model);
    if (st) return st;
    if (model.len == 5 && !memcmp(model.ptr, "llama", 5)) {
        v->kind = BN_VOCAB_SPM;
        v->add_space_prefix = true;
        v->add_bos = true;
        v->bos = 1;
        v->eos = 2;
        v->unk = 0;
        return BITNET_OK;
    }
    if (!(model.len == 4 && !memcmp(model.ptr, "gpt2", 4)))
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: %s '%.*s' is not supported (only 'llama' and 'gpt2' are)", g->path,
                       KEY_MODEL, (int)(model.len > 100 ? 100 : model.len), model.ptr);
    v->kind = BN_VOCAB_BPE;
    v->clean_spaces = true;
    v->bos = v->eos = 11; /* llama.cpp's defaults for gpt2 vocabularies */
    v->pre = BN_PRETOK_DEFAULT;
    if (!bn_gguf_find(g, KEY_PRE)) {
        /* The official BitNet-b1.58-2B-4T file is like this: bitnet.cpp then
         * uses the "default" pre-tokenizer, and so must we to match it. */
        BN_LOG_WARN(lg, "%s: %s is missing; using the 'default' pre-tokenizer as llama.cpp does",
                    g->path, KEY_PRE);
        return BITNET_OK;
    }
    bn_gguf_str pre;
    if ((st = bn_gguf_get_str(g, KEY_PRE, &pre))) return st;
#define PRE_IS(s) (pre.len == strlen(s) && !memcmp(pre.ptr, s, pre.len))
    if (PRE_IS("llama-bpe") || PRE_IS("llama3") || PRE_IS("llama-v3")) {
        v->pre = BN_PRETOK_LLAMA3;
        v->ignore_merges = true;
        v->add_bos = true;
    } else if (PRE_IS("gpt2")) {
        v->pre = BN_PRETOK_GPT2;
    } else if (!PRE_IS("default")) {
        BN_LOG_WARN(lg, "%s: %s '%.*s' is not supported; using the 'default' pre-tokenizer",
                    g->path, KEY_PRE, (int)(pre.len > 100 ? 100 : pre.len), pre.ptr);
    }
#undef PRE_IS
    return BITNET_OK;
}

static bitnet_status load_all(const bn_gguf *g, bn_vocab *v, const bn_logger *lg) {
    bitnet_status st;
    v->bos = v->eos = v->eot = v->eom = v->unk = v->pad = -1;
    if ((st = load_kind(g, v, lg))) return st;
    if ((st = opt_bool(g, KEY_ADD_PREFIX, &v->add_space_prefix))) return st;
    if ((st = load_tokens(g, v, lg))) return st;
    /* defaults that do not fit this vocabulary are dropped, not errors */
    if (v->bos >= v->n_tokens) v->bos = -1;
    if (v->eos >= v->n_tokens) v->eos = -1;
    if (v->unk >= v->n_tokens) v->unk = -1;
    if (v->kind == BN_VOCAB_BPE && (st = load_merges(g, v))) return st;

    int32_t n = v->n_tokens;
    if ((st = opt_id(g, "tokenizer.ggml.bos_token_id", n, &v->bos))) return st;
    if ((st = opt_id(g, "tokenizer.ggml.eos_token_id", n, &v->eos))) return st;
    if ((st = opt_id(g, "tokenizer.ggml.eot_token_id", n, &v->eot))) return st;
    if ((st = opt_id(g, "tokenizer.ggml.eom_token_id", n, &v->eom))) return st;
    if ((st = opt_id(g, "tokenizer.ggml.unknown_token_id", n, &v->unk))) return st;
    if ((st = opt_id(g, "tokenizer.ggml.padding_token_id", n, &v->pad))) return st;
    if ((st = opt_bool(g, KEY_ADD_BOS, &v->add_bos))) return st;
    if ((st = opt_bool(g, KEY_ADD_EOS, &v->add_eos))) return st;
    if (v->add_bos && v->bos < 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: BOS is to be added but the vocabulary has no BOS id",
                       g->path);
    if (v->add_eos && v->eos < 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: EOS is to be added but the vocabulary has no EOS id",
                       g->path);

    if (bn_gguf_find(g, KEY_TEMPLATE)) {
        bn_gguf_str t;
        if ((st = bn_gguf_get_str(g, KEY_TEMPLATE, &t))) return st;
        v->chat_template = bn_strndup(t.ptr, (size_t)t.len);
    } else {
        v->chat_template = bn_strdup("");
    }
    if (!v->chat_template) return BITNET_ERR_NOMEM;

    if ((st = setup_eog(v, lg))) return st;
    if ((st = setup_specials(v))) return st;
    if ((st = setup_pieces(v))) return st;
    setup_byte_tokens(v);
    BN_LOG_INFO(lg, "%s: %s vocabulary, %d tokens, %d special, bos %d, eos %d, eot %d%s%s", g->path,
                v->kind == BN_VOCAB_SPM ? "SentencePiece" : "byte-level BPE", n, v->n_specials,
                v->bos, v->eos, v->eot, v->kind == BN_VOCAB_BPE ? ", pre-tokenizer " : "",
                v->kind == BN_VOCAB_BPE ? bn_pretok_name(v->pre) : "");
    return BITNET_OK;
}

bitnet_status bn_vocab_load(const bn_gguf *g, const bitnet_model_params *params, bn_vocab **out) {
    if (!out) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bn_vocab_load: out is NULL");
    *out = NULL;
    if (!g) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bn_vocab_load: file is NULL");
    bn_logger lg = {params ? params->log_callback : NULL, params ? params->log_user_data : NULL};
    bn_vocab *v = bn_calloc(1, sizeof *v);
    if (!v) return BITNET_ERR_NOMEM;
    bitnet_status st = load_all(g, v, &lg);
    if (st) {
        bn_vocab_free(v);
        return st;
    }
    *out = v;
    return BITNET_OK;
}

void bn_vocab_free(bn_vocab *v) {
    if (!v) return;
    bn_free(v->tokens);
    bn_strmap_free(&v->index);
    bn_strmap_free(&v->merges);
    bn_free(v->eog);
    bn_free(v->specials);
    bn_free(v->pieces);
    bn_free(v->piece_off);
    bn_free(v->chat_template);
    bn_free(v);
}

/* ---------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------- */

bn_vocab_kind bn_vocab_kind_of(const bn_vocab *v) { return v->kind; }
int32_t bn_vocab_n_tokens(const bn_vocab *v) { return v ? v->n_tokens : 0; }

const bn_token_data *bn_vocab_token(const bn_vocab *v, int32_t id) {
    return (v && id >= 0 && id < v->n_tokens) ? &v->tokens[id] : NULL;
}

bitnet_token bn_vocab_bos(const bn_vocab *v) { return v ? v->bos : -1; }
bitnet_token bn_vocab_eos(const bn_vocab *v) { return v ? v->eos : -1; }
bitnet_token bn_vocab_eot(const bn_vocab *v) { return v ? v->eot : -1; }
bool bn_vocab_add_bos(const bn_vocab *v) { return v && v->add_bos; }
bool bn_vocab_add_eos(const bn_vocab *v) { return v && v->add_eos; }

bool bn_vocab_is_eog(const bn_vocab *v, bitnet_token id) {
    return v && id >= 0 && id < v->n_tokens && v->eog[id];
}

bool bn_vocab_is_control(const bn_vocab *v, bitnet_token id) {
    return v && id >= 0 && id < v->n_tokens && v->tokens[id].type == BN_TOKEN_CONTROL;
}

const char *bn_vocab_chat_template(const bn_vocab *v) {
    return v && v->chat_template ? v->chat_template : "";
}

bitnet_token bn_vocab_find(const bn_vocab *v, const char *text, size_t len) {
    int64_t id;
    if (!v || !text) return -1;
    return bn_strmap_get(&v->index, text, len, &id) ? (bitnet_token)id : -1;
}
