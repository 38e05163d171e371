/* WebAssembly SIMD128 kernels (bn_kernels_wasm), built with -msimd128 in the
 * Emscripten build only. Integer results equal the reference exactly; float
 * dots differ from it only in summation order (tolerance in docs/numerics.md).
 *
 * Attention (attn_*) and SiLU: their contract is the reference's fmaf
 * chains, and SIMD128 has no fused multiply-add (relaxed-simd's is neither
 * in Emscripten 3.1.6 nor guaranteed fused), so each fmaf is computed in
 * f64x2 lanes, where the product is exact and one double rounding is the
 * only difference from a fused one; the rare lanes where that rounding
 * could matter are flagged and redone with fmaf (fma_checked, fma_attn).
 * Not here, so the table points at the reference: softmax (exp_poly.h's
 * chain; short rows), f32_to_f16, f32_round_f16, relu2_mul, rmsnorm,
 * u8_gemv and the block-scaled TQ path (no SIMD128 version yet).
 *
 * I2_S block (128 values, 32 bytes): byte i holds values i, 32+i, 64+i, 96+i
 * in bit pairs 7-6, 5-4, 3-2, 1-0, so plane p of a 16-byte half h is
 * (w >> (6-2p)) & 3 and lines up with the 16 activations 32p + 16h ... */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <wasm_simd128.h>

#include "../exp_poly.h"
#include "../f16.h"
#include "../kernels.h"
#include "../ref/kernels_ref.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE int32_t hsum_i32(v128_t v) {
    return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) +
           wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}

/* ------------------------------------------------------------------------ */
/* quantize_i8                                                               */
/* ------------------------------------------------------------------------ */

