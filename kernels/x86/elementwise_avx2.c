/* Element-wise kernels, AVX2 + FMA + F16C (kernels.h softmax_f32,
 * f32_round_f16, silu_mul, relu2_mul, rmsnorm): each lane performs
 * exp_poly.h's operations in its order, and the double sums keep fold16.h's
 * sixteen partial sums in four registers of four, so the results are the
 * reference's bits. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "../exp_poly.h"
#include "../ref/kernels_ref.h"
#include "kernels_x86.h"

static inline __m256 exp_poly8(__m256 x) {
    const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(BN_EXP_LOG2E), _mm256_set1_ps(BN_EXP_ROUND));
    const __m256 n = _mm256_sub_ps(t, _mm256_set1_ps(BN_EXP_ROUND));
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-BN_EXP_LN2_HI), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-BN_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(BN_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P5));
    const __m256 y =
        _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(t),
                                           _mm256_set1_epi32((int)(127u - BN_EXP_ROUND_BITS))),
                          23);
    __m256 e = _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
    e = _mm256_blendv_ps(e, _mm256_setzero_ps(),
                         _mm256_cmp_ps(x, _mm256_set1_ps(BN_EXP_LO), _CMP_LT_OQ));
    return _mm256_blendv_ps(e, _mm256_set1_ps(INFINITY),
                            _mm256_cmp_ps(x, _mm256_set1_ps(BN_EXP_HI), _CMP_GT_OQ));
}

/* Lanes [0, left) set, for maskload/maskstore (left < 8). */
static inline __m256i lanes8(int64_t left) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void bn_softmax_f32_avx2(float *x, int64_t n, float scale) {
    const __m256 vs = _mm256_set1_ps(scale);
    float max = -INFINITY;
    {
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vs);
            _mm256_storeu_ps(x + i, v);
            vmax = _mm256_max_ps(vmax, v);
        }
        float lane[8];
        _mm256_storeu_ps(lane, vmax);
        for (int k = 0; k < 8; k++) max = lane[k] > max ? lane[k] : max;
        for (; i < n; i++) {
            x[i] *= scale;
            max = x[i] > max ? x[i] : max;
        }
    }
    const __m256 vmax = _mm256_set1_ps(max);
    /* partial sums 0-3, 4-7, 8-11, 12-15: element i + k of a 16-block */
    __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
    for (int64_t i = 0; i < n; i += 8) {
        const int half = (int)((i / 8) & 1); /* which 8 of the 16-block */
        __m256 e;
        if (n - i >= 8) {
            e = exp_poly8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
            _mm256_storeu_ps(x + i, e);
        } else {
            const __m256i m = lanes8(n - i);
            e = _mm256_and_ps(exp_poly8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vmax)),
                              _mm256_castsi256_ps(m));
            _mm256_maskstore_ps(x + i, m, e);
        }
        s[2 * half] = _mm256_add_pd(s[2 * half], _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s[2 * half + 1] =
            _mm256_add_pd(s[2 * half + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    const __m256d s4 = _mm256_add_pd(_mm256_add_pd(s[0], s[2]), _mm256_add_pd(s[1], s[3]));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    const double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    const float inv = (float)(1.0 / sum);
    const __m256 vinv = _mm256_set1_ps(inv);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

void bn_f32_round_f16_avx2(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i),
                                                                _MM_FROUND_TO_NEAREST_INT)));
    bn_f32_round_f16_ref(x + i, y + i, n - i);
}

void bn_silu_mul_avx2(float *g, const float *u, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = exp_poly8(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_storeu_ps(
            g + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    bn_silu_mul_ref(g + i, u + i, n - i);
}

void bn_relu2_mul_avx2(float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        /* max returns its second operand for NaN, as the reference's
         * comparison gives 0 */
        const __m256 r = _mm256_max_ps(_mm256_loadu_ps(g + i), _mm256_setzero_ps());
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(u + i)));
    }
    bn_relu2_mul_ref(g + i, u + i, n - i);
}

void bn_rmsnorm_avx2(float *y, const float *x, const float *w, int64_t n, float eps) {
    __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()}; /* partials 0-3, 4-7, 8-11, 12-15 */
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int c = 0; c < 4; c++) {
            const __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * c));
            s[c] = _mm256_fmadd_pd(a, a, s[c]); /* the square is exact: one rounding, as + */
        }
    double part[BN_FOLD_LANES];
    for (int c = 0; c < 4; c++) _mm256_storeu_pd(part + 4 * c, s[c]);
    for (; i < n; i++) part[i % BN_FOLD_LANES] += (double)x[i] * (double)x[i];
    const float mean = (float)(bn_fold16(part) / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    const __m256 vs = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs),
                                              _mm256_loadu_ps(w + i)));
    for (; i < n; i++) y[i] = (x[i] * scale) * w[i];
}
