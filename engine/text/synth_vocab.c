#include "synth_vocab.h"

#include <string.h>

#include "alloc.h"
#include "error.h"
#include "strmap.h"

/* Common English words: prompts such as "Once upon a time" or "The quick
 * brown fox" then tokenize into a few pieces instead of single characters. */
static const char *const common_words[] = {
    "the",   "of",    "and",    "to",    "in",     "is",     "was",     "that",    "for",
    "it",    "with",  "as",     "on",    "be",     "at",     "by",      "this",    "had",
    "not",   "are",   "but",    "from",  "or",     "have",   "an",      "they",    "which",
    "one",   "you",   "were",   "her",   "all",    "she",    "there",   "would",   "their",
    "we",    "him",   "been",   "has",   "when",   "who",    "will",    "more",    "no",
    "if",    "out",   "so",     "said",  "what",   "up",     "its",     "about",   "into",
    "than",  "them",  "can",    "only",  "other",  "new",    "some",    "could",   "time",
    "these", "two",   "may",    "then",  "do",     "first",  "any",     "my",      "now",
    "such",  "like",  "our",    "over",  "man",    "me",     "even",    "most",    "made",
    "after", "also",  "did",    "many",  "before", "must",   "through", "back",    "years",
    "where", "much",  "your",   "way",   "well",   "down",   "should",  "because", "each",
    "just",  "those", "people", "how",   "too",    "little", "good",    "very",    "make",
    "world", "still", "own",    "see",   "work",   "long",   "get",     "here",    "both",
    "life",  "being", "under",  "never", "day",    "same",   "know",    "while",   "last",
    "might", "great", "old",    "year",  "come",   "once",   "upon",    "quick",   "brown",
    "fox",   "jumps", "lazy",   "dog",   "hello",  "The",    "Once",    "France",  "In",
    "It",    "This",  "He",     "She",   "We",     "I",      "capital", "france",  "paris",
    "story", "king",  "small",  "large", "house",  "water",  "light",
};

#define SPM_SPACE "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */
#define BPE_SPACE "\xc4\xa0"     /* U+0120: byte 0x20 in GPT-2's mapping */

typedef struct builder {
    bn_synth_vocab *v;
    int32_t cap;      /* tokens the generated part may fill */
    int32_t n_pieces; /* generated pieces so far (SPM score = -rank) */
    int64_t cap_merges;
    bn_strmap index;  /* token text -> id */
    bn_strmap mindex; /* BPE: "left right" -> rank */
    bool nomem;
} builder;

static bool full(const builder *b) { return b->nomem || b->v->n_tokens >= b->cap; }

/* Adds a token; returns its id, or -1 when it exists, the table is full or
 * memory ran out (b->nomem). */
static int32_t add_token(builder *b, const char *s, size_t len, float score, int32_t type) {
    bn_synth_vocab *v = b->v;
    if (full(b) || bn_strmap_get(&b->index, s, len, NULL)) return -1;
    char *copy = bn_strndup(s, len);
    if (!copy || bn_strmap_put(&b->index, copy, len, v->n_tokens, NULL) != 1) {
        bn_free(copy);
        b->nomem = true;
        return -1;
    }
    int32_t id = v->n_tokens++;
    v->text[id] = copy;
    v->scores[id] = score;
    v->types[id] = type;
    return id;
}

static bool gpt2_printable(int byte) {
    return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
}

/* GPT-2's byte-to-unicode table: printable Latin-1 bytes map to themselves,
 * the other 68 bytes to U+0100.. in byte order. */
static uint32_t gpt2_byte_cpt(int byte) {
    if (gpt2_printable(byte)) return (uint32_t)byte;
    uint32_t n = 0; /* rank of this byte among the non-printable ones */
    for (int b = 0; b < byte; b++) n += !gpt2_printable(b);
    return 256u + n;
}

static size_t utf8_put(uint32_t c, char *out) {
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = (char)(0xc0 | (c >> 6)); /* every cpt here is < 0x800 */
    out[1] = (char)(0x80 | (c & 0x3f));
    return 2;
}