static void quantize_i8_wasm(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum) {
    /* pmax(m, v) is `m < v ? v : m`: a NaN v leaves m, like the reference's
     * `a > max`; a max over floats is exact in any order. */
    v128_t m = wasm_f32x4_splat(0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + i)));
    const float lanes[4] = {wasm_f32x4_extract_lane(m, 0), wasm_f32x4_extract_lane(m, 1),
                            wasm_f32x4_extract_lane(m, 2), wasm_f32x4_extract_lane(m, 3)};
    float best = 0.0f;
    for (int l = 0; l < 4; l++)
        if (lanes[l] > best) best = lanes[l];
    for (; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        if (a > best) best = a;
    }
    double max = (double)best;
    if (!(max > 0.00001)) max = 0.00001;
    const float s = (float)(127.0 / max);

    /* The reference's nearest_int operation by operation: multiply, add
     * 1.5·2^23 (two roundings, as in C with -ffp-contract=off), take the
     * low mantissa bits; then clamp. The narrowing saturates, which changes
     * nothing on values already in [-128, 127]. */
    const v128_t vs = wasm_f32x4_splat(s), magic = wasm_f32x4_splat(12582912.0f);
    const v128_t mant = wasm_i32x4_splat(0x007fffff), half = wasm_i32x4_splat(0x00400000);
    const v128_t hi = wasm_i32x4_splat(127), lo = wasm_i32x4_splat(-128);
    v128_t total = wasm_i32x4_splat(0);
    for (i = 0; i + 16 <= n; i += 16) {
        v128_t v[4];
        for (int h = 0; h < 4; h++) {
            v128_t f = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + i + 4 * h), vs), magic);
            v128_t b = wasm_i32x4_sub(wasm_v128_and(f, mant), half);
            v[h] = wasm_i32x4_max(wasm_i32x4_min(b, hi), lo);
            total = wasm_i32x4_add(total, v[h]);
        }
        v128_t w01 = wasm_i16x8_narrow_i32x4(v[0], v[1]);
        v128_t w23 = wasm_i16x8_narrow_i32x4(v[2], v[3]);
        wasm_v128_store(q + i, wasm_i8x16_narrow_i16x8(w01, w23));
    }
    int32_t acc = hsum_i32(total);
    for (; i < n; i++) {
        float shifted = x[i] * s + 12582912.0f;
        int32_t bits;
        memcpy(&bits, &shifted, sizeof bits);
        int v = (bits & 0x007fffff) - 0x00400000;
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

/* R rows × T tokens over all K; out[t·os + r].
 *
 * The codes are decoded in 16-bit lanes, where shifts are single machine
 * instructions (byte shifts are not, on x86): lane j of a 16-byte half holds
 * weight bytes 2j and 2j+1, so (lane >> s) & 3 is the plane-s code of byte 2j
 * and (lane >> (s+8)) & 3 that of byte 2j+1. The activations are split the
 * same way into even and odd bytes, sign-extended, and i32x4.dot_i16x8 adds
 * code·q pairs straight into int32 lanes: nothing accumulates in 16 bits. */
static ALWAYS_INLINE void tile(const uint8_t *w, int64_t rb, const int8_t *q, int64_t qs,
                               int64_t nb, int32_t *out, int64_t os, const int R, const int T) {
    const v128_t m3 = wasm_i16x8_splat(3);
    v128_t acc[2][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = wasm_i32x4_splat(0);
    for (int64_t b = 0; b < nb; b++) {
        for (int h = 0; h < 2; h++) {
            v128_t wb[2];
            for (int r = 0; r < R; r++) wb[r] = wasm_v128_load(w + r * rb + b * 32 + 16 * h);
            for (int p = 0; p < 4; p++) {
                const int sh = 6 - 2 * p;
                v128_t even[2], odd[2];
                for (int r = 0; r < R; r++) {
                    even[r] = wasm_v128_and(wasm_u16x8_shr(wb[r], sh), m3);
                    odd[r] = wasm_v128_and(wasm_u16x8_shr(wb[r], sh + 8), m3);
                }
                for (int t = 0; t < T; t++) {
                    const v128_t xv = wasm_v128_load(q + t * qs + b * 128 + 32 * p + 16 * h);
                    const v128_t qe = wasm_i16x8_shr(wasm_i16x8_shl(xv, 8), 8);
                    const v128_t qo = wasm_i16x8_shr(xv, 8);
                    for (int r = 0; r < R; r++)
                        acc[r][t] = wasm_i32x4_add(
                            acc[r][t], wasm_i32x4_add(wasm_i32x4_dot_i16x8(even[r], qe),
                                                      wasm_i32x4_dot_i16x8(odd[r], qo)));
                }
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * os + r] = hsum_i32(acc[r][t]);
}

typedef void (*tile_fn)(const uint8_t *, int64_t, const int8_t *, int64_t, int64_t, int32_t *,
                        int64_t);

#define DEF_TILE(R, T)                                                                             \
    static void tile_##R##x##T(const uint8_t *w, int64_t rb, const int8_t *q, int64_t qs,          \
                               int64_t nb, int32_t *out, int64_t os) {                             \
        tile(w, rb, q, qs, nb, out, os, R, T);                                                     \
    }
DEF_TILE(1, 1)
DEF_TILE(1, 2)
DEF_TILE(1, 3)
DEF_TILE(1, 4)
DEF_TILE(2, 1)
DEF_TILE(2, 2)
DEF_TILE(2, 3)
DEF_TILE(2, 4)

/* [rows - 1][tokens - 1] */
static const tile_fn tiles[2][4] = {
    {tile_1x1, tile_1x2, tile_1x3, tile_1x4},
    {tile_2x1, tile_2x2, tile_2x3, tile_2x4},
};

/* Rows per cache block: about 256 KiB of weights, reused by every 4-token
 * tile while they are in cache. */
static void i2s_gemm_wasm(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                          int64_t q_stride, int64_t n_tok, int32_t *out, int64_t out_stride) {
    const int64_t rb = K / 4, nb = K / 128;
    int64_t block = (256 * 1024 / rb) & ~(int64_t)1;
    if (block < 2) block = 2;
    for (int64_t r0 = 0; r0 < n_rows; r0 += block) {
        const int64_t r1 = r0 + block < n_rows ? r0 + block : n_rows;
        for (int64_t t = 0; t < n_tok; t += 4) {
            const int nt = n_tok - t < 4 ? (int)(n_tok - t) : 4;
            for (int64_t r = r0; r < r1; r += 2) {
                const int nr = r1 - r < 2 ? 1 : 2;
                tiles[nr - 1][nt - 1](w + r * rb, rb, q + t * q_stride, q_stride, nb,
                                      out + t * out_stride + r, out_stride);
            }
        }
    }
}

/* One token (decode). The activations' even/odd split does not depend on
 * the row, so it is made once per call into qs (16 int16 per 16 bytes of q:
 * the 8 even bytes, then the 8 odd ones, sign-extended), and every row only
 * loads it. The codes are masked in place instead of shifted down: with
 * lane = byte 2j | byte 2j+1 << 8, the even byte's planes 2 and 3 are
 * lane & 0xc and lane & 3, its planes 0 and 1 (lane >> 4) & 0xc and & 3,
 * and the odd byte's the same from lane >> 8 and lane >> 12. A mask of 0xc
 * gives 4·code, so those products go to their own accumulator (a4), whose
 * sum is a multiple of 4 and is divided by 4 exactly with a shift at the
 * end; the 3 masks give code itself (a1). Three shifts per 16 weight bytes
 * instead of eight. |a4| <= 4·3·128·K, so K <= DEC_MAX_K keeps it far from
 * int32's limit. */
/* two rows per tile measured fastest (one 9 %, four 3 % slower, 700m shapes) */
enum { DEC_MAX_K = 32768, DEC_ROWS = 2 };

static ALWAYS_INLINE void dec_rows(const uint8_t *w, int64_t rb, const int16_t *qs, int64_t nb,
                                   int32_t *out, const int R) {
    const v128_t m1 = wasm_i16x8_splat(3), m4 = wasm_i16x8_splat(0xc);
    v128_t a1[4], a4[4];
    for (int r = 0; r < R; r++) a1[r] = a4[r] = wasm_i32x4_splat(0);
    for (int64_t b = 0; b < nb; b++) {
        for (int h = 0; h < 2; h++) {
            /* plane p's activations for this half: x + 32p, even then odd */
            const int16_t *x = qs + b * 128 + 16 * h;
            for (int r = 0; r < R; r++) {
                const v128_t wb = wasm_v128_load(w + r * rb + b * 32 + 16 * h);
                const v128_t w4 = wasm_u16x8_shr(wb, 4), w8 = wasm_u16x8_shr(wb, 8);
                const v128_t w12 = wasm_u16x8_shr(wb, 12);
                const v128_t p0 = wasm_i32x4_add(
                    wasm_i32x4_dot_i16x8(wasm_v128_and(w4, m4), wasm_v128_load(x)),
                    wasm_i32x4_dot_i16x8(wasm_v128_and(w12, m4), wasm_v128_load(x + 8)));
                const v128_t p1 = wasm_i32x4_add(
                    wasm_i32x4_dot_i16x8(wasm_v128_and(w4, m1), wasm_v128_load(x + 32)),
                    wasm_i32x4_dot_i16x8(wasm_v128_and(w12, m1), wasm_v128_load(x + 40)));
                const v128_t p2 = wasm_i32x4_add(
                    wasm_i32x4_dot_i16x8(wasm_v128_and(wb, m4), wasm_v128_load(x + 64)),
                    wasm_i32x4_dot_i16x8(wasm_v128_and(w8, m4), wasm_v128_load(x + 72)));
                const v128_t p3 = wasm_i32x4_add(
                    wasm_i32x4_dot_i16x8(wasm_v128_and(wb, m1), wasm_v128_load(x + 96)),
                    wasm_i32x4_dot_i16x8(wasm_v128_and(w8, m1), wasm_v128_load(x + 104)));
                a4[r] = wasm_i32x4_add(a4[r], wasm_i32x4_add(p0, p2));
                a1[r] = wasm_i32x4_add(a1[r], wasm_i32x4_add(p1, p3));
            }
        }
    }
    for (int r = 0; r < R; r++) out[r] = hsum_i32(a1[r]) + (hsum_i32(a4[r]) >> 2);
}

static void dec_rows_1(const uint8_t *w, int64_t rb, const int16_t *qs, int64_t nb, int32_t *out) {
    dec_rows(w, rb, qs, nb, out, 1);
}
static void dec_rows_n(const uint8_t *w, int64_t rb, const int16_t *qs, int64_t nb, int32_t *out) {
    dec_rows(w, rb, qs, nb, out, DEC_ROWS);
}

static void i2s_gemv_wasm(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q,
                          int32_t *out) {
    if (K > DEC_MAX_K) {
        i2s_gemm_wasm(w, K, n_rows, q, K, 1, out, n_rows);
        return;
    }
    const int64_t rb = K / 4, nb = K / 128;
    int16_t qs[DEC_MAX_K];
    for (int64_t i = 0; i < K; i += 16) {
        const v128_t xv = wasm_v128_load(q + i);
        wasm_v128_store(qs + i, wasm_i16x8_shr(wasm_i16x8_shl(xv, 8), 8));
        wasm_v128_store(qs + i + 8, wasm_i16x8_shr(xv, 8));
    }
    int64_t r = 0;
    for (; r + DEC_ROWS <= n_rows; r += DEC_ROWS) dec_rows_n(w + r * rb, rb, qs, nb, out + r);
    for (; r < n_rows; r++) dec_rows_1(w + r * rb, rb, qs, nb, out + r);
}

/* ------------------------------------------------------------------------ */
/* Float dot products                                                        */
/* ------------------------------------------------------------------------ */

/* Four F16 values widened exactly: the 15 magnitude bits shifted into a
 * float's exponent and mantissa and scaled by 2^112 (exact, subnormal halves
 * included: WebAssembly floats keep subnormals); Inf and NaN, whose
 * exponent that scaling would not reach, get the all-ones exponent as in
 * bn_f16_to_f32. */
static ALWAYS_INLINE v128_t load_f16(const uint16_t *p) {
    const v128_t h = wasm_u32x4_load16x4(p);
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
    const v128_t em = wasm_v128_and(h, wasm_i32x4_splat(0x7fff));
    const v128_t f = wasm_f32x4_mul(wasm_i32x4_shl(em, 13), wasm_f32x4_splat(0x1p112f));
    const v128_t special =
        wasm_v128_or(wasm_i32x4_splat(0x7f800000),
                     wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x3ff)), 13));
    const v128_t is_special = wasm_i32x4_gt(em, wasm_i32x4_splat(0x7bff));
    return wasm_v128_or(wasm_v128_bitselect(special, f, is_special), sign);
}

