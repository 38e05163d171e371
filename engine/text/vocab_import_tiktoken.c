/* tiktoken ranks files ("base64-bytes rank" per line, ranks 0..n-1 each
 * once) -> a byte-level BPE vocabulary, with the merge list derived from the
 * ranks the way Hugging Face's tiktoken converter does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"
#include "vocab_import.h"

/* ---------------------------------------------------------------------------
 * Lines
 * ------------------------------------------------------------------------- */

static int b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict base64 (with '=' padding) into out; returns the length or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out) {
    if (n == 0 || n % 4) return -1;
    long k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            if (s[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad || (v[j] = b64val((unsigned char)s[i + j])) < 0) {
                return -1;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[k++] = (unsigned char)(w >> 16);
        if (pad < 2) out[k++] = (unsigned char)(w >> 8);
        if (pad < 1) out[k++] = (unsigned char)w;
    }
    return k;
}

/* A decimal rank without sign or spaces; -1 otherwise. */
static long long parse_rank(const char *s, size_t n) {
    if (n == 0 || n > 12) return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* LLaMA-3's special tokens (Meta's tokenizer.py order). */
static void special_name(size_t i, char *buf, size_t size) {
    static const char *const first[] = {
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
    };
    if (i < 10)
        snprintf(buf, size, "%s", first[i]);
    else
        snprintf(buf, size, "<|reserved_special_token_%zu|>", i - 5);
}

/* ---------------------------------------------------------------------------
 * Token bytes -> rank, by polynomial hash
 *
 * Deriving the merges asks, for every split of every token, whether both
 * halves are tokens. Hashing each half afresh costs O(L^2) per token of L
 * bytes; prefix hashes give every half's hash in O(1), so a token costs O(L)
 * plus O(L) per merge it yields (to compare the bytes of a hit, which is
 * work the output pays for anyway).
 * ------------------------------------------------------------------------- */

#define HASH_MOD ((1ull << 61) - 1)
#define HASH_BASE 1000003ull

static uint64_t mulmod(uint64_t a, uint64_t b) {
    unsigned __int128 p = (unsigned __int128)a * b;
    uint64_t r = (uint64_t)(p & HASH_MOD) + (uint64_t)(p >> 61);
    return r >= HASH_MOD ? r - HASH_MOD : r;
}

typedef struct rank_slot {
    uint64_t hash;
    uint32_t len;
    int32_t rank; /* -1: empty */
} rank_slot;

typedef struct rank_table {
    rank_slot *slots;
    size_t mask;
    unsigned char **bytes; /* [rank] */
    size_t *blen;
} rank_table;

static size_t slot_of(const rank_table *t, uint64_t hash, size_t len) {
    uint64_t x = hash ^ ((uint64_t)len * 0x9e3779b97f4a7c15ull);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (size_t)x & t->mask;
}

/* The rank of the bytes s[0..len) with that hash, or -1. */
static int64_t rank_find(const rank_table *t, const unsigned char *s, size_t len, uint64_t hash) {
    for (size_t i = slot_of(t, hash, len);; i = (i + 1) & t->mask) {
        const rank_slot *e = &t->slots[i];
        if (e->rank < 0) return -1;
        if (e->hash == hash && e->len == len && !memcmp(t->bytes[e->rank], s, len)) return e->rank;
    }
}

/* Whether some token has that hash and length: O(1), no byte compared. */
static bool rank_maybe(const rank_table *t, size_t len, uint64_t hash) {
    for (size_t i = slot_of(t, hash, len);; i = (i + 1) & t->mask) {
        const rank_slot *e = &t->slots[i];
        if (e->rank < 0) return false;
        if (e->hash == hash && e->len == len) return true;
    }
}

static uint64_t hash_bytes(const unsigned char *s, size_t len) {
    uint64_t h = 0;
    for (size_t i = 0; i < len; i++) h = (mulmod(h, HASH_BASE) + s[i] + 1) % HASH_MOD;
    return h;
}

/* Inserts a rank; returns the rank it duplicates, or -1. */
static int64_t rank_insert(rank_table *t, int32_t rank) {
    const unsigned char *s = t->bytes[rank];
    size_t len = t->blen[rank];
    uint64_t hash = hash_bytes(s, len);
    int64_t prev = rank_find(t, s, len, hash);
    if (prev >= 0) return prev;
    size_t i = slot_of(t, hash, len);
    while (t->slots[i].rank >= 0) i = (i + 1) & t->mask;
    t->slots[i] = (rank_slot){hash, (uint32_t)len, rank};
    return -1;
}

/* ---------------------------------------------------------------------------
 * Merges
 * ------------------------------------------------------------------------- */

typedef struct split {
    int32_t rank_l, rank_r;
} split;

static int cmp_split(const void *a, const void *b) {
    const split *x = a, *y = b;
    if (x->rank_l != y->rank_l) return x->rank_l < y->rank_l ? -1 : 1;
    return (x->rank_r > y->rank_r) - (x->rank_r < y->rank_r);
}

/* For each token in rank order, every split into two tokens is a merge,
 * ordered by the ranks of the left then the right part. Ordering merges by
 * the rank of the token they make is what makes rank-ordered BPE over this
 * list equal to tiktoken's (LLaMA-3's 280,147 merges come from this). */
static bitnet_status derive_merges(const char *name, bn_vocab_build *b, const rank_table *t,
                                   size_t n_ranks) {
    /* prefix hashes H[i] of s[0..i), and HASH_BASE^i */
    uint64_t *pre = malloc((BN_TOKEN_MAX_LEN + 1) * sizeof *pre);
    uint64_t *pw = malloc((BN_TOKEN_MAX_LEN + 1) * sizeof *pw);
    split *local = malloc(BN_TOKEN_MAX_LEN * sizeof *local);
    bitnet_status st = BITNET_OK;
    if (!pre || !pw || !local) {
        st = bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    pw[0] = 1;
    for (size_t i = 1; i <= BN_TOKEN_MAX_LEN; i++) pw[i] = mulmod(pw[i - 1], HASH_BASE);
    for (size_t r = 0; r < n_ranks && !st; r++) {
        const unsigned char *s = t->bytes[r];
        size_t L = t->blen[r], k = 0;
        pre[0] = 0;
        for (size_t i = 0; i < L; i++)
            pre[i + 1] = (mulmod(pre[i], HASH_BASE) + s[i] + 1) % HASH_MOD;
        for (size_t at = 1; at < L; at++) {
            uint64_t hl = pre[at];
            uint64_t hr = (pre[L] + HASH_MOD - mulmod(pre[at], pw[L - at])) % HASH_MOD;
            /* compare bytes only when both halves' hashes are known: a
             * prefix that is a token with a suffix that is not costs O(1) */
            if (!rank_maybe(t, at, hl) || !rank_maybe(t, L - at, hr)) continue;
            int64_t rl = rank_find(t, s, at, hl);
            int64_t rr = rl >= 0 ? rank_find(t, s + at, L - at, hr) : -1;
            if (rr >= 0) local[k++] = (split){(int32_t)rl, (int32_t)rr};
        }
        if (L >= 2 && k == 0) {
            char show[96];
            st = bn_fail(BITNET_ERR_FORMAT,
                         "%s: the token of rank %zu ('%s') is not made of two tokens, so no "
                         "merge can produce it",
                         name, r, bn_vocab_show(b->text[r], b->len[r], show));
            break;
        }
        qsort(local, k, sizeof *local, cmp_split);
        for (size_t i = 0; i < k && !st; i++) {
            int32_t l = local[i].rank_l, rr = local[i].rank_r;
            st = bn_vocab_build_add_merge(b, name, b->text[l], b->len[l], b->text[rr], b->len[rr]);
        }
    }
done:
    free(pre);
    free(pw);
    free(local);
    return st;
}

/* ---------------------------------------------------------------------------
 * The importer
 * ------------------------------------------------------------------------- */

/* Encodes bytes in GPT-2's byte alphabet (at most 2 bytes per byte). */
static char *encode_bytes(const unsigned char *s, size_t n, uint64_t *out_len) {
    char *d = malloc(2 * n + 1);
    if (!d) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += bn_utf8_encode(bn_bpe_byte_to_cpt(s[i]), d + k);
    d[k] = '\0';
    *out_len = k;
    return d;
}

typedef struct tiktoken_lines {
    size_t n;             /* ranks seen: 0..n-1 */
    unsigned char *arena; /* decoded bytes of all tokens */
    rank_table table;
} tiktoken_lines;

static void lines_free(tiktoken_lines *tl) {
    free(tl->arena);
    free(tl->table.slots);
    free(tl->table.bytes);
    free(tl->table.blen);
}

/* Parses every line into tl: ranks 0..n-1, each once, tokens unique. */
static bitnet_status parse_lines(const char *name, const char *data, size_t size,
                                 tiktoken_lines *tl) {
    size_t n_lines = 0;
    for (size_t i = 0; i < size; i++) n_lines += data[i] == '\n';
    if (size && data[size - 1] != '\n') n_lines++;
    if (n_lines > BN_VOCAB_IMPORT_MAX_ID)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %zu lines, more than the %u tokens allowed", name,
                       n_lines, BN_VOCAB_IMPORT_MAX_ID);
    size_t cap = 16;
    while (cap < 2 * n_lines) cap *= 2;
    rank_table *t = &tl->table;
    t->slots = malloc(cap * sizeof *t->slots);
    t->mask = cap - 1;
    t->bytes = calloc(n_lines ? n_lines : 1, sizeof *t->bytes);
    t->blen = calloc(n_lines ? n_lines : 1, sizeof *t->blen);
    tl->arena = malloc(size + 1);
    if (!t->slots || !t->bytes || !t->blen || !tl->arena)
        return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < cap; i++) t->slots[i].rank = -1;

    size_t at = 0, line = 0, used = 0, n_seen = 0;
    while (at < size) {
        const char *eol = memchr(data + at, '\n', size - at);
        size_t end = eol ? (size_t)(eol - data) : size, next = end + 1;
        line++;
        if (end > at && data[end - 1] == '\r') end--;
        if (end == at) {
            at = next;
            continue; /* blank line */
        }
        const char *sp = memchr(data + at, ' ', end - at);
        long long rank = sp ? parse_rank(sp + 1, (size_t)(data + end - sp - 1)) : -1;
        long blen = sp ? b64_decode(data + at, (size_t)(sp - data - at), tl->arena + used) : -1;
        if (rank < 0 || blen < 1)
            return bn_fail(BITNET_ERR_FORMAT, "%s:%zu: expected 'BASE64 RANK'", name, line);
        if ((size_t)rank >= n_lines)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s:%zu: rank %lld, but with %zu lines the ranks must be 0..%zu", name,
                           line, rank, n_lines, n_lines - 1);
        size_t enc_len = 0;
        for (long i = 0; i < blen; i++)
            enc_len += 1 + (bn_bpe_byte_to_cpt(tl->arena[used + i]) >= 0x80);
        if (enc_len > BN_TOKEN_MAX_LEN)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s:%zu: the token of rank %lld is %zu bytes long in the GPT-2 byte "
                           "alphabet (limit %d)",
                           name, line, rank, enc_len, BN_TOKEN_MAX_LEN);
        if (t->bytes[rank])
            return bn_fail(BITNET_ERR_FORMAT, "%s:%zu: rank %lld appears twice", name, line, rank);
        t->bytes[rank] = tl->arena + used;
        t->blen[rank] = (size_t)blen;
        int64_t dup = rank_insert(t, (int32_t)rank);
        if (dup >= 0)
            return bn_fail(BITNET_ERR_FORMAT, "%s:%zu: the token of rank %lld duplicates rank %lld",
                           name, line, rank, (long long)dup);
        used += (size_t)blen;
        n_seen++;
        at = next;
    }
    if (n_seen == 0) return bn_fail(BITNET_ERR_FORMAT, "%s: no tokens", name);
    for (size_t r = 0; r < n_seen; r++)
        if (!t->bytes[r])
            return bn_fail(BITNET_ERR_FORMAT, "%s: rank %zu is missing (ranks must be 0..%zu)",
                           name, r, n_seen - 1);
    tl->n = n_seen;
    return BITNET_OK;
}

