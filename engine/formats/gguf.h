/* GGUF v2/v3 reader (mmap, read-only) and writer.
 *
 * File layout (all little-endian):
 *   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv × { string key | u32 value type | value }
 *   n_tensors × { string name | u32 n_dims | n_dims × u64 ne | u32 type | u64 offset }
 *   padding to `general.alignment` (default 32)
 *   tensor data; each tensor at data_start + offset, offsets aligned
 * A string is u64 length + bytes (no NUL). An array value is u32 element type,
 * u64 count, elements.
 *
 * The reader validates everything before anything is used or allocated from
 * it: counts against the bytes left, string and array lengths, value types,
 * duplicate keys and names (hash set, O(n)), tensor dimensions and byte sizes
 * with overflow checks, types, alignment, and that every tensor lies inside the
 * file without overlapping another. Errors name the file, the field and the
 * offending value or byte offset. */
#ifndef BN_GGUF_H
#define BN_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"
#include "strmap.h"

#define BN_GGUF_MAGIC "GGUF"
#define BN_GGUF_DEFAULT_ALIGNMENT 32
#define BN_GGUF_MAX_DIMS 4
#define BN_GGUF_MAX_NAME 64 /* tensor names must be shorter (ggml's limit) */
#define BN_GGUF_MAX_STRING (1ull << 30)

/* who owns `base`: the values of bn_file_storage (file_map.h) */
enum { BN_GGUF_STORAGE_CALLER = 0, BN_GGUF_STORAGE_MMAP = 1, BN_GGUF_STORAGE_MALLOC = 2 };

typedef enum bn_gguf_type {
    BN_GGUF_UINT8 = 0,
    BN_GGUF_INT8 = 1,
    BN_GGUF_UINT16 = 2,
    BN_GGUF_INT16 = 3,
    BN_GGUF_UINT32 = 4,
    BN_GGUF_INT32 = 5,
    BN_GGUF_FLOAT32 = 6,
    BN_GGUF_BOOL = 7,
    BN_GGUF_STRING = 8,
    BN_GGUF_ARRAY = 9,
    BN_GGUF_UINT64 = 10,
    BN_GGUF_INT64 = 11,
    BN_GGUF_FLOAT64 = 12,
    BN_GGUF_TYPE_COUNT = 13,
} bn_gguf_type;

/* A string inside the file: not NUL-terminated. */
typedef struct bn_gguf_str {
    const char *ptr;
    uint64_t len;
} bn_gguf_str;

typedef struct bn_gguf_kv {
    const char *key;      /* NUL-terminated copy */
    uint32_t type;        /* bn_gguf_type */
    uint32_t elem_type;   /* arrays: element type; otherwise == type */
    uint64_t n;           /* arrays: element count; otherwise 1 */
    const uint8_t *data;  /* scalar value or first array element, in the file */
    bn_gguf_str *strings; /* STRING scalars and string arrays: n entries */
    uint64_t file_offset; /* where the key starts, for messages */
} bn_gguf_kv;

typedef struct bn_gguf_tensor {
    const char *name; /* NUL-terminated copy */
    uint32_t type;    /* bn_type */
    uint32_t n_dims;
    int64_t ne[BN_GGUF_MAX_DIMS]; /* unused dims are 1 */
    uint64_t offset;              /* relative to the data section */
    uint64_t nbytes;
    const uint8_t *data;
} bn_gguf_tensor;

typedef struct bn_gguf {
    char *path;
    const uint8_t *base; /* the whole file (mapped or read) */
    uint64_t size;
    int storage; /* BN_GGUF_STORAGE_*: who owns `base` */
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset; /* start of the tensor data section */
    uint64_t n_kv;
    bn_gguf_kv *kv;
    uint64_t n_tensors;
    bn_gguf_tensor *tensors;
    bn_strmap kv_index;     /* key -> index in kv */
    bn_strmap tensor_index; /* name -> index in tensors */
} bn_gguf;

/* Opens and validates a GGUF file. On failure returns an error status, sets
 * the last error ("PATH: ...") and leaves *out NULL. */
bitnet_status bn_gguf_open(const char *path, bool use_mmap, bn_gguf **out);
/* The same over a buffer the caller keeps alive (fuzzing, tests). */
bitnet_status bn_gguf_open_memory(const void *data, size_t size, const char *name, bn_gguf **out);
void bn_gguf_close(bn_gguf *g);

const char *bn_gguf_type_name(uint32_t type);

const bn_gguf_kv *bn_gguf_find(const bn_gguf *g, const char *key);
const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name);

/* Typed getters. A missing key or a value of the wrong type (or out of the
 * target's range) is BITNET_ERR_FORMAT with a message naming file and key. */