static ALWAYS_INLINE float hsum_f32(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    const v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
    return (wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1)) +
           (wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3));
}

/* Four running sums of products (multiply, then add: no FMA in SIMD128),
 * sixteen values per step, the tail in scalar code. */
#define DOT_BODY(LOAD_A, LOAD_B, TAIL)                                                             \
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;                                 \
    int64_t i = 0;                                                                                 \
    for (; i + 16 <= n; i += 16) {                                                                 \
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(LOAD_A(a + i), LOAD_B(b + i)));                     \
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(LOAD_A(a + i + 4), LOAD_B(b + i + 4)));             \
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(LOAD_A(a + i + 8), LOAD_B(b + i + 8)));             \
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(LOAD_A(a + i + 12), LOAD_B(b + i + 12)));           \
    }                                                                                              \
    for (; i + 4 <= n; i += 4) s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(LOAD_A(a + i), LOAD_B(b + i))); \
    float sum = hsum_f32(s0, s1, s2, s3);                                                          \
    for (; i < n; i++) sum += TAIL;                                                                \
    return sum;

static ALWAYS_INLINE v128_t load_f32(const float *p) { return wasm_v128_load(p); }

static float dot_f16_wasm(const uint16_t *a, const uint16_t *b, int64_t n) {
    DOT_BODY(load_f16, load_f16, bn_f16_to_f32(a[i]) * bn_f16_to_f32(b[i]))
}

