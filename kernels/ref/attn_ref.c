/* Attention's products over the F16 cache (kernels.h: attn_scores_f16,
 * attn_values_f16). fmaf rounds once, so this chain is the exact
 * specification that the SIMD tables reproduce bit for bit. */
#include <math.h>

#include "../f16.h"
#include "kernels_ref.h"

void bn_attn_scores_f16_ref(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                            const float *const *q, int n_q, float *const *s) {
    for (int r = 0; r < n_q; r++)
        for (int j = 0; j < n_keys; j++) {
            float acc = 0.0f;
            for (int d = 0; d < hd; d++)
                acc = fmaf(bn_f16_to_f32(kt[d * kt_stride + j]), q[r][d], acc);
            s[r][j] = acc;
        }
}

void bn_attn_values_f16_ref(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                            const float *const *p, int n_q, float *const *out) {
    for (int r = 0; r < n_q; r++)
        for (int j = 0; j < n_keys[r]; j++) {
            const uint16_t *row = v + j * v_stride; /* [hd] */
            for (int d = 0; d < hd; d++)
                out[r][d] = fmaf(bn_f16_to_f32(row[d]), p[r][j], out[r][d]);
        }
}
