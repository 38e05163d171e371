#include "quantize.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "f16.h"
#include "ref/kernels_ref.h"
#include "ref/quant_embd_ref.h"
#include "types.h"

void bn_ternarize_absmean(const float *w, int64_t n, int8_t *codes, float *scale) {
    /* the mean in double: the sum of millions of floats must not depend on order */
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += fabs((double)w[i]);
    float gamma = n > 0 ? (float)(sum / (double)n) : 0.0f;
    if (!(gamma >= 1e-5f)) gamma = 1e-5f;
    const float s = 1.0f / gamma;
    for (int64_t i = 0; i < n; i++) {
        float r = rintf(w[i] * s); /* round half to even, as torch.round */
        codes[i] = (int8_t)(r > 0.0f ? 1 : r < 0.0f ? -1 : 0);
    }
    *scale = 1.0f / s;
}

void bn_head_q8_row(const float *w, int64_t n, uint8_t *q, float *d) {
    float max = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        const float a = fabsf(w[i]);
        if (a > max) max = a; /* NaN never compares greater: skipped */
    }
    const float s = max > 0.0f ? 127.0f / max : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float r = rintf(w[i] * s);
        if (r > 127.0f) r = 127.0f;
        if (r < -127.0f) r = -127.0f;
        if (r != r) r = 0.0f; /* NaN weight -> 0 */
        q[i] = (uint8_t)((int)r + 128);
    }
    *d = max > 0.0f ? max / 127.0f : 1.0f;
}

void bn_ternarize_presigned(const float *w, int64_t n, int8_t *codes, float *scale) {
    float max = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        const float a = fabsf(w[i]);
        if (a > max) max = a;
        codes[i] = (int8_t)(a < 1e-6f ? 0 : w[i] > 0.0f ? 1 : -1);
    }
    *scale = max > 0.0f ? max : 1.0f;
}

uint64_t bn_i2s_nbytes(int64_t n) { return (uint64_t)n / 4 + BN_I2S_TAIL; }

void bn_i2s_pack(const int8_t *codes, int64_t n, float scale, uint8_t *out) {
    const int64_t packed = n / 4;
    /* value j of a 128-block: byte j % 32, bits 6 - 2·(j / 32) */
    for (int64_t b = 0; b < n / BN_I2S_BLOCK; b++) {
        const int8_t *c = codes + b * BN_I2S_BLOCK;
        uint8_t *o = out + b * 32;
        for (int i = 0; i < 32; i++)
            o[i] = (uint8_t)((unsigned)(c[i] + 1) << 6 | (unsigned)(c[32 + i] + 1) << 4 |
                             (unsigned)(c[64 + i] + 1) << 2 | (unsigned)(c[96 + i] + 1));
    }
    memcpy(out + packed, &scale, sizeof scale); /* little-endian hosts only, like the reader */
    memset(out + packed + 4, 0, BN_I2S_TAIL - 4);
}

bool bn_ternary_to_float_type(const int8_t *codes, int64_t n, float scale, uint32_t type,
                              void *out) {
    if (type == BN_TYPE_F32) {
        float *o = out;
        for (int64_t i = 0; i < n; i++) o[i] = (float)codes[i] * scale;
        return true;
    }
    if (type == BN_TYPE_F16) {
        uint16_t *o = out;
        for (int64_t i = 0; i < n; i++) o[i] = bn_f32_to_f16((float)codes[i] * scale);
        return true;
    }
    return false;
}

uint64_t bn_ternary_nbytes(uint32_t type, int64_t n) {
    switch (type) {
    case BN_TYPE_I2_S: return bn_i2s_nbytes(n);
    case BN_TYPE_TQ1_0: return (uint64_t)(n / BN_QK_K) * sizeof(bn_block_tq1_0);
    case BN_TYPE_TQ2_0: return (uint64_t)(n / BN_QK_K) * sizeof(bn_block_tq2_0);
    case BN_TYPE_F16: return (uint64_t)n * 2;
    case BN_TYPE_F32: return (uint64_t)n * 4;
    default: return 0;
    }
}

bitnet_status bn_quantize_ternary(const int8_t *codes, int64_t n, float scale, uint32_t type,
                                  void *out) {
    if (type == BN_TYPE_I2_S) {
        if (n % BN_I2S_BLOCK != 0)
            return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                           "i2_s: %lld values is not a multiple of the 128-value block",
                           (long long)n);
        bn_i2s_pack(codes, n, scale, out);
        return BITNET_OK;
    }
    if (type == BN_TYPE_TQ1_0 || type == BN_TYPE_TQ2_0)
        return bn_quantize_ternary_blocks(codes, n, scale, NULL, type, out);
    if (!bn_ternary_to_float_type(codes, n, scale, type, out))
        return bn_fail(BITNET_ERR_UNSUPPORTED, "cannot write ternary weights as %s",
                       bn_type_name(type));
    return BITNET_OK;
}

bitnet_status bn_quantize_ternary_blocks(const int8_t *codes, int64_t n, float scale,
                                         const float *block_mult, uint32_t type, void *out) {
    if (n % BN_QK_K != 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "%s: %lld values is not a multiple of the 256-value block",
                       bn_type_name(type), (long long)n);
    if (type != BN_TYPE_TQ1_0 && type != BN_TYPE_TQ2_0 && type != BN_TYPE_F16 &&
        type != BN_TYPE_F32)
        return bn_fail(BITNET_ERR_UNSUPPORTED, "cannot write block-scaled ternary weights as %s",
                       bn_type_name(type));
    float x[BN_QK_K];
    for (int64_t b = 0; b < n / BN_QK_K; b++) {
        const float s = block_mult ? scale * block_mult[b] : scale;
        const int8_t *c = codes + b * BN_QK_K;
        for (int j = 0; j < BN_QK_K; j++) x[j] = (float)c[j] * s;
        /* through the llama.cpp-rule quantizer, as a converted file would be */
        if (type == BN_TYPE_TQ1_0)
            bn_quantize_row_tq1_0_ref(x, (bn_block_tq1_0 *)out + b, BN_QK_K);
        else if (type == BN_TYPE_TQ2_0)
            bn_quantize_row_tq2_0_ref(x, (bn_block_tq2_0 *)out + b, BN_QK_K);
        else if (type == BN_TYPE_F32)
            memcpy((float *)out + b * BN_QK_K, x, sizeof x);
        else
            for (int j = 0; j < BN_QK_K; j++)
                ((uint16_t *)out)[b * BN_QK_K + j] = bn_f32_to_f16(x[j]);
    }
    return BITNET_OK;
}

bool bn_quantize_row_float(uint32_t type, const float *x, void *dst, int64_t n) {
    switch (type) {
    case BN_TYPE_F32: memcpy(dst, x, (size_t)n * sizeof(float)); return true;
    case BN_TYPE_F16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = bn_f32_to_f16(x[i]);
        return true;
    case BN_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = bn_f32_to_bf16(x[i]);
        return true;
    case BN_TYPE_Q8_0: bn_quantize_row_q8_0_ref(x, dst, n); return true;
    case BN_TYPE_Q6_K: bn_quantize_row_q6_k_ref(x, dst, n); return true;
    default: return false;
    }
}