/* Four halves sign-extended to int32 lanes, widened without the Inf/NaN
 * fix-up: shifted left 13, the sign copies land in bits 28-30, which the
 * mask clears, leaving sign | magnitude << 13; the scaling by 2^112 keeps
 * the sign. Exact for every finite half. */
static ALWAYS_INLINE v128_t widen_finite(v128_t h32) {
    const v128_t bits = wasm_v128_and(wasm_i32x4_shl(h32, 13), wasm_i32x4_splat((int32_t)0x8fffffff));
    return wasm_f32x4_mul(bits, wasm_f32x4_splat(0x1p112f));
}

/* The output head's dot: sixteen halves per step are checked for Inf/NaN
 * (exponent all ones) at once; only a step that has one takes load_f16's
 * exact slow path, so the sums, in the same order either way, have the
 * bits of DOT_BODY(load_f16, load_f32, ...). */
static float dot_f16_f32_wasm(const uint16_t *a, const float *b, int64_t n) {
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    const v128_t mag = wasm_i16x8_splat(0x7fff), inf = wasm_i16x8_splat(0x7bff);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const v128_t h0 = wasm_v128_load(a + i), h1 = wasm_v128_load(a + i + 8);
        const v128_t special = wasm_v128_or(wasm_i16x8_gt(wasm_v128_and(h0, mag), inf),
                                            wasm_i16x8_gt(wasm_v128_and(h1, mag), inf));
        v128_t w0, w1, w2, w3;
        if (__builtin_expect(wasm_v128_any_true(special), 0)) {
            w0 = load_f16(a + i);
            w1 = load_f16(a + i + 4);
            w2 = load_f16(a + i + 8);
            w3 = load_f16(a + i + 12);
        } else {
            w0 = widen_finite(wasm_i32x4_extend_low_i16x8(h0));
            w1 = widen_finite(wasm_i32x4_extend_high_i16x8(h0));
            w2 = widen_finite(wasm_i32x4_extend_low_i16x8(h1));
            w3 = widen_finite(wasm_i32x4_extend_high_i16x8(h1));
        }
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(w0, wasm_v128_load(b + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(w1, wasm_v128_load(b + i + 4)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(w2, wasm_v128_load(b + i + 8)));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(w3, wasm_v128_load(b + i + 12)));
    }
    for (; i + 4 <= n; i += 4) s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(load_f16(a + i), wasm_v128_load(b + i)));
    float sum = hsum_f32(s0, s1, s2, s3);
    for (; i < n; i++) sum += bn_f16_to_f32(a[i]) * b[i];
    return sum;
}

