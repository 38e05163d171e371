#include "safetensors.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "f16.h"
#include "json_util.h"

enum { HEADER_DEPTH = 4 }; /* root -> tensor -> shape: 3; one spare level */

static const struct {
    const char *name;
    size_t size;
} dtypes[BN_ST_DTYPE_COUNT] = {
    [BN_ST_BOOL] = {"BOOL", 1},       [BN_ST_U8] = {"U8", 1},           [BN_ST_I8] = {"I8", 1},
    [BN_ST_F8_E4M3] = {"F8_E4M3", 1}, [BN_ST_F8_E5M2] = {"F8_E5M2", 1}, [BN_ST_U16] = {"U16", 2},
    [BN_ST_I16] = {"I16", 2},         [BN_ST_F16] = {"F16", 2},         [BN_ST_BF16] = {"BF16", 2},
    [BN_ST_U32] = {"U32", 4},         [BN_ST_I32] = {"I32", 4},         [BN_ST_F32] = {"F32", 4},
    [BN_ST_U64] = {"U64", 8},         [BN_ST_I64] = {"I64", 8},         [BN_ST_F64] = {"F64", 8},
};

const char *bn_st_dtype_name(bn_st_dtype t) {
    return (unsigned)t < BN_ST_DTYPE_COUNT ? dtypes[t].name : "?";
}
size_t bn_st_dtype_size(bn_st_dtype t) {
    return (unsigned)t < BN_ST_DTYPE_COUNT ? dtypes[t].size : 0;
}

static int find_dtype(const char *name) {
    for (int i = 0; i < BN_ST_DTYPE_COUNT; i++)
        if (!strcmp(dtypes[i].name, name)) return i;
    return -1;
}

static uint64_t read_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A copy of s at *cursor in the string block. */
static const char *keep(char **cursor, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = *cursor;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

static bitnet_status parse_tensor(bn_safetensors *st, const cJSON *entry, bn_st_tensor *t,
                                  uint64_t *begin, uint64_t *end) {
    const char *path = st->path, *name = entry->string;
    if (!cJSON_IsObject(entry))
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s': expected an object", path, name);
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *f = entry->child; f; f = f->next) {
        if (!strcmp(f->string, "dtype"))
            dtype = f;
        else if (!strcmp(f->string, "shape"))
            shape = f;
        else if (!strcmp(f->string, "data_offsets"))
            offsets = f;
        else
            return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s': unknown field '%.64s'", path, name,
                           f->string);
    }
    const char *missing = !dtype ? "dtype" : !shape ? "shape" : !offsets ? "data_offsets" : NULL;
    if (missing)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' has no '%s'", path, name, missing);
    int dt = cJSON_IsString(dtype) ? find_dtype(dtype->valuestring) : -1;
    if (dt < 0)
        return bn_fail(
            BITNET_ERR_FORMAT, "%s: tensor '%s': dtype %s%.32s%s is not a safetensors type", path,
            name, cJSON_IsString(dtype) ? "'" : "(not a string)",
            cJSON_IsString(dtype) ? dtype->valuestring : "", cJSON_IsString(dtype) ? "'" : "");
    t->dtype = (bn_st_dtype)dt;
    if (!cJSON_IsArray(shape))
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s': shape is not an array", path, name);
    int n_dims = cJSON_GetArraySize(shape);
    if (n_dims > BN_ST_MAX_DIMS)
        return bn_fail(BITNET_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)",
                       path, name, n_dims, BN_ST_MAX_DIMS);
    t->n_dims = n_dims;
    uint64_t n = 1;
    int d = 0;
    for (const cJSON *e = shape->child; e; e = e->next, d++) {
        int64_t v;
        if (!bn_json_int(e, 0, INT64_MAX, &v))
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name,
                           d);
        t->shape[d] = v;
        if (bn_mul_overflow_u64(n, (uint64_t)v, &n))
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: tensor '%s': the shape's element count overflows", path, name);
    }
    t->n_elements = n;
    if (bn_mul_overflow_u64(n, dtypes[dt].size, &t->nbytes))
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s': the byte size overflows", path, name);
    int64_t b = -1, e = -1;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !bn_json_int(offsets->child, 0, INT64_MAX, &b) ||
        !bn_json_int(offsets->child->next, 0, INT64_MAX, &e))
        return bn_fail(
            BITNET_ERR_FORMAT,
            "%s: tensor '%s': data_offsets must be two non-negative integers [begin, end]", path,
            name);
    if (e < b)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets end %" PRId64 " is before begin %" PRId64,
                       path, name, e, b);
    if ((uint64_t)(e - b) != t->nbytes)
        return bn_fail(
            BITNET_ERR_FORMAT,
            "%s: tensor '%s': data_offsets span %" PRId64 " bytes, but %s%s holds %" PRIu64, path,
            name, e - b, dtypes[dt].name, n_dims ? " of that shape" : " scalar", t->nbytes);
    *begin = (uint64_t)b;
    *end = (uint64_t)e;
    return BITNET_OK;
}

