/* I2_S with 64-value blocks: the layout bitnet.cpp's ARM (NEON) builds write
 * since 2025-11 (QK_I2_S = 64 in src/ggml-bitnet-mad.cpp; spec 2.2 "variant
 * B"): value j of 64-block b is in byte 16b + j mod 16, bits 7-2(j div 16)
 * .. 6-2(j div 16). Same size, same scale tail as the 128-value layout, so
 * the bytes alone cannot tell the two apart (docs/formats.md).
 *
 * Which layout a file has, in this order:
 *   1. metadata key bitnet.i2s.block_size (u32, 64 or 128), which our
 *      writers record when they write 64-value blocks;
 *   2. bitnet_model_params.i2s_block (`--i2s-block 64|128`): 64 or 128;
 *      when the file has the key too they must agree;
 *   3. otherwise 128 (x86 builds, bitnet.cpp's Python writer, the published
 *      files), with an info line saying so and how to choose 64.
 * A 64-block file is repacked at load into the 128-value layout. */
#ifndef BN_I2S_BLOCKS_H
#define BN_I2S_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "bitnet.h"
#include "gguf.h"
#include "log.h"

#define BN_I2S_BLOCK_KEY "bitnet.i2s.block_size"

/* The block size (64 or 128) of the I2_S tensors of g. requested: the model
 * parameter (0: not given). The info line is logged only when has_i2s. */
bitnet_status bn_i2s_block_resolve(const bn_gguf *g, int32_t requested, bool has_i2s,
                                   const bn_logger *log, int *block);

/* n ternary codes (flat row-major, n % 64 == 0) and the scale -> out[n/4 + 32]
 * in the 64-value layout (a writer for tests and fixtures). */
void bn_i2s64_pack(const int8_t *codes, int64_t n, float scale, uint8_t *out);

/* The n/4 code bytes of a 64-value-block tensor -> the same codes in the
 * 128-value layout (n % 128 == 0); the tail is not touched. */
void bn_i2s64_to_i2s128(const uint8_t *src, int64_t n, uint8_t *dst);

#endif