/* Adds the merge "l r" (and the token l+r if new); false when full. */
static bool add_merge(builder *b, const char *l, size_t ll, const char *r, size_t rl) {
    bn_synth_vocab *v = b->v;
    char m[160];
    if (ll + rl + 1 > sizeof m || v->n_merges == b->cap_merges) return false;
    memcpy(m, l, ll);
    m[ll] = ' ';
    memcpy(m + ll + 1, r, rl);
    if (bn_strmap_get(&b->mindex, m, ll + rl + 1, NULL)) return true;
    const char *joined_l = l; /* l and r are adjacent in the caller's buffer */
    if (!bn_strmap_get(&b->index, joined_l, ll + rl, NULL) &&
        add_token(b, joined_l, ll + rl, 0.0f, BN_TOKEN_NORMAL) < 0)
        return false;
    char *copy = bn_strndup(m, ll + rl + 1);
    if (!copy || bn_strmap_put(&b->mindex, copy, ll + rl + 1, v->n_merges, NULL) != 1) {
        bn_free(copy);
        b->nomem = true;
        return false;
    }
    v->merges[v->n_merges++] = copy;
    return true;
}

/* Makes the byte-level string s one token the way BPE will reach it: first
 * segment s with the merges so far (lowest rank first, as the tokenizer
 * does), then merge the segments left to right with new, higher-ranked
 * merges. Later merges never change how an earlier string is merged, since
 * that string is one token before any of them applies. */
static void emit_bpe(builder *b, const char *s, size_t len) {
    enum { MAXSYM = 64 };
    size_t st[MAXSYM], ln[MAXSYM]; /* symbols: [start, start+len) of s */
    int n = 0;
    for (size_t i = 0; i < len && n < MAXSYM; n++) {
        st[n] = i;
        ln[n] = ((uint8_t)s[i] & 0xe0) == 0xc0 ? 2 : 1; /* code points are < U+0800 */
        i += ln[n];
    }
    if (n < 2 || n == MAXSYM || full(b) || bn_strmap_get(&b->index, s, len, NULL)) return;
    for (;;) {
        int best = -1;
        int64_t best_rank = INT64_MAX;
        for (int i = 0; i + 1 < n; i++) {
            char m[160];
            if (ln[i] + ln[i + 1] + 1 > sizeof m) continue;
            memcpy(m, s + st[i], ln[i]);
            m[ln[i]] = ' ';
            memcpy(m + ln[i] + 1, s + st[i + 1], ln[i + 1]);
            int64_t rank;
            if (bn_strmap_get(&b->mindex, m, ln[i] + ln[i + 1] + 1, &rank) && rank < best_rank) {
                best_rank = rank;
                best = i;
            }
        }
        if (best < 0) break;
        ln[best] += ln[best + 1];
        for (int i = best + 1; i + 1 < n; i++) st[i] = st[i + 1], ln[i] = ln[i + 1];
        n--;
    }
    while (n > 1) {
        if (!add_merge(b, s + st[0], ln[0], s + st[1], ln[1])) return;
        ln[0] += ln[1];
        for (int i = 1; i + 1 < n; i++) st[i] = st[i + 1], ln[i] = ln[i + 1];
        n--;
    }
}

/* One generated string: an optional space marker and ASCII text. SPM adds it
 * as a piece; BPE adds it as the merge of (all but the last byte) + (last
 * byte), which exists because every string's prefix chain came first. */
static void emit(builder *b, bool spaced, const char *ascii, size_t n) {
    char buf[64];
    size_t len = 0;
    const bool spm = b->v->kind == BN_VOCAB_SPM;
    if (spaced) {
        const char *sp = spm ? SPM_SPACE : BPE_SPACE;
        memcpy(buf, sp, strlen(sp));
        len = strlen(sp);
    }
    if (n + len > sizeof buf) return;
    memcpy(buf + len, ascii, n);
    len += n;
    if (spm) {
        if (add_token(b, buf, len, -(float)b->n_pieces, BN_TOKEN_NORMAL) >= 0) b->n_pieces++;
        return;
    }
    if (len >= 2) emit_bpe(b, buf, len);
}

