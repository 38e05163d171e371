/* What the two importers share: format detection, bounded file reading, the
 * vocabulary being built and its GGUF keys. */
#include "vocab_import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"

/* ---------------------------------------------------------------------------
 * Format detection
 * ------------------------------------------------------------------------- */

static bool is_b64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* The first non-blank line is "BASE64 DIGITS" (a CR before the newline
 * allowed). Only the shape is checked here; the importer checks the rest. */
static bool looks_tiktoken(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (s[i] == '\n' || s[i] == '\r')) i++;
    size_t b = i;
    while (i < n && is_b64_char(s[i])) i++;
    if (i == b || i >= n || s[i] != ' ') return false;
    size_t d = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return false;
    if (i < n && s[i] == '\r') i++;
    return i == n || s[i] == '\n';
}

bn_vocab_format bn_vocab_format_detect(const char *data, size_t size) {
    if (!data) return BN_VOCAB_FORMAT_UNKNOWN;
    if (size >= 4 && !memcmp(data, "GGUF", 4)) return BN_VOCAB_FORMAT_GGUF;
    size_t i = 0;
    if (size >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) i = 3;
    while (i < size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
        i++;
    if (i < size && data[i] == '{') return BN_VOCAB_FORMAT_JSON;
    if (looks_tiktoken(data, size)) return BN_VOCAB_FORMAT_TIKTOKEN;
    return BN_VOCAB_FORMAT_UNKNOWN;
}

static const char *const format_names[] = {"unknown", "gguf", "json", "tiktoken"};

const char *bn_vocab_format_name(bn_vocab_format f) {
    return (unsigned)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "unknown";
}

bool bn_vocab_format_parse(const char *name, bn_vocab_format *out) {
    for (int f = BN_VOCAB_FORMAT_GGUF; f <= BN_VOCAB_FORMAT_TIKTOKEN; f++)
        if (name && !strcmp(name, format_names[f])) {
            *out = (bn_vocab_format)f;
            return true;
        }
    return false;
}

/* ---------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------- */

bitnet_status bn_vocab_import_read(const char *path, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return bn_fail(BITNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* Read in chunks, at most one byte past the limit: the size a pipe or a
     * device reports says nothing. */
    const size_t limit = (size_t)BN_VOCAB_IMPORT_MAX_FILE + 1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    bitnet_status st = buf ? BITNET_OK : bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", path);
    while (!st && n < limit) {
        if (n == cap) {
            cap = 2 * cap < limit ? 2 * cap : limit;
            char *b = realloc(buf, cap + 1);
            if (!b) {
                st = bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            buf = b;
        }
        size_t want = cap - n, got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want) {
            if (ferror(f)) st = bn_fail(BITNET_ERR_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (!st && n > BN_VOCAB_IMPORT_MAX_FILE)
        st = bn_fail(BITNET_ERR_FORMAT, "%s: larger than %u MiB, the limit for a vocabulary file",
                     path, BN_VOCAB_IMPORT_MAX_FILE >> 20);
    if (st) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * The vocabulary being built
 * ------------------------------------------------------------------------- */

void bn_vocab_build_init(bn_vocab_build *b) {
    memset(b, 0, sizeof *b);
    b->bos = b->eos = -1;
}

void bn_vocab_build_free(bn_vocab_build *b) {
    for (size_t i = 0; b->text && i < b->n; i++) free(b->text[i]);
    free(b->text);
    free(b->len);
    free(b->score);
    free(b->type);
    free(b->merge_text);
    free(b->merge_off);
    free(b->merge_len);
    bn_vocab_build_init(b);
}

bitnet_status bn_vocab_build_alloc(bn_vocab_build *b, size_t n) {
    b->n = n;
    b->text = calloc(n ? n : 1, sizeof *b->text);
    b->len = calloc(n ? n : 1, sizeof *b->len);
    b->score = calloc(n ? n : 1, sizeof *b->score);
    b->type = calloc(n ? n : 1, sizeof *b->type);
    if (!b->text || !b->len || !b->score || !b->type)
        return bn_fail(BITNET_ERR_NOMEM, "out of memory for %zu tokens", n);
    return BITNET_OK;
}

bitnet_status bn_vocab_build_add_merge(bn_vocab_build *b, const char *name, const char *l,
                                       size_t ll, const char *r, size_t rl) {
    if (b->n_merges >= BN_VOCAB_MAX_MERGES)
        return bn_fail(BITNET_ERR_FORMAT, "%s: more than %u merges (the limit)", name,
                       BN_VOCAB_MAX_MERGES);
    size_t need = ll + rl + 2;
    if (b->merge_text_len + need > BN_VOCAB_IMPORT_MAX_MERGE_BYTES)
        return bn_fail(BITNET_ERR_FORMAT, "%s: the merges exceed %u MiB of text (the limit)", name,
                       BN_VOCAB_IMPORT_MAX_MERGE_BYTES >> 20);
    if (b->n_merges == b->merge_cap) {
        size_t cap = b->merge_cap ? 2 * b->merge_cap : 1024;
        uint64_t *off = realloc(b->merge_off, cap * sizeof *off);
        if (off) b->merge_off = off;
        uint64_t *len = off ? realloc(b->merge_len, cap * sizeof *len) : NULL;
        if (!len) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory for merges", name);
        b->merge_len = len;
        b->merge_cap = cap;
    }
    if (b->merge_text_len + need > b->merge_text_cap) {
        size_t cap = b->merge_text_cap ? 2 * b->merge_text_cap : 1 << 16;
        while (cap < b->merge_text_len + need) cap *= 2;
        char *t = realloc(b->merge_text, cap);
        if (!t) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory for merges", name);
        b->merge_text = t;
        b->merge_text_cap = cap;
    }
    char *m = b->merge_text + b->merge_text_len;
    memcpy(m, l, ll);
    m[ll] = ' ';
    memcpy(m + ll + 1, r, rl);
    m[ll + 1 + rl] = '\0';
    b->merge_off[b->n_merges] = b->merge_text_len;
    b->merge_len[b->n_merges] = ll + 1 + rl;
    b->n_merges++;
    b->merge_text_len += need;
    return BITNET_OK;
}

bitnet_status bn_vocab_build_write(const bn_vocab_build *b, const char *pre, bn_gguf_writer *w) {
    const char **merges = malloc((b->n_merges ? b->n_merges : 1) * sizeof *merges);
    if (!merges) return bn_fail(BITNET_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < b->n_merges; i++) merges[i] = b->merge_text + b->merge_off[i];
    bitnet_status st = bn_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    if (!st && pre) st = bn_gguf_set_str(w, "tokenizer.ggml.pre", pre);
    if (!st)
        st = bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)b->text, b->len,
                                 b->n);
    if (!st) st = bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, b->score, b->n);
    if (!st) st = bn_gguf_set_arr(w, "tokenizer.ggml.token_type", BN_GGUF_INT32, b->type, b->n);
    if (!st)
        st = bn_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, b->merge_len, b->n_merges);
    if (!st && b->bos >= 0)
        st = bn_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)b->bos);
    if (!st && b->eos >= 0)
        st = bn_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)b->eos);
    if (!st) st = bn_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", b->bos >= 0);
    free(merges);
    return st;
}

const char *bn_vocab_show(const char *s, size_t len, char buf[static 96]) {
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0, i = 0;
    while (i < len && k < 60) {
        uint32_t cpt;
        size_t step = bn_utf8_decode((const unsigned char *)s + i, len - i, &cpt);
        if (step > 1 || (step == 1 && cpt >= 0x20 && cpt != 0x7f && cpt != '\\')) {
            memcpy(buf + k, s + i, step);
            k += step;
            i += step;
            continue;
        }
        unsigned char c = (unsigned char)s[i++];
        buf[k++] = '\\';
        buf[k++] = 'x';
        buf[k++] = hex[c >> 4];
        buf[k++] = hex[c & 15];
    }
    if (i < len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}