bitnet_status bn_gguf_get_u32(const bn_gguf *g, const char *key, uint32_t *out);
bitnet_status bn_gguf_get_i64(const bn_gguf *g, const char *key, int64_t *out);
bitnet_status bn_gguf_get_f32(const bn_gguf *g, const char *key, float *out);
bitnet_status bn_gguf_get_bool(const bn_gguf *g, const char *key, bool *out);
bitnet_status bn_gguf_get_str(const bn_gguf *g, const char *key, bn_gguf_str *out);
/* A string used as a C string (a name, an identifier): copied into buf, and
 * refused when empty, longer than size - 1 or holding a NUL byte, which would
 * otherwise make "llama\0junk" compare equal to "llama". */
bitnet_status bn_gguf_get_cstr(const bn_gguf *g, const char *key, char *buf, size_t size);
/* An array whose elements have type elem_type (BN_GGUF_TYPE_COUNT: any). */
bitnet_status bn_gguf_get_arr(const bn_gguf *g, const char *key, uint32_t elem_type,
                              const bn_gguf_kv **out);

/* Element i of a numeric array as double / int64 (caller checked the type). */
double bn_gguf_arr_f64(const bn_gguf_kv *kv, uint64_t i);
int64_t bn_gguf_arr_i64(const bn_gguf_kv *kv, uint64_t i);

/* Formats a value as text (arrays as "[N items]"), snprintf semantics. */
int bn_gguf_format_value(const bn_gguf_kv *kv, char *buf, size_t size);

/* ---------------------------------------------------------------------------
 * Writer: collects metadata and tensors, then writes one file. Output is
 * byte-for-byte deterministic for the same calls.
 * ------------------------------------------------------------------------- */

typedef struct bn_gguf_writer bn_gguf_writer;

bn_gguf_writer *bn_gguf_writer_new(void);
void bn_gguf_writer_free(bn_gguf_writer *w);

/* Setters return BITNET_OK or BITNET_ERR_NOMEM / BITNET_ERR_INVALID_ARGUMENT
 * (duplicate key). Strings are copied. */
bitnet_status bn_gguf_set_u32(bn_gguf_writer *w, const char *key, uint32_t v);
bitnet_status bn_gguf_set_i32(bn_gguf_writer *w, const char *key, int32_t v);
bitnet_status bn_gguf_set_u64(bn_gguf_writer *w, const char *key, uint64_t v);
bitnet_status bn_gguf_set_f32(bn_gguf_writer *w, const char *key, float v);
bitnet_status bn_gguf_set_bool(bn_gguf_writer *w, const char *key, bool v);
bitnet_status bn_gguf_set_str(bn_gguf_writer *w, const char *key, const char *v);
bitnet_status bn_gguf_set_str_n(bn_gguf_writer *w, const char *key, const char *v, size_t len);
/* Arrays of fixed-size elements (elem_type numeric), copied. */
bitnet_status bn_gguf_set_arr(bn_gguf_writer *w, const char *key, uint32_t elem_type,
                              const void *data, uint64_t n);
/* Array of strings: strs[i] of lens[i] bytes (lens NULL: NUL-terminated). */
bitnet_status bn_gguf_set_arr_str(bn_gguf_writer *w, const char *key, const char *const *strs,
                                  const uint64_t *lens, uint64_t n);
/* Copies a kv from a file being read (vocab and metadata copying). */
bitnet_status bn_gguf_set_kv_copy(bn_gguf_writer *w, const bn_gguf_kv *kv);

/* Adds a tensor. `data` (nbytes, checked against type and shape) is not
 * copied when `copy` is false: it must stay valid until the write. */
bitnet_status bn_gguf_add_tensor(bn_gguf_writer *w, const char *name, uint32_t type,
                                 uint32_t n_dims, const int64_t *ne, const void *data,
                                 uint64_t nbytes, bool copy);

/* Adds a tensor whose bytes are produced while the file is written:
 * fill(ctx, dst, nbytes) is called once, in tensor order, with a buffer of
 * nbytes to fill, so a converter never holds more than one output tensor in
 * memory. A fill that fails (any status but BITNET_OK, with the error set)
 * stops the write and leaves no output file. */
typedef bitnet_status (*bn_gguf_fill_fn)(void *ctx, void *dst, uint64_t nbytes);
bitnet_status bn_gguf_add_tensor_fill(bn_gguf_writer *w, const char *name, uint32_t type,
                                      uint32_t n_dims, const int64_t *ne, uint64_t nbytes,
                                      bn_gguf_fill_fn fill, void *ctx);

bitnet_status bn_gguf_write(const bn_gguf_writer *w, const char *path);
/* A metadata-only file (no tensors) into a buffer (free with bn_free): the
 * loaders of other formats keep their metadata and vocabulary this way. */
bitnet_status bn_gguf_write_memory(const bn_gguf_writer *w, uint8_t **data, size_t *size);

#endif