static float dot_f32_wasm(const float *a, const float *b, int64_t n) {
    DOT_BODY(load_f32, load_f32, a[i] * b[i])
}

/* One dot_f16_f32_wasm per vector or row: its bits by construction. */
static void dot_f16_f32_multi_wasm(const uint16_t *a, const float *x, int64_t x_stride, int n_x,
                                   int64_t n, float *out) {
    for (int t = 0; t < n_x; t++) out[t] = dot_f16_f32_wasm(a, x + t * x_stride, n);
}

/* IEEE subtraction, division and multiplication lane by lane: the
 * reference's bits (|raw| < 2^24 converts exactly). */
static void scale_i32_wasm(const int32_t *raw, int64_t n, float sum_q, float s_x, float s_w,
                           float *y) {
    const v128_t vq = wasm_f32x4_splat(sum_q), vx = wasm_f32x4_splat(s_x);
    const v128_t vw = wasm_f32x4_splat(s_w);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t r = wasm_f32x4_convert_i32x4(wasm_v128_load(raw + i));
        wasm_v128_store(y + i, wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_sub(r, vq), vx), vw));
    }
    bn_scale_i32_ref(raw + i, n - i, sum_q, s_x, s_w, y + i);
}

/* ------------------------------------------------------------------------ */
/* SiLU: exp_poly.h's fmaf chain, each fused multiply-add exact in f64x2     */
/* ------------------------------------------------------------------------ */

/* fmaf(x, y, z) for two floats held exactly in f64x2 lanes, the result
 * rounded to float and widened back. x·y is exact in double (48 bits), so
 * the double sum s = RN53(x·y + z) is the only rounding before the one to
 * float, and RN24(s) = RN24(x·y + z) unless s is exactly a midpoint of two
 * floats (low 29 mantissa bits 1 then zeros: the first rounding may have
 * moved an inexact sum onto it) or in float's subnormal range (a coarser
 * grid). fma_checked flags midpoints in *bad, for the caller to redo the
 * lanes with fmaf (rare: about 2^-29 of random sums; an exact tie is
 * flagged too, harmlessly); fma_exact is for sums that are exact in double. */
static ALWAYS_INLINE v128_t round_f32(v128_t s) {
    return wasm_f64x2_promote_low_f32x4(wasm_f32x4_demote_f64x2_zero(s));
}

static ALWAYS_INLINE v128_t fma_checked(v128_t x, v128_t y, v128_t z, v128_t *bad) {
    const v128_t s = wasm_f64x2_add(wasm_f64x2_mul(x, y), z);
    *bad = wasm_v128_or(*bad, wasm_i64x2_eq(wasm_v128_and(s, wasm_i64x2_splat(0x1fffffff)),
                                            wasm_i64x2_splat(0x10000000)));
    return round_f32(s);
}

static ALWAYS_INLINE v128_t fma_exact(v128_t x, v128_t y, v128_t z) {
    return round_f32(wasm_f64x2_add(wasm_f64x2_mul(x, y), z));
}

