/* Pre-tokenizers for byte-level BPE (see pretokenize.h for why these are
 * scanners over classified code points rather than regex calls).
 *
 * A split is kept, as in llama.cpp, as a list of piece lengths in code
 * points; each pass re-splits every piece of the previous one and never joins
 * pieces. */
#include "pretokenize.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "alloc.h"
#include "error.h"
#include "tokenizer_internal.h"

/* ---------------------------------------------------------------------------
 * Code point classes
 * ------------------------------------------------------------------------- */

enum {
    F_LETTER = 1,  /* \p{L} */
    F_NUMBER = 2,  /* \p{N} */
    F_PUNCT = 4,   /* \p{P} */
    F_SPACE = 8,   /* White_Space */
    F_DEFINED = 16 /* a code point at all: llama.cpp flags unassigned ones
                      "undefined", which still counts as a class; only bytes
                      that are not UTF-8 have none */
};

/* The Unicode White_Space set, which is what llama.cpp's is_whitespace holds. */
static bool is_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static uint8_t ascii_flags(uint32_t c) {
    if (is_space(c)) return F_SPACE | F_DEFINED;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return F_LETTER | F_DEFINED;
    if (c >= '0' && c <= '9') return F_NUMBER | F_DEFINED;
    /* ASCII characters of general category P */
    if (c > 0x20 && c < 0x7F && strchr("!\"#%&'()*,-./:;?@[\\]_{}", (int)c))
        return F_PUNCT | F_DEFINED;
    return F_DEFINED; /* controls and the symbols $+<=>^`|~ */
}

/* One anchored PCRE2 match tells the category of a non-ASCII code point:
 * PCRE2 carries the Unicode tables, so none are vendored here. */
static pcre2_code *class_re;
static bool class_jit;
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

static void class_init(void) {
    int err;
    PCRE2_SIZE at;
    class_re = pcre2_compile((PCRE2_SPTR) "(\\p{L})|(\\p{N})|(\\p{P})", PCRE2_ZERO_TERMINATED,
                             PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &err, &at, NULL);
    if (class_re) class_jit = pcre2_jit_compile(class_re, PCRE2_JIT_COMPLETE) == 0;
}

/* Classes of the Basic Multilingual Plane, filled in as met (0: not yet).
 * Every thread writes the same value for a code point, so relaxed atomics
 * suffice. */
static _Atomic uint8_t bmp_cache[0x10000];

static uint8_t classify(uint32_t c, pcre2_match_data *md) {
    if (c < 0x80) return ascii_flags(c);
    if (c > 0x10FFFF) return 0;
    if (c >= 0xD800 && c <= 0xDFFF) return F_DEFINED; /* surrogates (category Cs) */
    if (c < 0x10000) {
        uint8_t f = atomic_load_explicit(&bmp_cache[c], memory_order_relaxed);
        if (f) return f & 0x7F;
    }
    uint8_t f = 0;
    if (is_space(c)) {
        f = F_SPACE | F_DEFINED;
    } else if (!class_re || !md) {
        f = F_DEFINED; /* cannot happen with a working PCRE2; be safe */
    } else {
        char buf[4];
        size_t n = bn_utf8_encode(c, buf);
        int rc = class_jit ? pcre2_jit_match(class_re, (PCRE2_SPTR)buf, n, 0, 0, md, NULL)
                           : pcre2_match(class_re, (PCRE2_SPTR)buf, n, 0, 0, md, NULL);
        if (rc < 0) {
            f = F_DEFINED; /* a mark, symbol, separator, control or unassigned */
        } else {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (rc >= 2 && ov[2] != PCRE2_UNSET)
                f = F_LETTER | F_DEFINED;
            else if (rc >= 3 && ov[4] != PCRE2_UNSET)
                f = F_NUMBER | F_DEFINED;
            else
                f = F_PUNCT | F_DEFINED;
        }
    }
    if (c < 0x10000)
        atomic_store_explicit(&bmp_cache[c], (uint8_t)(f | 0x80), memory_order_relaxed);
    return f;
}

/* ---------------------------------------------------------------------------
 * The text as code points, and lists of pieces
 * ------------------------------------------------------------------------- */

typedef struct cpts {
    uint32_t *cpt;
    uint8_t *flags;
    size_t *boff; /* byte offset of each code point; boff[n] = byte length */
    size_t n;
} cpts;

typedef struct pieces {
    size_t *len; /* in code points */
    size_t n, cap;
} pieces;

static bool piece_add(pieces *p, size_t len) {
    if (len == 0) return true;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        size_t *a = bn_realloc(p->len, cap * sizeof *a);
        if (!a) return false;
        p->len = a;
        p->cap = cap;
    }
    p->len[p->n++] = len;
    return true;
}

/* A matcher re-splits code points [a, b) and appends the pieces. */
typedef bool (*matcher)(const cpts *t, size_t a, size_t b, pieces *out);

