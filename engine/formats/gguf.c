/* GGUF reader: see gguf.h for the layout and what is validated. */
#include "gguf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "file_map.h"
#include "types.h"

/* A cursor over the file bytes; every read is bounds-checked. */
typedef struct reader {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    const char *path;
} reader;

static const size_t gguf_value_size[BN_GGUF_TYPE_COUNT] = {
    [BN_GGUF_UINT8] = 1,   [BN_GGUF_INT8] = 1,  [BN_GGUF_UINT16] = 2,  [BN_GGUF_INT16] = 2,
    [BN_GGUF_UINT32] = 4,  [BN_GGUF_INT32] = 4, [BN_GGUF_FLOAT32] = 4, [BN_GGUF_BOOL] = 1,
    [BN_GGUF_STRING] = 0,  [BN_GGUF_ARRAY] = 0, [BN_GGUF_UINT64] = 8,  [BN_GGUF_INT64] = 8,
    [BN_GGUF_FLOAT64] = 8,
};

const char *bn_gguf_type_name(uint32_t type) {
    static const char *const names[BN_GGUF_TYPE_COUNT] = {
        "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
        "bool",  "string", "array",  "uint64", "int64",  "float64"};
    return type < BN_GGUF_TYPE_COUNT ? names[type] : "invalid";
}

static uint64_t remaining(const reader *r) { return r->size - r->pos; }

/* Adds "context: " to the last error after its leading "PATH: ", so that the
 * message keeps the "PATH: ..." shape gguf.h promises while an outer loop
 * says which entry or element failed. */
