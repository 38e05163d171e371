/* Element-wise kernels, AVX-512 (kernels.h softmax_f32, f32_round_f16,
 * silu_mul, relu2_mul, rmsnorm): each lane performs exp_poly.h's operations in its
 * order, and the double sums keep fold16.h's sixteen partial sums
 * in two registers of eight, so the results are the reference's bits. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "../exp_poly.h"
#include "kernels_x86.h"

static inline __mmask16 lanes16(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

static inline __m512 exp_poly16(__m512 x) {
    const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(BN_EXP_LOG2E), _mm512_set1_ps(BN_EXP_ROUND));
    const __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(BN_EXP_ROUND));
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-BN_EXP_LN2_HI), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(-BN_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(BN_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(BN_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(BN_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(BN_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(BN_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(BN_EXP_P5));
    const __m512 y =
        _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512i bits =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_castps_si512(t),
                                           _mm512_set1_epi32((int)(127u - BN_EXP_ROUND_BITS))),
                          23);
    __m512 e = _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
    e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(BN_EXP_LO), _CMP_LT_OQ),
                           _mm512_setzero_ps());
    return _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(BN_EXP_HI), _CMP_GT_OQ),
                              _mm512_set1_ps(INFINITY));
}

void bn_softmax_f32_avx512(float *x, int64_t n, float scale) {
    const __m512 vs = _mm512_set1_ps(scale);
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs);
        _mm512_mask_storeu_ps(x + i, m, v);
        vmax = _mm512_mask_max_ps(vmax, m, vmax, v);
    }
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd(); /* partials 0-7, 8-15 */
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        const __m512 e =
            _mm512_maskz_mov_ps(m, exp_poly16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), max)));
        _mm512_mask_storeu_ps(x + i, m, e);
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    const __m512d s8 = _mm512_add_pd(lo, hi);
    const __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(s8), _mm512_extractf64x4_pd(s8, 1));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    const double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
    }
}

void bn_f32_round_f16_avx512(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        const __m256i h =
            _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(h));
    }
}

void bn_silu_mul_avx512(float *g, const float *u, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        const __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        const __m512 e = exp_poly16(_mm512_sub_ps(_mm512_setzero_ps(), x));
        const __m512 y =
            _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, u + i));
        _mm512_mask_storeu_ps(g + i, m, y);
    }
}

void bn_relu2_mul_avx512(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        /* max returns its second operand for NaN, as the reference's
         * comparison gives 0 */
        const __m512 r = _mm512_max_ps(_mm512_maskz_loadu_ps(m, g + i), _mm512_setzero_ps());
        _mm512_mask_storeu_ps(g + i, m,
                              _mm512_mul_ps(_mm512_mul_ps(r, r), _mm512_maskz_loadu_ps(m, u + i)));
    }
}

void bn_rmsnorm_avx512(float *y, const float *x, const float *w, int64_t n, float eps) {
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd(); /* partials 0-7, 8-15 */
    for (int64_t i = 0; i < n; i += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(lanes16(n - i), x + i);
        const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
        lo = _mm512_fmadd_pd(a, a, lo); /* the square is exact: one rounding, as + */
        hi = _mm512_fmadd_pd(b, b, hi);
    }
    const __m512d s8 = _mm512_add_pd(lo, hi);
    const __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(s8), _mm512_extractf64x4_pd(s8, 1));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    const double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    const float mean = (float)(sum / (double)n);
    const __m512 scale = _mm512_set1_ps(1.0f / sqrtf(mean + eps));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), scale);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i)));
    }
}
