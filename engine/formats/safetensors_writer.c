#include "safetensors_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "atomic_file.h"
#include "error.h"
#include "strmap.h"

typedef struct st_entry {
    char *name;
    bn_st_dtype dtype;
    int n_dims;
    int64_t shape[BN_ST_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
} st_entry;

struct bn_st_writer {
    st_entry *e;
    size_t n, cap;
    uint64_t data_bytes;
    bn_strmap names;
};

bn_st_writer *bn_st_writer_new(void) {
    bn_st_writer *w = bn_calloc(1, sizeof *w);
    if (w && bn_strmap_init(&w->names, 64) != 0) {
        bn_free(w);
        return NULL;
    }
    return w;
}

void bn_st_writer_free(bn_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) bn_free(w->e[i].name);
    bn_free(w->e);
    bn_strmap_free(&w->names);
    bn_free(w);
}

static bool plain_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > BN_ST_MAX_NAME || !strcmp(s, "__metadata__")) return false;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\') return false;
    return true;
}

bitnet_status bn_st_writer_add(bn_st_writer *w, const char *name, bn_st_dtype dtype, int n_dims,
                               const int64_t *shape, const void *data, uint64_t nbytes) {
    if (!plain_name(name))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "safetensors writer: bad tensor name '%.80s'",
                       name);
    if ((unsigned)dtype >= BN_ST_DTYPE_COUNT || n_dims < 0 || n_dims > BN_ST_MAX_DIMS)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "safetensors writer: tensor '%s': bad dtype or rank", name);
    uint64_t n = bn_st_dtype_size(dtype);
    for (int d = 0; d < n_dims; d++)
        if (shape[d] < 0 || bn_mul_overflow_u64(n, (uint64_t)shape[d], &n))
            return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                           "safetensors writer: tensor '%s': bad shape", name);
    if (n != nbytes || (nbytes && !data))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "safetensors writer: tensor '%s': %" PRIu64 " bytes given, %" PRIu64
                       " expected",
                       name, nbytes, n);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        st_entry *e = bn_realloc(w->e, cap * sizeof *e);
        if (!e) return BITNET_ERR_NOMEM;
        w->e = e;
        w->cap = cap;
    }
    st_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    if (!(e->name = bn_strdup(name))) return BITNET_ERR_NOMEM;
    int rc = bn_strmap_put(&w->names, e->name, strlen(e->name), (int64_t)w->n, NULL);
    if (rc <= 0) {
        bn_free(e->name);
        return rc < 0 ? BITNET_ERR_NOMEM
                      : bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                                "safetensors writer: duplicate tensor '%s'", name);
    }
    e->dtype = dtype;
    e->n_dims = n_dims;
    for (int d = 0; d < n_dims; d++) e->shape[d] = shape[d];
    e->data = data;
    e->nbytes = nbytes;
    w->data_bytes += nbytes;
    w->n++;
    return BITNET_OK;
}

uint64_t bn_st_writer_data_bytes(const bn_st_writer *w) { return w->data_bytes; }

/* The header JSON: written twice, first to count its bytes (f NULL). */
static uint64_t header(const bn_st_writer *w, FILE *f) {
    uint64_t len = 0, off = 0;
    char buf[BN_ST_MAX_NAME + 256];
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int k_ = snprintf(buf, sizeof buf, __VA_ARGS__);                                           \
        len += (uint64_t)k_;                                                                       \
        if (f) fwrite(buf, 1, (size_t)k_, f);                                                      \
    } while (0)
    EMIT("{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < w->n; i++) {
        const st_entry *e = &w->e[i];
        EMIT(",\"%s\":{\"dtype\":\"%s\",\"shape\":[", e->name, bn_st_dtype_name(e->dtype));
        for (int d = 0; d < e->n_dims; d++) EMIT("%s%" PRId64, d ? "," : "", e->shape[d]);
        EMIT("],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + e->nbytes);
        off += e->nbytes;
    }
    EMIT("}");
#undef EMIT
    return len;
}

bitnet_status bn_st_writer_write(const bn_st_writer *w, const char *path) {
    const uint64_t json = header(w, NULL);
    const uint64_t padded = (json + 7) / 8 * 8;
    bn_atomic_file af;
    bitnet_status st = bn_atomic_open(&af, path);
    if (st) return st;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(padded >> (8 * i));
    bool ok = fwrite(len, 1, 8, af.f) == 8;
    if (ok) header(w, af.f);
    for (uint64_t i = json; ok && i < padded; i++) ok = fputc(' ', af.f) != EOF;
    for (size_t i = 0; ok && i < w->n; i++)
        ok = w->e[i].nbytes == 0 ||
             fwrite(w->e[i].data, 1, (size_t)w->e[i].nbytes, af.f) == w->e[i].nbytes;
    ok = ok && !ferror(af.f);
    const int write_errno = ok ? 0 : errno;
    st = bn_atomic_close(&af, ok);
    if (st && write_errno)
        return bn_fail(BITNET_ERR_IO, "%s: write failed: %s", path, strerror(write_errno));
    return st;
}
