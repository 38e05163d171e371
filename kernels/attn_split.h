/* The row split shared by the SIMD attn_values_f16 kernels (kernels.h):
 * up to BN_ATT_ROWS query rows go through one tile over the cells they all
 * take, then each row continues alone over the cells only it takes; its
 * chains carry on from out, in the same order, so the result is the
 * reference's. `group` is the ISA's tile driver for nq rows over n cells. */
#ifndef BN_ATTN_SPLIT_H
#define BN_ATTN_SPLIT_H

#include <stdint.h>

#include "kernels.h"

typedef void (*bn_values_group_fn)(const uint16_t *v, int64_t vs, int hd, int64_t n,
                                   const float *const *p, float *const *out, int nq);

static inline void bn_attn_values_split(const uint16_t *v, int64_t v_stride, int hd,
                                        const int *n_keys, const float *const *p, int n_q,
                                        float *const *out, bn_values_group_fn group) {
    for (int r0 = 0; r0 < n_q; r0 += BN_ATT_ROWS) {
        const int nq = n_q - r0 < BN_ATT_ROWS ? n_q - r0 : BN_ATT_ROWS;
        int common = n_keys[r0];
        for (int r = 1; r < nq; r++) common = n_keys[r0 + r] < common ? n_keys[r0 + r] : common;
        if (common > 0) group(v, v_stride, hd, common, p + r0, out + r0, nq);
        for (int r = r0; r < r0 + nq; r++) {
            if (n_keys[r] <= common) continue;
            const float *pr = p[r] + common;
            group(v + (int64_t)common * v_stride, v_stride, hd, n_keys[r] - common, &pr, out + r,
                  1);
        }
    }
}

#endif
