#include "tq_load.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "f16.h"
#include "types.h"

/* The values of block `b` of the tensor (-1, 0, +1; 2 for a TQ2_0 code 3)
 * and its scale. */
static float block_values(const bn_weight *w, uint64_t b, int8_t t[BN_QK_K]) {
    if (w->type == BN_TYPE_TQ1_0) {
        const bn_block_tq1_0 *blk = (const bn_block_tq1_0 *)w->data + b;
        bn_tq1_0_values(blk, t);
        return bn_f16_to_f32(blk->d);
    }
    const bn_block_tq2_0 *blk = (const bn_block_tq2_0 *)w->data + b;
    bn_tq2_0_values(blk, t);
    return bn_f16_to_f32(blk->d);
}

/* Writes 256 values (already sign-folded, each -1..1) as I2_S codes into
 * the 64 bytes of one block of a row: value j in byte j % 32 of 128-block
 * j / 128, bit pair 6 - 2·((j % 128) / 32). */
static void put_codes(const int8_t t[BN_QK_K], uint8_t *dst) {
    memset(dst, 0, BN_QK_K / 4);
    for (int j = 0; j < BN_QK_K; j++) {
        const int in_blk = j % 128;
        dst[(j / 128) * 32 + in_blk % 32] |= (uint8_t)((t[j] + 1) << (6 - 2 * (in_blk / 32)));
    }
}

bitnet_status bn_tq_load(const char *path, bn_weight *w, bool *block_scaled) {
    const int64_t K = w->n_in, M = w->n_out, nb = K / BN_QK_K;
    const char *type = bn_type_name(w->type);
    const size_t code_bytes = (size_t)M * (size_t)(K / 4);
    const size_t n_scales = (size_t)M * (size_t)nb;
    if ((uintptr_t)w->data % 2 != 0) /* the blocks' F16 scales are read in place */
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s tensor '%s' data is not 2-byte aligned", path,
                       type, w->name);
    /* codes first (64-byte blocks keep SIMD loads aligned to the row), then
     * the block scales */
    uint8_t *mem = bn_malloc(code_bytes + n_scales * sizeof(float));
    if (!mem) return BITNET_ERR_NOMEM;
    w->owned = mem;
    float *scales = (float *)(mem + code_bytes);

    int8_t t[BN_QK_K];
    bool have_common = false, uniform = true;
    float common = 0.0f;
    for (int64_t r = 0; r < M; r++) {
        for (int64_t b = 0; b < nb; b++) {
            float d = block_values(w, (uint64_t)(r * nb + b), t);
            bool nonzero = false;
            for (int j = 0; j < BN_QK_K; j++) {
                if (t[j] == 2)
                    return bn_fail(BITNET_ERR_FORMAT,
                                   "%s: %s tensor '%s' row %" PRId64 " block %" PRId64
                                   " has the 2-bit code 3 (value +2), which is not ternary",
                                   path, type, w->name, r, b);
                nonzero |= t[j] != 0;
            }
            if (nonzero && !isfinite(d))
                return bn_fail(BITNET_ERR_FORMAT,
                               "%s: %s tensor '%s' row %" PRId64 " block %" PRId64
                               " has the scale %g (must be finite)",
                               path, type, w->name, r, b, (double)d);
            if (!nonzero || d == 0.0f) {
                memset(t, 0, sizeof t);
                d = 0.0f;
            } else if (d < 0.0f) { /* -d with negated values: scales stay >= 0 */
                for (int j = 0; j < BN_QK_K; j++) t[j] = (int8_t)-t[j];
                d = -d;
            }
            if (d != 0.0f) {
                if (!have_common) common = d, have_common = true;
                uniform = uniform && d == common;
            }
            scales[r * nb + b] = d;
            put_codes(t, mem + r * (K / 4) + b * (BN_QK_K / 4));
        }
    }
    w->data = mem;
    w->row_bytes = (size_t)K / 4;
    *block_scaled = !uniform;
    if (uniform) {
        uint8_t *shrunk = bn_realloc(mem, code_bytes); /* the block scales are not needed */
        if (shrunk) w->data = mem = shrunk, w->owned = shrunk;
        w->type = BN_TYPE_I2_S;
        w->scale = have_common ? common : 1.0f; /* all zero: any scale > 0 */
        w->blk_scale = NULL;
    } else {
        w->blk_scale = scales;
    }
    return BITNET_OK;
}
