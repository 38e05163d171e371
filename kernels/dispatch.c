/* Chooses a kernel table from the CPU's features, once per context, and
 * honours BITNET_ISA=ref|avx2|avx512|amx|neon|wasm (tests force a lower ISA under
 * valgrind, which cannot run AVX-512). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/util/error.h"
#include "cpu.h"
#include "kernels.h"
#include "ref/kernels_ref.h"

const bn_kernels bn_kernels_ref = {
    .isa = "ref",
    .quantize_i8 = bn_quantize_i8_ref,
    .i2s_gemv = bn_i2s_gemv_ref,
    .i2s_gemm = bn_i2s_gemm_ref,
    .i2s_blk_gemv = bn_i2s_blk_gemv_ref,
    .i2s_blk_gemm = bn_i2s_blk_gemm_ref,
    .u8_gemv = bn_u8_gemv_ref,
    .scale_i32 = bn_scale_i32_ref,
    .f32_to_f16 = bn_f32_to_f16_ref,
    .f32_round_f16 = bn_f32_round_f16_ref,
    .dot_f16 = bn_dot_f16_ref,
    .dot_f16_f32 = bn_dot_f16_f32_ref,
    .dot_f32 = bn_dot_f32_ref,
    .dot_f16_f32_multi = bn_dot_f16_f32_multi_ref,
    .dot_f16_f32_block = bn_dot_f16_f32_block_ref,
    .attn_scores_f16 = bn_attn_scores_f16_ref,
    .attn_values_f16 = bn_attn_values_f16_ref,
    .softmax_f32 = bn_softmax_f32_ref,
    .silu_mul = bn_silu_mul_ref,
    .relu2_mul = bn_relu2_mul_ref,
    .rmsnorm = bn_rmsnorm_ref,
};

#if defined(BN_X86_KERNELS)
extern const bn_kernels bn_kernels_avx2;
extern const bn_kernels bn_kernels_avx512;
#endif
#if defined(BN_AMX_KERNELS)
extern const bn_kernels bn_kernels_amx;
#endif
#if defined(BN_NEON_KERNELS)
extern const bn_kernels bn_kernels_neon;
#endif
#if defined(BN_WASM_KERNELS)
extern const bn_kernels bn_kernels_wasm;
#endif

/* Best first. */
static const bn_kernels *const candidates[] = {
#if defined(BN_AMX_KERNELS)
    &bn_kernels_amx,
#endif
#if defined(BN_X86_KERNELS)
    &bn_kernels_avx512, &bn_kernels_avx2,
#endif
#if defined(BN_NEON_KERNELS)
    &bn_kernels_neon,
#endif
#if defined(BN_WASM_KERNELS)
    &bn_kernels_wasm,
#endif
    &bn_kernels_ref,
};

static bool cpu_runs(const char *isa) {
    if (strcmp(isa, "ref") == 0) return true;
#if defined(__x86_64__) || defined(__i386__)
    const bool avx2 = bn_cpu_has(BN_CPU_AVX2) && bn_cpu_has(BN_CPU_FMA) && bn_cpu_has(BN_CPU_F16C);
    if (strcmp(isa, "avx2") == 0) return avx2;
    const bool avx512 = avx2 && bn_cpu_has(BN_CPU_AVX512F) && bn_cpu_has(BN_CPU_AVX512BW) &&
                        bn_cpu_has(BN_CPU_AVX512VL) && bn_cpu_has(BN_CPU_AVX512DQ) &&
                        bn_cpu_has(BN_CPU_AVX512VNNI);
    if (strcmp(isa, "avx512") == 0) return avx512;
    if (strcmp(isa, "amx") == 0) return avx512 && bn_cpu_has(BN_CPU_AMXINT8);
#endif
#if defined(__aarch64__)
    if (strcmp(isa, "neon") == 0) return true; /* NEON is mandatory on AArch64 */
#endif
#if defined(BN_WASM_KERNELS)
    /* built with -msimd128: an engine without SIMD128 refuses the module */
    if (strcmp(isa, "wasm") == 0) return true;
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

/* "avx512, avx2, ref": the ISAs this build has and this CPU runs. */
static void runnable_list(char *buf, size_t size) {
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (!cpu_runs(candidates[i]->isa)) continue;
        if (buf[0]) strncat(buf, ", ", size - strlen(buf) - 1);
        strncat(buf, candidates[i]->isa, size - strlen(buf) - 1);
    }
}

const bn_kernels *bn_kernels_get(const char *isa) {
    const char *source = "ISA";
    if (!isa || !*isa) {
        const char *env = getenv("BITNET_ISA");
        if (env && *env) source = "BITNET_ISA";
        isa = (env && *env) ? env : bn_isa_best();
    }
    char choices[64];
    runnable_list(choices, sizeof choices);
    const bn_kernels *k = find_compiled(isa);
    if (!k) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                "%s '%s' is not an instruction set of this build (choose %s)", source, isa,
                choices);
        return NULL;
    }
    if (!cpu_runs(isa)) {
        bn_fail(BITNET_ERR_UNSUPPORTED, "%s '%s' is not supported by this CPU (choose %s)", source,
                isa, choices);
        return NULL;
    }
    return k;
}

const char *bn_cpu_features(void) {
#if defined(__aarch64__)
    return "neon";
#elif defined(__wasm__)
    return "simd128";
#else
    /* Built per call into a thread-local buffer: no shared mutable state. */
    static _Thread_local char buf[160];
    buf[0] = '\0';
    for (int f = 0; f < BN_CPU_FEATURE_COUNT; f++) {
        if (!bn_cpu_has((bn_cpu_feature)f)) continue;
        if (buf[0]) strncat(buf, " ", sizeof buf - strlen(buf) - 1);
        strncat(buf, bn_cpu_feature_name((bn_cpu_feature)f), sizeof buf - strlen(buf) - 1);
    }
    return buf;
#endif
}
