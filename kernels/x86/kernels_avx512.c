/* AVX-512 (F, BW, VL, DQ, VNNI) kernels. Built with the matching -m flags and
 * only called when dispatch has seen those features at run time.
 *
 * I2_S × int8 uses VNNI `vpdpbusd`: unsigned bytes × signed bytes, four
 * adjacent products summed straight into int32 lanes, so there is no int16
 * stage that could saturate. The 32 packed bytes of a 128-value block are
 * broadcast to both halves of a zmm register (a load-port broadcast, no
 * shuffle); byte i of the block holds values i, 32+i, 64+i, 96+i in bit pairs
 * 7-6, 5-4, 3-2, 1-0. Masking the low half with one bit pair and the high
 * half with another gives a code vector that lines up with 64 consecutive
 * activations, so two contiguous 64-byte activation loads cover a block.
 * Codes are not shifted down to 0..2: a lane that multiplies `w & 0x0c`
 * (codes × 4) holds 4× the wanted sum, and is shifted right by 2 once at the
 * end (exact, since every product in it is a multiple of 4). See
 * docs/kernels.md for the bounds. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../kernels.h"
#include "../ref/kernels_ref.h"
#include "kernels_x86.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __mmask16 tail_mask16(int64_t left) {
    return (__mmask16)((1u << left) - 1u); /* left in 1..15 */
}

/* ------------------------------------------------------------------------ */
/* quantize_i8                                                               */
/* ------------------------------------------------------------------------ */

static float max_abs_f32(const float *x, int64_t n) {
    /* max_ps returns its second operand when either is NaN, so NaN inputs
     * are skipped exactly like the reference's `a > max`; masked-off tail
     * lanes load as 0, which never raises the max. */
    __m512 m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), m0);
        m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i + 16)), m1);
    }
    for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), m0);
    if (i < n)
        m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask16(n - i), x + i)), m1);
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

/* The reference's nearest_int on 16 lanes (same float operations in the same
 * order, so the same bits for every input, NaN and inf included), clamped to
 * [-128, 127]. */
static ALWAYS_INLINE __m512i quantize16(__m512 x, __m512 s) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512i bits = _mm512_castps_si512(_mm512_add_ps(_mm512_mul_ps(x, s), magic));
    __m512i v = _mm512_sub_epi32(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)),
                                 _mm512_set1_epi32(0x00400000));
    v = _mm512_min_epi32(v, _mm512_set1_epi32(127));
    return _mm512_max_epi32(v, _mm512_set1_epi32(-128));
}

static void quantize_i8_avx512(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum) {
    /* The max over floats is exact; widening it gives the reference's
     * double running max. */
    double max = (double)max_abs_f32(x, n);
    if (!(max > 0.00001)) max = 0.00001;
    const float s = (float)(127.0 / max);
    const __m512 vs = _mm512_set1_ps(s);
    __m512i total = _mm512_setzero_si512(); /* lanes gain at most 128 per step */
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i v = quantize16(_mm512_loadu_ps(x + i), vs);
        total = _mm512_add_epi32(total, v);
        /* Saturating narrow; exact because v is already clamped. */
        _mm_storeu_si128((__m128i *)(q + i), _mm512_cvtsepi32_epi8(v));
    }
    if (i < n) {
        const __mmask16 m = tail_mask16(n - i);
        __m512i v = quantize16(_mm512_maskz_loadu_ps(m, x + i), vs);
        total = _mm512_mask_add_epi32(total, m, total, v);
        _mm512_mask_cvtsepi32_storeu_epi8(q + i, m, v);
    }
    *scale = s;
    *sum = _mm512_reduce_add_epi32(total);
}

/* ------------------------------------------------------------------------ */
/* I2_S × int8                                                               */
/* ------------------------------------------------------------------------ */

/* Both halves of the zmm hold the block's 32 bytes. */
static ALWAYS_INLINE __m512i load_block(const uint8_t *w) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)w));
}

/* Lanes 0-7 (low 256 bits) and 8-15 (high) of an accumulator hold different
 * multiples of the wanted sums; shift each down and add all 16 lanes. */
static ALWAYS_INLINE int32_t reduce_scaled(__m512i acc, int lo_shift, int hi_shift) {
    const __m512i sh =
        _mm512_inserti64x4(_mm512_set1_epi32(lo_shift), _mm256_set1_epi32(hi_shift), 1);
    return _mm512_reduce_add_epi32(_mm512_srav_epi32(acc, sh));
}

