/* AMX-INT8 I2_S gemm (Sapphire Rapids and later): prefill on the tile unit.
 *
 * One `tdpbsud` multiplies a 16 × 64 tile of signed activations (16 tokens,
 * 64 values of K each) by a 64 × 16 tile of unsigned weight codes (16 rows)
 * into 16 × 16 int32 sums: 16,384 multiply-adds per instruction, about ten
 * times what AVX-512 VNNI issues per cycle. The activations are used as they
 * lie (one token per tile row). The weights must be in the tile unit's
 * "VNNI" order, B[k/4][4n + k%4] = code of row n at value k, so each 16-row
 * strip of I2_S weights is unpacked once per K chunk into a small buffer
 * (`pack_codes`) and reused by every token tile of the call.
 *
 * I2_S byte i of a 128-value block holds values i, 32+i, 64+i and 96+i in
 * bit pairs 7-6, 5-4, 3-2 and 1-0. A gather of dword g (bytes 4g..4g+3) of
 * the same block from 16 rows, shifted by 6-2p and masked with 3 per byte,
 * is exactly tile row 8(p%2) + g of the block's tile p/2: codes of values
 * 32p + 4g + 0..3 for each of the 16 rows. So the value order inside a
 * tile is the natural one and the activations need no reordering.
 *
 * Tokens go in tiles of 16; the last n_tok % 16 as one shorter tile (the
 * tile configuration gives the activation and sum tiles fewer rows), or,
 * below AMX_MIN_TAIL tokens, to the AVX-512 gemm (the same integers: the
 * sums are exact, |sum| <= 2·128·K < 2^31). A row strip shorter than 16
 * gathers zeros for the missing rows and its sums are copied out through a
 * small buffer, so nothing outside out's n_rows columns is written. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../kernels.h"
#include "kernels_x86.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

enum {
    TILE_ROWS = 16,   /* weight rows per strip = tile columns / 4 */
    TILE_TOKENS = 16, /* tokens per activation tile */
    TILE_K = 64,      /* values of K per tile product */
    /* values of K unpacked at a time: two strips' codes, 2 × 16 × K_CHUNK
     * bytes (32 KiB), stay in L1 while every token tile passes over them */
    K_CHUNK = 1024,
    /* fewest tokens worth a tile of their own: measured on a 64-row call
     * (what the forward pass hands a thread), weights hot, AMX against
     * AVX-512 VNNI: K = 1536 1.23x at 8 tokens, 0.68x at 4; K = 4096 0.94x
     * at 8, 1.32x at 12 (docs/kernels.md) */
    AMX_MIN_TAIL = 8,
};

/* Tile registers: accumulators for 2 strips × 2 token tiles, two activation
 * tiles and two code tiles, so that each tile loaded feeds two products
 * (the activations come from L2: loading them once per product was the
 * bottleneck). Macros, not enum constants: GCC's tile intrinsics paste the
 * register number into the instruction text. */
#define T_ACC00 0 /* strip 0, token tile 0 */
#define T_ACC01 1
#define T_ACC10 2
#define T_ACC11 3
#define T_ACT0 4
#define T_ACT1 5
#define T_CODES0 6
#define T_CODES1 7

/* The 64-byte tile configuration of palette 1 (Intel SDM, LDTILECFG). */
typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} tile_config;

/* tok_rows (1..16): tokens per activation tile, i.e. rows of the
 * activation and sum tiles; the code tiles always have 16 rows. */
static void configure_tiles(int tok_rows) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = (uint8_t)(t == T_CODES0 || t == T_CODES1 ? 16 : tok_rows);
        cfg.bytes_per_row[t] = 64;
    }
    _tile_loadconfig(&cfg);
}

/* codes: [k_len / 64 tiles][16 tile rows][16 weight rows × 4 codes], the
 * strip's rows r < n_rows (the rest zero), values k0 .. k0 + k_len of K. */
