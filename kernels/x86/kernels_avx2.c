/* AVX2 (+FMA, F16C) kernels. Built with -mavx2 -mfma -mf16c and only called
 * when dispatch has seen those features at run time.
 *
 * I2_S × int8 (see docs/kernels.md for the layout and the exactness proof):
 * one 32-byte load holds a 128-value block; shifting by 6/4/2/0 and masking
 * with 0x03 gives four vectors of unsigned codes 0..2 whose byte i is value
 * i, 32+i, 64+i, 96+i of the block, i.e. each plane lines up with 32
 * consecutive activations. `maddubs` (u8 × s8, adjacent pairs summed into
 * int16) does the multiply; sums stay in int16 for a bounded number of
 * blocks and are then widened to int32 with `madd` by ones.
 *
 * A tile of R weight rows × T tokens decodes each row's codes once per block
 * and reuses them for all T tokens (the prefill path), and reuses each
 * token's activation loads for all R rows. */
#include <immintrin.h>
#include <stdint.h>

#include "../f16.h"
#include "../kernels.h"
#include "../ref/kernels_ref.h"
#include "kernels_x86.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* quantize_i8                                                               */
/* ------------------------------------------------------------------------ */

static float max_abs_f32(const float *x, int64_t n) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
    int64_t i = 0;
    /* max_ps returns its second operand when either is NaN, so NaN inputs
     * are skipped exactly like the reference's `a > max` comparison. */
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), m0);
        m1 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + 8), abs_mask), m1);
    }
    for (; i + 8 <= n; i += 8)
        m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), m0);
    m0 = _mm256_max_ps(m0, m1);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(m0), _mm256_extractf128_ps(m0, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    float best = _mm_cvtss_f32(m);
    for (; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        if (a > best) best = a;
    }
    return best;
}

/* The reference's nearest_int on 8 lanes: adding 1.5·2^23 leaves the
 * rounded (half to even) integer in the low mantissa bits. Same float
 * operations in the same order, hence the same bits for every input. */
static ALWAYS_INLINE __m256i quantize8(__m256 x, __m256 s) {
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256i bits = _mm256_castps_si256(_mm256_add_ps(_mm256_mul_ps(x, s), magic));
    __m256i v = _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                 _mm256_set1_epi32(0x00400000));
    v = _mm256_min_epi32(v, _mm256_set1_epi32(127));
    return _mm256_max_epi32(v, _mm256_set1_epi32(-128));
}

static int scalar_nearest_int(float v) {
    float shifted = v + 12582912.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

static void quantize_i8_avx2(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum) {
    /* The max of |x| over floats is exact, so taking it in float and then
     * widening gives the same double as the reference's running max. */
    double max = (double)max_abs_f32(x, n);
    if (!(max > 0.00001)) max = 0.00001;
    const float s = (float)(127.0 / max);
    const __m256 vs = _mm256_set1_ps(s);
    /* Lanes hold values in [-128, 127]: no overflow for n < 2^24 per lane. */
    __m256i total = _mm256_setzero_si256();
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a = quantize8(_mm256_loadu_ps(x + i), vs);
        __m256i b = quantize8(_mm256_loadu_ps(x + i + 8), vs);
        __m256i c = quantize8(_mm256_loadu_ps(x + i + 16), vs);
        __m256i d = quantize8(_mm256_loadu_ps(x + i + 24), vs);
        total = _mm256_add_epi32(total,
                                 _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d)));
        /* Values are already clamped, so the saturating packs are exact; the
         * packs work per 128-bit lane, the permute restores the order. */
        __m256i ab = _mm256_packs_epi32(a, b);
        __m256i cd = _mm256_packs_epi32(c, d);
        __m256i abcd = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), order);
        _mm256_storeu_si256((__m256i *)(q + i), abcd);
    }
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    int32_t acc = _mm_cvtsi128_si32(t);
    for (; i < n; i++) {
        int v = scalar_nearest_int(x[i] * s);
        if (v > 127) v = 127;
        if (v < -128) v = -128;
        q[i] = (int8_t)v;
        acc += v;
    }
    *scale = s;
    *sum = acc;
}