/* gemv: R rows × one token, no shifts at all. For each row two accumulators:
 *   a += dpbusd(w & [0xc0 | 0x30], x[0..63])   lanes: 64·plane0 | 16·plane1
 *   b += dpbusd(w & [0x0c | 0x03], x[64..127]) lanes:  4·plane2 |    plane3
 * Per block a lane of `a` gains at most 4 products of |128·-128| = 2^16,
 * so K is processed in chunks of at most 2^14 blocks (lanes stay below
 * 2^30) and each chunk is shifted down and added into an int32 total. */
#define GEMV_CHUNK_BLOCKS 16384

/* Decode streams every weight once, so it is bound by memory bandwidth: the
 * tile prefetches the tile GEMV_PREFETCH_TILES ahead (one line per row every
 * second block, i.e. each line of that tile once), which measured +25-30 %
 * tokens/s over the hardware prefetcher alone (docs/performance.md).
 * Prefetches past the end of the weights are harmless (they never fault). */
#define GEMV_PREFETCH_TILES 4

static ALWAYS_INLINE void gemv_tile(const uint8_t *w, int64_t row_bytes, const int8_t *q,
                                    int64_t nb, int32_t *out, const int R) {
    const int64_t pf = GEMV_PREFETCH_TILES * R * row_bytes;
    const __m512i mask_a =
        _mm512_inserti64x4(_mm512_set1_epi8((char)0xc0), _mm256_set1_epi8(0x30), 1);
    const __m512i mask_b = _mm512_inserti64x4(_mm512_set1_epi8(0x0c), _mm256_set1_epi8(0x03), 1);
    int32_t total[8] = {0};
    for (int64_t c0 = 0; c0 < nb; c0 += GEMV_CHUNK_BLOCKS) {
        const int64_t c1 = c0 + GEMV_CHUNK_BLOCKS < nb ? c0 + GEMV_CHUNK_BLOCKS : nb;
        __m512i a[8], b[8];
        for (int r = 0; r < R; r++) a[r] = b[r] = _mm512_setzero_si512();
        for (int64_t blk = c0; blk < c1; blk++) {
            const __m512i x01 = _mm512_loadu_si512(q + blk * 128);
            const __m512i x23 = _mm512_loadu_si512(q + blk * 128 + 64);
            if ((blk & 1) == 0)
                for (int r = 0; r < R; r++)
                    _mm_prefetch((const char *)(w + r * row_bytes + blk * 32 + pf), _MM_HINT_T0);
            for (int r = 0; r < R; r++) {
                const __m512i wb = load_block(w + r * row_bytes + blk * 32);
                a[r] = _mm512_dpbusd_epi32(a[r], _mm512_and_si512(wb, mask_a), x01);
                b[r] = _mm512_dpbusd_epi32(b[r], _mm512_and_si512(wb, mask_b), x23);
            }
        }
        for (int r = 0; r < R; r++)
            total[r] += reduce_scaled(a[r], 6, 4) + reduce_scaled(b[r], 2, 0);
    }
    for (int r = 0; r < R; r++) out[r] = total[r];
}

#define DEF_GEMV(R)                                                                                \
    static void gemv_tile_##R(const uint8_t *w, int64_t rb, const int8_t *q, int64_t nb,           \
                              int32_t *out) {                                                      \
        gemv_tile(w, rb, q, nb, out, R);                                                           \
    }
DEF_GEMV(1)
DEF_GEMV(2)
DEF_GEMV(3)
DEF_GEMV(4)

static void i2s_gemv_avx512(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                            int32_t *out) {
    const int64_t rb = K / 4, nb = K / 128;
    int64_t r = 0;
    for (; r + 4 <= n_rows; r += 4) gemv_tile_4(w + r * rb, rb, q, nb, out + r);
    switch (n_rows - r) {
    case 3: gemv_tile_3(w + r * rb, rb, q, nb, out + r); break;
    case 2: gemv_tile_2(w + r * rb, rb, q, nb, out + r); break;
    case 1: gemv_tile_1(w + r * rb, rb, q, nb, out + r); break;
    default: break;
    }
}