/* bn_exp_poly's fmaf stages on two lanes: t = fmaf(x, log2e, round) and
 * y = fmaf(p, r·r, r), the polynomial before its + 1. For x in the range
 * that keeps e (-87 <= x <= 88; other lanes are replaced by 0 or inf):
 * r's two stages are exact in double (n·LN2_HI is a multiple of 2^-9 and,
 * when n != 0, |x| > 0.34 is one of 2^-25, so r1 is a multiple of 2^-25
 * below 1/2; n·LN2_LO and r1 are multiples of 2^-36 below 1/2); the
 * polynomial's values stay near its constants (no subnormals); only y can
 * be tiny (r tiny), so it alone is also checked for float subnormals. */
static ALWAYS_INLINE void exp_poly_f64(v128_t x, v128_t *t_out, v128_t *y_out, v128_t *bad) {
    const v128_t t =
        fma_checked(x, wasm_f64x2_splat(BN_EXP_LOG2E), wasm_f64x2_splat(BN_EXP_ROUND), bad);
    const v128_t n = wasm_f64x2_sub(t, wasm_f64x2_splat(BN_EXP_ROUND)); /* exact, an integer */
    v128_t r = fma_exact(n, wasm_f64x2_splat(-BN_EXP_LN2_HI), x);
    r = fma_exact(n, wasm_f64x2_splat(-BN_EXP_LN2_LO), r);
    v128_t p = wasm_f64x2_splat(BN_EXP_P0);
    p = fma_checked(p, r, wasm_f64x2_splat(BN_EXP_P1), bad);
    p = fma_checked(p, r, wasm_f64x2_splat(BN_EXP_P2), bad);
    p = fma_checked(p, r, wasm_f64x2_splat(BN_EXP_P3), bad);
    p = fma_checked(p, r, wasm_f64x2_splat(BN_EXP_P4), bad);
    p = fma_checked(p, r, wasm_f64x2_splat(BN_EXP_P5), bad);
    const v128_t rr = round_f32(wasm_f64x2_mul(r, r)); /* exact in double: one rounding */
    const v128_t y = fma_checked(p, rr, r, bad);
    *bad = wasm_v128_or(*bad, wasm_f64x2_lt(wasm_f64x2_abs(y), wasm_f64x2_splat(0x1p-126)));
    *t_out = t;
    *y_out = y;
}

static ALWAYS_INLINE v128_t join_f64(v128_t lo, v128_t hi) {
    return wasm_i64x2_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0,
                              2);
}

/* bn_exp_poly of four floats: the reference's operations with each fmaf
 * done by fma_exact; the rest (2^n from t's bits, y·2^n, the range
 * selection) in f32x4 as in the reference. *bad flags a lane to redo. */
static ALWAYS_INLINE v128_t exp_poly4(v128_t x, v128_t *bad) {
    v128_t t0, y0, t1, y1;
    exp_poly_f64(wasm_f64x2_promote_low_f32x4(x), &t0, &y0, bad);
    exp_poly_f64(wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(x, x, 1, 1)), &t1, &y1, bad);
    /* y + 1 as a float addition (it is exact or a tie in double, never a
     * double rounding, but f32x4 gives the single rounding directly) */
    const v128_t t = join_f64(t0, t1);
    const v128_t y = wasm_f32x4_add(join_f64(y0, y1), wasm_f32x4_splat(1.0f));
    const v128_t two_n = wasm_i32x4_shl(
        wasm_i32x4_add(wasm_i32x4_sub(t, wasm_i32x4_splat((int32_t)BN_EXP_ROUND_BITS)),
                       wasm_i32x4_splat(127)),
        23);
    const v128_t e = wasm_f32x4_mul(y, two_n);
    const v128_t lo = wasm_f32x4_lt(x, wasm_f32x4_splat(BN_EXP_LO));
    const v128_t hi = wasm_f32x4_gt(x, wasm_f32x4_splat(BN_EXP_HI));
    return wasm_v128_bitselect(wasm_f32x4_splat(INFINITY), wasm_v128_andnot(e, lo), hi);
}

/* g[i] = (g[i] / (1 + exp_poly(-g[i]))) · u[i]: the reference's bits; a
 * group of four with a flagged lane (fma_exact) is done by the reference. */