/* The word and its prefix chains ("▁t", "▁th", "▁the"; "th", "the"). */
static void emit_word(builder *b, const char *w) {
    const size_t n = strlen(w);
    for (size_t i = 1; i <= n; i++) emit(b, true, w, i);
    for (size_t i = 2; i <= n; i++) emit(b, false, w, i);
}

/* Letter n-grams of length L in lexicographic order, plain then spaced. */
static void emit_ngrams(builder *b, int L) {
    char g[8];
    int64_t count = 1;
    for (int i = 0; i < L; i++) count *= 26;
    for (int64_t idx = 0; idx < count && !full(b); idx++) {
        int64_t x = idx;
        for (int i = L - 1; i >= 0; i--, x /= 26) g[i] = (char)('a' + x % 26);
        emit(b, false, g, (size_t)L);
        emit(b, true, g, (size_t)L);
    }
}

static void emit_pieces(builder *b) {
    char c[1];
    if (b->v->kind == BN_VOCAB_SPM) emit(b, true, "", 0);
    for (int ch = 'a'; ch <= 'z'; ch++) emit(b, false, (c[0] = (char)ch, c), 1);
    for (int ch = 'a'; ch <= 'z'; ch++) emit(b, true, (c[0] = (char)ch, c), 1);
    for (size_t i = 0; i < sizeof common_words / sizeof common_words[0]; i++)
        emit_word(b, common_words[i]);
    for (int ch = 0x21; ch <= 0x7e; ch++) emit(b, false, (c[0] = (char)ch, c), 1);
    for (int ch = 0x21; ch <= 0x7e; ch++)
        if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            emit(b, true, (c[0] = (char)ch, c), 1);
    for (int L = 2; L <= 6 && !full(b); L++) emit_ngrams(b, L);
}

static void add_spm_fixed(builder *b) {
    bn_synth_vocab *v = b->v;
    v->unk = add_token(b, "<unk>", 5, 0.0f, BN_TOKEN_UNKNOWN);
    v->bos = add_token(b, "<s>", 3, 0.0f, BN_TOKEN_CONTROL);
    v->eos = add_token(b, "</s>", 4, 0.0f, BN_TOKEN_CONTROL);
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 256; i++) {
        char t[7] = {'<', '0', 'x', hex[i >> 4], hex[i & 15], '>', 0};
        add_token(b, t, 6, 0.0f, BN_TOKEN_BYTE);
    }
}

static void add_bpe_bytes(builder *b) {
    /* GPT-2 order: the printable bytes by value, then the others by value */
    for (int pass = 0; pass < 2; pass++)
        for (int byte = 0; byte < 256; byte++) {
            uint32_t cpt = gpt2_byte_cpt(byte);
            if ((cpt < 256) != (pass == 0)) continue;
            char t[2];
            add_token(b, t, utf8_put(cpt, t), 0.0f, BN_TOKEN_NORMAL);
        }
}

static void add_bpe_specials(builder *b) {
    bn_synth_vocab *v = b->v;
    b->cap = v->n_tokens + 3;
    v->bos = add_token(b, "<|begin_of_text|>", 17, 0.0f, BN_TOKEN_CONTROL);
    v->eos = add_token(b, "<|end_of_text|>", 15, 0.0f, BN_TOKEN_CONTROL);
    v->eot = add_token(b, "<|eot_id|>", 10, 0.0f, BN_TOKEN_CONTROL);
}

