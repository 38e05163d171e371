/* Layouts and index maps of the CUDA kernels, as plain C so that the host
 * tests (gcc, no GPU) check them against the CPU reference and the device
 * code (the .cu files beside this one) uses the very same functions. Everything here is
 * pure integer math on the caller's buffers: no allocation, no state. */
#ifndef BN_CUDA_LAYOUT_H
#define BN_CUDA_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define BN_CUDA_HD __host__ __device__ static inline
#else
#define BN_CUDA_HD static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Ternary weights, repacked at load ("K16" layout)
 *
 * I2_S spreads the four codes of a byte over k, k+32, k+64, k+96 of a
 * 128-block, so a 32-bit load gives codes of 16 unrelated columns. The
 * device wants the codes of consecutive k together: word w of a row holds
 * the codes of k = 16w .. 16w+15, code of k = 16w + i in bits 2i..2i+1.
 * Four codes (one byte) expand into the four int8 lanes of a __dp4a or of
 * an mma.sync B register against four consecutive int8 activations.
 *
 * Rows stay row-major, K/16 words each ([n_rows][K/16] uint32): with
 * K % 128 == 0 a row is a whole number of 32-byte sectors and 16-byte
 * aligned, so a warp reading one row with uint4 loads is fully coalesced.
 * Several tensors sharing K (Q, K, V; gate, up) are repacked one after the
 * other into one buffer, which makes them one GEMV launch (fused Q/K/V).
 * The codes are kept as 0/1/2 (not -1/0/+1): the raw sums are then exactly
 * the integers of kernels.h (i2s_gemv), and the caller subtracts Σq.
 * ------------------------------------------------------------------------- */

/* 32-bit words per repacked row. */
BN_CUDA_HD int64_t bn_k16_row_words(int64_t K) { return K / 16; }

/* The code (0..2, 3 if the file held an invalid one) of column k of a row
 * of the K16 layout. */
BN_CUDA_HD int bn_k16_code(const uint32_t *row, int64_t k) {
    return (int)((row[k / 16] >> (2 * (k % 16))) & 3u);
}

/* Expands the four 2-bit codes of byte `b` (k-order, low bits first) into
 * the four bytes of an int32, low byte first: the operand of __dp4a and of
 * the s8 mma. */
BN_CUDA_HD uint32_t bn_k16_expand4(uint32_t b) {
    return (b & 3u) | ((b >> 2) & 3u) << 8 | ((b >> 4) & 3u) << 16 | ((b >> 6) & 3u) << 24;
}

/* Repacks n_rows rows of I2_S (128-value blocks, K/4 bytes a row, the
 * tensor's packed data) into dst ([n_rows][K/16] words). K % 128 == 0.
 * Returns false (dst untouched) when K is not a positive multiple of 128
 * or n_rows < 0. */
bool bn_k16_repack_i2s(const uint8_t *src, int64_t K, int64_t n_rows, uint32_t *dst);

/* ---------------------------------------------------------------------------
 * Decode GEMV launch plan: one warp per output row, BN_GEMV_WARPS warps a
 * block; lane l reads the uint4 groups l, l+32, ... of its row, so the
 * 32 lanes read 512 consecutive bytes per step.
 * ------------------------------------------------------------------------- */
#define BN_GEMV_WARPS 8

typedef struct bn_gemv_plan {
    int64_t n_blocks; /* grid.x */
    int threads;      /* block.x */
} bn_gemv_plan;

BN_CUDA_HD bn_gemv_plan bn_gemv_plan_for(int64_t n_rows) {
    bn_gemv_plan p;
    p.n_blocks = (n_rows + BN_GEMV_WARPS - 1) / BN_GEMV_WARPS;
    p.threads = 32 * BN_GEMV_WARPS;
    return p;
}

/* The row warp `warp` of block `block` computes; >= n_rows: none. */
BN_CUDA_HD int64_t bn_gemv_row(int64_t block, int warp) { return block * BN_GEMV_WARPS + warp; }

/* ---------------------------------------------------------------------------
 * Prefill GEMM on the int8 tensor cores: mma.sync.m16n8k32 s8·s8 -> s32.
 * out[t][r] = Σ_k q[t][k] · code[r][k]: A = activations (M = tokens, row
 * major), B = K16 weights (N = rows, "col" operand: B[k][n] = code[n][k]).
 *
 * Block tile BN_MMA_BM tokens × BN_MMA_BN rows, 4 warps in 2 × 2, each warp
 * 16·BN_MMA_WM tokens × 8·BN_MMA_WN rows (BN_MMA_WM × BN_MMA_WN mma tiles),
 * k in steps of 32; tails in M and N are loaded as zeros and not stored.
 * ------------------------------------------------------------------------- */