BN_PRINTF(2, 3) static void error_context(const char *path, const char *fmt, ...) {
    char ctx[128], old[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", bitnet_get_last_error());
    size_t n = strlen(path);
    if (strncmp(old, path, n) == 0 && old[n] == ':' && old[n + 1] == ' ')
        bn_fail(BITNET_OK, "%s: %s: %s", path, ctx, old + n + 2);
    else
        bn_error_prefix("%s", ctx);
}

static bitnet_status need(reader *r, uint64_t n, const char *what) {
    if (n > remaining(r))
        return bn_fail(BITNET_ERR_TRUNCATED,
                       "%s: truncated at offset %" PRIu64 ": %s needs %" PRIu64 " bytes, %" PRIu64
                       " left",
                       r->path, r->pos, what, n, remaining(r));
    return BITNET_OK;
}

static bitnet_status read_u32(reader *r, uint32_t *v, const char *what) {
    bitnet_status st = need(r, 4, what);
    if (st) return st;
    memcpy(v, r->base + r->pos, 4);
    r->pos += 4;
    return BITNET_OK;
}

static bitnet_status read_u64(reader *r, uint64_t *v, const char *what) {
    bitnet_status st = need(r, 8, what);
    if (st) return st;
    memcpy(v, r->base + r->pos, 8);
    r->pos += 8;
    return BITNET_OK;
}

static bitnet_status read_str(reader *r, bn_gguf_str *s, const char *what) {
    uint64_t start = r->pos, len = 0;
    bitnet_status st = read_u64(r, &len, what);
    if (st) return st;
    if (len > BN_GGUF_MAX_STRING || len > remaining(r))
        return bn_fail(len > remaining(r) ? BITNET_ERR_TRUNCATED : BITNET_ERR_FORMAT,
                       "%s: %s at offset %" PRIu64 " declares length %" PRIu64 " but only %" PRIu64
                       " bytes are left (limit %llu)",
                       r->path, what, start, len, remaining(r), BN_GGUF_MAX_STRING);
    s->ptr = (const char *)(r->base + r->pos);
    s->len = len;
    r->pos += len;
    return BITNET_OK;
}

/* Reads one value of `type` (not ARRAY) and fills strs[0] for strings. */
static bitnet_status skip_scalar(reader *r, uint32_t type, bn_gguf_str *str, const char *key) {
    if (type == BN_GGUF_STRING) return read_str(r, str, key);
    size_t sz = gguf_value_size[type];
    bitnet_status st = need(r, sz, key);
    if (st) return st;
    if (type == BN_GGUF_BOOL && r->base[r->pos] > 1)
        return bn_fail(BITNET_ERR_FORMAT, "%s: key '%s' is a bool with byte value %u (not 0 or 1)",
                       r->path, key, r->base[r->pos]);
    r->pos += sz;
    return BITNET_OK;
}

static bitnet_status read_kv(reader *r, bn_gguf_kv *kv) {
    bn_gguf_str key = {NULL, 0};
    kv->file_offset = r->pos;
    bitnet_status st = read_str(r, &key, "metadata key");
    if (st) return st;
    if (key.len == 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: empty metadata key at offset %" PRIu64, r->path,
                       kv->file_offset);
    if (memchr(key.ptr, '\0', key.len))
        return bn_fail(BITNET_ERR_FORMAT, "%s: metadata key at offset %" PRIu64 " contains a NUL",
                       r->path, kv->file_offset);
    kv->key = bn_strndup(key.ptr, key.len);
    if (!kv->key) return BITNET_ERR_NOMEM;

    st = read_u32(r, &kv->type, kv->key);
    if (st) return st;
    if (kv->type >= BN_GGUF_TYPE_COUNT)
        return bn_fail(BITNET_ERR_FORMAT, "%s: key '%s' has invalid value type %u", r->path,
                       kv->key, kv->type);

    if (kv->type != BN_GGUF_ARRAY) {
        kv->elem_type = kv->type;
        kv->n = 1;
        kv->data = r->base + r->pos;
        if (kv->type == BN_GGUF_STRING) {
            kv->strings = bn_malloc(sizeof *kv->strings);
            if (!kv->strings) return BITNET_ERR_NOMEM;
        }
        return skip_scalar(r, kv->type, kv->strings, kv->key);
    }

    st = read_u32(r, &kv->elem_type, kv->key);
    if (!st) st = read_u64(r, &kv->n, kv->key);
    if (st) return st;
    if (kv->elem_type >= BN_GGUF_TYPE_COUNT || kv->elem_type == BN_GGUF_ARRAY)
        return bn_fail(BITNET_ERR_FORMAT, "%s: array '%s' has invalid element type %u%s", r->path,
                       kv->key, kv->elem_type,
                       kv->elem_type == BN_GGUF_ARRAY ? " (nested arrays are not supported)" : "");
    kv->data = r->base + r->pos;
    if (kv->elem_type != BN_GGUF_STRING) {
        uint64_t bytes;
        if (bn_mul_overflow_u64(kv->n, gguf_value_size[kv->elem_type], &bytes) ||
            bytes > remaining(r))
            return bn_fail(BITNET_ERR_TRUNCATED,
                           "%s: array '%s' declares %" PRIu64 " %s elements but only %" PRIu64
                           " bytes are left",
                           r->path, kv->key, kv->n, bn_gguf_type_name(kv->elem_type), remaining(r));
        if (kv->elem_type == BN_GGUF_BOOL) {
            for (uint64_t i = 0; i < kv->n; i++)
                if (r->base[r->pos + i] > 1)
                    return bn_fail(BITNET_ERR_FORMAT,
                                   "%s: bool array '%s' element %" PRIu64 " has byte value %u",
                                   r->path, kv->key, i, r->base[r->pos + i]);
        }
        r->pos += bytes;
        return BITNET_OK;
    }
    /* every string takes at least its 8-byte length */
    if (kv->n > remaining(r) / 8)
        return bn_fail(BITNET_ERR_TRUNCATED,
                       "%s: string array '%s' declares %" PRIu64 " elements but only %" PRIu64
                       " bytes are left",
                       r->path, kv->key, kv->n, remaining(r));
    kv->strings = bn_malloc_array(kv->n ? kv->n : 1, sizeof *kv->strings);
    if (!kv->strings) return BITNET_ERR_NOMEM;
    for (uint64_t i = 0; i < kv->n; i++) {
        st = read_str(r, &kv->strings[i], kv->key);
        if (st) {
            error_context(r->path, "element %" PRIu64, i);
            return st;
        }
    }
    return BITNET_OK;
}

static bitnet_status read_tensor_info(reader *r, bn_gguf_tensor *t, uint64_t index) {
    bn_gguf_str name = {NULL, 0};
    uint64_t start = r->pos;
    bitnet_status st = read_str(r, &name, "tensor name");
    if (st) return st;
    if (name.len == 0 || name.len >= BN_GGUF_MAX_NAME || memchr(name.ptr, '\0', name.len))
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor %" PRIu64 " at offset %" PRIu64
                       " has an invalid name (length %" PRIu64 ", must be 1..%d bytes, no NUL)",
                       r->path, index, start, name.len, BN_GGUF_MAX_NAME - 1);
    t->name = bn_strndup(name.ptr, name.len);
    if (!t->name) return BITNET_ERR_NOMEM;

    st = read_u32(r, &t->n_dims, t->name);
    if (st) return st;
    if (t->n_dims < 1 || t->n_dims > BN_GGUF_MAX_DIMS)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' has %u dimensions (1..%d allowed)",
                       r->path, t->name, t->n_dims, BN_GGUF_MAX_DIMS);
    for (int i = 0; i < BN_GGUF_MAX_DIMS; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        uint64_t d;
        st = read_u64(r, &d, t->name);
        if (st) return st;
        if (d > (uint64_t)INT64_MAX)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: tensor '%s' dimension %u is negative (%" PRId64 ")", r->path,
                           t->name, i, (int64_t)d);
        t->ne[i] = (int64_t)d;
    }
    st = read_u32(r, &t->type, t->name);
    if (!st) st = read_u64(r, &t->offset, t->name);
    if (st) return st;

    const bn_type_traits *tt = bn_type_get(t->type);
    if (!tt)
        return bn_fail(BITNET_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported type %u (%s)",
                       r->path, t->name, t->type, bn_type_name(t->type));
    /* Zero dims count as 1 here: an empty tensor [0, 2^40, 2^40] has no
     * elements, but code that multiplies its other dims (rows = ne1 * ne2)
     * must not overflow either. */
    uint64_t n_elem = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        uint64_t d = t->ne[i] ? (uint64_t)t->ne[i] : 1;
        if (bn_mul_overflow_u64(n_elem, d, &n_elem) || n_elem > (uint64_t)INT64_MAX)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: tensor '%s' has too many elements (dimensions overflow)", r->path,
                           t->name);
    }
    if (t->ne[0] % tt->block_size != 0)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor '%s' of type %s has %" PRId64
                       " columns, not a multiple of its block size %" PRId64,
                       r->path, t->name, tt->name, t->ne[0], tt->block_size);
    if (!bn_type_nbytes(t->type, t->ne, (int)t->n_dims, &t->nbytes))
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor '%s' of type %s has no valid byte size for its shape "
                       "(overflow, or a shape the type cannot hold)",
                       r->path, t->name, tt->name);
    return BITNET_OK;
}