typedef struct span {
    uint64_t begin, end;
    size_t index;
} span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* S7/S10: the tensors tile the data section exactly, in offset order. */
static bitnet_status check_layout(bn_safetensors *st, span *spans, uint64_t data_size) {
    qsort(spans, st->n_tensors, sizeof *spans, span_cmp);
    uint64_t at = 0;
    for (size_t i = 0; i < st->n_tensors; i++) {
        if (spans[i].begin != at)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: tensor '%s' starts at data offset %" PRIu64 ", expected %" PRIu64
                           " (tensors must follow each other without gaps or overlap)",
                           st->path, st->tensors[spans[i].index].name, spans[i].begin, at);
        at = spans[i].end;
    }
    if (at > data_size)
        return bn_fail(BITNET_ERR_TRUNCATED,
                       "%s: tensor data ends at offset %" PRIu64 " but the file holds %" PRIu64
                       " bytes after the header (truncated?)",
                       st->path, at, data_size);
    if (at < data_size)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %" PRIu64 " bytes after the last tensor's data",
                       st->path, data_size - at);
    return BITNET_OK;
}

static bitnet_status parse(bn_safetensors *st) {
    const uint8_t *base = st->file.base;
    const uint64_t size = st->file.size;
    if (size < 8)
        return bn_fail(BITNET_ERR_TRUNCATED,
                       "%s: file is %" PRIu64 " bytes, shorter than the 8-byte header length",
                       st->path, size);
    const uint64_t n = read_le64(base);
    if (n > BN_ST_MAX_HEADER)
        return bn_fail(BITNET_ERR_FORMAT, "%s: header length %" PRIu64 " is above the limit %d",
                       st->path, n, BN_ST_MAX_HEADER);
    if (n + 8 > size)
        return bn_fail(BITNET_ERR_TRUNCATED,
                       "%s: the header (%" PRIu64 " bytes) runs past the end of the file (%" PRIu64
                       " bytes)",
                       st->path, n, size);
    st->header_len = n;
    const char *text = (const char *)base + 8;
    size_t len = (size_t)n;
    while (len && text[len - 1] == ' ') len--; /* the format pads with spaces */
    if (len == 0 || text[0] != '{')
        return bn_fail(BITNET_ERR_FORMAT, "%s: the header does not start with '{'", st->path);
    char err[256];
    bn_json_limits lim = {.max_bytes = BN_ST_MAX_HEADER, .max_depth = HEADER_DEPTH};
    cJSON *root = NULL;
    const bitnet_status jst = bn_json_parse_status(text, len, &lim, &root, err, sizeof err);
    if (!root) return bn_fail(jst, "%s: header JSON: %s", st->path, err);
    bitnet_status rc = BITNET_OK;
    size_t n_entries = 0, n_meta = 0, str_bytes = 0;
    const cJSON *meta = NULL;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (!strcmp(c->string, "__metadata__")) {
            meta = c;
            continue;
        }
        n_entries++;
        size_t name_len = strlen(c->string);
        if (name_len == 0 || name_len > BN_ST_MAX_NAME) {
            rc = bn_fail(BITNET_ERR_FORMAT, "%s: a tensor name of %zu bytes (1..%d allowed)",
                         st->path, name_len, BN_ST_MAX_NAME);
            goto done;
        }
        str_bytes += name_len + 1;
    }
    if (n_entries > BN_ST_MAX_TENSORS) {
        rc = bn_fail(BITNET_ERR_FORMAT, "%s: %zu tensors (at most %d)", st->path, n_entries,
                     BN_ST_MAX_TENSORS);
        goto done;
    }
    if (meta) {
        if (!cJSON_IsObject(meta)) {
            rc = bn_fail(BITNET_ERR_FORMAT, "%s: __metadata__ is not an object", st->path);
            goto done;
        }
        for (const cJSON *m = meta->child; m; m = m->next, n_meta++) {
            if (!cJSON_IsString(m)) {
                rc = bn_fail(BITNET_ERR_FORMAT, "%s: __metadata__ '%.64s' is not a string",
                             st->path, m->string);
                goto done;
            }
            str_bytes += strlen(m->string) + strlen(m->valuestring) + 2;
        }
    }
    st->tensors = bn_calloc(n_entries ? n_entries : 1, sizeof *st->tensors);
    st->meta = bn_calloc(n_meta ? n_meta : 1, sizeof *st->meta);
    st->strings = bn_malloc(str_bytes ? str_bytes : 1);
    span *spans = bn_calloc(n_entries ? n_entries : 1, sizeof *spans);
    if (!st->tensors || !st->meta || !st->strings || !spans ||
        bn_strmap_init(&st->index, n_entries) != 0) {
        bn_free(spans);
        rc = BITNET_ERR_NOMEM;
        goto done;
    }
    char *cursor = st->strings;
    const uint8_t *data = base + 8 + n;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (c == meta) continue;
        bn_st_tensor *t = &st->tensors[st->n_tensors];
        t->name = keep(&cursor, c->string);
        uint64_t b = 0, e = 0;
        if ((rc = parse_tensor(st, c, t, &b, &e))) break;
        spans[st->n_tensors] = (span){b, e, st->n_tensors};
        bn_strmap_put(&st->index, t->name, strlen(t->name), (int64_t)st->n_tensors, NULL);
        st->n_tensors++;
    }
    if (!rc) rc = check_layout(st, spans, size - 8 - n);
    for (size_t i = 0; !rc && i < st->n_tensors; i++)
        st->tensors[spans[i].index].data = data + spans[i].begin;
    bn_free(spans);
    for (const cJSON *m = meta ? meta->child : NULL; !rc && m; m = m->next) {
        st->meta[st->n_meta].key = keep(&cursor, m->string);
        st->meta[st->n_meta].value = keep(&cursor, m->valuestring);
        st->n_meta++;
    }