static bool run_pass(const cpts *t, matcher m, pieces *cur) {
    pieces next = {0};
    size_t start = 0;
    for (size_t i = 0; i < cur->n; i++) {
        if (!m(t, start, start + cur->len[i], &next)) {
            bn_free(next.len);
            return false;
        }
        start += cur->len[i];
    }
    bn_free(cur->len);
    *cur = next;
    return true;
}

/* ---------------------------------------------------------------------------
 * Run-based passes (the std::regex passes of llama.cpp's default splitter,
 * which keep both the matches and the text between them)
 * ------------------------------------------------------------------------- */

/* [\p{P}\$\+<=>\^~\|]+ */
static bool is_punct_run(const cpts *t, size_t i) {
    uint32_t c = t->cpt[i];
    if (c < 0x80) return (t->flags[i] & F_PUNCT) || (c && strchr("$+<=>^~|", (int)c));
    return (t->flags[i] & (F_PUNCT | F_SPACE)) == F_PUNCT;
}

/* \p{N}+ */
static bool is_number_run(const cpts *t, size_t i) {
    return (t->flags[i] & (F_NUMBER | F_SPACE)) == F_NUMBER;
}

static bool split_runs(const cpts *t, size_t a, size_t b, pieces *out,
                       bool (*in_run)(const cpts *, size_t)) {
    size_t i = a;
    while (i < b) {
        bool r = in_run(t, i);
        size_t j = i + 1;
        while (j < b && in_run(t, j) == r) j++;
        if (!piece_add(out, j - i)) return false;
        i = j;
    }
    return true;
}

static bool m_punct(const cpts *t, size_t a, size_t b, pieces *out) {
    return split_runs(t, a, b, out, is_punct_run);
}

static bool m_numbers(const cpts *t, size_t a, size_t b, pieces *out) {
    return split_runs(t, a, b, out, is_number_run);
}

/* [0-9][0-9][0-9], leftmost and without overlap */
static bool m_three_digits(const cpts *t, size_t a, size_t b, pieces *out) {
    size_t gap = a, i = a;
    while (i + 3 <= b) {
        const uint32_t *c = t->cpt + i;
        if (c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' &&
            c[2] <= '9') {
            if (!piece_add(out, i - gap) || !piece_add(out, 3)) return false;
            i += 3;
            gap = i;
        } else {
            i++;
        }
    }
    return piece_add(out, b - gap);
}

/* ---------------------------------------------------------------------------
 * GPT-2 matcher: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 * as llama.cpp's hand-written version reads it: the class "not space, letter
 * or number" excludes unassigned code points, and a character that matches
 * nothing is a piece of its own.
 * ------------------------------------------------------------------------- */

/* flags and code point at i, "nothing" outside [a, b) */
#define FL(i) ((i) >= a && (i) < b ? t->flags[i] : 0)
#define CP(i) ((i) >= a && (i) < b ? t->cpt[i] : UINT32_MAX)
#define OTHER(f) (!((f) & (F_SPACE | F_LETTER | F_NUMBER)) && ((f)&F_DEFINED))

static size_t contraction(const cpts *t, size_t a, size_t b, size_t pos, bool any_case) {
    if (CP(pos) != '\'' || pos + 1 >= b) return 0;
    uint32_t c1 = CP(pos + 1);
    if (any_case && c1 >= 'A' && c1 <= 'Z') c1 += 32;
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (pos + 2 >= b) return 0;
    uint32_t c2 = CP(pos + 2);
    if (any_case && c2 >= 'A' && c2 <= 'Z') c2 += 32;
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    return 0;
}