/* ------------------------------------------------------------------------ */
/* I2_S × int8                                                               */
/* ------------------------------------------------------------------------ */

/* Blocks summed in int16 before widening. One block adds four maddubs
 * results, each pair-sum in [2·2·-128, 2·2·127] = [-512, 508], so at most
 * [-2048, 2032] per block; 8 blocks stay within [-16384, 16256], half the
 * int16 range (16 would still fit, but only just). */
#define I2S_GROUP 8

/* Codes of plane p (0..3) of a block: byte i holds value 32p+i of the block,
 * taken from bit pair 6-2p. The 16-bit shift moves bits across byte
 * boundaries, but the 0x03 mask keeps only bits that came from the same
 * byte. */
static ALWAYS_INLINE __m256i plane_codes(__m256i bytes, int p) {
    return _mm256_and_si256(_mm256_srli_epi16(bytes, 6 - 2 * p), _mm256_set1_epi8(3));
}

static ALWAYS_INLINE int32_t hsum_epi32(__m256i v) {
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    return _mm_cvtsi128_si32(t);
}

/* R rows × T tokens, all K. R and T are compile-time constants after
 * inlining, so the loops unroll and the accumulators live in registers.
 * Loop order inside a block is plane, token, row: a plane's codes are made
 * once per row and reused by all T tokens, each activation load by all R
 * rows, and only one plane's codes are live at a time (AVX2 has 16
 * registers: R raw rows + R codes + 1 activation + R·T int16 sums). */
static ALWAYS_INLINE void i2s_tile(const uint8_t *w, int64_t row_bytes, const int8_t *q,
                                   int64_t q_stride, int64_t nb, int32_t *out, int64_t out_stride,
                                   const int R, const int T) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc32[4][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc32[r][t] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nb; b0 += I2S_GROUP) {
        const int64_t b1 = b0 + I2S_GROUP < nb ? b0 + I2S_GROUP : nb;
        __m256i acc16[4][4];
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) acc16[r][t] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            __m256i bytes[4];
            for (int r = 0; r < R; r++)
                bytes[r] = _mm256_loadu_si256((const __m256i *)(w + r * row_bytes + b * 32));
            for (int p = 0; p < 4; p++) {
                __m256i codes[4];
                for (int r = 0; r < R; r++) codes[r] = plane_codes(bytes[r], p);
                for (int t = 0; t < T; t++) {
                    const __m256i x =
                        _mm256_loadu_si256((const __m256i *)(q + t * q_stride + b * 128 + 32 * p));
                    /* maddubs: u8 codes (0..2) × s8 activations, adjacent
                     * pairs summed into int16: cannot saturate (|.| <= 512). */
                    for (int r = 0; r < R; r++)
                        acc16[r][t] =
                            _mm256_add_epi16(acc16[r][t], _mm256_maddubs_epi16(codes[r], x));
                }
            }
        }
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++)
                acc32[r][t] = _mm256_add_epi32(acc32[r][t], _mm256_madd_epi16(acc16[r][t], ones));
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * out_stride + r] = hsum_epi32(acc32[r][t]);
}

#define DEF_TILE(R, T)                                                                             \
    static void i2s_tile_##R##x##T(const uint8_t *w, int64_t rb, const int8_t *q, int64_t qs,      \
                                   int64_t nb, int32_t *out, int64_t os) {                         \
        i2s_tile(w, rb, q, qs, nb, out, os, R, T);                                                 \
    }
DEF_TILE(1, 1)
DEF_TILE(2, 1)
DEF_TILE(3, 1)
DEF_TILE(4, 1)