static void pack_codes(const uint8_t *w, int64_t row_bytes, int n_rows, int64_t k0, int64_t k_len,
                       uint8_t *codes) {
    const __m512i row_offsets =
        _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32((int)row_bytes));
    const __mmask16 present = n_rows >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n_rows) - 1u);
    const __m512i three = _mm512_set1_epi8(3);
    for (int64_t blk = 0; blk < k_len / 128; blk++) {
        const uint8_t *src = w + (k0 / 128 + blk) * 32;
        uint8_t *dst = codes + blk * 2 * (TILE_K / 4) * 64; /* two tiles per block */
        for (int g = 0; g < 8; g++) {
            const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), present,
                                                          row_offsets, src + 4 * g, 1);
            for (int p = 0; p < 4; p++) {
                const __m512i c = _mm512_and_si512(_mm512_srli_epi32(v, 6 - 2 * p), three);
                const int tile = p / 2, tile_row = 8 * (p % 2) + g;
                _mm512_storeu_si512(dst + (tile * (TILE_K / 4) + tile_row) * 64, c);
            }
        }
    }
}

/* Where the sums of one strip go: out itself (16 columns of it), or for a
 * strip shorter than 16 rows a buffer of 32 tokens × 16 columns. */
typedef struct {
    int32_t *p;
    size_t stride_bytes;
} sums;

/* S strips (1-2) × T token tiles (1-2) of tok_rows tokens over one K
 * chunk: the sums at acc (loaded first unless `first`) plus the products. */
static ALWAYS_INLINE void tile_block(const uint8_t *codes0, const uint8_t *codes1, int64_t k_len,
                                     const int8_t *q, int64_t q_stride, int tok_rows, sums acc0,
                                     sums acc1, bool first, const int S, const int T) {
    const size_t q_bytes = (size_t)q_stride;
    const int8_t *q1 = q + tok_rows * q_stride;
    int32_t *a01 = acc0.p + tok_rows * acc0.stride_bytes / sizeof(int32_t);
    int32_t *a11 = acc1.p + tok_rows * acc1.stride_bytes / sizeof(int32_t);
    if (first) {
        _tile_zero(T_ACC00);
        if (T == 2) _tile_zero(T_ACC01);
        if (S == 2) _tile_zero(T_ACC10);
        if (S == 2 && T == 2) _tile_zero(T_ACC11);
    } else {
        _tile_loadd(T_ACC00, acc0.p, acc0.stride_bytes);
        if (T == 2) _tile_loadd(T_ACC01, a01, acc0.stride_bytes);
        if (S == 2) _tile_loadd(T_ACC10, acc1.p, acc1.stride_bytes);
        if (S == 2 && T == 2) _tile_loadd(T_ACC11, a11, acc1.stride_bytes);
    }
    for (int64_t j = 0; j < k_len / TILE_K; j++) {
        _tile_loadd(T_CODES0, codes0 + j * 1024, 64);
        _tile_loadd(T_ACT0, q + j * TILE_K, q_bytes);
        _tile_dpbsud(T_ACC00, T_ACT0, T_CODES0);
        if (T == 2) {
            _tile_loadd(T_ACT1, q1 + j * TILE_K, q_bytes);
            _tile_dpbsud(T_ACC01, T_ACT1, T_CODES0);
        }
        if (S == 2) {
            _tile_loadd(T_CODES1, codes1 + j * 1024, 64);
            _tile_dpbsud(T_ACC10, T_ACT0, T_CODES1);
            if (T == 2) _tile_dpbsud(T_ACC11, T_ACT1, T_CODES1);
        }
    }
    _tile_stored(T_ACC00, acc0.p, acc0.stride_bytes);
    if (T == 2) _tile_stored(T_ACC01, a01, acc0.stride_bytes);
    if (S == 2) _tile_stored(T_ACC10, acc1.p, acc1.stride_bytes);
    if (S == 2 && T == 2) _tile_stored(T_ACC11, a11, acc1.stride_bytes);
}

#define DEF_BLOCK(S, T)                                                                            \
    static void tile_block_##S##x##T(const uint8_t *c0, const uint8_t *c1, int64_t k,              \
                                     const int8_t *q, int64_t qs, int rows, sums a0, sums a1,      \
                                     bool first) {                                                 \
        tile_block(c0, c1, k, q, qs, rows, a0, a1, first, S, T);                                   \
    }
DEF_BLOCK(1, 1)
DEF_BLOCK(1, 2)
DEF_BLOCK(2, 1)
DEF_BLOCK(2, 2)

typedef void (*block_fn)(const uint8_t *, const uint8_t *, int64_t, const int8_t *, int64_t, int,
                         sums, sums, bool);
static const block_fn blocks[2][2] = {{tile_block_1x1, tile_block_1x2},
                                      {tile_block_2x1, tile_block_2x2}};