#define BN_MMA_WARPS_M 2
#define BN_MMA_WARPS_N 2
#define BN_MMA_WM 2                                 /* m16 tiles per warp */
#define BN_MMA_WN 4                                 /* n8 tiles per warp */
#define BN_MMA_BM (BN_MMA_WARPS_M * BN_MMA_WM * 16) /* 64 tokens */
#define BN_MMA_BN (BN_MMA_WARPS_N * BN_MMA_WN * 8)  /* 64 rows */

/* Fragment ownership of one m16n8k32 s8 mma (PTX ISA, "Matrix Fragments for
 * mma.m16n8k32"), g = lane / 4, c = lane % 4:
 * A (16 × 32 s8, 4 regs of 4 bytes): reg i holds row g + 8·(i & 1), columns
 *   16·(i >> 1) + 4c .. +3, low byte first.
 * B (32 × 8 s8, 2 regs): reg i holds column g, rows 16·i + 4c .. +3.
 * C (16 × 8 s32, 4 regs): reg i holds row g + 8·(i >> 1), column 2c + (i & 1). */
BN_CUDA_HD int bn_mma_a_row(int lane, int reg) { return lane / 4 + 8 * (reg & 1); }
BN_CUDA_HD int bn_mma_a_col(int lane, int reg) { return 16 * (reg >> 1) + 4 * (lane % 4); }
BN_CUDA_HD int bn_mma_b_col(int lane) { return lane / 4; }
BN_CUDA_HD int bn_mma_b_row(int lane, int reg) { return 16 * reg + 4 * (lane % 4); }
BN_CUDA_HD int bn_mma_c_row(int lane, int reg) { return lane / 4 + 8 * (reg >> 1); }
BN_CUDA_HD int bn_mma_c_col(int lane, int reg) { return 2 * (lane % 4) + (reg & 1); }

typedef struct bn_gemm_plan {
    int64_t grid_x; /* row tiles (N) */
    int64_t grid_y; /* token tiles (M) */
    int threads;
} bn_gemm_plan;

BN_CUDA_HD bn_gemm_plan bn_gemm_plan_for(int64_t n_tok, int64_t n_rows) {
    bn_gemm_plan p;
    p.grid_x = (n_rows + BN_MMA_BN - 1) / BN_MMA_BN;
    p.grid_y = (n_tok + BN_MMA_BM - 1) / BN_MMA_BM;
    p.threads = 32 * BN_MMA_WARPS_M * BN_MMA_WARPS_N;
    return p;
}

/* The output element (token *t, row *r) that accumulator `reg` of `lane`
 * in mma tile (i, j) of warp `warp` of block (bx, by) holds. The host test
 * checks that these cover every output of every shape exactly once. */
BN_CUDA_HD void bn_gemm_out_elem(int64_t bx, int64_t by, int warp, int i, int j, int lane, int reg,
                                 int64_t *t, int64_t *r) {
    const int wm = warp / BN_MMA_WARPS_N, wn = warp % BN_MMA_WARPS_N;
    *t = by * BN_MMA_BM + (int64_t)(wm * BN_MMA_WM + i) * 16 + bn_mma_c_row(lane, reg);
    *r = bx * BN_MMA_BN + (int64_t)(wn * BN_MMA_WN + j) * 8 + bn_mma_c_col(lane, reg);
}

/* First token of mma tile i and first row of mma tile j of a warp. */
BN_CUDA_HD int64_t bn_gemm_tile_tok(int64_t by, int warp, int i) {
    return by * BN_MMA_BM + (int64_t)((warp / BN_MMA_WARPS_N) * BN_MMA_WM + i) * 16;
}
BN_CUDA_HD int64_t bn_gemm_tile_row(int64_t bx, int warp, int j) {
    return bx * BN_MMA_BN + (int64_t)((warp % BN_MMA_WARPS_N) * BN_MMA_WN + j) * 8;
}

/* ---------------------------------------------------------------------------
 * Attention decode, split over the KV cache: the n_keys cells of one head
 * are cut into chunks of BN_ATT_CHUNK keys, one block each; each block
 * keeps its partial out[hd] and its chunk's (max, Σe) and a second kernel
 * combines the chunks in chunk order.
 * ------------------------------------------------------------------------- */
#define BN_ATT_CHUNK 256

BN_CUDA_HD int bn_att_n_chunks(int n_keys) { return (n_keys + BN_ATT_CHUNK - 1) / BN_ATT_CHUNK; }
/* Keys [*first, *first + *count) of chunk c. */
BN_CUDA_HD void bn_att_chunk(int n_keys, int c, int *first, int *count) {
    *first = c * BN_ATT_CHUNK;
    const int left = n_keys - *first;
    *count = left < BN_ATT_CHUNK ? left : BN_ATT_CHUNK;
}

#ifdef __cplusplus
}
#endif

#endif