static void i2s_gemv_avx2(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                          int32_t *out) {
    const int64_t rb = K / 4, nb = K / 128;
    int64_t r = 0;
    for (; r + 4 <= n_rows; r += 4) {
        /* decode is memory-bound: prefetch the tile 4 tiles ahead (see the
         * AVX-512 gemv); prefetches past the end never fault */
        const uint8_t *ahead = w + (r + 16) * rb;
        for (int64_t o = 0; o < 4 * rb; o += 64)
            _mm_prefetch((const char *)(ahead + o), _MM_HINT_T0);
        i2s_tile_4x1(w + r * rb, rb, q, 0, nb, out + r, 0);
    }
    switch (n_rows - r) {
    case 3: i2s_tile_3x1(w + r * rb, rb, q, 0, nb, out + r, 0); break;
    case 2: i2s_tile_2x1(w + r * rb, rb, q, 0, nb, out + r, 0); break;
    case 1: i2s_tile_1x1(w + r * rb, rb, q, 0, nb, out + r, 0); break;
    default: break;
    }
}

/* gemm: one row × T tokens. The row's four code planes are made once per
 * block (4 registers) and reused by all T tokens; each token's four
 * products are summed right away, which keeps the register count at
 * 4 codes + T int16 sums + a few temporaries (more rows per tile made GCC
 * spill: AVX2 has only 16 registers). */
#define GEMM_TOKENS 4

static ALWAYS_INLINE void gemm_tile(const uint8_t *w, const int8_t *q, int64_t q_stride, int64_t nb,
                                    int32_t *out, int64_t out_stride, const int T) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc32[GEMM_TOKENS];
    for (int t = 0; t < T; t++) acc32[t] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nb; b0 += I2S_GROUP) {
        const int64_t b1 = b0 + I2S_GROUP < nb ? b0 + I2S_GROUP : nb;
        __m256i acc16[GEMM_TOKENS];
        for (int t = 0; t < T; t++) acc16[t] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(w + b * 32));
            __m256i c[4];
            for (int p = 0; p < 4; p++) c[p] = plane_codes(bytes, p);
            for (int t = 0; t < T; t++) {
                const __m256i *x = (const __m256i *)(q + t * q_stride + b * 128);
                __m256i s01 =
                    _mm256_add_epi16(_mm256_maddubs_epi16(c[0], _mm256_loadu_si256(x)),
                                     _mm256_maddubs_epi16(c[1], _mm256_loadu_si256(x + 1)));
                __m256i s23 =
                    _mm256_add_epi16(_mm256_maddubs_epi16(c[2], _mm256_loadu_si256(x + 2)),
                                     _mm256_maddubs_epi16(c[3], _mm256_loadu_si256(x + 3)));
                acc16[t] = _mm256_add_epi16(acc16[t], _mm256_add_epi16(s01, s23));
            }
        }
        for (int t = 0; t < T; t++)
            acc32[t] = _mm256_add_epi32(acc32[t], _mm256_madd_epi16(acc16[t], ones));
    }
    for (int t = 0; t < T; t++) out[t * out_stride] = hsum_epi32(acc32[t]);
}

typedef void (*tile_fn)(const uint8_t *, const int8_t *, int64_t, int64_t, int32_t *, int64_t);

#define DEF_GEMM(T)                                                                                \
    static void gemm_tile_##T(const uint8_t *w, const int8_t *q, int64_t qs, int64_t nb,           \
                              int32_t *out, int64_t os) {                                          \
        gemm_tile(w, q, qs, nb, out, os, T);                                                       \
    }
DEF_GEMM(1)
DEF_GEMM(2)
DEF_GEMM(3)
DEF_GEMM(4)

/* Rows per cache block: about 256 KiB of weights, which stay in L2 while
 * every token tile (GEMM_TOKENS·K bytes, in L1) passes over them. */
static int64_t rows_per_block(int64_t row_bytes) {
    int64_t rows = 256 * 1024 / row_bytes;
    return rows < 1 ? 1 : rows;
}