static bool m_gpt2(const cpts *t, size_t a, size_t b, pieces *out) {
    size_t pos = a;
    while (pos < b) {
        size_t start = pos;
        size_t k = contraction(t, a, b, pos, false);
        if (k) {
            pos += k;
        } else {
            bool sp = CP(pos) == ' ';
            uint8_t f = FL(pos + (sp ? 1 : 0));
            if (f & F_LETTER) {
                pos += sp;
                while (FL(pos) & F_LETTER) pos++;
            } else if (f & F_NUMBER) {
                pos += sp;
                while (FL(pos) & F_NUMBER) pos++;
            } else if (OTHER(f)) {
                pos += sp;
                while (OTHER(FL(pos))) pos++;
            } else {
                size_t ws = 0;
                while (FL(pos + ws) & F_SPACE) ws++;
                if (ws > 1 && pos + ws < b)
                    pos += ws - 1; /* \s+(?!\S): leave one */
                else if (ws > 0)
                    pos += ws;
                else
                    pos++; /* matches nothing: alone */
            }
        }
        if (!piece_add(out, pos - start)) return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * LLaMA-3 matcher:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * again as llama.cpp's hand-written version reads it.
 * ------------------------------------------------------------------------- */

static bool m_llama3(const cpts *t, size_t a, size_t b, pieces *out) {
    size_t pos = a;
    while (pos < b) {
        uint32_t c = CP(pos);
        uint8_t f = FL(pos);
        size_t k = contraction(t, a, b, pos, true);
        if (k) {
            if (!piece_add(out, k)) return false;
            pos += k;
            continue;
        }
        /* [^\r\n\p{L}\p{N}]?\p{L}+ */
        if (c != '\r' && c != '\n' && !(f & F_NUMBER) &&
            ((f & F_LETTER) || (FL(pos + 1) & F_LETTER))) {
            size_t start = pos++;
            while (FL(pos) & F_LETTER) pos++;
            if (!piece_add(out, pos - start)) return false;
            continue;
        }
        /* \p{N}{1,3} */
        if (f & F_NUMBER) {
            size_t start = pos;
            while ((FL(pos) & F_NUMBER) && pos - start < 3) pos++;
            if (!piece_add(out, pos - start)) return false;
            continue;
        }
        /*  ?[^\s\p{L}\p{N}]+[\r\n]*  (the first test looks at the character
         * after an optional space but requires the current one to be assigned) */
        uint8_t f2 = c == ' ' ? FL(pos + 1) : f;
        if (!(f2 & (F_SPACE | F_LETTER | F_NUMBER)) && (f & F_DEFINED)) {
            size_t start = pos;
            pos += c == ' ';
            while (OTHER(FL(pos))) pos++;
            while (CP(pos) == '\r' || CP(pos) == '\n') pos++;
            if (!piece_add(out, pos - start)) return false;
            continue;
        }
        size_t ws = 0, last_nl = 0;
        while (FL(pos + ws) & F_SPACE) {
            uint32_t w = CP(pos + ws);
            if (w == '\r' || w == '\n') last_nl = pos + ws + 1;
            ws++;
        }
        size_t start = pos;
        if (last_nl)
            pos = last_nl; /* \s*[\r\n]+ */
        else if (ws > 1 && pos + ws < b)
            pos += ws - 1; /* \s+(?!\S) */
        else if (ws > 0)
            pos += ws; /* \s+ */
        else
            pos++; /* nothing matches */
        if (!piece_add(out, pos - start)) return false;
    }
    return true;
}

#undef FL
#undef CP
#undef OTHER

/* ---------------------------------------------------------------------------
 * Driver
 * ------------------------------------------------------------------------- */

const char *bn_pretok_name(bn_pretok_kind kind) {
    return kind == BN_PRETOK_LLAMA3 ? "llama-bpe" : kind == BN_PRETOK_GPT2 ? "gpt2" : "default";
}

bool bn_pretokenize(bn_pretok_kind kind, const char *text, size_t len, size_t **lens, size_t *n) {
    *lens = NULL;
    *n = 0;
    if (len == 0) return true;
    pthread_once(&class_once, class_init);

    cpts t = {0};
    pieces cur = {0};
    pcre2_match_data *md = class_re ? pcre2_match_data_create_from_pattern(class_re, NULL) : NULL;
    t.cpt = bn_malloc_array(len, sizeof *t.cpt);
    t.flags = bn_malloc(len);
    t.boff = bn_malloc_array(len + 1, sizeof *t.boff);
    bool ok = t.cpt && t.flags && t.boff && (md || !class_re);

    /* Decode; bytes that are not UTF-8 each become a piece of their own so
     * that no pass can attach them to a neighbour. */
    const unsigned char *s = (const unsigned char *)text;
    size_t run = 0; /* code points in the current valid run */
    for (size_t i = 0; ok && i < len;) {
        uint32_t c;
        size_t k = bn_utf8_decode(s + i, len - i, &c);
        t.boff[t.n] = i;
        if (k) {
            t.cpt[t.n] = c;
            t.flags[t.n] = classify(c, md);
            run++;
            i += k;
        } else {
            t.cpt[t.n] = 0xFFFFFFFEu; /* never equal to a character tested for */
            t.flags[t.n] = 0;
            ok = piece_add(&cur, run) && piece_add(&cur, 1);
            run = 0;
            i++;
        }
        t.n++;
    }
    if (ok) {
        t.boff[t.n] = len;
        ok = piece_add(&cur, run);
    }
    if (md) pcre2_match_data_free(md);

    if (ok) {
        if (kind == BN_PRETOK_LLAMA3) {
            ok = run_pass(&t, m_llama3, &cur);
        } else if (kind == BN_PRETOK_GPT2) {
            ok = run_pass(&t, m_gpt2, &cur);
        } else {
            ok = run_pass(&t, m_punct, &cur) && run_pass(&t, m_gpt2, &cur) &&
                 run_pass(&t, m_numbers, &cur) && run_pass(&t, m_three_digits, &cur);
        }
    }
    if (ok) {
        /* code point counts -> byte lengths, in place */
        size_t at = 0;
        for (size_t i = 0; i < cur.n; i++) {
            size_t end = at + cur.len[i];
            cur.len[i] = t.boff[end] - t.boff[at];
            at = end;
        }
        *lens = cur.len;
        *n = cur.n;
    } else {
        bn_free(cur.len);
        bn_fail(BITNET_ERR_NOMEM, "out of memory pre-tokenizing %zu bytes", len);
    }
    bn_free(t.cpt);
    bn_free(t.flags);
    bn_free(t.boff);
    return ok;
}
