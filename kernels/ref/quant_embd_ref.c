/* Q8_0 and Q6_K writers (quant_embd_ref.h). The layouts are those the
 * to_float rows of kernels/types.c decode; the rounding rules follow ggml's
 * reference quantizers so that a file we write matches one llama-quantize
 * writes from the same floats (test_convert checks the round trip). */
#include "quant_embd_ref.h"

#include <math.h>
#include <string.h>

#include "../f16.h"

/* Round half to even through the float mantissa, ggml's nearest_int (valid
 * for |v| <= 2^22; the callers' values are bounded by 2^7). */
static int nearest_int(float v) {
    float shifted = v + 12582912.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

void bn_quantize_row_q8_0_ref(const float *x, bn_block_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / BN_QK8_0; b++) {
        const float *v = x + b * BN_QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < BN_QK8_0; j++) amax = fmaxf(amax, fabsf(v[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = bn_f32_to_f16(d);
        for (int j = 0; j < BN_QK8_0; j++) y[b].qs[j] = (int8_t)roundf(v[j] * id);
    }
}

/* Smallest |x| a group may have and still get codes: below it the group is
 * zero (ggml's GROUP_MAX_EPS). */
#define GROUP_EPS 1e-15f

/* Codes L[i] in [0, 2·nmax) for the step 1/iscale, with the weighted sums
 * Σ w·x·l and Σ w·l² of the signed codes l = L - nmax (w = x²). */
static void codes_for(const float *x, int n, int nmax, float iscale, int8_t *L, float *sumlx,
                      float *suml2) {
    float slx = 0.0f, sl2 = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        if (L) L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        slx += w * x[i] * (float)l;
        sl2 += w * (float)(l * l);
    }
    *sumlx = slx;
    *suml2 = sl2;
}

/* The step of one group: starting from the one that maps the value of
 * largest magnitude to -nmax, try 18 neighbours (nmax ± 0.1·k) and keep the
 * one with the least weighted squared error, i.e. the largest sumlx²/suml2.
 * Returns the least-squares step for the chosen codes (signed: it carries
 * the sign of the extreme value). */
static float fit_group(const float *x, int n, int nmax, int8_t *L) {
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        if (a > amax) {
            amax = a;
            max = x[i];
        }
    }
    if (amax < GROUP_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float sumlx, suml2;
    codes_for(x, n, nmax, -(float)nmax / max, L, &sumlx, &suml2);
    float scale = suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int k = -9; k <= 9; k++) {
        if (k == 0) continue;
        const float iscale = -((float)nmax + 0.1f * (float)k) / max;
        codes_for(x, n, nmax, iscale, NULL, &sumlx, &suml2);
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            codes_for(x, n, nmax, iscale, L, &sumlx, &suml2);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void bn_quantize_row_q6_k_ref(const float *x, bn_block_q6_k *y, int64_t n) {
    int8_t L[BN_QK_K]; /* codes 0..63 (value + 32) */
    float group_scale[BN_QK_K / 16];
    for (int64_t b = 0; b < n / BN_QK_K; b++, x += BN_QK_K) {
        bn_block_q6_k *out = &y[b];
        float max_scale = 0.0f, max_abs = 0.0f;
        for (int g = 0; g < BN_QK_K / 16; g++) {
            group_scale[g] = fit_group(x + 16 * g, 16, 32, L + 16 * g);
            if (fabsf(group_scale[g]) > max_abs) {
                max_abs = fabsf(group_scale[g]);
                max_scale = group_scale[g];
            }
        }
        if (max_abs < GROUP_EPS) { /* all (near) zero: d = 0 decodes to zeros */
            memset(out, 0, sizeof *out);
            continue;
        }
        /* group scales as int8 steps of d; the largest maps to -128 */
        const float iscale = -128.0f / max_scale;
        out->d = bn_f32_to_f16(1.0f / iscale);
        for (int g = 0; g < BN_QK_K / 16; g++) {
            const int s = nearest_int(iscale * group_scale[g]);
            out->scales[g] = (int8_t)(s > 127 ? 127 : s);
        }
        /* codes again with the scales as stored, so rounding them costs
         * nothing extra (a group whose scale rounded to 0 keeps its codes:
         * they decode to 0 anyway) */
        for (int g = 0; g < BN_QK_K / 16; g++) {
            const float d = bn_f16_to_f32(out->d) * (float)out->scales[g];
            if (d == 0.0f) continue;
            for (int i = 0; i < 16; i++) {
                int l = nearest_int(x[16 * g + i] / d);
                l = l < -32 ? -32 : l > 31 ? 31 : l;
                L[16 * g + i] = (int8_t)(l + 32);
            }
        }
        /* layout (types.c q6_k_to_float): per half of 128 values, ql[l] holds
         * the low nibbles of values l and l+64, ql[l+32] those of l+32 and
         * l+96, qh[l] the high 2 bits of l, l+32, l+64, l+96 */
        uint8_t *ql = out->ql, *qh = out->qh;
        for (int h = 0; h < BN_QK_K; h += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const uint8_t a = (uint8_t)L[h + l], c = (uint8_t)L[h + l + 32];
                const uint8_t e = (uint8_t)L[h + l + 64], f = (uint8_t)L[h + l + 96];
                ql[l] = (uint8_t)((a & 0xF) | ((e & 0xF) << 4));
                ql[l + 32] = (uint8_t)((c & 0xF) | ((f & 0xF) << 4));
                qh[l] = (uint8_t)((a >> 4) | ((c >> 4) << 2) | ((e >> 4) << 4) | ((f >> 4) << 6));
            }
        }
    }
}
