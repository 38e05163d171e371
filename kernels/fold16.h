/* The double sums of softmax and RMSNorm (kernels.h softmax_f32, rmsnorm):
 * element i goes to partial sum i mod 16, and the partials are folded in
 * halves (k += k + 8, then + 4, + 2, + 1), which is what sixteen lanes of
 * doubles in registers of any width compute, so every ISA gets the same
 * sum; and sixteen independent chains keep the adder busy. */
#ifndef BN_FOLD16_H
#define BN_FOLD16_H

enum { BN_FOLD_LANES = 16 };

static inline double bn_fold16(double s[BN_FOLD_LANES]) {
    for (int w = BN_FOLD_LANES / 2; w >= 1; w /= 2)
        for (int k = 0; k < w; k++) s[k] += s[k + w];
    return s[0];
}

#endif
