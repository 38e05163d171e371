/* Tensor element types as numbered in GGUF files, and their traits table
 * (block size, bytes per block, conversion to float). One row per type:
 * adding a type is adding a row. */
#ifndef BN_TYPES_H
#define BN_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ids are those of ggml as used by bitnet.cpp's fork. 36-39 are the fork's
 * ternary types; mainline ggml reuses 39 for MXFP4, which we do not read. */
typedef enum bn_type {
    BN_TYPE_F32 = 0,
    BN_TYPE_F16 = 1,
    BN_TYPE_Q4_0 = 2,
    BN_TYPE_Q4_1 = 3,
    BN_TYPE_Q5_0 = 6,
    BN_TYPE_Q5_1 = 7,
    BN_TYPE_Q8_0 = 8,
    BN_TYPE_Q8_1 = 9,
    BN_TYPE_Q2_K = 10,
    BN_TYPE_Q3_K = 11,
    BN_TYPE_Q4_K = 12,
    BN_TYPE_Q5_K = 13,
    BN_TYPE_Q6_K = 14,
    BN_TYPE_Q8_K = 15,
    BN_TYPE_I8 = 24,
    BN_TYPE_I16 = 25,
    BN_TYPE_I32 = 26,
    BN_TYPE_I64 = 27,
    BN_TYPE_F64 = 28,
    BN_TYPE_BF16 = 30,
    BN_TYPE_TQ1_0 = 34,
    BN_TYPE_TQ2_0 = 35,
    BN_TYPE_I2_S = 36,
    BN_TYPE_I8_S = 37,
    BN_TYPE_TL1 = 38,
    BN_TYPE_TL2 = 39,
    BN_TYPE_COUNT = 40,
} bn_type;

/* I2_S: 128 two-bit codes per 32-byte block (spec 2.2, "variant A"); the
 * tensor's float scale follows the packed bytes, then 28 unused bytes. */
#define BN_I2S_BLOCK 128
#define BN_I2S_TAIL 32

/* Q8_0: 32 int8 values and one F16 scale. */
#define BN_QK8_0 32
typedef struct {
    uint16_t d;
    int8_t qs[BN_QK8_0];
} bn_block_q8_0;
_Static_assert(sizeof(bn_block_q8_0) == 34, "wrong q8_0 block size");

/* Q6_K: 256 values in 16 groups of 16; 6-bit codes with int8 group scales and
 * an F16 super-block scale (6.5625 bits per weight). */
#define BN_QK_K 256
typedef struct {
    uint8_t ql[BN_QK_K / 2];
    uint8_t qh[BN_QK_K / 4];
    int8_t scales[BN_QK_K / 16];
    uint16_t d;
} bn_block_q6_k;
_Static_assert(sizeof(bn_block_q6_k) == 210, "wrong q6_K block size");

/* TQ2_0 (llama.cpp): 256 two-bit codes (value + 1) and an F16 scale d
 * (2.0625 bpw). Each 32-byte half holds 128 values: value 32·p + i of the
 * half sits in byte i at bits 2p..2p+1 (docs/formats.md). */
typedef struct {
    uint8_t qs[BN_QK_K / 4];
    uint16_t d;
} bn_block_tq2_0;
_Static_assert(sizeof(bn_block_tq2_0) == 66, "wrong tq2_0 block size");

/* TQ1_0 (llama.cpp): 256 ternary values as base-3 digits (1.6875 bpw):
 * 48 bytes of five digits (values 0..159 in 32 bytes, 160..239 in 16) and
 * 4 bytes of four digits (values 240..255), then the F16 scale d. Each byte
 * stores a fixed-point fraction of 3^5 (docs/formats.md). */
typedef struct {
    uint8_t qs[48];
    uint8_t qh[4];
    uint16_t d;
} bn_block_tq1_0;
_Static_assert(sizeof(bn_block_tq1_0) == 54, "wrong tq1_0 block size");

/* Ternary values t in {-1, 0, +1} (TQ2_0 may also hold +2, code 3, which
 * llama.cpp's quantizer never writes) of one block, in element order. */
void bn_tq1_0_values(const bn_block_tq1_0 *b, int8_t t[BN_QK_K]);
void bn_tq2_0_values(const bn_block_tq2_0 *b, int8_t t[BN_QK_K]);

typedef void (*bn_to_float_fn)(const void *src, float *dst, int64_t n);

typedef struct bn_type_traits {
    const char *name;        /* NULL: id not known */
    int64_t block_size;      /* elements per block */
    size_t type_size;        /* bytes per block */
    bool ternary;            /* ternary weight format */
    bool whole_tensor;       /* size is not per-row (I2_S/TL1/TL2 carry a tensor-wide tail) */
    bn_to_float_fn to_float; /* row conversion; NULL if we cannot decode it */
} bn_type_traits;

/* NULL when the id is out of range or unknown. */
const bn_type_traits *bn_type_get(uint32_t type);
const char *bn_type_name(uint32_t type); /* "type 99" style text for unknown ids */

/* Bytes of a tensor of this type with the given shape. Returns false (and
 * leaves *nbytes) on overflow or when ne0 is not a multiple of the block. */
bool bn_type_nbytes(uint32_t type, const int64_t *ne, int n_dims, uint64_t *nbytes);

/* Bytes of one row of ne0 elements (not defined for whole-tensor types). */
size_t bn_type_row_size(uint32_t type, int64_t ne0);

/* I2_S row decoding: codes of the flat element range [start, start + n) of a
 * tensor whose packed data starts at `data`, times `scale`. */
void bn_i2s_to_float(const uint8_t *data, float scale, int64_t start, int64_t n, float *dst);

/* The 2-bit code (0, 1, 2 for -1, 0, +1; 3 is invalid) of flat element e. */
static inline int bn_i2s_code(const uint8_t *data, int64_t e) {
    int64_t block = e / BN_I2S_BLOCK;
    int j = (int)(e % BN_I2S_BLOCK);
    uint8_t byte = data[block * 32 + (j % 32)];
    return (byte >> (6 - 2 * (j / 32))) & 3;
}

#endif