static bitnet_status check_alignment(reader *r, bn_gguf *g) {
    g->alignment = BN_GGUF_DEFAULT_ALIGNMENT;
    int64_t idx;
    if (!bn_strmap_get(&g->kv_index, "general.alignment", 17, &idx)) return BITNET_OK;
    const bn_gguf_kv *kv = &g->kv[idx];
    if (kv->type != BN_GGUF_UINT32)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: key 'general.alignment' has type %s, expected uint32", r->path,
                       bn_gguf_type_name(kv->type));
    uint32_t a;
    memcpy(&a, kv->data, 4);
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 20))
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: key 'general.alignment' is %u (must be a power of two up to 1 MiB)",
                       r->path, a);
    g->alignment = a;
    return BITNET_OK;
}

typedef struct span {
    uint64_t start, end;
    uint64_t index;
} span;

/* By start, then by file order, so that which pair an overlap message names
 * does not depend on the qsort implementation. */
static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

static bitnet_status check_tensor_data(reader *r, bn_gguf *g) {
    uint64_t data_off = (r->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (data_off < r->pos) return bn_fail(BITNET_ERR_FORMAT, "%s: data offset overflows", r->path);
    g->data_offset = data_off;
    uint64_t data_size = data_off <= g->size ? g->size - data_off : 0;
    if (g->n_tensors == 0) return BITNET_OK;

    span *spans = bn_malloc_array(g->n_tensors, sizeof *spans);
    if (!spans) return BITNET_ERR_NOMEM;
    uint64_t n_spans = 0;
    bitnet_status st = BITNET_OK;
    for (uint64_t i = 0; i < g->n_tensors && !st; i++) {
        bn_gguf_tensor *t = &g->tensors[i];
        uint64_t end;
        if (t->offset % g->alignment != 0)
            st = bn_fail(BITNET_ERR_FORMAT,
                         "%s: tensor '%s' data offset %" PRIu64
                         " is not a multiple of the alignment %u",
                         r->path, t->name, t->offset, g->alignment);
        else if (bn_add_overflow_u64(t->offset, t->nbytes, &end) || end > data_size)
            st = bn_fail(BITNET_ERR_TRUNCATED,
                         "%s: tensor '%s' data (offset %" PRIu64 ", %" PRIu64
                         " bytes) lies outside the file (%" PRIu64
                         " bytes of data): the file is truncated or corrupt",
                         r->path, t->name, t->offset, t->nbytes, data_size);
        else {
            /* an empty tensor may sit at the very end, where the data
             * section itself is empty: keep its pointer inside the buffer */
            uint64_t at = data_off + t->offset;
            t->data = g->base + (at < g->size ? at : g->size);
            /* empty tensors occupy no bytes and cannot overlap anything */
            if (t->nbytes) spans[n_spans++] = (span){t->offset, end, i};
        }
    }
    if (!st) {
        qsort(spans, n_spans, sizeof *spans, span_cmp);
        for (uint64_t i = 1; i < n_spans && !st; i++)
            if (spans[i].start < spans[i - 1].end)
                st = bn_fail(BITNET_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the file",
                             r->path, g->tensors[spans[i - 1].index].name,
                             g->tensors[spans[i].index].name);
    }
    bn_free(spans);
    return st;
}

static bitnet_status parse(bn_gguf *g) {
    reader r = {g->base, g->size, 0, g->path};
    bitnet_status st = need(&r, 4, "magic");
    if (st) return st;
    if (memcmp(g->base, BN_GGUF_MAGIC, 4) != 0) {
        if (memcmp(g->base, "FUGG", 4) == 0)
            return bn_fail(
                BITNET_ERR_FORMAT,
                "%s: bad magic 'FUGG': a big-endian GGUF? only little-endian files are supported",
                g->path);
        return bn_fail(BITNET_ERR_FORMAT, "%s: bad magic %02x %02x %02x %02x: not a GGUF file",
                       g->path, g->base[0], g->base[1], g->base[2], g->base[3]);
    }
    r.pos = 4;
    if ((st = read_u32(&r, &g->version, "version"))) return st;
    if (g->version != 2 && g->version != 3) {
        /* a big-endian writer stores 2 or 3 as 0x02000000 / 0x03000000; only
         * then is endianness the likely cause (version 0 is just invalid) */
        uint32_t swapped = __builtin_bswap32(g->version);
        const char *hint = swapped == 2 || swapped == 3 ? " (byte-swapped: wrong endianness?)" : "";
        return bn_fail(BITNET_ERR_VERSION, "%s: GGUF version %u is not supported (2 and 3 are)%s",
                       g->path, g->version, hint);
    }
    if ((st = read_u64(&r, &g->n_tensors, "tensor count"))) return st;
    if ((st = read_u64(&r, &g->n_kv, "metadata count"))) return st;
    /* the smallest key/value takes 8 (key length) + 1 (key) + 4 (type) + 1
     * bytes, the smallest tensor entry 8 + 1 + 4 + 8 + 4 + 8 */
    if (g->n_kv > remaining(&r) / 14)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: metadata count %" PRIu64 " is larger than the file could hold", g->path,
                       g->n_kv);
    if (g->n_tensors > remaining(&r) / 33)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor count %" PRIu64 " is larger than the file could hold", g->path,
                       g->n_tensors);

    g->kv = bn_calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    if (!g->kv || bn_strmap_init(&g->kv_index, g->n_kv) != 0) return BITNET_ERR_NOMEM;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        if ((st = read_kv(&r, &g->kv[i]))) {
            if (st != BITNET_ERR_NOMEM) error_context(g->path, "metadata entry %" PRIu64, i);
            g->n_kv = i + 1; /* free what was allocated */
            return st;
        }
        int64_t prev;
        int rc = bn_strmap_put(&g->kv_index, g->kv[i].key, strlen(g->kv[i].key), (int64_t)i, &prev);
        if (rc < 0) return BITNET_ERR_NOMEM;
        if (rc == 0) {
            g->n_kv = i + 1;
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: duplicate metadata key '%s' (entries %" PRId64 " and %" PRIu64 ")",
                           g->path, g->kv[i].key, prev, i);
        }
    }
    if ((st = check_alignment(&r, g))) return st;
    /* again, now that the metadata is known to have used part of the bytes:
     * this bounds the tensor table's allocation by what the file can hold */
    if (g->n_tensors > remaining(&r) / 33)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor count %" PRIu64 " is larger than the file could hold", g->path,
                       g->n_tensors);

    g->tensors = bn_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->tensors || bn_strmap_init(&g->tensor_index, g->n_tensors) != 0) return BITNET_ERR_NOMEM;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        if ((st = read_tensor_info(&r, &g->tensors[i], i))) {
            g->n_tensors = i + 1;
            return st;
        }
        int rc = bn_strmap_put(&g->tensor_index, g->tensors[i].name, strlen(g->tensors[i].name),
                               (int64_t)i, NULL);
        if (rc < 0) return BITNET_ERR_NOMEM;
        if (rc == 0) {
            g->n_tensors = i + 1;
            return bn_fail(BITNET_ERR_FORMAT, "%s: duplicate tensor name '%s'", g->path,
                           g->tensors[i].name);
        }
    }
    return check_tensor_data(&r, g);
}

