/* AVX2 and AVX-512 VNNI probes (peak.h). Built with the matching -m flags
 * for each function via target attributes, so this file needs none. */
#include <immintrin.h>
#include <stdint.h>

#include "peak.h"
#include "peak_time.h"

#if defined(__x86_64__)

/* Results land here so that the chains are not optimized away. */
static volatile int32_t sink;

/* 10 independent chains: more than latency × throughput, so the
 * instruction's issue rate, not its latency, bounds the loop. */
__attribute__((target("avx2"))) static void avx2_body(long iters) {
    __m256i acc[10];
    const __m256i b = _mm256_set1_epi8(3);
    for (int i = 0; i < 10; i++) acc[i] = _mm256_set1_epi8((char)(i + 1));
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 10; i++) {
            acc[i] = _mm256_maddubs_epi16(acc[i], b);
            __asm__ volatile("" : "+x"(acc[i])); /* keep each chain's operation */
        }
    int32_t s = 0;
    for (int i = 0; i < 10; i++) s += _mm256_extract_epi32(acc[i], 0);
    sink = s;
}

__attribute__((target("avx512f,avx512vnni"))) static void avx512_body(long iters) {
    __m512i acc[12];
    const __m512i a = _mm512_set1_epi8(2), b = _mm512_set1_epi8(-3);
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++) {
            acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
            __asm__ volatile("" : "+v"(acc[i]));
        }
    int32_t s = 0;
    for (int i = 0; i < 12; i++) s += _mm512_reduce_add_epi32(acc[i]);
    sink = s;
}

double bn_peak_gmacs_avx2(double min_seconds) {
    return peak_best_gmacs(avx2_body, 200000, 10.0 * 32, min_seconds);
}

double bn_peak_gmacs_avx512(double min_seconds) {
    return peak_best_gmacs(avx512_body, 200000, 12.0 * 64, min_seconds);
}

#else
double bn_peak_gmacs_avx2(double min_seconds) {
    (void)min_seconds;
    return 0;
}
double bn_peak_gmacs_avx512(double min_seconds) {
    (void)min_seconds;
    return 0;
}
#endif
