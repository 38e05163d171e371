/* Attention's products over the F16 cache, AVX2 + F16C (kernels.h:
 * attn_scores_f16, attn_values_f16): the AVX-512 file's scheme on eight
 * lanes (attn_avx512.c says why), with 16 registers: NQ·NC <= 8
 * accumulators plus NC converted cache vectors. AVX2 has no 16-bit masked
 * load, so a cut last vector of F16 goes through a zeroed buffer. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../attn_split.h"
#include "../kernels.h"
#include "kernels_x86.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

enum { MAX_NC = 6 };

/* `used` (1..8) F16 values at p, the rest zero */
static ALWAYS_INLINE __m256 load_f16(const uint16_t *p, int used) {
    if (used == 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    uint16_t part[8] = {0};
    memcpy(part, p, (size_t)used * sizeof *p);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)part));
}

static ALWAYS_INLINE __m256i lane_mask(int used) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(used), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static ALWAYS_INLINE __m256 load_f32(const float *p, int used) {
    return used == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lane_mask(used));
}

static ALWAYS_INLINE void store_f32(float *p, __m256 x, int used) {
    if (used == 8)
        _mm256_storeu_ps(p, x);
    else
        _mm256_maskstore_ps(p, lane_mask(used), x);
}

/* Keys j .. j + 8·NC (the last vector cut to `last` lanes) for NQ rows. */
static ALWAYS_INLINE void scores_tile(const uint16_t *kt, int64_t ks, int hd, const float *const *q,
                                      float *const *s, int64_t j, int last, const int NQ,
                                      const int NC) {
    __m256 acc[BN_ATT_ROWS][MAX_NC];
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++) acc[r][c] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        const uint16_t *row = kt + d * ks + j; /* [8·NC] keys' dimension d */
        _mm_prefetch((const char *)(row + 8 * NC), _MM_HINT_T0); /* attn_avx512.c says why */
        __m256 k[MAX_NC];
        for (int c = 0; c < NC; c++) k[c] = load_f16(row + 8 * c, c == NC - 1 ? last : 8);
        for (int r = 0; r < NQ; r++) {
            const __m256 qd = _mm256_broadcast_ss(q[r] + d);
            for (int c = 0; c < NC; c++) acc[r][c] = _mm256_fmadd_ps(k[c], qd, acc[r][c]);
        }
    }
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++) store_f32(s[r] + j + 8 * c, acc[r][c], c == NC - 1 ? last : 8);
}

static ALWAYS_INLINE void scores_rows(const uint16_t *kt, int64_t ks, int n_keys, int hd,
                                      const float *const *q, float *const *s, const int NQ,
                                      const int NC) {
    int64_t j = 0;
    for (; j + 8 * NC <= n_keys; j += 8 * NC) scores_tile(kt, ks, hd, q, s, j, 8, NQ, NC);
    const int left = (int)(n_keys - j);
    if (left == 0) return;
    const int last = left - 8 * ((left - 1) / 8);
    switch ((left + 7) / 8) {
    case 1: scores_tile(kt, ks, hd, q, s, j, last, NQ, 1); break;
    case 2: scores_tile(kt, ks, hd, q, s, j, last, NQ, 2 < NC ? 2 : NC); break;
    case 3: scores_tile(kt, ks, hd, q, s, j, last, NQ, 3 < NC ? 3 : NC); break;
    case 4: scores_tile(kt, ks, hd, q, s, j, last, NQ, 4 < NC ? 4 : NC); break;
    case 5: scores_tile(kt, ks, hd, q, s, j, last, NQ, 5 < NC ? 5 : NC); break;
    default: scores_tile(kt, ks, hd, q, s, j, last, NQ, NC); break;
    }
}

void bn_attn_scores_f16_avx2(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                             const float *const *q, int n_q, float *const *s) {
    for (int r = 0; r < n_q; r += BN_ATT_ROWS) {
        const int nq = n_q - r < BN_ATT_ROWS ? n_q - r : BN_ATT_ROWS;
        switch (nq) {
        case 1: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 1, 6); break;
        case 2: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 2, 3); break;
        case 3: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 3, 2); break;
        default: scores_rows(kt, kt_stride, n_keys, hd, q + r, s + r, 4, 2); break;
        }
    }
}

/* Dimensions d0 .. d0 + 8·NC (the last vector cut to `last` lanes) of NQ
 * rows over value rows 0 .. n-1, every row taken by all NQ. */
static ALWAYS_INLINE void values_tile(const uint16_t *v, int64_t vs, int64_t n,
                                      const float *const *p, float *const *out, int d0, int last,
                                      const int NQ, const int NC) {
    __m256 acc[BN_ATT_ROWS][MAX_NC];
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = load_f32(out[r] + d0 + 8 * c, c == NC - 1 ? last : 8);
    for (int64_t j = 0; j < n; j++) {
        const uint16_t *row = v + j * vs + d0; /* [8·NC] of value row j */
        for (int c = 0; c < NC; c += 4)
            _mm_prefetch((const char *)(row + 24 * vs + 8 * c), _MM_HINT_T0);
        __m256 x[MAX_NC];
        for (int c = 0; c < NC; c++) x[c] = load_f16(row + 8 * c, c == NC - 1 ? last : 8);
        for (int r = 0; r < NQ; r++) {
            const __m256 pj = _mm256_broadcast_ss(p[r] + j);
            for (int c = 0; c < NC; c++) acc[r][c] = _mm256_fmadd_ps(x[c], pj, acc[r][c]);
        }
    }
    for (int r = 0; r < NQ; r++)
        for (int c = 0; c < NC; c++)
            store_f32(out[r] + d0 + 8 * c, acc[r][c], c == NC - 1 ? last : 8);
}

static ALWAYS_INLINE void values_rows(const uint16_t *v, int64_t vs, int hd, int64_t n,
                                      const float *const *p, float *const *out, const int NQ,
                                      const int NC) {
    int d0 = 0;
    for (; d0 + 8 * NC <= hd; d0 += 8 * NC) values_tile(v, vs, n, p, out, d0, 8, NQ, NC);
    const int left = hd - d0;
    if (left == 0) return;
    const int last = left - 8 * ((left - 1) / 8);
    switch ((left + 7) / 8) {
    case 1: values_tile(v, vs, n, p, out, d0, last, NQ, 1); break;
    case 2: values_tile(v, vs, n, p, out, d0, last, NQ, 2 < NC ? 2 : NC); break;
    case 3: values_tile(v, vs, n, p, out, d0, last, NQ, 3 < NC ? 3 : NC); break;
    case 4: values_tile(v, vs, n, p, out, d0, last, NQ, 4 < NC ? 4 : NC); break;
    case 5: values_tile(v, vs, n, p, out, d0, last, NQ, 5 < NC ? 5 : NC); break;
    default: values_tile(v, vs, n, p, out, d0, last, NQ, NC); break;
    }
}

static void values_group(const uint16_t *v, int64_t vs, int hd, int64_t n, const float *const *p,
                         float *const *out, int nq) {
    switch (nq) {
    case 1: values_rows(v, vs, hd, n, p, out, 1, 6); break;
    case 2: values_rows(v, vs, hd, n, p, out, 2, 3); break;
    case 3: values_rows(v, vs, hd, n, p, out, 3, 2); break;
    default: values_rows(v, vs, hd, n, p, out, 4, 2); break;
    }
}

void bn_attn_values_f16_avx2(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                             const float *const *p, int n_q, float *const *out) {
    bn_attn_values_split(v, v_stride, hd, n_keys, p, n_q, out, values_group);
}
