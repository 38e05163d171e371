/* The measured peak rate of each ISA's int8 multiply-add instruction on one
 * core of this CPU: independent register-only chains, no memory operands,
 * best of several timed runs. The kernel benchmark divides a gemm's rate by
 * it ("fraction of peak"), so the yardstick is this machine's real issue
 * rate, not a datasheet number (a KVM guest may clock or share differently).
 *
 *   avx2:   vpmaddubsw ymm, 32 multiply-adds per instruction
 *   avx512: vpdpbusd zmm,   64
 *   amx:    tdpbsud,        16 × 16 × 64 = 16,384
 *
 * Each returns G multiply-adds per second, or 0 when the ISA is not built
 * or not supported here (the caller checks bn_isa_supported first: for AMX
 * that check also asks the OS for the tile state). */
#ifndef BN_BENCH_PEAK_H
#define BN_BENCH_PEAK_H

double bn_peak_gmacs_avx2(double min_seconds);
double bn_peak_gmacs_avx512(double min_seconds);
double bn_peak_gmacs_amx(double min_seconds);

/* G F32 multiply-adds per second (lanes × instructions of vfmadd ymm for
 * width 256, zmm for 512), the yardstick of the attention kernels. */
double bn_peak_gfma_f32(int width, double min_seconds);

#endif