static bitnet_status open_common(bn_gguf *g, bn_gguf **out) {
    bitnet_status st = parse(g);
    if (st) {
        bn_gguf_close(g);
        return st;
    }
    *out = g;
    return BITNET_OK;
}

bitnet_status bn_gguf_open_memory(const void *data, size_t size, const char *name, bn_gguf **out) {
    *out = NULL;
    bn_gguf *g = bn_calloc(1, sizeof *g);
    if (!g) return BITNET_ERR_NOMEM;
    g->path = bn_strdup(name ? name : "<memory>");
    if (!g->path) {
        bn_free(g);
        return BITNET_ERR_NOMEM;
    }
    g->base = data;
    g->size = size;
    g->storage = BN_GGUF_STORAGE_CALLER;
    return open_common(g, out);
}

bitnet_status bn_gguf_open(const char *path, bool use_mmap, bn_gguf **out) {
    *out = NULL;
    if (!path) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "model path is NULL");
    bn_file_map file;
    bitnet_status st = bn_file_map_open(path, use_mmap, 4 + 4 + 8 + 8, "a GGUF header", &file);
    if (st) return st;
    bn_gguf *g = bn_calloc(1, sizeof *g);
    if (!g || !(g->path = bn_strdup(path))) {
        bn_free(g);
        bn_file_map_close(&file);
        return BITNET_ERR_NOMEM;
    }
    g->base = file.base;
    g->size = file.size;
    g->storage = (int)file.storage;
    return open_common(g, out);
}