static void i2s_gemm_avx2(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                          int64_t q_stride, int64_t n_tok, int32_t *out, int64_t out_stride) {
    if (n_tok == 1) {
        i2s_gemv_avx2(w, K, n_rows, q, out);
        return;
    }
    static const tile_fn tiles[GEMM_TOKENS] = {gemm_tile_1, gemm_tile_2, gemm_tile_3, gemm_tile_4};
    const int64_t rb = K / 4, nb = K / 128;
    const int64_t block = rows_per_block(rb);
    for (int64_t r0 = 0; r0 < n_rows; r0 += block) {
        const int64_t r1 = r0 + block < n_rows ? r0 + block : n_rows;
        for (int64_t t = 0; t < n_tok; t += GEMM_TOKENS) {
            const int nt = n_tok - t < GEMM_TOKENS ? (int)(n_tok - t) : GEMM_TOKENS;
            const int8_t *qt = q + t * q_stride;
            int32_t *ot = out + t * out_stride;
            for (int64_t r = r0; r < r1; r++) {
                /* the first token tile reads the block from memory (a
                 * decode step of a few sequences streams every weight
                 * once, as the gemv does): prefetch 4 rows ahead */
                if (t == 0)
                    for (int64_t o = 0; o < rb; o += 64)
                        _mm_prefetch((const char *)(w + (r + 4) * rb + o), _MM_HINT_T0);
                tiles[nt - 1](w + r * rb, qt, q_stride, nb, ot + r, out_stride);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Block-scaled ternary (TQ repacked to I2_S codes): one sum per 256 values  */
/* ------------------------------------------------------------------------ */

/* R rows × T tokens (R·T <= 4), one 256-value block (two I2_S blocks, 64
 * bytes per row) at a time. Per block and lane, eight maddubs pair sums of
 * at most 2·2·128 each: |int16| <= 4096, no saturation. */
static ALWAYS_INLINE void blk_tile(const uint8_t *w, int64_t w_stride, const int8_t *q,
                                   int64_t q_stride, int64_t nb, int32_t *out, int64_t tok_stride,
                                   const int R, const int T) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < nb; b++) {
        __m256i acc[4][4];
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i bytes[4];
            for (int r = 0; r < R; r++)
                bytes[r] =
                    _mm256_loadu_si256((const __m256i *)(w + r * w_stride + b * 64 + h * 32));
            for (int p = 0; p < 4; p++) {
                __m256i codes[4];
                for (int r = 0; r < R; r++) codes[r] = plane_codes(bytes[r], p);
                for (int t = 0; t < T; t++) {
                    const __m256i x = _mm256_loadu_si256(
                        (const __m256i *)(q + t * q_stride + b * 256 + h * 128 + 32 * p));
                    for (int r = 0; r < R; r++)
                        acc[r][t] = _mm256_add_epi16(acc[r][t], _mm256_maddubs_epi16(codes[r], x));
                }
            }
        }
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++)
                out[t * tok_stride + r * nb + b] = hsum_epi32(_mm256_madd_epi16(acc[r][t], ones));
    }
}

#define DEF_BLK(R, T)                                                                              \
    static void blk_tile_##R##x##T(const uint8_t *w, int64_t ws, const int8_t *q, int64_t qs,      \
                                   int64_t nb, int32_t *out, int64_t ts) {                         \
        blk_tile(w, ws, q, qs, nb, out, ts, R, T);                                                 \
    }
DEF_BLK(1, 1)
DEF_BLK(4, 1)
DEF_BLK(1, 2)
DEF_BLK(1, 3)
DEF_BLK(1, 4)

void bn_i2s_blk_gemv_avx2(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                          const int8_t *q, int32_t *out) {
    const int64_t nb = K / 256;
    int64_t r = 0;
    for (; r + 4 <= n_rows; r += 4)
        blk_tile_4x1(w + r * w_stride, w_stride, q, 0, nb, out + r * nb, 0);
    for (; r < n_rows; r++) blk_tile_1x1(w + r * w_stride, w_stride, q, 0, nb, out + r * nb, 0);
}

typedef void (*blk_tile_fn)(const uint8_t *, int64_t, const int8_t *, int64_t, int64_t, int32_t *,
                            int64_t);

