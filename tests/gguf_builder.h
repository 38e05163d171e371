/* A byte-level GGUF builder for tests and the fuzz seed generator.
 *
 * Unlike the writer (engine/formats/gguf_writer.c), it checks nothing: it appends
 * exactly the bytes it is told to, so a test can declare a string longer than
 * the bytes that follow, a count that lies, a type id that does not exist, or
 * patch any field of an otherwise valid file after the fact. Little-endian
 * hosts only, like the reader.
 *
 * Allocation failures abort: this is test code, and a half-built file would
 * turn a test of the reader into a test of the builder. */
#ifndef BN_GGUF_BUILDER_H
#define BN_GGUF_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

typedef struct gb {
    uint8_t *data;
    size_t len, cap;
} gb;

static inline void gb_reserve(gb *b, size_t n) {
    if (b->len + n <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
        fprintf(stderr, "gguf_builder: out of memory\n");
        abort();
    }
    b->data = d;
    b->cap = cap;
}

static inline void gb_raw(gb *b, const void *p, size_t n) {
    if (!n) return;
    gb_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void gb_zeros(gb *b, size_t n) {
    gb_reserve(b, n);
    memset(b->data + b->len, 0, n);
    b->len += n;
}

static inline void gb_u8(gb *b, uint8_t v) { gb_raw(b, &v, 1); }
static inline void gb_u16(gb *b, uint16_t v) { gb_raw(b, &v, 2); }
static inline void gb_u32(gb *b, uint32_t v) { gb_raw(b, &v, 4); }
static inline void gb_u64(gb *b, uint64_t v) { gb_raw(b, &v, 8); }
static inline void gb_f32(gb *b, float v) { gb_raw(b, &v, 4); }
static inline void gb_f64(gb *b, double v) { gb_raw(b, &v, 8); }

/* A GGUF string: u64 length, then the bytes (no NUL). */
static inline void gb_str_n(gb *b, const void *s, size_t n) {
    gb_u64(b, n);
    gb_raw(b, s, n);
}
static inline void gb_str(gb *b, const char *s) { gb_str_n(b, s, strlen(s)); }

/* "GGUF", version, tensor count, metadata count. */
static inline void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_raw(b, BN_GGUF_MAGIC, 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

/* Key and value type; the caller appends the value. */
static inline void gb_key(gb *b, const char *key, uint32_t type) {
    gb_str(b, key);
    gb_u32(b, type);
}

static inline void gb_kv_u32(gb *b, const char *key, uint32_t v) {
    gb_key(b, key, BN_GGUF_UINT32);
    gb_u32(b, v);
}

static inline void gb_kv_str(gb *b, const char *key, const char *v) {
    gb_key(b, key, BN_GGUF_STRING);
    gb_str(b, v);
}

/* Array header; the caller appends `n` elements (or fewer, to lie). */
static inline void gb_arr(gb *b, const char *key, uint32_t elem_type, uint64_t n) {
    gb_key(b, key, BN_GGUF_ARRAY);
    gb_u32(b, elem_type);
    gb_u64(b, n);
}

/* One tensor-info entry. ne holds n_dims values, written as u64 (so a test
 * can write UINT64_MAX for a "negative" dimension). */
static inline void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                             uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) gb_u64(b, ne[i]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

/* Zero padding up to a multiple of `align` (the start of tensor data). */
static inline void gb_align(gb *b, size_t align) {
    if (b->len % align) gb_zeros(b, align - b->len % align);
}

/* `n` bytes of a repeating pattern: tensor payloads that are not all zero. */
static inline void gb_fill(gb *b, size_t n, uint8_t seed) {
    gb_reserve(b, n);
    for (size_t i = 0; i < n; i++) b->data[b->len + i] = (uint8_t)(seed + i * 7);
    b->len += n;
}

static inline void gb_patch_u32(gb *b, size_t at, uint32_t v) { memcpy(b->data + at, &v, 4); }
static inline void gb_patch_u64(gb *b, size_t at, uint64_t v) { memcpy(b->data + at, &v, 8); }

static inline void gb_free(gb *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Writes the buffer to a file; returns 0 on success. */
static inline int gb_save(const gb *b, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = b->len ? fwrite(b->data, 1, b->len, f) : 0;
    return (fclose(f) == 0 && w == b->len) ? 0 : -1;
}

#endif
