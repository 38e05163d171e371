/* AVX2 and AVX-512 VNNI probes (peak.h). Built with the matching -m flags
 * for each function via target attributes, so this file needs none. */
#include <immintrin.h>
#include <stdint.h>

#include "peak.h"
#include "peak_time.h"

#if defined(__x86_64__)

/* Results land here so that the chains are not optimized away. */
static volatile int32_t sink;

/* Twelve independent named chains: more than latency × throughput, so the
 * instruction's issue rate, not its latency, bounds the loop. Named
 * variables, not an array: gcc keeps an array of vectors on the stack
 * under the asm barrier, and the loop then times loads and stores. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx2"))) static void avx2_body(long iters) {
    const __m256i b = _mm256_set1_epi8(3);
#define A2_DECL(i) __m256i acc##i = _mm256_set1_epi8((char)(i + 1));
#define A2_STEP(i)                                                                                 \
    acc##i = _mm256_maddubs_epi16(acc##i, b);                                                      \
    __asm__ volatile("" : "+x"(acc##i));
#define A2_SUM(i) s += _mm256_extract_epi32(acc##i, 0);
    CHAINS(A2_DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS(A2_STEP)
    }
    int32_t s = 0;
    CHAINS(A2_SUM)
    sink = s;
}

__attribute__((target("avx512f,avx512vnni"))) static void avx512_body(long iters) {
    const __m512i a = _mm512_set1_epi8(2), b = _mm512_set1_epi8(-3);
#define A5_DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
#define A5_STEP(i)                                                                                 \
    acc##i = _mm512_dpbusd_epi32(acc##i, a, b);                                                    \
    __asm__ volatile("" : "+v"(acc##i));
#define A5_SUM(i) s += _mm512_reduce_add_epi32(acc##i);
    CHAINS(A5_DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS(A5_STEP)
    }
    int32_t s = 0;
    CHAINS(A5_SUM)
    sink = s;
}

/* F32 fused multiply-adds, the attention kernels' instruction. */
#define FMA_CHAINS(X) CHAINS(X)
#define FMA_DECLARE(T, SET, i) T acc##i = SET((float)(i));
#define FMA_STEP(FMA, i)                                                                           \
    acc##i = FMA(acc##i, a, b);                                                                    \
    __asm__ volatile("" : "+x"(acc##i));
#define FMA_SUM(CVT, i) s += CVT(acc##i);

__attribute__((target("avx2,fma"))) static void fma256_body(long iters) {
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
#define D256(i) FMA_DECLARE(__m256, _mm256_set1_ps, i)
#define S256(i) FMA_STEP(_mm256_fmadd_ps, i)
#define U256(i) FMA_SUM(_mm256_cvtss_f32, i)
    FMA_CHAINS(D256)
    for (long it = 0; it < iters; it++) {
        FMA_CHAINS(S256)
    }
    float s = 0;
    FMA_CHAINS(U256)
    sink = (int32_t)s;
}

__attribute__((target("avx512f"))) static void fma512_body(long iters) {
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
#define D512(i) FMA_DECLARE(__m512, _mm512_set1_ps, i)
#define S512(i)                                                                                    \
    acc##i = _mm512_fmadd_ps(acc##i, a, b);                                                        \
    __asm__ volatile("" : "+v"(acc##i));
#define U512(i) FMA_SUM(_mm512_cvtss_f32, i)
    FMA_CHAINS(D512)
    for (long it = 0; it < iters; it++) {
        FMA_CHAINS(S512)
    }
    float s = 0;
    FMA_CHAINS(U512)
    sink = (int32_t)s;
}

double bn_peak_gfma_f32(int width, double min_seconds) {
    if (width == 512) return peak_best_gmacs(fma512_body, 200000, 12.0 * 16, min_seconds);
    return peak_best_gmacs(fma256_body, 200000, 12.0 * 8, min_seconds);
}

double bn_peak_gmacs_avx2(double min_seconds) {
    return peak_best_gmacs(avx2_body, 200000, 12.0 * 32, min_seconds);
}

double bn_peak_gmacs_avx512(double min_seconds) {
    return peak_best_gmacs(avx512_body, 200000, 12.0 * 64, min_seconds);
}

#else
double bn_peak_gfma_f32(int width, double min_seconds) {
    (void)width;
    (void)min_seconds;
    return 0;
}
double bn_peak_gmacs_avx2(double min_seconds) {
    (void)min_seconds;
    return 0;
}
double bn_peak_gmacs_avx512(double min_seconds) {
    (void)min_seconds;
    return 0;
}
#endif
