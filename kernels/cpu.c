#include "cpu.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* AMX tile data is off for every process until it asks Linux for it
 * (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, feature 18); the grant is
 * process-wide and asking again is harmless. Other systems: no AMX. */
static bool amx_permitted(void) {
#if defined(__linux__) && defined(SYS_arch_prctl)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return false;
#endif
}

static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Recomputed per call: a few CPUID instructions, called only when a context
 * is made, and no cached state to share between threads. */
bool bn_cpu_has(bn_cpu_feature f) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool sse42 = c & (1u << 20), fma = c & (1u << 12), f16c = c & (1u << 29);
    const bool osxsave = c & (1u << 27), avx_cpu = c & (1u << 28);
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool ymm_os = (xcr0 & 0x6) == 0x6;   /* XMM and YMM state */
    const bool zmm_os = (xcr0 & 0xE6) == 0xE6; /* plus opmask and ZMM state */
    const bool avx = avx_cpu && ymm_os;
    unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        b7 = b;
        c7 = c;
        d7 = d;
        __cpuid_count(7, 1, a, b, c, d);
        a71 = a;
    }
    const bool avx512f = avx && zmm_os && (b7 & (1u << 16));
    switch (f) {
    case BN_CPU_SSE42: return sse42;
    case BN_CPU_AVX: return avx;
    case BN_CPU_AVX2: return avx && (b7 & (1u << 5));
    case BN_CPU_FMA: return avx && fma;
    case BN_CPU_F16C: return avx && f16c;
    case BN_CPU_AVX512F: return avx512f;
    case BN_CPU_AVX512BW: return avx512f && (b7 & (1u << 30));
    case BN_CPU_AVX512VL: return avx512f && (b7 & (1u << 31));
    case BN_CPU_AVX512DQ: return avx512f && (b7 & (1u << 17));
    case BN_CPU_AVX512VNNI: return avx512f && (c7 & (1u << 11));
    case BN_CPU_AVXVNNI: return avx && (a71 & (1u << 4));
    case BN_CPU_AMXINT8: {
        const bool tiles_os = (xcr0 & 0x60000) == 0x60000;       /* TILECFG and TILEDATA state */
        const bool cpu = (d7 & (1u << 24)) && (d7 & (1u << 25)); /* AMX-TILE, AMX-INT8 */
        return avx512f && tiles_os && cpu && amx_permitted();
    }
    case BN_CPU_FEATURE_COUNT: break;
    }
    return false;
}
#else
bool bn_cpu_has(bn_cpu_feature f) {
    (void)f;
    return false;
}
#endif

const char *bn_cpu_feature_name(bn_cpu_feature f) {
    static const char *const names[BN_CPU_FEATURE_COUNT] = {
        "sse4.2",   "avx",      "avx2",     "fma",        "f16c",    "avx512f",
        "avx512bw", "avx512vl", "avx512dq", "avx512vnni", "avxvnni", "amx-int8"};
    return (unsigned)f < BN_CPU_FEATURE_COUNT ? names[f] : "?";
}