bitnet_status bn_vocab_import_tiktoken(const char *name, const char *data, size_t size,
                                       size_t n_special, bn_vocab_build *b) {
    bn_vocab_build_init(b);
    if (!data) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s: no data", name);
    if (size > BN_VOCAB_IMPORT_MAX_FILE)
        return bn_fail(BITNET_ERR_FORMAT, "%s: larger than %u MiB, the limit for a vocabulary file",
                       name, BN_VOCAB_IMPORT_MAX_FILE >> 20);
    tiktoken_lines tl = {0};
    bitnet_status st = parse_lines(name, data, size, &tl);
    if (!st && tl.n + n_special > BN_VOCAB_IMPORT_MAX_ID)
        st = bn_fail(BITNET_ERR_FORMAT, "%s: %zu ranks and %zu special tokens exceed %u tokens",
                     name, tl.n, n_special, BN_VOCAB_IMPORT_MAX_ID);
    if (!st) st = bn_vocab_build_alloc(b, tl.n + n_special);
    for (size_t r = 0; !st && r < tl.n; r++) {
        b->text[r] = encode_bytes(tl.table.bytes[r], tl.table.blen[r], &b->len[r]);
        b->type[r] = BN_TOKEN_NORMAL;
        if (!b->text[r]) st = bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", name);
    }
    for (size_t i = 0; !st && i < n_special; i++) {
        char sname[64];
        special_name(i, sname, sizeof sname);
        size_t id = tl.n + i;
        b->len[id] = strlen(sname);
        b->text[id] = malloc(b->len[id] + 1);
        if (!b->text[id]) {
            st = bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", name);
            break;
        }
        memcpy(b->text[id], sname, b->len[id] + 1);
        b->type[id] = BN_TOKEN_CONTROL;
        /* as the BitNet converter writes them; BPE does not use scores */
        b->score[id] = -1000.0f;
    }
    /* a special name that is also a rank's text would make two equal tokens */
    for (size_t i = 0; !st && i < n_special; i++) {
        size_t id = tl.n + i;
        int64_t r = rank_find(&tl.table, (const unsigned char *)b->text[id], b->len[id],
                              hash_bytes((const unsigned char *)b->text[id], b->len[id]));
        if (r >= 0)
            st = bn_fail(BITNET_ERR_FORMAT,
                         "%s: special token %zu '%s' is also the token of rank %lld", name, id,
                         b->text[id], (long long)r);
    }
    if (!st) st = derive_merges(name, b, &tl.table, tl.n);
    if (!st && n_special > 1) {
        b->bos = (int64_t)tl.n;
        b->eos = (int64_t)tl.n + 1;
    }
    lines_free(&tl);
    if (st) bn_vocab_build_free(b);
    return st;
}