static void silu_mul_wasm(float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t gv = wasm_v128_load(g + i);
        v128_t bad = wasm_i32x4_splat(0);
        const v128_t e = exp_poly4(wasm_f32x4_neg(gv), &bad);
        if (__builtin_expect(wasm_v128_any_true(bad), 0)) {
            bn_silu_mul_ref(g + i, u + i, 4);
            continue;
        }
        const v128_t d = wasm_f32x4_add(wasm_f32x4_splat(1.0f), e);
        wasm_v128_store(g + i, wasm_f32x4_mul(wasm_f32x4_div(gv, d), wasm_v128_load(u + i)));
    }
    bn_silu_mul_ref(g + i, u + i, n - i);
}

/* ------------------------------------------------------------------------ */
/* Attention: the reference's fmaf chains, each step in f64x2               */
/* ------------------------------------------------------------------------ */

/* fma_checked for sums that can be anything: also flags a nonzero sum in
 * float's subnormal range (zero is exact). Attention's products are often
 * exact in double (an F16 value times a float, or two F16-rounded ones), so
 * their sums are often exact and land on a midpoint as an exact tie, which
 * the conversion to float rounds correctly: a flagged lane is kept only if
 * the sum was inexact. The test is exact: for the larger of p and z in
 * magnitude, s minus it is computed exactly (as in Fast2Sum), so it equals
 * the other operand only when s = p + z. */
static ALWAYS_INLINE v128_t fma_attn(v128_t x, v128_t y, v128_t z, v128_t *bad) {
    const v128_t p = wasm_f64x2_mul(x, y), s = wasm_f64x2_add(p, z);
    const v128_t a = wasm_f64x2_abs(s);
    const v128_t tiny = wasm_v128_and(wasm_f64x2_lt(a, wasm_f64x2_splat(0x1p-126)),
                                      wasm_f64x2_gt(a, wasm_f64x2_splat(0.0)));
    const v128_t mid =
        wasm_i64x2_eq(wasm_v128_and(s, wasm_i64x2_splat(0x1fffffff)), wasm_i64x2_splat(0x10000000));
    const v128_t flag = wasm_v128_or(mid, tiny);
    if (__builtin_expect(wasm_v128_any_true(flag), 0)) {
        const v128_t exact = wasm_v128_and(wasm_f64x2_eq(wasm_f64x2_sub(s, p), z),
                                           wasm_f64x2_eq(wasm_f64x2_sub(s, z), p));
        *bad = wasm_v128_or(*bad, wasm_v128_andnot(flag, exact));
    }
    return round_f32(s);
}

static ALWAYS_INLINE v128_t high_f64(v128_t f32x4) {
    return wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(f32x4, f32x4, 1, 1));
}

static float score_chain(const uint16_t *kt, int64_t kt_stride, int j, int hd, const float *q) {
    float acc = 0.0f;
    for (int d = 0; d < hd; d++) acc = fmaf(bn_f16_to_f32(kt[d * kt_stride + j]), q[d], acc);
    return acc;
}

/* Keys j .. j+cnt-1 (cnt <= 4, four lanes; key j's dimension d at
 * kt[d·kt_stride + j]) for the R query rows, which share each widened key
 * vector; lanes past cnt hold zeros and are not stored. When a lane
 * flagged, those keys of every row are redone by score_chain, the
 * reference's chain. */
static ALWAYS_INLINE void scores_group(const uint16_t *kt, int64_t kt_stride, int j, const int cnt,
                                       int hd, const float *const *q, float *const *s,
                                       const int R) {
    v128_t lo[BN_ATT_ROWS], hi[BN_ATT_ROWS], bad = wasm_f64x2_splat(0.0);
    for (int r = 0; r < R; r++) lo[r] = hi[r] = bad;
    for (int d = 0; d < hd; d++) {
        v128_t k;
        if (cnt == 4) {
            k = load_f16(kt + d * kt_stride + j);
        } else {
            uint16_t part[4] = {0, 0, 0, 0};
            memcpy(part, kt + d * kt_stride + j, (size_t)cnt * sizeof(uint16_t));
            k = load_f16(part);
        }
        const v128_t klo = wasm_f64x2_promote_low_f32x4(k), khi = high_f64(k);
        for (int r = 0; r < R; r++) {
            const v128_t qd = wasm_f64x2_splat(q[r][d]);
            lo[r] = fma_attn(klo, qd, lo[r], &bad);
            hi[r] = fma_attn(khi, qd, hi[r], &bad);
        }
    }
    if (__builtin_expect(wasm_v128_any_true(bad), 0)) {
        for (int r = 0; r < R; r++)
            for (int i = 0; i < cnt; i++) s[r][j + i] = score_chain(kt, kt_stride, j + i, hd, q[r]);
    } else if (cnt == 4) {
        for (int r = 0; r < R; r++) wasm_v128_store(s[r] + j, join_f64(lo[r], hi[r]));
    } else {
        for (int r = 0; r < R; r++) {
            float part[4];
            wasm_v128_store(part, join_f64(lo[r], hi[r]));
            memcpy(s[r] + j, part, (size_t)cnt * sizeof(float));
        }
    }
}