void bn_gguf_close(bn_gguf *g) {
    if (!g) return;
    for (uint64_t i = 0; g->kv && i < g->n_kv; i++) {
        bn_free((void *)g->kv[i].key);
        bn_free(g->kv[i].strings);
    }
    for (uint64_t i = 0; g->tensors && i < g->n_tensors; i++) bn_free((void *)g->tensors[i].name);
    bn_free(g->kv);
    bn_free(g->tensors);
    bn_strmap_free(&g->kv_index);
    bn_strmap_free(&g->tensor_index);
    bn_file_map file = {.base = g->base, .size = g->size, .storage = (bn_file_storage)g->storage};
    bn_file_map_close(&file);
    bn_free(g->path);
    bn_free(g);
}

const bn_gguf_kv *bn_gguf_find(const bn_gguf *g, const char *key) {
    int64_t idx;
    return bn_strmap_get(&g->kv_index, key, strlen(key), &idx) ? &g->kv[idx] : NULL;
}

const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name) {
    int64_t idx;
    return bn_strmap_get(&g->tensor_index, name, strlen(name), &idx) ? &g->tensors[idx] : NULL;
}

/* Scalar integer value of any integer kv type. */
static bool kv_int(const bn_gguf_kv *kv, int64_t *v, uint64_t *u, bool *is_unsigned) {
    const uint8_t *d = kv->data;
    *is_unsigned = false;
    switch (kv->type) {
    case BN_GGUF_UINT8:
        *u = d[0];
        *is_unsigned = true;
        return true;
    case BN_GGUF_INT8: *v = (int8_t)d[0]; return true;
    case BN_GGUF_UINT16: {
        uint16_t x;
        memcpy(&x, d, 2);
        *u = x;
        *is_unsigned = true;
        return true;
    }
    case BN_GGUF_INT16: {
        int16_t x;
        memcpy(&x, d, 2);
        *v = x;
        return true;
    }
    case BN_GGUF_UINT32: {
        uint32_t x;
        memcpy(&x, d, 4);
        *u = x;
        *is_unsigned = true;
        return true;
    }
    case BN_GGUF_INT32: {
        int32_t x;
        memcpy(&x, d, 4);
        *v = x;
        return true;
    }
    case BN_GGUF_UINT64: {
        uint64_t x;
        memcpy(&x, d, 8);
        *u = x;
        *is_unsigned = true;
        return true;
    }
    case BN_GGUF_INT64: {
        int64_t x;
        memcpy(&x, d, 8);
        *v = x;
        return true;
    }
    default: return false;
    }
}

