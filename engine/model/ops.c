#include "ops.h"

#include <math.h>

void bn_rope_table(float *cs, int32_t pos, int n_rot, float base, bool exact) {
    if (exact) {
        for (int i = 0; i < n_rot / 2; i++) {
            double theta = (double)pos * pow((double)base, -2.0 * i / n_rot);
            cs[2 * i] = (float)cos(theta);
            cs[2 * i + 1] = (float)sin(theta);
        }
        return;
    }
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++) {
        cs[2 * i] = cosf(theta);
        cs[2 * i + 1] = sinf(theta);
        theta *= theta_scale;
    }
}

void bn_rope_apply(float *x, int n_heads, int head_dim, int n_rot, const float *cs,
                   bn_rope_kind kind) {
    const int half = n_rot / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            const float c = cs[2 * i], s = cs[2 * i + 1];
            /* NEOX rotates dims (i, i + n_rot/2); NORM rotates (2i, 2i + 1) */
            const int a = kind == BN_ROPE_NEOX ? i : 2 * i;
            const int b = kind == BN_ROPE_NEOX ? i + half : 2 * i + 1;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}