static ALWAYS_INLINE void scores_rows(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                                      const float *const *q, float *const *s, const int R) {
    int j = 0;
    for (; j + 4 <= n_keys; j += 4) scores_group(kt, kt_stride, j, 4, hd, q, s, R);
    if (j < n_keys) scores_group(kt, kt_stride, j, n_keys - j, hd, q, s, R);
}

static void attn_scores_f16_wasm(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                                 const float *const *q, int n_q, float *const *s) {
    switch (n_q) {
    case 1: scores_rows(kt, kt_stride, n_keys, hd, q, s, 1); break;
    case 2: scores_rows(kt, kt_stride, n_keys, hd, q, s, 2); break;
    case 3: scores_rows(kt, kt_stride, n_keys, hd, q, s, 3); break;
    default: scores_rows(kt, kt_stride, n_keys, hd, q, s, 4); break;
    }
}

/* Four dimensions at a time, each row's chains over its own n_keys[r]
 * value rows; a group with a flagged lane is redone with fmaf from the
 * values out had on entry (not yet overwritten). */
static void attn_values_f16_wasm(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                                 const float *const *p, int n_q, float *const *out) {
    for (int r = 0; r < n_q; r++) {
        float *o = out[r];
        const float *pr = p[r];
        const int nk = n_keys[r];
        int d = 0;
        for (; d + 4 <= hd; d += 4) {
            const v128_t o4 = wasm_v128_load(o + d);
            v128_t lo = wasm_f64x2_promote_low_f32x4(o4), hi = high_f64(o4);
            v128_t bad = wasm_f64x2_splat(0.0);
            for (int j = 0; j < nk; j++) {
                const v128_t x = load_f16(v + j * v_stride + d);
                const v128_t pj = wasm_f64x2_splat(pr[j]);
                lo = fma_attn(wasm_f64x2_promote_low_f32x4(x), pj, lo, &bad);
                hi = fma_attn(high_f64(x), pj, hi, &bad);
            }
            if (__builtin_expect(wasm_v128_any_true(bad), 0)) {
                for (int i = d; i < d + 4; i++)
                    for (int j = 0; j < nk; j++)
                        o[i] = fmaf(bn_f16_to_f32(v[j * v_stride + i]), pr[j], o[i]);
            } else {
                wasm_v128_store(o + d, join_f64(lo, hi));
            }
        }
        for (; d < hd; d++)
            for (int j = 0; j < nk; j++)
                o[d] = fmaf(bn_f16_to_f32(v[j * v_stride + d]), pr[j], o[d]);
    }
}

const bn_kernels bn_kernels_wasm = {
    .isa = "wasm",
    .quantize_i8 = quantize_i8_wasm,
    .i2s_gemv = i2s_gemv_wasm,
    .i2s_gemm = i2s_gemm_wasm,
    .i2s_blk_gemv = bn_i2s_blk_gemv_ref,
    .i2s_blk_gemm = bn_i2s_blk_gemm_ref,
    .u8_gemv = bn_u8_gemv_ref,
    .scale_i32 = scale_i32_wasm,
    .f32_to_f16 = bn_f32_to_f16_ref,
    .dot_f16 = dot_f16_wasm,
    .dot_f16_f32 = dot_f16_f32_wasm,
    .dot_f32 = dot_f32_wasm,
    .dot_f16_f32_multi = dot_f16_f32_multi_wasm,
    .attn_scores_f16 = attn_scores_f16_wasm,
    .attn_values_f16 = attn_values_f16_wasm,
    .f32_round_f16 = bn_f32_round_f16_ref,
    .softmax_f32 = bn_softmax_f32_ref, /* exp_poly.h's fmaf chain, as attention */
    .silu_mul = silu_mul_wasm,
    .relu2_mul = bn_relu2_mul_ref,
    .rmsnorm = bn_rmsnorm_ref,
};