static bitnet_status missing(const bn_gguf *g, const char *key) {
    return bn_fail(BITNET_ERR_FORMAT, "%s: required metadata key '%s' is missing", g->path, key);
}

static bitnet_status wrong_type(const bn_gguf *g, const bn_gguf_kv *kv, const char *expected) {
    return bn_fail(BITNET_ERR_FORMAT, "%s: metadata key '%s' has type %s, expected %s", g->path,
                   kv->key, bn_gguf_type_name(kv->type), expected);
}

bitnet_status bn_gguf_get_i64(const bn_gguf *g, const char *key, int64_t *out) {
    const bn_gguf_kv *kv = bn_gguf_find(g, key);
    if (!kv) return missing(g, key);
    int64_t v = 0;
    uint64_t u = 0;
    bool is_u;
    if (!kv_int(kv, &v, &u, &is_u)) return wrong_type(g, kv, "an integer");
    if (is_u) {
        if (u > (uint64_t)INT64_MAX)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: metadata key '%s' value %" PRIu64 " is too large", g->path, key, u);
        v = (int64_t)u;
    }
    *out = v;
    return BITNET_OK;
}

bitnet_status bn_gguf_get_u32(const bn_gguf *g, const char *key, uint32_t *out) {
    int64_t v = 0;
    bitnet_status st = bn_gguf_get_i64(g, key, &v);
    if (st) return st;
    if (v < 0 || v > (int64_t)UINT32_MAX)
        return bn_fail(BITNET_ERR_FORMAT, "%s: metadata key '%s' value %" PRId64 " is out of range",
                       g->path, key, v);
    *out = (uint32_t)v;
    return BITNET_OK;
}

bitnet_status bn_gguf_get_f32(const bn_gguf *g, const char *key, float *out) {
    const bn_gguf_kv *kv = bn_gguf_find(g, key);
    if (!kv) return missing(g, key);
    if (kv->type == BN_GGUF_FLOAT32) {
        memcpy(out, kv->data, 4);
    } else if (kv->type == BN_GGUF_FLOAT64) {
        double d;
        memcpy(&d, kv->data, 8);
        *out = (float)d;
    } else {
        return wrong_type(g, kv, "float32");
    }
    return BITNET_OK;
}

bitnet_status bn_gguf_get_bool(const bn_gguf *g, const char *key, bool *out) {
    const bn_gguf_kv *kv = bn_gguf_find(g, key);
    if (!kv) return missing(g, key);
    if (kv->type != BN_GGUF_BOOL) return wrong_type(g, kv, "bool");
    *out = kv->data[0] != 0;
    return BITNET_OK;
}

bitnet_status bn_gguf_get_str(const bn_gguf *g, const char *key, bn_gguf_str *out) {
    const bn_gguf_kv *kv = bn_gguf_find(g, key);
    if (!kv) return missing(g, key);
    if (kv->type != BN_GGUF_STRING) return wrong_type(g, kv, "string");
    *out = kv->strings[0];
    return BITNET_OK;
}

bitnet_status bn_gguf_get_cstr(const bn_gguf *g, const char *key, char *buf, size_t size) {
    bn_gguf_str s = {NULL, 0};
    bitnet_status st = bn_gguf_get_str(g, key, &s);
    if (st) return st;
    const char *nul = memchr(s.ptr, '\0', s.len);
    if (nul)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: string '%s' has a NUL byte at offset %td of %" PRIu64, g->path, key,
                       nul - s.ptr, s.len);
    if (s.len == 0 || s.len >= size)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: string '%s' has length %" PRIu64 " (expected 1..%zu)", g->path, key,
                       s.len, size - 1);
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    return BITNET_OK;
}

