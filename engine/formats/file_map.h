/* A whole input file in memory: mapped read-only, or read into a buffer
 * (use_mmap false: no SIGBUS if the file is truncated while in use). Only
 * regular files are accepted, and a FIFO is never waited on. */
#ifndef BN_FILE_MAP_H
#define BN_FILE_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "bitnet.h"

typedef enum bn_file_storage {
    BN_FILE_CALLER = 0, /* the caller's buffer: not freed */
    BN_FILE_MMAP = 1,
    BN_FILE_MALLOC = 2,
} bn_file_storage;

typedef struct bn_file_map {
    const uint8_t *base;
    uint64_t size;
    bn_file_storage storage;
} bn_file_map;

/* Maps or reads `path`; a file shorter than min_size is BITNET_ERR_TRUNCATED
 * naming `what` ("a safetensors header"). Errors name the path. */
bitnet_status bn_file_map_open(const char *path, bool use_mmap, uint64_t min_size, const char *what,
                               bn_file_map *out);
void bn_file_map_close(bn_file_map *m);

#endif
