/* GGUF writer: metadata is serialized as it is set (in call order), tensors
 * are laid out in call order with the default alignment. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "atomic_file.h"
#include "error.h"
#include "gguf.h"
#include "strmap.h"
#include "types.h"

typedef struct buffer {
    uint8_t *data;
    size_t len, cap;
} buffer;

typedef struct writer_tensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[BN_GGUF_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
    void *owned;
    bn_gguf_fill_fn fill; /* produces data at write time (data is then NULL) */
    void *fill_ctx;
} writer_tensor;

struct bn_gguf_writer {
    buffer kv; /* serialized key/value pairs */
    uint64_t n_kv;
    char **keys; /* for duplicate detection */
    bn_strmap key_index;
    writer_tensor *tensors;
    uint64_t n_tensors, cap_tensors;
    bn_strmap tensor_index;
    uint32_t alignment; /* from a general.alignment key; 0: the default */
    bool failed;        /* an allocation failed earlier: write refuses */
};

static bool buf_put(buffer *b, const void *src, size_t n) {
    if (n == 0) return true;                     /* src may be NULL (an empty array) */
    if (n > SIZE_MAX / 2 - b->len) return false; /* the doubling below would wrap */
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = bn_realloc(b->data, cap);
        if (!d) return false;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return true;
}

static bool buf_u32(buffer *b, uint32_t v) { return buf_put(b, &v, 4); }
static bool buf_u64(buffer *b, uint64_t v) { return buf_put(b, &v, 8); }
static bool buf_str(buffer *b, const char *s, uint64_t len) {
    return buf_u64(b, len) && buf_put(b, s, (size_t)len);
}

bn_gguf_writer *bn_gguf_writer_new(void) {
    bn_gguf_writer *w = bn_calloc(1, sizeof *w);
    if (!w) return NULL;
    if (bn_strmap_init(&w->key_index, 64) || bn_strmap_init(&w->tensor_index, 64)) {
        bn_gguf_writer_free(w);
        return NULL;
    }
    return w;
}

void bn_gguf_writer_free(bn_gguf_writer *w) {
    if (!w) return;
    for (uint64_t i = 0; i < w->n_kv; i++) bn_free(w->keys[i]);
    bn_free(w->keys);
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        bn_free(w->tensors[i].name);
        bn_free(w->tensors[i].owned);
    }
    bn_free(w->tensors);
    bn_free(w->kv.data);
    bn_strmap_free(&w->key_index);
    bn_strmap_free(&w->tensor_index);
    bn_free(w);
}