bitnet_status bn_gguf_get_arr(const bn_gguf *g, const char *key, uint32_t elem_type,
                              const bn_gguf_kv **out) {
    const bn_gguf_kv *kv = bn_gguf_find(g, key);
    if (!kv) return missing(g, key);
    if (kv->type != BN_GGUF_ARRAY) return wrong_type(g, kv, "array");
    if (elem_type != BN_GGUF_TYPE_COUNT && kv->elem_type != elem_type)
        return bn_fail(BITNET_ERR_FORMAT, "%s: array '%s' has %s elements, expected %s", g->path,
                       key, bn_gguf_type_name(kv->elem_type), bn_gguf_type_name(elem_type));
    *out = kv;
    return BITNET_OK;
}

double bn_gguf_arr_f64(const bn_gguf_kv *kv, uint64_t i) {
    const uint8_t *p = kv->data + i * gguf_value_size[kv->elem_type];
    switch (kv->elem_type) {
    case BN_GGUF_FLOAT32: {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    case BN_GGUF_FLOAT64: {
        double d;
        memcpy(&d, p, 8);
        return d;
    }
    default: return (double)bn_gguf_arr_i64(kv, i);
    }
}

/* Float to int64, saturating: a plain cast of NaN or of a value outside the
 * int64 range is undefined behaviour, and the values come from the file. */
static int64_t f64_to_i64(double d) {
    if (d != d) return 0;
    if (d >= 9223372036854775808.0) return INT64_MAX;
    if (d < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)d;
}

int64_t bn_gguf_arr_i64(const bn_gguf_kv *kv, uint64_t i) {
    const uint8_t *p = kv->data + i * gguf_value_size[kv->elem_type];
    switch (kv->elem_type) {
    case BN_GGUF_UINT8:
    case BN_GGUF_BOOL: return p[0];
    case BN_GGUF_INT8: return (int8_t)p[0];
    case BN_GGUF_UINT16: {
        uint16_t x;
        memcpy(&x, p, 2);
        return x;
    }
    case BN_GGUF_INT16: {
        int16_t x;
        memcpy(&x, p, 2);
        return x;
    }
    case BN_GGUF_UINT32: {
        uint32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    case BN_GGUF_INT32: {
        int32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    case BN_GGUF_UINT64: {
        uint64_t x;
        memcpy(&x, p, 8);
        return (int64_t)x;
    }
    case BN_GGUF_INT64: {
        int64_t x;
        memcpy(&x, p, 8);
        return x;
    }
    case BN_GGUF_FLOAT32: {
        float f;
        memcpy(&f, p, 4);
        return f64_to_i64(f);
    }
    case BN_GGUF_FLOAT64: {
        double d;
        memcpy(&d, p, 8);
        return f64_to_i64(d);
    }
    default: return 0;
    }
}

int bn_gguf_format_value(const bn_gguf_kv *kv, char *buf, size_t size) {
    if (kv->type == BN_GGUF_ARRAY)
        return snprintf(buf, size, "[%" PRIu64 " %s items]", kv->n,
                        bn_gguf_type_name(kv->elem_type));
    if (kv->type == BN_GGUF_STRING) {
        const bn_gguf_str *s = &kv->strings[0];
        int len = s->len > INT32_MAX ? INT32_MAX : (int)s->len;
        return snprintf(buf, size, "%.*s", len, s->ptr);
    }
    if (kv->type == BN_GGUF_BOOL) return snprintf(buf, size, "%s", kv->data[0] ? "true" : "false");
    if (kv->type == BN_GGUF_FLOAT32 || kv->type == BN_GGUF_FLOAT64) {
        double d = bn_gguf_arr_f64(kv, 0);
        return snprintf(buf, size, "%.9g", d);
    }
    int64_t v = 0;
    uint64_t u = 0;
    bool is_u;
    kv_int(kv, &v, &u, &is_u);
    return is_u ? snprintf(buf, size, "%" PRIu64, u) : snprintf(buf, size, "%" PRId64, v);
}
