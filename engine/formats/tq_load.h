/* Loading llama.cpp's TQ1_0 / TQ2_0 projections (docs/formats.md).
 *
 * The tensor is decoded once at load into the engine's I2_S code layout.
 * When every block that holds a non-zero value has the same |d| (what a
 * converted BitNet model has: one scale per matrix), the weight becomes an
 * ordinary I2_S weight with that scale: lossless, same kernels, same speed.
 * Otherwise it keeps one float scale per 256-value block (w->blk_scale) and
 * runs on the block-scaled kernels (kernels.h i2s_blk_*). */
#ifndef BN_TQ_LOAD_H
#define BN_TQ_LOAD_H

#include <stdbool.h>

#include "model.h"

/* w has name, type (TQ1_0 or TQ2_0), n_in (% 256 == 0), n_out and data (the
 * file's bytes) set. On success w->data, w->row_bytes, w->scale and perhaps
 * w->type (I2_S) and w->blk_scale are replaced and w->owned holds the new
 * memory (also on failure, for the caller to free). *block_scaled says which
 * path was chosen. Errors name `path`, the tensor, the row and the block: a
 * non-finite scale of a block with non-zero values, a TQ2_0 code 3. */
bitnet_status bn_tq_load(const char *path, bn_weight *w, bool *block_scaled);

#endif
