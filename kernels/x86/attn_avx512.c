/* Attention's products over the F16 cache, AVX-512 (kernels.h:
 * attn_scores_f16, attn_values_f16). Sixteen lanes run sixteen of the
 * reference's fmaf chains side by side, one per key (scores) or per
 * dimension (values), so no lane ever needs a horizontal sum and each lane
 * gets the reference's bits. A tile keeps NQ query rows x NC vectors of
 * chains in registers: each converted cache vector is used NQ times, and
 * NQ·NC >= 8 independent chains cover the FMA latency. */
#include <immintrin.h>
#include <stdint.h>

#include "../attn_split.h"
#include "../kernels.h"
#include "kernels_x86.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

enum { MAX_NC = 8 };

static ALWAYS_INLINE __mmask16 lanes(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

static ALWAYS_INLINE __m512 load_f16(const uint16_t *p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

/* Keys j .. j + 16·NC (the last vector cut to `last` lanes) for NQ rows. */
static ALWAYS_INLINE void scores_tile(const uint16_t *kt, int64_t ks, int hd, const float *const *q,
                                      float *const *s, int64_t j, __mmask16 last, const int NQ,
                                      const int NC) {
    __m512 acc[BN_ATT_ROWS][MAX_NC];
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++) acc[r][c] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        const uint16_t *row = kt + d * ks + j; /* [16·NC] keys' dimension d */
        /* rows are a page or more apart, beyond the hardware prefetchers'
         * reach: fetch the next tile's line of this row while this one runs */
        _mm_prefetch((const char *)(row + 16 * NC), _MM_HINT_T0);
        __m512 k[MAX_NC];
        for (int c = 0; c < NC; c++) k[c] = load_f16(row + 16 * c, c == NC - 1 ? last : 0xFFFF);
        for (int r = 0; r < NQ; r++) {
            const __m512 qd = _mm512_set1_ps(q[r][d]);
            for (int c = 0; c < NC; c++) acc[r][c] = _mm512_fmadd_ps(k[c], qd, acc[r][c]);
        }
    }
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++)
            _mm512_mask_storeu_ps(s[r] + j + 16 * c, c == NC - 1 ? last : 0xFFFF, acc[r][c]);
}

static ALWAYS_INLINE void scores_rows(const uint16_t *kt, int64_t ks, int n_keys, int hd,
                                      const float *const *q, float *const *s, const int NQ,
                                      const int NC) {
    int64_t j = 0;
    for (; j + 16 * NC <= n_keys; j += 16 * NC) scores_tile(kt, ks, hd, q, s, j, 0xFFFF, NQ, NC);
    const int64_t left = n_keys - j;
    if (left == 0) return;
    const __mmask16 last = lanes(left - 16 * ((left - 1) / 16));
    switch ((left + 15) / 16) {
    case 1: scores_tile(kt, ks, hd, q, s, j, last, NQ, 1); break;
    case 2: scores_tile(kt, ks, hd, q, s, j, last, NQ, 2 < NC ? 2 : NC); break;
    case 3: scores_tile(kt, ks, hd, q, s, j, last, NQ, 3 < NC ? 3 : NC); break;
    case 4: scores_tile(kt, ks, hd, q, s, j, last, NQ, 4 < NC ? 4 : NC); break;
    case 5: scores_tile(kt, ks, hd, q, s, j, last, NQ, 5 < NC ? 5 : NC); break;
    case 6: scores_tile(kt, ks, hd, q, s, j, last, NQ, 6 < NC ? 6 : NC); break;
    case 7: scores_tile(kt, ks, hd, q, s, j, last, NQ, 7 < NC ? 7 : NC); break;
    default: scores_tile(kt, ks, hd, q, s, j, last, NQ, NC); break;
    }
}

void bn_attn_scores_f16_avx512(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                               const float *const *q, int n_q, float *const *s) {
    for (int r = 0; r < n_q; r += BN_ATT_ROWS) {
        const int nq = n_q - r < BN_ATT_ROWS ? n_q - r : BN_ATT_ROWS;
        switch (nq) {
        case 1: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 1, 8); break;
        case 2: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 2, 4); break;
        case 3: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 3, 3); break;
        default: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 4, 2); break;
        }
    }
}

