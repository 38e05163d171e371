/* bitnet.cpp's include/kernel_config.ini: the BM/BK/bm its TL converter used
 * per matrix shape (docs/formats.md "Where BM, BK and bm come from").
 *
 * What codegen_tl{1,2}.py writes (Python ConfigParser):
 *   [Kernels_0]
 *   m = 3200
 *   k = 8640
 *   bm = 160
 *   bk = 96
 *   bmm = 32
 * Accepted, strictly: sections `[name]` (1..64 printable characters, no
 * duplicates), `key = value` or `key: value` with the keys m, k, bm, bk, bmm
 * (any case, each exactly once per section), decimal integers in [1, 2^31),
 * blank lines and whole-line comments (# or ;). Refused with the file, line
 * and key: anything else (continuation lines, a key outside a section, an
 * unknown or repeated key, a missing key, two sections for one (m, k), NUL
 * or control bytes, a line over 1024 bytes, a file over 1 MiB, more than
 * 4096 sections). The numbers are checked against a tensor's shape only when
 * that shape is used (tl_layout.h). */
#ifndef BN_KERNEL_CONFIG_H
#define BN_KERNEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"
#include "tl_layout.h"

#define BN_KERNEL_CONFIG_MAX_BYTES (1u << 20)
#define BN_KERNEL_CONFIG_MAX_SECTIONS 4096
#define BN_KERNEL_CONFIG_MAX_LINE 1024

typedef struct bn_kernel_config_entry {
    int64_t m, k;
    bn_tl_params p; /* bm, bk, bmm */
    int line;       /* of the section header, for messages */
} bn_kernel_config_entry;

typedef struct bn_kernel_config {
    char *path; /* for messages */
    bn_kernel_config_entry *entries;
    size_t n;
} bn_kernel_config;

/* Parses text[len] (need not be NUL-terminated); `name` is used in messages.
 * On failure *out is left empty (nothing to free). */
bitnet_status bn_kernel_config_parse(const char *text, size_t len, const char *name,
                                     bn_kernel_config *out);
/* Reads and parses a file (regular files only, at most 1 MiB). */
bitnet_status bn_kernel_config_load(const char *path, bn_kernel_config *out);
void bn_kernel_config_free(bn_kernel_config *c);

/* The section for (m, k), or NULL. */
const bn_kernel_config_entry *bn_kernel_config_find(const bn_kernel_config *c, int64_t m,
                                                    int64_t k);

#endif