/* Token tiles of tok_rows tokens (the tiles as configured; n_tok a multiple
 * of tok_rows) of up to two strips: rows 0 .. n_rows-1, n_rows in 1..32.
 * Only the last strip can be short. */
static void strip_pair(const uint8_t *w, int64_t K, int n_rows, const int8_t *q, int64_t q_stride,
                       int64_t n_tok, int tok_rows, int32_t *out, int64_t out_stride) {
    _Alignas(64) uint8_t codes[2][TILE_ROWS * K_CHUNK];
    _Alignas(64) int32_t part[2 * TILE_TOKENS][TILE_ROWS]; /* a short strip's sums */
    const int n_strips = n_rows > TILE_ROWS ? 2 : 1;
    const int last_rows = n_rows - (n_strips - 1) * TILE_ROWS; /* rows of the last strip */
    const bool short_last = last_rows < TILE_ROWS;
    int32_t *last_out = out + (n_strips - 1) * TILE_ROWS;
    const size_t out_bytes = (size_t)out_stride * sizeof(int32_t);
    for (int64_t k0 = 0; k0 < K; k0 += K_CHUNK) {
        const int64_t k_len = K - k0 < K_CHUNK ? K - k0 : K_CHUNK;
        for (int s = 0; s < n_strips; s++)
            pack_codes(w + s * TILE_ROWS * (K / 4), K / 4,
                       s == n_strips - 1 ? last_rows : TILE_ROWS, k0, k_len, codes[s]);
        for (int64_t t = 0; t < n_tok; t += 2 * tok_rows) {
            const int n_t = n_tok - t >= 2 * tok_rows ? 2 * tok_rows : tok_rows;
            sums acc[2] = {{out + t * out_stride, out_bytes},
                           {out + t * out_stride + TILE_ROWS, out_bytes}};
            if (short_last) {
                acc[n_strips - 1] = (sums){&part[0][0], TILE_ROWS * sizeof(int32_t)};
                if (k0 > 0)
                    for (int i = 0; i < n_t; i++)
                        memcpy(part[i], last_out + (t + i) * out_stride,
                               (size_t)last_rows * sizeof(int32_t));
            }
            blocks[n_strips - 1][n_t / tok_rows - 1](codes[0], codes[1], k_len,
                                                     q + t * q_stride + k0, q_stride, tok_rows,
                                                     acc[0], acc[1], k0 == 0);
            if (short_last)
                for (int i = 0; i < n_t; i++)
                    memcpy(last_out + (t + i) * out_stride, part[i],
                           (size_t)last_rows * sizeof(int32_t));
        }
    }
}

/* All strips for n_tok tokens in tiles of tok_rows tokens. */
static void all_strips(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                       int64_t q_stride, int64_t n_tok, int tok_rows, int32_t *out,
                       int64_t out_stride) {
    configure_tiles(tok_rows);
    for (int64_t r = 0; r < n_rows; r += 2 * TILE_ROWS) {
        const int rows = n_rows - r < 2 * TILE_ROWS ? (int)(n_rows - r) : 2 * TILE_ROWS;
        strip_pair(w + r * (K / 4), K, rows, q, q_stride, n_tok, tok_rows, out + r, out_stride);
    }
}

void bn_i2s_gemm_amx(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int64_t q_stride,
                     int64_t n_tok, int32_t *out, int64_t out_stride) {
    const int64_t whole = n_tok / TILE_TOKENS * TILE_TOKENS;
    const int tail = (int)(n_tok - whole);
    if (whole > 0) all_strips(w, K, n_rows, q, q_stride, whole, TILE_TOKENS, out, out_stride);
    /* the last tokens as one shorter tile (the same code tiles, fewer
     * activation rows), unless so few that the AVX-512 gemm is cheaper
     * than unpacking the codes once more */
    if (tail >= AMX_MIN_TAIL)
        all_strips(w, K, n_rows, q + whole * q_stride, q_stride, tail, tail,
                   out + whole * out_stride, out_stride);
    /* hand the tile state back, so that context switches and the AVX-512
     * code that follows do not carry it */
    if (whole > 0 || tail >= AMX_MIN_TAIL) _tile_release();
    if (tail > 0 && tail < AMX_MIN_TAIL)
        bn_i2s_gemm_avx512(w, K, n_rows, q + whole * q_stride, q_stride, tail,
                           out + whole * out_stride, out_stride);
}
