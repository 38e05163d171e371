/* The safetensors format (Hugging Face checkpoints): an 8-byte little-endian
 * header length N, N bytes of JSON
 *   {"NAME": {"dtype": "BF16", "shape": [out, in], "data_offsets": [begin, end]},
 *    ..., "__metadata__": {"key": "value", ...}}
 * padded with spaces, then the tensor bytes; offsets are relative to the
 * byte after the header. Everything is validated at open (catalogue S1-S12,
 * docs/formats.md), so a tensor that is found can be read without checks.
 * Tensor data may be misaligned for its type (S12): read it through memcpy
 * (bn_st_read_f32), never by casting the pointer. */
#ifndef BN_SAFETENSORS_H
#define BN_SAFETENSORS_H

#include <stdbool.h>
#include <stdint.h>

#include "bitnet.h"
#include "file_map.h"
#include "strmap.h"

typedef enum bn_st_dtype {
    BN_ST_BOOL,
    BN_ST_U8,
    BN_ST_I8,
    BN_ST_F8_E4M3,
    BN_ST_F8_E5M2,
    BN_ST_U16,
    BN_ST_I16,
    BN_ST_F16,
    BN_ST_BF16,
    BN_ST_U32,
    BN_ST_I32,
    BN_ST_F32,
    BN_ST_U64,
    BN_ST_I64,
    BN_ST_F64,
    BN_ST_DTYPE_COUNT
} bn_st_dtype;

enum {
    BN_ST_MAX_DIMS = 8,
    BN_ST_MAX_HEADER = 100000000, /* bytes, as the reference implementation */
    BN_ST_MAX_TENSORS = 1 << 20,
    BN_ST_MAX_NAME = 1024,
};

typedef struct bn_st_tensor {
    const char *name; /* NUL-terminated, owned by the file */
    bn_st_dtype dtype;
    int n_dims; /* 0 for a scalar */
    int64_t shape[BN_ST_MAX_DIMS];
    uint64_t n_elements;
    const uint8_t *data; /* may be misaligned for dtype */
    uint64_t nbytes;
} bn_st_tensor;

typedef struct bn_st_meta {
    const char *key, *value;
} bn_st_meta;

typedef struct bn_safetensors {
    char *path;
    bn_file_map file;
    uint64_t header_len;
    size_t n_tensors;
    bn_st_tensor *tensors; /* in the header's order */
    size_t n_meta;
    bn_st_meta *meta;
    bn_strmap index; /* name -> index in tensors */
    char *strings;   /* names, metadata keys and values, one allocation */
} bn_safetensors;

bitnet_status bn_st_open(const char *path, bool use_mmap, bn_safetensors **out);
/* The same over a buffer the caller keeps alive (fuzzing, tests). */
bitnet_status bn_st_open_memory(const void *data, size_t size, const char *name,
                                bn_safetensors **out);
void bn_st_close(bn_safetensors *st);

const bn_st_tensor *bn_st_find(const bn_safetensors *st, const char *name);
/* The value of a __metadata__ key, or NULL. */
const char *bn_st_meta_get(const bn_safetensors *st, const char *key);

const char *bn_st_dtype_name(bn_st_dtype t);
size_t bn_st_dtype_size(bn_st_dtype t);

/* Element i of a F32, F16 or BF16 (or U8/I8) tensor as float. */
float bn_st_read_f32(const bn_st_tensor *t, uint64_t i);

#endif