/* Dimensions d0 .. d0 + 16·NC (the last vector cut to `last` lanes) of NQ
 * rows over value rows 0 .. n-1, every row taken by all NQ. */
static ALWAYS_INLINE void values_tile(const uint16_t *v, int64_t vs, int64_t n,
                                      const float *const *p, float *const *out, int d0,
                                      __mmask16 last, const int NQ, const int NC) {
    __m512 acc[BN_ATT_ROWS][MAX_NC];
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm512_maskz_loadu_ps(c == NC - 1 ? last : 0xFFFF, out[r] + d0 + 16 * c);
    for (int64_t j = 0; j < n; j++) {
        const uint16_t *row = v + j * vs + d0; /* [16·NC] of value row j */
        for (int c = 0; c < NC; c += 2)
            _mm_prefetch((const char *)(row + 24 * vs + 16 * c), _MM_HINT_T0);
        __m512 x[MAX_NC];
        for (int c = 0; c < NC; c++) x[c] = load_f16(row + 16 * c, c == NC - 1 ? last : 0xFFFF);
        for (int r = 0; r < NQ; r++) {
            const __m512 pj = _mm512_set1_ps(p[r][j]);
            for (int c = 0; c < NC; c++) acc[r][c] = _mm512_fmadd_ps(x[c], pj, acc[r][c]);
        }
    }
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++)
            _mm512_mask_storeu_ps(out[r] + d0 + 16 * c, c == NC - 1 ? last : 0xFFFF, acc[r][c]);
}

static ALWAYS_INLINE void values_rows(const uint16_t *v, int64_t vs, int hd, int64_t n,
                                      const float *const *p, float *const *out, const int NQ,
                                      const int NC) {
    int d0 = 0;
    for (; d0 + 16 * NC <= hd; d0 += 16 * NC) values_tile(v, vs, n, p, out, d0, 0xFFFF, NQ, NC);
    const int left = hd - d0;
    if (left == 0) return;
    const __mmask16 last = lanes(left - 16 * ((left - 1) / 16));
    switch ((left + 15) / 16) {
    case 1: values_tile(v, vs, n, p, out, d0, last, NQ, 1); break;
    case 2: values_tile(v, vs, n, p, out, d0, last, NQ, 2 < NC ? 2 : NC); break;
    case 3: values_tile(v, vs, n, p, out, d0, last, NQ, 3 < NC ? 3 : NC); break;
    case 4: values_tile(v, vs, n, p, out, d0, last, NQ, 4 < NC ? 4 : NC); break;
    case 5: values_tile(v, vs, n, p, out, d0, last, NQ, 5 < NC ? 5 : NC); break;
    case 6: values_tile(v, vs, n, p, out, d0, last, NQ, 6 < NC ? 6 : NC); break;
    case 7: values_tile(v, vs, n, p, out, d0, last, NQ, 7 < NC ? 7 : NC); break;
    default: values_tile(v, vs, n, p, out, d0, last, NQ, NC); break;
    }
}

static void values_group(const uint16_t *v, int64_t vs, int hd, int64_t n, const float *const *p,
                         float *const *out, int nq) {
    /* as many vectors per tile as the 32 registers hold: NQ·NC
     * accumulators plus NC converted rows */
    switch (nq) {
    case 1: values_rows(v, vs, hd, n, p, out, 1, 8); break;
    case 2: values_rows(v, vs, hd, n, p, out, 2, 8); break;
    case 3: values_rows(v, vs, hd, n, p, out, 3, 6); break;
    default: values_rows(v, vs, hd, n, p, out, 4, 6); break;
    }
}

void bn_attn_values_f16_avx512(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                               const float *const *p, int n_q, float *const *out) {
    bn_attn_values_split(v, v_stride, hd, n_keys, p, n_q, out, values_group);
}
