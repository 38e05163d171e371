/* Weight quantization to the formats libbitnet writes: I2_S (ternary codes
 * plus one float scale per tensor, spec 2.2), F16 and F32. Used by the
 * fixture generator and by `bitnet quantize`.
 *
 * Two ways into I2_S, matching the two stages of bitnet.cpp's tooling:
 *   - bn_ternarize_absmean: float master weights -> codes + scale (spec 1.1,
 *     what the HF converters do before writing an F32/F16 GGUF);
 *   - bn_ternarize_presigned: already-ternarized floats {-s, 0, +s} -> codes
 *     + scale = max|w| (what llama-quantize's quantize_i2_s does, spec 2.2).
 * Then bn_i2s_pack lays codes out in the 128-value-block layout. */
#ifndef BN_QUANTIZE_H
#define BN_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"

/* Absmean ternarization over the whole tensor of n values (spec 1.1):
 * gamma = max(mean|w|, 1e-5), s = 1/gamma, t = clamp(rint(w*s), -1, 1),
 * *scale = 1/s (the value the runtime sees, fl(1/fl(1/gamma))). */
void bn_ternarize_absmean(const float *w, int64_t n, int8_t *codes, float *scale);

/* Sign-based ternarization of values that are already t*s: |w| < 1e-6 -> 0,
 * otherwise the sign; *scale = max|w| (1 if all are zero, so it stays > 0). */
void bn_ternarize_presigned(const float *w, int64_t n, int8_t *codes, float *scale);

/* One row of the optional 8-bit output head (bitnet_context_params.head_q8):
 * s = 127 / max|w| in float, q = clamp(rint(w·s), -127, 127) stored as q + 128
 * (unsigned, for the u8 × int8 kernel), *d = max|w| / 127 (1 for an all-zero
 * row, whose codes are then all 128). */
void bn_head_q8_row(const float *w, int64_t n, uint8_t *q, float *d);

/* Bytes of an I2_S tensor of n values: n/4 packed bytes + 32-byte tail. */
uint64_t bn_i2s_nbytes(int64_t n);

/* Packs n ternary codes t (each -1, 0 or +1; flat row-major order, e = r*K + k)
 * and the tensor scale into out[bn_i2s_nbytes(n)]: 2-bit code t+1, value j of
 * a 128-block in byte j%32 at bits 6-2*(j/32), then the float32 scale and 28
 * zero bytes. n must be a multiple of 128: a partial block would not fit in
 * n/4 bytes (its bytes are spread over 32), which is also why bitnet.cpp
 * needs K % 128 == 0 (spec 2.2). */
void bn_i2s_pack(const int8_t *codes, int64_t n, float scale, uint8_t *out);

/* Dequantized weights t*scale written as F32 or F16 (out: n floats / halves).
 * Returns false for any other type. With F16 the product is rounded to
 * nearest-even; callers who want exact values pick scales F16 can hold. */
bool bn_ternary_to_float_type(const int8_t *codes, int64_t n, float scale, uint32_t type,
                              void *out);

/* Bytes of a tensor of n values of `type` written from ternary codes
 * (I2_S, TQ1_0, TQ2_0, F16 or F32); 0 for an unsupported type. */
uint64_t bn_ternary_nbytes(uint32_t type, int64_t n);

/* Codes + scale -> the bytes of `type` (I2_S, TQ1_0, TQ2_0, F16, F32) in
 * out[bn_ternary_nbytes]. I2_S needs n % 128 == 0, TQ n % 256 == 0
 * (BITNET_ERR_INVALID_ARGUMENT otherwise). TQ blocks are made by the
 * reference quantizer from the values codes·scale: d = F16(scale) for a block
 * with a non-zero value, 0 for an all-zero block (what llama.cpp writes). */
bitnet_status bn_quantize_ternary(const int8_t *codes, int64_t n, float scale, uint32_t type,
                                  void *out);

/* The same with a different scale per 256-value block: values codes·scale·
 * block_mult[b] (block_mult NULL: 1) written as TQ1_0, TQ2_0, F16 or F32;
 * n % 256 == 0. F32 holds the products exactly, the others round them
 * (exact when they fit F16). */
bitnet_status bn_quantize_ternary_blocks(const int8_t *codes, int64_t n, float scale,
                                         const float *block_mult, uint32_t type, void *out);

/* A row of n floats written as F32, F16, BF16, Q8_0 or Q6_K (embeddings and
 * output heads; n a multiple of the type's block). False for other types. */
bool bn_quantize_row_float(uint32_t type, const float *x, void *dst, int64_t n);

#endif
