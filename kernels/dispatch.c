/* Chooses a kernel table from the CPU's features, once per context, and
 * honours BITNET_ISA=ref|avx2|avx512|neon (tests force a lower ISA under
 * valgrind, which cannot run AVX-512). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/error.h"
#include "kernels.h"
#include "ref/kernels_ref.h"

const bn_kernels bn_kernels_ref = {
    .isa = "ref",
    .quantize_i8 = bn_quantize_i8_ref,
    .i2s_gemv = bn_i2s_gemv_ref,
    .i2s_gemm = bn_i2s_gemm_ref,
    .u8_gemv = bn_u8_gemv_ref,
    .f32_to_f16 = bn_f32_to_f16_ref,
    .dot_f16 = bn_dot_f16_ref,
    .dot_f16_f32 = bn_dot_f16_f32_ref,
    .dot_f32 = bn_dot_f32_ref,
};

#if defined(BN_X86_KERNELS)
extern const bn_kernels bn_kernels_avx2;
extern const bn_kernels bn_kernels_avx512;
#endif
#if defined(BN_NEON_KERNELS)
extern const bn_kernels bn_kernels_neon;
#endif

/* Best first. */
static const bn_kernels *const candidates[] = {
#if defined(BN_X86_KERNELS)
    &bn_kernels_avx512,
    &bn_kernels_avx2,
#endif
#if defined(BN_NEON_KERNELS)
    &bn_kernels_neon,
#endif
    &bn_kernels_ref,
};

static bool cpu_runs(const char *isa) {
    if (strcmp(isa, "ref") == 0) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (strcmp(isa, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("f16c");
    if (strcmp(isa, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
               __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
#endif
#if defined(__aarch64__)
    if (strcmp(isa, "neon") == 0) return true; /* NEON is mandatory on AArch64 */
#endif
    return false;
}

static const bn_kernels *find_compiled(const char *isa) {
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (strcmp(candidates[i]->isa, isa) == 0) return candidates[i];
    return NULL;
}

bool bn_isa_supported(const char *isa) {
    return isa && find_compiled(isa) != NULL && cpu_runs(isa);
}

const char *bn_isa_best(void) {
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (cpu_runs(candidates[i]->isa)) return candidates[i]->isa;
    return "ref";
}

const bn_kernels *bn_kernels_get(const char *isa) {
    if (!isa || !*isa) {
        const char *env = getenv("BITNET_ISA");
        isa = (env && *env) ? env : bn_isa_best();
    }
    const bn_kernels *k = find_compiled(isa);
    if (!k) {
        bn_fail(BITNET_ERR_UNSUPPORTED,
                "ISA '%s' is not available in this build (use ref, avx2, avx512 or neon)", isa);
        return NULL;
    }
    if (!cpu_runs(isa)) {
        bn_fail(BITNET_ERR_UNSUPPORTED, "ISA '%s' is not supported by this CPU (best: %s)", isa,
                bn_isa_best());
        return NULL;
    }
    return k;
}

const char *bn_cpu_features(void) {
#if defined(__x86_64__) || defined(__i386__)
    static const char *const names[] = {"sse4.2",   "avx",      "avx2",       "fma",
                                        "f16c",     "avx512f",  "avx512bw",   "avx512vl",
                                        "avx512vnni", "avxvnni"};
    /* Built once per call into a thread-local buffer: no shared mutable state. */
    static _Thread_local char buf[160];
    buf[0] = '\0';
    __builtin_cpu_init();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int has = 0;
        switch (i) {
        case 0: has = __builtin_cpu_supports("sse4.2"); break;
        case 1: has = __builtin_cpu_supports("avx"); break;
        case 2: has = __builtin_cpu_supports("avx2"); break;
        case 3: has = __builtin_cpu_supports("fma"); break;
        case 4: has = __builtin_cpu_supports("f16c"); break;
        case 5: has = __builtin_cpu_supports("avx512f"); break;
        case 6: has = __builtin_cpu_supports("avx512bw"); break;
        case 7: has = __builtin_cpu_supports("avx512vl"); break;
        case 8: has = __builtin_cpu_supports("avx512vnni"); break;
        case 9: has = __builtin_cpu_supports("avxvnni"); break;
        }
        if (has) {
            if (buf[0]) strncat(buf, " ", sizeof buf - strlen(buf) - 1);
            strncat(buf, names[i], sizeof buf - strlen(buf) - 1);
        }
    }
    return buf;
#elif defined(__aarch64__)
    return "neon";
#else
    return "";
#endif
}
