/* The BM/BK/bm bitnet.cpp's own pipeline uses for the model shapes it
 * generates TL kernels for (setup_env.py's codegen arguments, which write the
 * include/kernel_config.ini its converter reads; docs/formats.md). */
#ifndef BN_TL_PRESETS_H
#define BN_TL_PRESETS_H

#include <stdint.h>

#include "tl_layout.h"

typedef struct bn_tl_preset {
    uint32_t type; /* BN_TYPE_TL1 or BN_TYPE_TL2 */
    int64_t m, k;  /* rows (outputs), columns (inputs) */
    bn_tl_params p;
    const char *model; /* the bitnet.cpp model name the shape belongs to */
} bn_tl_preset;

/* NULL when bitnet.cpp has no kernel of this type for (M, K). */
const bn_tl_preset *bn_tl_preset_find(uint32_t type, int64_t M, int64_t K);

#endif
