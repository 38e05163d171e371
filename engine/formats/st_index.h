/* Sharded safetensors checkpoints: model.safetensors.index.json
 *   {"metadata": {"total_size": N}, "weight_map": {"TENSOR": "SHARD", ...}}
 * names, for every tensor, the shard file (in the same directory) that holds
 * it. A weight and its scale may be in different shards.
 *
 * Refused, naming the file, the key and the value: a weight_map that is not
 * an object of strings; a shard name that is empty, ".", "..", holds '/' or
 * '\\' (it could leave the directory) or is longer than 255 bytes; a shard
 * that cannot be opened or is not valid safetensors (catalogue S1-S12); a
 * tensor mapped to a shard that lacks it; a tensor found in two shards; a
 * tensor in a shard that the weight_map does not list. */
#ifndef BN_ST_INDEX_H
#define BN_ST_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"
#include "safetensors.h"
#include "strmap.h"

#define BN_ST_INDEX_NAME "model.safetensors.index.json"
#define BN_ST_SINGLE_NAME "model.safetensors"
enum {
    BN_ST_INDEX_MAX_BYTES = 64 << 20,
    BN_ST_INDEX_MAX_SHARDS = 4096,
    BN_ST_INDEX_MAX_SHARD_NAME = 255,
};

/* A parsed index: shard names (each once, in order of first use) and, per
 * tensor, its shard. */
typedef struct bn_st_index {
    size_t n_shards;
    char **shards;
    size_t n_entries;
    char **tensor;   /* [n_entries] */
    uint32_t *shard; /* [n_entries] index into shards */
} bn_st_index;

/* Parses index JSON from memory; `name` is used in messages. */
bitnet_status bn_st_index_parse(const char *name, const char *json, size_t len, bn_st_index *out);
void bn_st_index_free(bn_st_index *ix);

/* The tensors of a checkpoint directory: one model.safetensors, or the
 * shards named by model.safetensors.index.json (which wins when both exist). */
typedef struct bn_st_set {
    size_t n_files;
    bn_safetensors **files;
    bn_strmap map; /* tensor name -> index into files */
    size_t n_tensors;
} bn_st_set;

bitnet_status bn_st_set_open(const char *dir, bool use_mmap, bn_st_set **out);
void bn_st_set_close(bn_st_set *s);
/* NULL when absent; *file (may be NULL) gets the path of the file holding it. */
const bn_st_tensor *bn_st_set_find(const bn_st_set *s, const char *name, const char **file);

/* Reads a small file (JSON) of at most max_bytes through file_map.h: regular
 * files only. The copy has a NUL after the data; free it with bn_free. */
bitnet_status bn_read_small_file(const char *path, size_t max_bytes, char **data, size_t *size);

#endif