done:
    cJSON_Delete(root);
    return rc;
}

static bitnet_status finish_open(bn_safetensors *st, bn_safetensors **out) {
    bitnet_status rc = parse(st);
    if (rc) {
        bn_st_close(st);
        return rc;
    }
    *out = st;
    return BITNET_OK;
}

bitnet_status bn_st_open(const char *path, bool use_mmap, bn_safetensors **out) {
    *out = NULL;
    bn_safetensors *st = bn_calloc(1, sizeof *st);
    if (!st || !(st->path = bn_strdup(path ? path : ""))) {
        bn_free(st);
        return BITNET_ERR_NOMEM;
    }
    bitnet_status rc =
        bn_file_map_open(path, use_mmap, 8, "the 8-byte safetensors header length", &st->file);
    if (rc) {
        bn_st_close(st);
        return rc;
    }
    return finish_open(st, out);
}

bitnet_status bn_st_open_memory(const void *data, size_t size, const char *name,
                                bn_safetensors **out) {
    *out = NULL;
    bn_safetensors *st = bn_calloc(1, sizeof *st);
    if (!st || !(st->path = bn_strdup(name ? name : "<memory>"))) {
        bn_free(st);
        return BITNET_ERR_NOMEM;
    }
    st->file = (bn_file_map){.base = data, .size = size, .storage = BN_FILE_CALLER};
    return finish_open(st, out);
}

void bn_st_close(bn_safetensors *st) {
    if (!st) return;
    bn_file_map_close(&st->file);
    bn_strmap_free(&st->index);
    bn_free(st->tensors);
    bn_free(st->meta);
    bn_free(st->strings);
    bn_free(st->path);
    bn_free(st);
}

const bn_st_tensor *bn_st_find(const bn_safetensors *st, const char *name) {
    int64_t i;
    if (!st || !name || !bn_strmap_get(&st->index, name, strlen(name), &i)) return NULL;
    return &st->tensors[i];
}

const char *bn_st_meta_get(const bn_safetensors *st, const char *key) {
    for (size_t i = 0; st && key && i < st->n_meta; i++)
        if (!strcmp(st->meta[i].key, key)) return st->meta[i].value;
    return NULL;
}

float bn_st_read_f32(const bn_st_tensor *t, uint64_t i) {
    const uint8_t *p = t->data + i * bn_st_dtype_size(t->dtype);
    switch (t->dtype) {
    case BN_ST_F32: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    case BN_ST_F16: {
        uint16_t h;
        memcpy(&h, p, 2);
        return bn_f16_to_f32(h);
    }
    case BN_ST_BF16: {
        uint16_t h;
        memcpy(&h, p, 2);
        uint32_t u = (uint32_t)h << 16;
        float v;
        memcpy(&v, &u, 4);
        return v;
    }
    case BN_ST_U8: return (float)p[0];
    case BN_ST_I8: return (float)(int8_t)p[0];
    default: return 0.0f;
    }
}