/* gemm: R rows × T tokens. Codes are made once per row and block and reused
 * by T tokens, so one shift is affordable and buys a single accumulator per
 * (row, token):
 *   lo = w & [0x0c | 0x03]          lanes: 4·plane2 | plane3  with x[64..127]
 *   hi = (w >> 4) & [0x0c | 0x03]   lanes: 4·plane0 | plane1  with x[0..63]
 * (the 16-bit shift pulls the neighbour byte's bits into bits 7-4 only,
 * which the mask drops). Per block a lane gains at most 8 products of
 * |8·-128| = 2^10, i.e. 2^13; K < 2^23 (the reference's own int32 limit)
 * means at most 2^16 blocks, so lanes stay below 2^29. */
/* Sixteen accumulators reduced together: after the per-half shift, a
 * transpose-and-add tree (unpack 32, unpack 64, two 128-bit lane shuffles)
 * leaves the sum of v[i] in element i. 61 instructions instead of 16
 * separate reductions (~150); integer adds, so the order does not change
 * the sums. */
static ALWAYS_INLINE __m512i add_unpack32(__m512i a, __m512i b) {
    return _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
}
static ALWAYS_INLINE __m512i add_unpack64(__m512i a, __m512i b) {
    return _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}
static ALWAYS_INLINE __m512i add_lanes(__m512i a, __m512i b) {
    return _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

static ALWAYS_INLINE __m512i reduce_16(__m512i v[16]) {
    __m512i s[8], u[4];
    for (int i = 0; i < 8; i++) s[i] = add_unpack32(v[2 * i], v[2 * i + 1]);
    /* u[i], in each 128-bit lane L: the partial sums over L of v[4i..4i+3] */
    for (int i = 0; i < 4; i++) u[i] = add_unpack64(s[2 * i], s[2 * i + 1]);
    return add_lanes(add_lanes(u[0], u[1]), add_lanes(u[2], u[3]));
}

/* gemm tile: R (1-2) rows × T (1-8) tokens, one accumulator per pair. Each
 * row's codes cost a load, a shift and two masks per block; T tokens share
 * them, so with 8 tokens the vpdpbusd's are 84 % of the vector ALU work
 * (a 4×4 tile was 73 %) with 16 accumulators, 4 code and 2 activation
 * registers. */
static ALWAYS_INLINE void gemm_tile(const uint8_t *w, int64_t row_bytes, const int8_t *q,
                                    int64_t q_stride, int64_t nb, int32_t *out, int64_t out_stride,
                                    const int R, const int T) {
    const __m512i mask = _mm512_inserti64x4(_mm512_set1_epi8(0x0c), _mm256_set1_epi8(0x03), 1);
    __m512i acc[2][8];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_si512();
    const int64_t pf = GEMV_PREFETCH_TILES * R * row_bytes;
    for (int64_t blk = 0; blk < nb; blk++) {
        __m512i hi[2], lo[2];
        if ((blk & 1) == 0)
            for (int r = 0; r < R; r++)
                _mm_prefetch((const char *)(w + r * row_bytes + blk * 32 + pf), _MM_HINT_T0);
        for (int r = 0; r < R; r++) {
            const __m512i wb = load_block(w + r * row_bytes + blk * 32);
            hi[r] = _mm512_and_si512(_mm512_srli_epi16(wb, 4), mask);
            lo[r] = _mm512_and_si512(wb, mask);
        }
        for (int t = 0; t < T; t++) {
            const int8_t *x = q + t * q_stride + blk * 128;
            const __m512i x01 = _mm512_loadu_si512(x);
            const __m512i x23 = _mm512_loadu_si512(x + 64);
            for (int r = 0; r < R; r++) {
                acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], hi[r], x01);
                acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], lo[r], x23);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * out_stride + r] = reduce_scaled(acc[r][t], 2, 0);
}

/* The full 2×8 tile, the one prefill spends its time in, written out with
 * named accumulators: gcc keeps an array of sixteen vectors on the stack
 * (the generic tile's acc), and every vpdpbusd then goes through memory. */
#define T8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define ACC_DECL(t) __m512i a0_##t = _mm512_setzero_si512(), a1_##t = a0_##t;
#define ACC_STEP(t)                                                                                \
    {                                                                                              \
        const int8_t *x = q + (t)*q_stride + blk * 128;                                            \
        const __m512i x01 = _mm512_loadu_si512(x), x23 = _mm512_loadu_si512(x + 64);               \
        a0_##t = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a0_##t, hi0, x01), lo0, x23);             \
        a1_##t = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a1_##t, hi1, x01), lo1, x23);             \
    }