bitnet_status bn_synth_vocab_build(bn_vocab_kind kind, int32_t n_tokens, bn_synth_vocab *out) {
    memset(out, 0, sizeof *out);
    if (kind != BN_VOCAB_SPM && kind != BN_VOCAB_BPE)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "synthetic vocabulary: unknown kind %d", kind);
    if (n_tokens < BN_SYNTH_VOCAB_MIN || n_tokens > BN_SYNTH_VOCAB_MAX)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "--n-vocab %d: a synthetic vocabulary has %d to %d tokens", n_tokens,
                       BN_SYNTH_VOCAB_MIN, BN_SYNTH_VOCAB_MAX);
    bn_synth_vocab *v = out;
    v->kind = kind;
    v->bos = v->eos = v->eot = v->unk = -1;
    v->text = bn_calloc((size_t)n_tokens, sizeof *v->text);
    v->scores = bn_calloc((size_t)n_tokens, sizeof *v->scores);
    v->types = bn_calloc((size_t)n_tokens, sizeof *v->types);
    builder b = {
        .v = v, .cap = n_tokens, .cap_merges = kind == BN_VOCAB_BPE ? 2 * (int64_t)n_tokens : 0};
    if (kind == BN_VOCAB_BPE) v->merges = bn_calloc((size_t)b.cap_merges, sizeof *v->merges);
    if (!v->text || !v->scores || !v->types || (kind == BN_VOCAB_BPE && !v->merges) ||
        bn_strmap_init(&b.index, (size_t)n_tokens) != 0 ||
        bn_strmap_init(&b.mindex, (size_t)b.cap_merges + 1) != 0) {
        bn_strmap_free(&b.index);
        bn_strmap_free(&b.mindex);
        bn_synth_vocab_free(v);
        return bn_fail(BITNET_ERR_NOMEM, "synthetic vocabulary: out of memory");
    }
    if (kind == BN_VOCAB_SPM) {
        add_spm_fixed(&b);
        emit_pieces(&b);
    } else {
        b.cap = n_tokens - 3; /* room for the control tokens at the end */
        add_bpe_bytes(&b);
        emit_pieces(&b);
        add_bpe_specials(&b);
    }
    bn_strmap_free(&b.index);
    bn_strmap_free(&b.mindex);
    if (b.nomem || v->n_tokens != n_tokens) {
        bool nomem = b.nomem;
        bn_synth_vocab_free(v);
        return nomem
                   ? bn_fail(BITNET_ERR_NOMEM, "synthetic vocabulary: out of memory")
                   : bn_fail(BITNET_ERR_INTERNAL, "synthetic vocabulary: generated too few tokens");
    }
    return BITNET_OK;
}

void bn_synth_vocab_free(bn_synth_vocab *v) {
    if (!v) return;
    for (int32_t i = 0; v->text && i < v->n_tokens; i++) bn_free(v->text[i]);
    for (int64_t i = 0; v->merges && i < v->n_merges; i++) bn_free(v->merges[i]);
    bn_free(v->text);
    bn_free(v->scores);
    bn_free(v->types);
    bn_free(v->merges);
    memset(v, 0, sizeof *v);
}

bitnet_status bn_synth_vocab_write(const bn_synth_vocab *v, bn_gguf_writer *w) {
    const bool spm = v->kind == BN_VOCAB_SPM;
    const uint64_t n = (uint64_t)v->n_tokens;
    bitnet_status st;
    if ((st = bn_gguf_set_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2")) ||
        (st = bn_gguf_set_str(w, "tokenizer.ggml.pre", "default")) ||
        (st = bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->text, NULL,
                                  n)) ||
        (st = bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, v->scores, n)) ||
        (st = bn_gguf_set_arr(w, "tokenizer.ggml.token_type", BN_GGUF_INT32, v->types, n)))
        return st;
    if (!spm &&
        (st = bn_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v->merges, NULL,
                                  (uint64_t)v->n_merges)))
        return st;
    if ((st = bn_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos)) ||
        (st = bn_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos)))
        return st;
    if (v->unk >= 0 &&
        (st = bn_gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)v->unk)))
        return st;
    if (!spm && (st = bn_gguf_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)v->eos)))
        return st;
    if ((st = bn_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true)) ||
        (st = bn_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", false)))
        return st;
    return BITNET_OK;
}