void bn_i2s_blk_gemm_avx2(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                          const int8_t *q, int64_t q_stride, int64_t n_tok, int32_t *out) {
    static const blk_tile_fn tiles[4] = {blk_tile_1x1, blk_tile_1x2, blk_tile_1x3, blk_tile_1x4};
    const int64_t nb = K / 256, tok_stride = n_rows * nb;
    for (int64_t t = 0; t < n_tok; t += 4) {
        const int nt = n_tok - t < 4 ? (int)(n_tok - t) : 4;
        for (int64_t r = 0; r < n_rows; r++)
            tiles[nt - 1](w + r * w_stride, w_stride, q + t * q_stride, q_stride, nb,
                          out + t * tok_stride + r * nb, tok_stride);
    }
}

/* ------------------------------------------------------------------------ */
/* Float dot products                                                        */
/* ------------------------------------------------------------------------ */

static ALWAYS_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static ALWAYS_INLINE __m256 load_f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* Four independent accumulators hide the FMA latency. */
static float dot_f16_avx2(const uint16_t *a, const uint16_t *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_f16(a + i), load_f16(b + i), s0);
        s1 = _mm256_fmadd_ps(load_f16(a + i + 8), load_f16(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_f16(a + i + 16), load_f16(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_f16(a + i + 24), load_f16(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_f16(a + i), load_f16(b + i), s0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += bn_f16_to_f32(a[i]) * bn_f16_to_f32(b[i]);
    return sum;
}

/* T (1-4) dot products of one F16 row with T vectors: the row is converted
 * once and each token keeps its own four accumulators, with the operations
 * of the single dot product in the same order (the same bits per token). */
static ALWAYS_INLINE void dot_f16_f32_tile(const uint16_t *a, const float *x, int64_t xs, int64_t n,
                                           float *out, const int T) {
    __m256 s[4][4];
    for (int t = 0; t < T; t++) s[t][0] = s[t][1] = s[t][2] = s[t][3] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256 a0 = load_f16(a + i), a1 = load_f16(a + i + 8);
        const __m256 a2 = load_f16(a + i + 16), a3 = load_f16(a + i + 24);
        for (int t = 0; t < T; t++) {
            const float *b = x + t * xs + i;
            s[t][0] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b), s[t][0]);
            s[t][1] = _mm256_fmadd_ps(a1, _mm256_loadu_ps(b + 8), s[t][1]);
            s[t][2] = _mm256_fmadd_ps(a2, _mm256_loadu_ps(b + 16), s[t][2]);
            s[t][3] = _mm256_fmadd_ps(a3, _mm256_loadu_ps(b + 24), s[t][3]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 a0 = load_f16(a + i);
        for (int t = 0; t < T; t++)
            s[t][0] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(x + t * xs + i), s[t][0]);
    }
    for (int t = 0; t < T; t++) {
        float sum = hsum_ps(
            _mm256_add_ps(_mm256_add_ps(s[t][0], s[t][1]), _mm256_add_ps(s[t][2], s[t][3])));
        for (int64_t j = i; j < n; j++) sum += bn_f16_to_f32(a[j]) * x[t * xs + j];
        out[t] = sum;
    }
}

static float dot_f16_f32_avx2(const uint16_t *a, const float *b, int64_t n) {
    float out;
    dot_f16_f32_tile(a, b, 0, n, &out, 1);
    return out;
}

static void dot_f16_f32_multi_avx2(const uint16_t *a, const float *x, int64_t x_stride, int n_x,
                                   int64_t n, float *out) {
    int t = 0;
    for (; t + 4 <= n_x; t += 4) dot_f16_f32_tile(a, x + t * x_stride, x_stride, n, out + t, 4);
    switch (n_x - t) {
    case 3: dot_f16_f32_tile(a, x + t * x_stride, x_stride, n, out + t, 3); break;
    case 2: dot_f16_f32_tile(a, x + t * x_stride, x_stride, n, out + t, 2); break;
    case 1: dot_f16_f32_tile(a, x + t * x_stride, x_stride, n, out + t, 1); break;
    default: break;
    }
}

static float dot_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

/* ------------------------------------------------------------------------ */
/* 8-bit head: unsigned bytes × int8                                         */
/* ------------------------------------------------------------------------ */

/* Both operands widened to int16 and multiplied with vpmaddwd: exact (no
 * vpmaddubsw, whose int16 pair sums would saturate at 255·127·2). */
static ALWAYS_INLINE __m256i madd_u8s8_16(const uint8_t *w, const int8_t *q) {
    const __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)w));
    const __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)q));
    return _mm256_madd_epi16(a, b);
}

