/* libFuzzer target for the GGUF reader: bytes -> bn_gguf_open_memory; if the
 * file is accepted, every key goes through every typed getter, the element
 * accessors and bn_gguf_format_value, and every tensor's bytes are touched at
 * both ends, so that anything the reader accepted but got wrong (a string or
 * tensor pointing outside the buffer, an index that disagrees with the
 * tables) turns into an ASan report or a failed invariant. Then it closes,
 * and LeakSanitizer sees whether the error paths freed everything.
 *
 * Built by ci/fuzz.sh with clang -fsanitize=fuzzer,address,undefined; the
 * normal build links it with fuzz/replay_main.c as the CTest test
 * fuzz_replay_gguf, which replays fuzz/corpus/gguf/ without libFuzzer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gguf.h"
#include "types.h"

/* Bounds the per-input work on huge arrays; the reader has already checked
 * all elements, this only reads them back. */
enum { FUZZ_MAX_ELEMS = 4096 };

static const uint8_t *fuzz_lo, *fuzz_hi;

/* [p, p + n) lies inside the input. */
static int inside(const void *p, uint64_t n) {
    const uint8_t *q = p;
    return q >= fuzz_lo && q <= fuzz_hi && n <= (uint64_t)(fuzz_hi - q);
}

static void fuzz_kv(const bn_gguf *g, const bn_gguf_kv *kv, volatile uint64_t *sink) {
    char buf[96];
    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    bn_gguf_str s;
    const bn_gguf_kv *arr;

    FUZZ_ASSERT(kv->key && kv->key[0]);
    FUZZ_ASSERT(bn_gguf_find(g, kv->key) == kv);
    FUZZ_ASSERT(kv->type < BN_GGUF_TYPE_COUNT && kv->elem_type < BN_GGUF_TYPE_COUNT);
    int n = bn_gguf_format_value(kv, buf, sizeof buf);
    FUZZ_ASSERT(n >= 0 && strlen(buf) < sizeof buf);
    n = bn_gguf_format_value(kv, buf, 1); /* truncation to nothing */
    FUZZ_ASSERT(n >= 0 && buf[0] == '\0');

    /* every getter on every key: most are type mismatches, which must fail
     * cleanly; the rest must return what is in the file */
    if (bn_gguf_get_u32(g, kv->key, &u32) == BITNET_OK) *sink += u32;
    if (bn_gguf_get_i64(g, kv->key, &i64) == BITNET_OK) *sink += (uint64_t)i64;
    if (bn_gguf_get_f32(g, kv->key, &f) == BITNET_OK) *sink += (uint64_t)(f == f);
    if (bn_gguf_get_bool(g, kv->key, &b) == BITNET_OK) *sink += b;
    if (bn_gguf_get_str(g, kv->key, &s) == BITNET_OK) {
        FUZZ_ASSERT(kv->type == BN_GGUF_STRING && inside(s.ptr, s.len));
        if (s.len) *sink += (uint8_t)s.ptr[0] + (uint8_t)s.ptr[s.len - 1];
    }
    if (bn_gguf_get_arr(g, kv->key, BN_GGUF_TYPE_COUNT, &arr) != BITNET_OK) return;
    FUZZ_ASSERT(arr == kv && kv->type == BN_GGUF_ARRAY && kv->elem_type != BN_GGUF_ARRAY);
    FUZZ_ASSERT(bn_gguf_get_arr(g, kv->key, kv->elem_type, &arr) == BITNET_OK);
    uint32_t other = (kv->elem_type + 1) % BN_GGUF_TYPE_COUNT;
    FUZZ_ASSERT(bn_gguf_get_arr(g, kv->key, other, &arr) == BITNET_ERR_FORMAT);
    uint64_t lim = kv->n < FUZZ_MAX_ELEMS ? kv->n : FUZZ_MAX_ELEMS;
    if (kv->elem_type == BN_GGUF_STRING) {
        for (uint64_t i = 0; i < lim; i++) {
            const bn_gguf_str *e = &kv->strings[i];
            FUZZ_ASSERT(inside(e->ptr, e->len));
            if (e->len) *sink += (uint8_t)e->ptr[0] + (uint8_t)e->ptr[e->len - 1];
        }
        if (kv->n) FUZZ_ASSERT(inside(kv->strings[kv->n - 1].ptr, kv->strings[kv->n - 1].len));
        return;
    }
    for (uint64_t i = 0; i < lim; i++) {
        double d = bn_gguf_arr_f64(kv, i);
        *sink += (uint64_t)(d == d) + (uint64_t)bn_gguf_arr_i64(kv, i);
    }
    /* the last element, even past the bounded loop */
    if (kv->n) *sink += (uint64_t)bn_gguf_arr_i64(kv, kv->n - 1);
}

static void fuzz_tensor(const bn_gguf *g, const bn_gguf_tensor *t, volatile uint64_t *sink) {
    FUZZ_ASSERT(t->name && t->name[0] && strlen(t->name) < BN_GGUF_MAX_NAME);
    FUZZ_ASSERT(bn_gguf_find_tensor(g, t->name) == t);
    FUZZ_ASSERT(t->n_dims >= 1 && t->n_dims <= BN_GGUF_MAX_DIMS);
    const bn_type_traits *tt = bn_type_get(t->type);
    FUZZ_ASSERT(tt != NULL);
    uint64_t n = 1;
    for (int d = 0; d < BN_GGUF_MAX_DIMS; d++) {
        FUZZ_ASSERT(t->ne[d] >= 0);
        FUZZ_ASSERT(!__builtin_mul_overflow(n, (uint64_t)(t->ne[d] ? t->ne[d] : 1), &n));
    }
    FUZZ_ASSERT(t->ne[0] % tt->block_size == 0);
    uint64_t nbytes;
    FUZZ_ASSERT(bn_type_nbytes(t->type, t->ne, (int)t->n_dims, &nbytes) && nbytes == t->nbytes);
    FUZZ_ASSERT(t->offset % g->alignment == 0);
    FUZZ_ASSERT(inside(t->data, t->nbytes));
    if (t->nbytes) *sink += t->data[0] + t->data[t->nbytes - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_gguf *g = NULL;
    if (bn_gguf_open_memory(data, size, "fuzz.gguf", &g) != BITNET_OK) {
        FUZZ_ASSERT(g == NULL);
        return 0;
    }
    fuzz_lo = data;
    fuzz_hi = data + size;
    volatile uint64_t sink = 0;
    FUZZ_ASSERT(g->alignment && (g->alignment & (g->alignment - 1)) == 0);
    FUZZ_ASSERT(g->data_offset % g->alignment == 0);
    for (uint64_t i = 0; i < g->n_kv; i++) fuzz_kv(g, &g->kv[i], &sink);
    for (uint64_t i = 0; i < g->n_tensors; i++) fuzz_tensor(g, &g->tensors[i], &sink);
    uint32_t u32;
    if (!bn_gguf_find(g, "fuzz.no.such.key"))
        FUZZ_ASSERT(bn_gguf_get_u32(g, "fuzz.no.such.key", &u32) == BITNET_ERR_FORMAT);
    if (!bn_gguf_find_tensor(g, "fuzz.no.such.tensor")) sink += 1;
    bn_gguf_close(g);
    (void)sink;
    return 0;
}
