/* bitnet.cpp's table-lookup weight layouts TL1 (ARM) and TL2 (x86), as its
 * converter writes them (docs/formats.md "TL1 and TL2"; the byte order was
 * read off the converter and cross-checked against its output).
 *
 * A TL tensor W has M rows (outputs, GGUF ne1) and K columns (inputs, ne0);
 * codes are W's ternary values, row-major: codes[r * K + k] in {-1, 0, +1}.
 * The byte order depends on three numbers the file does not contain, the
 * parameters of bitnet.cpp's generated kernels for the shape (M, K):
 *   BM  rows per tile (kernel_config.ini `bm`),
 *   BK  columns per K block (`bk`),
 *   bm  rows per SIMD sub-block (`bmm`; TL1: 32 or 64, TL2: 32 only).
 * Where they come from at load is tl_load.h's business.
 *
 * TL1: M·K/4 code bytes (two column pairs per byte), then the float32
 *   scale and 28 zero bytes: M·K/4 + 32 bytes.
 * TL2: index nibbles of column triples (M·K3/6 bytes), their sign bits
 *   (M·K3/24), column pairs of the K2 tail (M·K2/4), zero padding to P =
 *   (K−256)·M/3·5/8 + 256·M/2·4/8 (C integer arithmetic, left to right) and
 *   on to a multiple of 32, then the scale and 28 zero bytes. K3 is K rounded
 *   down to a multiple of BK, K2 = K − K3. */
#ifndef BN_TL_LAYOUT_H
#define BN_TL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"

typedef struct bn_tl_params {
    int bm_tile; /* BM: rows per tile */
    int bk;      /* BK: columns per K block */
    int bm_sub;  /* bm: rows per sub-block */
} bn_tl_params;

/* The tensor span (ggml_nbytes of bitnet.cpp's fork) including the 32-byte
 * scale tail; 0 when the shape has none (negative P, overflow, M or K < 1). */
size_t bn_tl1_nbytes(int64_t M, int64_t K);
size_t bn_tl2_nbytes(int64_t M, int64_t K);

/* Offset of the float32 scale inside the span (M·K/4 for TL1, pad32(P) for
 * TL2); 0 when nbytes is 0. */
size_t bn_tl1_scale_offset(int64_t M, int64_t K);
size_t bn_tl2_scale_offset(int64_t M, int64_t K);

/* Checks the shape against the parameters. The message names the rule and
 * the numbers ("TL2: K = 200 leaves K2 = K mod BK = 8 columns, not a multiple
 * of 32"); callers prefix the file and tensor with bn_error_prefix. */
bitnet_status bn_tl1_check(int64_t M, int64_t K, const bn_tl_params *p);
bitnet_status bn_tl2_check(int64_t M, int64_t K, const bn_tl_params *p);

/* codes [M][K] and the scale -> dst[dst_size]; dst_size must be the span
 * (bn_tl1_nbytes / bn_tl2_nbytes). Padding and tail bytes are zero. */
bitnet_status bn_tl1_encode(const int8_t *codes, float scale, int64_t M, int64_t K,
                            const bn_tl_params *p, uint8_t *dst, size_t dst_size);
bitnet_status bn_tl2_encode(const int8_t *codes, float scale, int64_t M, int64_t K,
                            const bn_tl_params *p, uint8_t *dst, size_t dst_size);

/* src[src_size] (the whole span) -> codes [M][K] and *scale. A TL1/TL2 pair
 * code above 8 or a TL2 triple magnitude above 13 is not ternary: a format
 * error naming the byte offset. Padding and tail bytes are not read (bitnet.cpp
 * ignores them too), except the scale. */
bitnet_status bn_tl1_decode(const uint8_t *src, size_t src_size, int64_t M, int64_t K,
                            const bn_tl_params *p, int8_t *codes, float *scale);
bitnet_status bn_tl2_decode(const uint8_t *src, size_t src_size, int64_t M, int64_t K,
                            const bn_tl_params *p, int8_t *codes, float *scale);

/* Parameters that fit any shape the layout can hold, for writers of shapes
 * bitnet.cpp has no kernels for: bm 32, BM the largest of 256, 128, 64, 32
 * dividing M, BK the largest of 128, 64, 32, 16, 8 dividing K (TL1) or 96
 * (TL2). Fails (with the rule) when M % 32 or K % 8 (TL1) / K % 32 (TL2). */
bitnet_status bn_tl_default_params(uint32_t type, int64_t M, int64_t K, bn_tl_params *p);

#endif
