/* The exponential that softmax uses on every ISA (kernels.h softmax_f32):
 * one fixed sequence of float operations, so a SIMD lane that performs the
 * same operations gets the same bits as this scalar version.
 *
 * e^x = 2^n · e^r with n = round(x · log2 e) and r = x − n·ln 2 (ln 2 split
 * in two so that n·ln2_hi is exact), e^r ≈ 1 + r + r²·P(r) with the degree-5
 * minimax P of the Cephes expf (about 1 ulp on |r| <= ln2/2), and 2^n built
 * in the exponent bits. x < BN_EXP_LO gives 0 and x > BN_EXP_HI +inf, where
 * 2^n would leave the normal range; NaN stays NaN. */
#ifndef BN_EXP_POLY_H
#define BN_EXP_POLY_H

#include <math.h>
#include <stdint.h>

#include "f16.h"
#include "fold16.h"

#define BN_EXP_LOG2E 1.44269504088896341f
/* 1.5 · 2^23: adding it rounds to an integer kept in the low mantissa bits */
#define BN_EXP_ROUND 12582912.0f
#define BN_EXP_ROUND_BITS 0x4B400000u
#define BN_EXP_LN2_HI 0.693359375f
#define BN_EXP_LN2_LO (-2.12194440e-4f)
#define BN_EXP_P0 1.9875691500e-4f
#define BN_EXP_P1 1.3981999507e-3f
#define BN_EXP_P2 8.3334519073e-3f
#define BN_EXP_P3 4.1665795894e-2f
#define BN_EXP_P4 1.6666665459e-1f
#define BN_EXP_P5 5.0000001201e-1f
#define BN_EXP_LO (-87.0f)
#define BN_EXP_HI 88.0f

static inline float bn_exp_poly(float x) {
    const float t = fmaf(x, BN_EXP_LOG2E, BN_EXP_ROUND);
    const float n = t - BN_EXP_ROUND;
    float r = fmaf(n, -BN_EXP_LN2_HI, x);
    r = fmaf(n, -BN_EXP_LN2_LO, r);
    float p = BN_EXP_P0;
    p = fmaf(p, r, BN_EXP_P1);
    p = fmaf(p, r, BN_EXP_P2);
    p = fmaf(p, r, BN_EXP_P3);
    p = fmaf(p, r, BN_EXP_P4);
    p = fmaf(p, r, BN_EXP_P5);
    const float y = fmaf(p, r * r, r) + 1.0f;
    /* t's low bits hold n + 2^22; unsigned arithmetic wraps like the SIMD
     * integer lanes do for the x outside [LO, HI] that are replaced below */
    const float two_n = bn_bits_f32((bn_f32_bits(t) - BN_EXP_ROUND_BITS + 127u) << 23);
    const float e = y * two_n;
    return x < BN_EXP_LO ? 0.0f : x > BN_EXP_HI ? INFINITY : e;
}

#endif
