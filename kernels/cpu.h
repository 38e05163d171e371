/* What the CPU (and the OS, for the wider registers' state) supports, read
 * with CPUID/XGETBV on x86 so that every compiler gives the same answer
 * (clang 14's __builtin_cpu_supports knows neither "f16c" nor "avxvnni"). */
#ifndef BN_CPU_H
#define BN_CPU_H

#include <stdbool.h>

typedef enum bn_cpu_feature {
    BN_CPU_SSE42,
    BN_CPU_AVX,
    BN_CPU_AVX2,
    BN_CPU_FMA,
    BN_CPU_F16C,
    BN_CPU_AVX512F,
    BN_CPU_AVX512BW,
    BN_CPU_AVX512VL,
    BN_CPU_AVX512DQ,
    BN_CPU_AVX512VNNI,
    BN_CPU_AVXVNNI,
    BN_CPU_AMXINT8, /* AMX tiles + INT8, with the OS's permission to use them */
    BN_CPU_FEATURE_COUNT
} bn_cpu_feature;

bool bn_cpu_has(bn_cpu_feature f);
/* The lower-case name of a feature ("avx512vnni"). */
const char *bn_cpu_feature_name(bn_cpu_feature f);

#endif