#define ACC_OUT(t)                                                                                 \
    v[2 * (t)] = _mm512_srav_epi32(a0_##t, sh);                                                    \
    v[2 * (t) + 1] = _mm512_srav_epi32(a1_##t, sh);

static void gemm_tile_2x8(const uint8_t *w, int64_t row_bytes, const int8_t *q, int64_t q_stride,
                          int64_t nb, int32_t *out, int64_t out_stride) {
    const __m512i mask = _mm512_inserti64x4(_mm512_set1_epi8(0x0c), _mm256_set1_epi8(0x03), 1);
    T8(ACC_DECL)
    const int64_t pf = GEMV_PREFETCH_TILES * 2 * row_bytes;
    for (int64_t blk = 0; blk < nb; blk++) {
        if ((blk & 1) == 0) {
            _mm_prefetch((const char *)(w + blk * 32 + pf), _MM_HINT_T0);
            _mm_prefetch((const char *)(w + row_bytes + blk * 32 + pf), _MM_HINT_T0);
        }
        const __m512i w0 = load_block(w + blk * 32), w1 = load_block(w + row_bytes + blk * 32);
        const __m512i hi0 = _mm512_and_si512(_mm512_srli_epi16(w0, 4), mask);
        const __m512i lo0 = _mm512_and_si512(w0, mask);
        const __m512i hi1 = _mm512_and_si512(_mm512_srli_epi16(w1, 4), mask);
        const __m512i lo1 = _mm512_and_si512(w1, mask);
        T8(ACC_STEP)
    }
    const __m512i sh = _mm512_inserti64x4(_mm512_set1_epi32(2), _mm256_set1_epi32(0), 1);
    __m512i v[16]; /* v[2t + r] */
    T8(ACC_OUT)
    int32_t sums[16]; /* [token][row] */
    _mm512_storeu_si512(sums, reduce_16(v));
    for (int t = 0; t < 8; t++) memcpy(out + t * out_stride, sums + 2 * t, 2 * sizeof(int32_t));
}

typedef void (*tile_fn)(const uint8_t *, int64_t, const int8_t *, int64_t, int64_t, int32_t *,
                        int64_t);

#define DEF_TILE(R, T)                                                                             \
    static void gemm_tile_##R##x##T(const uint8_t *w, int64_t rb, const int8_t *q, int64_t qs,     \
                                    int64_t nb, int32_t *out, int64_t os) {                        \
        gemm_tile(w, rb, q, qs, nb, out, os, R, T);                                                \
    }
#define DEF_TILE_ROW(R)                                                                            \
    DEF_TILE(R, 1)                                                                                 \
    DEF_TILE(R, 2)                                                                                 \
    DEF_TILE(R, 3)                                                                                 \
    DEF_TILE(R, 4) DEF_TILE(R, 5) DEF_TILE(R, 6) DEF_TILE(R, 7)
DEF_TILE_ROW(1)
DEF_TILE_ROW(2)
DEF_TILE(1, 8)

enum { GEMM_R = 2, GEMM_T = 8 };

/* [rows - 1][tokens - 1] */
static const tile_fn gemm_tiles[GEMM_R][GEMM_T] = {
    {gemm_tile_1x1, gemm_tile_1x2, gemm_tile_1x3, gemm_tile_1x4, gemm_tile_1x5, gemm_tile_1x6,
     gemm_tile_1x7, gemm_tile_1x8},
    {gemm_tile_2x1, gemm_tile_2x2, gemm_tile_2x3, gemm_tile_2x4, gemm_tile_2x5, gemm_tile_2x6,
     gemm_tile_2x7, gemm_tile_2x8},
};

/* Rows per cache block: about 256 KiB of weights, which stay in L2 while
 * every token tile passes over them (a token tile, 8·K bytes, stays in L1). */
static int64_t rows_per_block(int64_t row_bytes) {
    int64_t rows = (256 * 1024 / row_bytes) & ~(int64_t)3;
    return rows < 4 ? 4 : rows;
}

void bn_i2s_gemm_avx512(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                        int64_t q_stride, int64_t n_tok, int32_t *out, int64_t out_stride) {
    if (n_tok == 1) {
        i2s_gemv_avx512(w, K, n_rows, q, out);
        return;
    }
    const int64_t rb = K / 4, nb = K / 128;
    const int64_t block = rows_per_block(rb);
    for (int64_t r0 = 0; r0 < n_rows; r0 += block) {
        const int64_t r1 = r0 + block < n_rows ? r0 + block : n_rows;
        for (int64_t t = 0; t < n_tok; t += GEMM_T) {
            const int nt = n_tok - t < GEMM_T ? (int)(n_tok - t) : GEMM_T;
            const int8_t *qt = q + t * q_stride;
            int32_t *ot = out + t * out_stride;
            for (int64_t r = r0; r < r1; r += GEMM_R) {
                const int nr = r1 - r < GEMM_R ? (int)(r1 - r) : GEMM_R;
                gemm_tiles[nr - 1][nt - 1](w + r * rb, rb, qt, q_stride, nb, ot + r, out_stride);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* 8-bit head: unsigned bytes × int8 with vpdpbusd                           */
/* ------------------------------------------------------------------------ */

/* Four rows share each activation load. A lane gains at most 4·255·128 per
 * 64 values, so for K <= 65536 it stays below 2^31. Masked tail loads read
 * nothing past a row. */
static ALWAYS_INLINE void u8_tile(const uint8_t *w, int64_t K, const int8_t *q, int32_t *out,
                                  const int R) {
    __m512i acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_si512();
    int64_t k = 0;
    for (; k + 64 <= K; k += 64) {
        const __m512i x = _mm512_loadu_si512(q + k);
        for (int r = 0; r < R; r++) {
            /* memory-bound like the I2_S gemv: prefetch two tiles ahead */
            _mm_prefetch((const char *)(w + (2 * R + r) * K + k), _MM_HINT_T0);
            acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_loadu_si512(w + r * K + k), x);
        }
    }
    if (k < K) {
        const __mmask64 m = (__mmask64)(~0ull >> (64 - (K - k)));
        const __m512i x = _mm512_maskz_loadu_epi8(m, q + k);
        for (int r = 0; r < R; r++)
            acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_maskz_loadu_epi8(m, w + r * K + k), x);
    }
    for (int r = 0; r < R; r++) out[r] = _mm512_reduce_add_epi32(acc[r]);
}

static void u8_gemv_avx512(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                           int32_t *out) {
    int64_t r = 0;
    for (; r + 4 <= n_rows; r += 4) u8_tile(w + r * K, K, q, out + r, 4);
    for (; r < n_rows; r++) u8_tile(w + r * K, K, q, out + r, 1);
}

/* ------------------------------------------------------------------------ */
/* Float dot products                                                        */
/* ------------------------------------------------------------------------ */

/* Masked-off lanes of the tail load as 0 and cannot fault. */
static ALWAYS_INLINE __m512 load_f16(const uint16_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
static ALWAYS_INLINE __m512 load_f16_tail(const uint16_t *p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

/* Four independent accumulators hide the FMA latency. */
static float dot_f16_avx512(const uint16_t *a, const uint16_t *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(load_f16(a + i), load_f16(b + i), s0);
        s1 = _mm512_fmadd_ps(load_f16(a + i + 16), load_f16(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(load_f16(a + i + 32), load_f16(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(load_f16(a + i + 48), load_f16(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(load_f16(a + i), load_f16(b + i), s0);
    if (i < n) {
        const __mmask16 m = tail_mask16(n - i);
        s1 = _mm512_fmadd_ps(load_f16_tail(a + i, m), load_f16_tail(b + i, m), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* T (1-4) dot products of one F16 row with T vectors: the row is converted
 * once and each token keeps its own four accumulators, with the operations
 * of the single dot product in the same order (the same bits per token). */
static ALWAYS_INLINE void dot_f16_f32_tile(const uint16_t *a, const float *x, int64_t xs, int64_t n,
                                           float *out, const int T) {
    __m512 s[4][4];
    for (int t = 0; t < T; t++) s[t][0] = s[t][1] = s[t][2] = s[t][3] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 a0 = load_f16(a + i), a1 = load_f16(a + i + 16);
        const __m512 a2 = load_f16(a + i + 32), a3 = load_f16(a + i + 48);
        for (int t = 0; t < T; t++) {
            const float *b = x + t * xs + i;
            s[t][0] = _mm512_fmadd_ps(a0, _mm512_loadu_ps(b), s[t][0]);
            s[t][1] = _mm512_fmadd_ps(a1, _mm512_loadu_ps(b + 16), s[t][1]);
            s[t][2] = _mm512_fmadd_ps(a2, _mm512_loadu_ps(b + 32), s[t][2]);
            s[t][3] = _mm512_fmadd_ps(a3, _mm512_loadu_ps(b + 48), s[t][3]);
        }
    }
    for (; i + 16 <= n; i += 16) {
        const __m512 a0 = load_f16(a + i);
        for (int t = 0; t < T; t++)
            s[t][0] = _mm512_fmadd_ps(a0, _mm512_loadu_ps(x + t * xs + i), s[t][0]);
    }
    if (i < n) {
        const __mmask16 m = tail_mask16(n - i);
        const __m512 a0 = load_f16_tail(a + i, m);
        for (int t = 0; t < T; t++)
            s[t][1] = _mm512_fmadd_ps(a0, _mm512_maskz_loadu_ps(m, x + t * xs + i), s[t][1]);
    }
    for (int t = 0; t < T; t++)
        out[t] = _mm512_reduce_add_ps(
            _mm512_add_ps(_mm512_add_ps(s[t][0], s[t][1]), _mm512_add_ps(s[t][2], s[t][3])));
}

/* R (1-4) rows × T (1-4) vectors with the bits of dot_f16_f32_tile: its
 * four accumulators per dot are independent chains (j: the 16 values at
 * 16j of every 64), so they are run one after the other, each with the
 * operations of the tile in the same order, the 16-value steps after the
 * last whole 64 on chain 0 and the masked tail on chain 1 as there. One
 * chain at a time leaves registers for R × T accumulators: each activation
 * load feeds R multiply-adds and each converted row T. */
static ALWAYS_INLINE void dot_f16_f32_block_tile(const uint16_t *a, int64_t as, const float *x,
                                                 int64_t xs, int64_t n, float *out, int64_t os,
                                                 const int R, const int T) {
    const int64_t n64 = n / 64 * 64, n16 = n / 16 * 16;
    __m512 chain[4][4][4]; /* [j][r][t]: chain j's final value */
    for (int j = 0; j < 4; j++) {
        __m512 s[4][4];
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) s[r][t] = _mm512_setzero_ps();
        for (int64_t i = 16 * j; i < n64; i += 64) {
            __m512 av[4];
            for (int r = 0; r < R; r++) av[r] = load_f16(a + r * as + i);
            for (int t = 0; t < T; t++) {
                const __m512 xv = _mm512_loadu_ps(x + t * xs + i);
                for (int r = 0; r < R; r++) s[r][t] = _mm512_fmadd_ps(av[r], xv, s[r][t]);
            }
        }
        if (j == 0)
            for (int64_t i = n64; i < n16; i += 16)
                for (int r = 0; r < R; r++)
                    for (int t = 0; t < T; t++)
                        s[r][t] = _mm512_fmadd_ps(load_f16(a + r * as + i),
                                                  _mm512_loadu_ps(x + t * xs + i), s[r][t]);
        if (j == 1 && n16 < n) {
            const __mmask16 m = tail_mask16(n - n16);
            for (int r = 0; r < R; r++)
                for (int t = 0; t < T; t++)
                    s[r][t] = _mm512_fmadd_ps(load_f16_tail(a + r * as + n16, m),
                                              _mm512_maskz_loadu_ps(m, x + t * xs + n16), s[r][t]);
        }
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) chain[j][r][t] = s[r][t];
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++)
            out[t * os + r] =
                _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(chain[0][r][t], chain[1][r][t]),
                                                   _mm512_add_ps(chain[2][r][t], chain[3][r][t])));
}

typedef void (*dot_block_fn)(const uint16_t *, int64_t, const float *, int64_t, int64_t, float *,
                             int64_t);
#define DEF_DOT_BLOCK(R, T)                                                                        \
    static void dot_block_##R##x##T(const uint16_t *a, int64_t as, const float *x, int64_t xs,     \
                                    int64_t n, float *out, int64_t os) {                           \
        dot_f16_f32_block_tile(a, as, x, xs, n, out, os, R, T);                                    \
    }
#define DEF_DOT_BLOCK_ROW(R)                                                                       \
    DEF_DOT_BLOCK(R, 1) DEF_DOT_BLOCK(R, 2) DEF_DOT_BLOCK(R, 3) DEF_DOT_BLOCK(R, 4)
DEF_DOT_BLOCK_ROW(1)
DEF_DOT_BLOCK_ROW(2)
DEF_DOT_BLOCK_ROW(3)
DEF_DOT_BLOCK_ROW(4)

/* [rows - 1][vectors - 1] */
static const dot_block_fn dot_blocks[4][4] = {
    {dot_block_1x1, dot_block_1x2, dot_block_1x3, dot_block_1x4},
    {dot_block_2x1, dot_block_2x2, dot_block_2x3, dot_block_2x4},
    {dot_block_3x1, dot_block_3x2, dot_block_3x3, dot_block_3x4},
    {dot_block_4x1, dot_block_4x2, dot_block_4x3, dot_block_4x4},
};

static void dot_f16_f32_block_avx512(const uint16_t *a, int64_t a_stride, int n_rows,
                                     const float *x, int64_t x_stride, int n_x, int64_t n,
                                     float *out, int64_t out_stride) {
    dot_blocks[n_rows - 1][n_x - 1](a, a_stride, x, x_stride, n, out, out_stride);
}

static float dot_f16_f32_avx512(const uint16_t *a, const float *b, int64_t n) {
    float out;
    dot_f16_f32_tile(a, b, 0, n, &out, 1);
    return out;
}

static void dot_f16_f32_multi_avx512(const uint16_t *a, const float *x, int64_t x_stride, int n_x,
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

static float dot_f32_avx512(const float *a, const float *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        const __mmask16 m = tail_mask16(n - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static void scale_i32_avx512(const int32_t *raw, int64_t n, float sum_q, float s_x, float s_w,
                             float *y) {
    const __m512 vq = _mm512_set1_ps(sum_q), vx = _mm512_set1_ps(s_x), vw = _mm512_set1_ps(s_w);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask16(n - i);
        const __m512 r = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, raw + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_div_ps(_mm512_sub_ps(r, vq), vx), vw));
    }
}

/* Every entry but the name and the I2_S gemm, shared with the AMX table.
 * The block-scaled kernels are the AVX2 ones (tested here; no 512-bit
 * version yet); 8-wide F16C is already the width of the F16 data path. */
#define AVX512_ENTRIES                                                                             \
    .quantize_i8 = quantize_i8_avx512, .i2s_gemv = i2s_gemv_avx512,                                \
    .i2s_blk_gemv = bn_i2s_blk_gemv_avx2, .i2s_blk_gemm = bn_i2s_blk_gemm_avx2,                    \
    .u8_gemv = u8_gemv_avx512, .scale_i32 = scale_i32_avx512, .f32_to_f16 = bn_f32_to_f16_f16c,    \
    .f32_round_f16 = bn_f32_round_f16_avx512, .softmax_f32 = bn_softmax_f32_avx512,                \
    .silu_mul = bn_silu_mul_avx512, .relu2_mul = bn_relu2_mul_avx512,                              \
    .rmsnorm = bn_rmsnorm_avx512, .dot_f16 = dot_f16_avx512, .dot_f16_f32 = dot_f16_f32_avx512,    \
    .dot_f32 = dot_f32_avx512, .dot_f16_f32_multi = dot_f16_f32_multi_avx512,                      \
    .dot_f16_f32_block = dot_f16_f32_block_avx512, .attn_scores_f16 = bn_attn_scores_f16_avx512,   \
    .attn_values_f16 = bn_attn_values_f16_avx512

const bn_kernels bn_kernels_avx512 = {
    .isa = "avx512",
    .i2s_gemm = bn_i2s_gemm_avx512,
    AVX512_ENTRIES,
};

#if defined(BN_AMX_KERNELS)
/* AVX-512 plus the AMX-INT8 prefill gemm (kernels_amx.c). */
const bn_kernels bn_kernels_amx = {
    .isa = "amx",
    .i2s_gemm = bn_i2s_gemm_amx,
    AVX512_ENTRIES,
};
#endif