static void u8_gemv_avx2(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                         int32_t *out) {
    const int64_t K16 = K & ~(int64_t)15;
    int64_t r = 0;
    for (; r + 2 <= n_rows; r += 2) {
        const uint8_t *w0 = w + r * K, *w1 = w0 + K;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        for (int64_t k = 0; k < K16; k += 16) {
            a0 = _mm256_add_epi32(a0, madd_u8s8_16(w0 + k, q + k));
            a1 = _mm256_add_epi32(a1, madd_u8s8_16(w1 + k, q + k));
        }
        int32_t s0 = hsum_epi32(a0), s1 = hsum_epi32(a1);
        for (int64_t k = K16; k < K; k++) {
            s0 += (int32_t)w0[k] * q[k];
            s1 += (int32_t)w1[k] * q[k];
        }
        out[r] = s0;
        out[r + 1] = s1;
    }
    for (; r < n_rows; r++) {
        const uint8_t *w0 = w + r * K;
        __m256i a0 = _mm256_setzero_si256();
        for (int64_t k = 0; k < K16; k += 16)
            a0 = _mm256_add_epi32(a0, madd_u8s8_16(w0 + k, q + k));
        int32_t s0 = hsum_epi32(a0);
        for (int64_t k = K16; k < K; k++) s0 += (int32_t)w0[k] * q[k];
        out[r] = s0;
    }
}

/* F16C converts 8 values at a time with round-to-nearest-even: the same bits
 * as bn_f32_to_f16 for every input, NaN included (quiet bit set, top payload
 * bits kept). Shared with the AVX-512 table (kernels_x86.h). */
void bn_f32_to_f16_f16c(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    bn_f32_to_f16_ref(x + i, y + i, n - i);
}

static void scale_i32_avx2(const int32_t *raw, int64_t n, float sum_q, float s_x, float s_w,
                           float *y) {
    const __m256 vq = _mm256_set1_ps(sum_q), vx = _mm256_set1_ps(s_x), vw = _mm256_set1_ps(s_w);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 r = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(raw + i)));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(r, vq), vx), vw));
    }
    bn_scale_i32_ref(raw + i, n - i, sum_q, s_x, s_w, y + i);
}

const bn_kernels bn_kernels_avx2 = {
    .isa = "avx2",
    .quantize_i8 = quantize_i8_avx2,
    .i2s_gemv = i2s_gemv_avx2,
    .i2s_gemm = i2s_gemm_avx2,
    .i2s_blk_gemv = bn_i2s_blk_gemv_avx2,
    .i2s_blk_gemm = bn_i2s_blk_gemm_avx2,
    .u8_gemv = u8_gemv_avx2,
    .scale_i32 = scale_i32_avx2,
    .f32_to_f16 = bn_f32_to_f16_f16c,
    .f32_round_f16 = bn_f32_round_f16_avx2,
    .dot_f16 = dot_f16_avx2,
    .dot_f16_f32 = dot_f16_f32_avx2,
    .dot_f16_f32_multi = dot_f16_f32_multi_avx2,
    .dot_f32 = dot_f32_avx2,
    .attn_scores_f16 = bn_attn_scores_f16_avx2,
    .attn_values_f16 = bn_attn_values_f16_avx2,
    .softmax_f32 = bn_softmax_f32_avx2,
    .silu_mul = bn_silu_mul_avx2,
    .relu2_mul = bn_relu2_mul_avx2,
    .rmsnorm = bn_rmsnorm_avx2,
};