/* Registers a new key (rejecting duplicates) and writes its name and type. */
static bitnet_status begin_kv(bn_gguf_writer *w, const char *key, uint32_t type) {
    if (!key || !*key) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: empty key");
    /* the writer lays tensors out by this key, and readers reject any other
     * type for it */
    if (strcmp(key, "general.alignment") == 0 && type != BN_GGUF_UINT32)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "gguf writer: key 'general.alignment' must be uint32");
    char *copy = bn_strdup(key);
    char **keys = copy ? bn_realloc(w->keys, (size_t)(w->n_kv + 1) * sizeof *keys) : NULL;
    if (!keys) {
        bn_free(copy);
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    w->keys = keys;
    int rc = bn_strmap_put(&w->key_index, copy, strlen(copy), (int64_t)w->n_kv, NULL);
    if (rc <= 0) {
        bn_free(copy);
        if (rc < 0) w->failed = true;
        return rc < 0
                   ? BITNET_ERR_NOMEM
                   : bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: duplicate key '%s'", key);
    }
    w->keys[w->n_kv++] = copy;
    if (!buf_str(&w->kv, key, strlen(key)) || !buf_u32(&w->kv, type)) {
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    return BITNET_OK;
}

static bitnet_status put_scalar(bn_gguf_writer *w, const char *key, uint32_t type, const void *v,
                                size_t n) {
    uint32_t align = 0;
    if (key && strcmp(key, "general.alignment") == 0 && type == BN_GGUF_UINT32) {
        memcpy(&align, v, 4);
        /* the same rule as the reader: a power of two up to 1 MiB */
        if (align == 0 || (align & (align - 1)) != 0 || align > (1u << 20))
            return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                           "gguf writer: general.alignment %u is not a power of two up to 1 MiB",
                           align);
    }
    bitnet_status st = begin_kv(w, key, type);
    if (st) return st;
    if (align) w->alignment = align;
    if (!buf_put(&w->kv, v, n)) {
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    return BITNET_OK;
}

bitnet_status bn_gguf_set_u32(bn_gguf_writer *w, const char *key, uint32_t v) {
    return put_scalar(w, key, BN_GGUF_UINT32, &v, 4);
}
bitnet_status bn_gguf_set_i32(bn_gguf_writer *w, const char *key, int32_t v) {
    return put_scalar(w, key, BN_GGUF_INT32, &v, 4);
}
bitnet_status bn_gguf_set_u64(bn_gguf_writer *w, const char *key, uint64_t v) {
    return put_scalar(w, key, BN_GGUF_UINT64, &v, 8);
}
bitnet_status bn_gguf_set_f32(bn_gguf_writer *w, const char *key, float v) {
    return put_scalar(w, key, BN_GGUF_FLOAT32, &v, 4);
}
bitnet_status bn_gguf_set_bool(bn_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return put_scalar(w, key, BN_GGUF_BOOL, &b, 1);
}

bitnet_status bn_gguf_set_str_n(bn_gguf_writer *w, const char *key, const char *v, size_t len) {
    bitnet_status st = begin_kv(w, key, BN_GGUF_STRING);
    if (st) return st;
    if (!buf_str(&w->kv, v, len)) {
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    return BITNET_OK;
}

bitnet_status bn_gguf_set_str(bn_gguf_writer *w, const char *key, const char *v) {
    return bn_gguf_set_str_n(w, key, v, strlen(v));
}

static size_t elem_size(uint32_t t) {
    switch (t) {
    case BN_GGUF_UINT8:
    case BN_GGUF_INT8:
    case BN_GGUF_BOOL: return 1;
    case BN_GGUF_UINT16:
    case BN_GGUF_INT16: return 2;
    case BN_GGUF_UINT32:
    case BN_GGUF_INT32:
    case BN_GGUF_FLOAT32: return 4;
    case BN_GGUF_UINT64:
    case BN_GGUF_INT64:
    case BN_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

bitnet_status bn_gguf_set_arr(bn_gguf_writer *w, const char *key, uint32_t elem_type,
                              const void *data, uint64_t n) {
    size_t es = elem_size(elem_type);
    if (!es)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: bad array element type %u",
                       elem_type);
    if (n > SIZE_MAX / es)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "gguf writer: array '%s' of %llu elements is too large", key ? key : "",
                       (unsigned long long)n);
    bitnet_status st = begin_kv(w, key, BN_GGUF_ARRAY);
    if (st) return st;
    if (!buf_u32(&w->kv, elem_type) || !buf_u64(&w->kv, n) ||
        !buf_put(&w->kv, data, (size_t)(n * es))) {
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    return BITNET_OK;
}

bitnet_status bn_gguf_set_arr_str(bn_gguf_writer *w, const char *key, const char *const *strs,
                                  const uint64_t *lens, uint64_t n) {
    bitnet_status st = begin_kv(w, key, BN_GGUF_ARRAY);
    if (st) return st;
    bool ok = buf_u32(&w->kv, BN_GGUF_STRING) && buf_u64(&w->kv, n);
    for (uint64_t i = 0; ok && i < n; i++)
        ok = buf_str(&w->kv, strs[i], lens ? lens[i] : strlen(strs[i]));
    if (!ok) {
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    return BITNET_OK;
}

bitnet_status bn_gguf_set_kv_copy(bn_gguf_writer *w, const bn_gguf_kv *kv) {
    if (kv->type == BN_GGUF_STRING)
        return bn_gguf_set_str_n(w, kv->key, kv->strings[0].ptr, kv->strings[0].len);
    if (kv->type != BN_GGUF_ARRAY)
        return put_scalar(w, kv->key, kv->type, kv->data, elem_size(kv->type));
    if (kv->elem_type != BN_GGUF_STRING)
        return bn_gguf_set_arr(w, kv->key, kv->elem_type, kv->data, kv->n);
    bitnet_status st = begin_kv(w, kv->key, BN_GGUF_ARRAY);
    if (st) return st;
    bool ok = buf_u32(&w->kv, BN_GGUF_STRING) && buf_u64(&w->kv, kv->n);
    for (uint64_t i = 0; ok && i < kv->n; i++)
        ok = buf_str(&w->kv, kv->strings[i].ptr, kv->strings[i].len);
    if (!ok) {
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    return BITNET_OK;
}

static bitnet_status add_tensor(bn_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                const int64_t *ne, const void *data, uint64_t nbytes, bool copy,
                                bn_gguf_fill_fn fill, void *fill_ctx) {
    size_t name_len = name ? strlen(name) : 0;
    if (name_len == 0 || name_len >= BN_GGUF_MAX_NAME)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: bad tensor name '%s'",
                       name ? name : "");
    if (n_dims < 1 || n_dims > BN_GGUF_MAX_DIMS)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s' has %u dims", name,
                       n_dims);
    uint64_t expect;
    if (!bn_type_nbytes(type, ne, (int)n_dims, &expect) || expect != nbytes)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "gguf writer: tensor '%s' has %llu bytes, its type %s and shape need %llu",
                       name, (unsigned long long)nbytes, bn_type_name(type),
                       (unsigned long long)expect);
    if (w->n_tensors == w->cap_tensors) {
        uint64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        writer_tensor *t = bn_realloc(w->tensors, (size_t)cap * sizeof *t);
        if (!t) {
            w->failed = true;
            return BITNET_ERR_NOMEM;
        }
        w->tensors = t;
        w->cap_tensors = cap;
    }
    writer_tensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    if (bn_strmap_get(&w->tensor_index, name, name_len, NULL))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: duplicate tensor '%s'", name);
    /* allocate everything before the name goes into the index: a failure
     * after that would leak the name and leave it in the index as a ghost */
    t->name = bn_strdup(name);
    if (t->name && copy) t->owned = bn_malloc((size_t)nbytes);
    if (!t->name || (copy && !t->owned) ||
        bn_strmap_put(&w->tensor_index, t->name, name_len, (int64_t)w->n_tensors, NULL) < 0) {
        bn_free(t->name);
        bn_free(t->owned);
        w->failed = true;
        return BITNET_ERR_NOMEM;
    }
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t i = 0; i < BN_GGUF_MAX_DIMS; i++) t->ne[i] = i < n_dims ? ne[i] : 1;
    t->nbytes = nbytes;
    if (copy) {
        if (nbytes) memcpy(t->owned, data, (size_t)nbytes);
        t->data = t->owned;
    } else {
        t->data = data;
    }
    t->fill = fill;
    t->fill_ctx = fill_ctx;
    w->n_tensors++;
    return BITNET_OK;
}

bitnet_status bn_gguf_add_tensor(bn_gguf_writer *w, const char *name, uint32_t type,
                                 uint32_t n_dims, const int64_t *ne, const void *data,
                                 uint64_t nbytes, bool copy) {
    return add_tensor(w, name, type, n_dims, ne, data, nbytes, copy, NULL, NULL);
}

bitnet_status bn_gguf_add_tensor_fill(bn_gguf_writer *w, const char *name, uint32_t type,
                                      uint32_t n_dims, const int64_t *ne, uint64_t nbytes,
                                      bn_gguf_fill_fn fill, void *ctx) {
    if (!fill)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s' has no fill function",
                       name ? name : "");
    if (nbytes > SIZE_MAX)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s' is too large",
                       name ? name : "");
    return add_tensor(w, name, type, n_dims, ne, NULL, nbytes, false, fill, ctx);
}

static uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

bitnet_status bn_gguf_write(const bn_gguf_writer *w, const char *path) {
    if (w->failed)
        return bn_fail(BITNET_ERR_NOMEM, "gguf writer: an earlier call ran out of memory");
    const uint64_t align = w->alignment ? w->alignment : BN_GGUF_DEFAULT_ALIGNMENT;
    buffer head = {0};
    bool ok = buf_put(&head, BN_GGUF_MAGIC, 4) && buf_u32(&head, 3) &&
              buf_u64(&head, w->n_tensors) && buf_u64(&head, w->n_kv) &&
              buf_put(&head, w->kv.data, w->kv.len);
    uint64_t offset = 0;
    for (uint64_t i = 0; ok && i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        ok = buf_str(&head, t->name, strlen(t->name)) && buf_u32(&head, t->n_dims);
        for (uint32_t d = 0; ok && d < t->n_dims; d++) ok = buf_u64(&head, (uint64_t)t->ne[d]);
        ok = ok && buf_u32(&head, t->type) && buf_u64(&head, offset);
        offset = pad_to(offset + t->nbytes, align);
    }
    static const uint8_t zeros[64] = {0};
    while (ok && head.len % align) {
        size_t pad = (size_t)(pad_to(head.len, align) - head.len);
        ok = buf_put(&head, zeros, pad < sizeof zeros ? pad : sizeof zeros);
    }
    if (!ok) {
        bn_free(head.data);
        return BITNET_ERR_NOMEM;
    }
    bn_atomic_file af;
    bitnet_status st = bn_atomic_open(&af, path);
    if (st) {
        bn_free(head.data);
        return st;
    }
    FILE *f = af.f;
    ok = fwrite(head.data, 1, head.len, f) == head.len;
    bn_free(head.data);
    /* one buffer, as large as the largest filled tensor, for all of them */
    uint64_t fill_max = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (w->tensors[i].fill && w->tensors[i].nbytes > fill_max) fill_max = w->tensors[i].nbytes;
    uint8_t *scratch = NULL;
    bitnet_status fill_st = BITNET_OK;
    if (ok && fill_max) {
        scratch = bn_malloc((size_t)fill_max);
        if (!scratch)
            fill_st = bn_fail(BITNET_ERR_NOMEM, "%s: out of memory for a %llu-byte tensor", path,
                              (unsigned long long)fill_max);
    }
    for (uint64_t i = 0; ok && !fill_st && i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        const void *data = t->data;
        if (t->fill) {
            if ((fill_st = t->fill(t->fill_ctx, scratch, t->nbytes))) break;
            data = scratch;
        }
        ok = t->nbytes == 0 || fwrite(data, 1, (size_t)t->nbytes, f) == t->nbytes;
        /* alignment may exceed the zero block: pad in pieces */
        for (size_t pad = (size_t)(pad_to(t->nbytes, align) - t->nbytes); ok && pad;) {
            size_t k = pad < sizeof zeros ? pad : sizeof zeros;
            ok = fwrite(zeros, 1, k, f) == k;
            pad -= k;
        }
    }
    bn_free(scratch);
    if (fill_st) { /* the fill's message, not "write failed", is the error */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", bitnet_get_last_error());
        bn_atomic_close(&af, false);
        return bn_fail(fill_st, "%s", msg);
    }
    const int write_errno = ok ? 0 : errno;
    st = bn_atomic_close(&af, ok);
    if (st && write_errno)
        return bn_fail(BITNET_ERR_IO, "%s: write failed: %s", path, strerror(write_errno));
    return st;
}

bitnet_status bn_gguf_write_memory(const bn_gguf_writer *w, uint8_t **data, size_t *size) {
    *data = NULL;
    *size = 0;
    if (w->failed)
        return bn_fail(BITNET_ERR_NOMEM, "gguf writer: an earlier call ran out of memory");
    if (w->n_tensors)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "gguf writer: only metadata is written to memory");
    buffer head = {0};
    if (!(buf_put(&head, BN_GGUF_MAGIC, 4) && buf_u32(&head, 3) && buf_u64(&head, 0) &&
          buf_u64(&head, w->n_kv) && buf_put(&head, w->kv.data, w->kv.len))) {
        bn_free(head.data);
        return BITNET_ERR_NOMEM;
    }
    *data = head.data;
    *size = head.len;
    return BITNET_OK;
}
