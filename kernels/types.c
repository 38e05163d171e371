#include "types.h"

#include <stdio.h>
#include <string.h>

#include "f16.h"

static void f32_to_float(const void *src, float *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = bn_f16_to_f32(s[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = bn_bf16_to_f32(s[i]);
}

static void q8_0_to_float(const void *src, float *dst, int64_t n) {
    const bn_block_q8_0 *b = src;
    for (int64_t i = 0; i < n / BN_QK8_0; i++) {
        float d = bn_f16_to_f32(b[i].d);
        for (int j = 0; j < BN_QK8_0; j++) dst[i * BN_QK8_0 + j] = d * (float)b[i].qs[j];
    }
}

static void q6_k_to_float(const void *src, float *dst, int64_t n) {
    const bn_block_q6_k *b = src;
    for (int64_t i = 0; i < n / BN_QK_K; i++) {
        const float d = bn_f16_to_f32(b[i].d);
        const uint8_t *ql = b[i].ql;
        const uint8_t *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        float *y = dst + i * BN_QK_K;
        /* two halves of 128 values; each byte of ql holds two low nibbles and
         * each byte of qh the high 2 bits of four values 32 apart */
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * (float)sc[is + 0] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

void bn_tq2_0_values(const bn_block_tq2_0 *b, int8_t t[BN_QK_K]) {
    for (int half = 0; half < 2; half++)
        for (int p = 0; p < 4; p++)
            for (int i = 0; i < 32; i++)
                t[half * 128 + p * 32 + i] = (int8_t)(((b->qs[half * 32 + i] >> (2 * p)) & 3) - 1);
}

/* A byte holds ceil(v·256/243) for its digits v = Σ t_n·3^(4-n) (first digit
 * most significant). Multiplying by 3^n modulo 256 drops the n leading
 * digits; the top digit of what is left is then floor(3·byte/256). */
static int8_t tq1_digit(uint8_t byte, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    uint8_t shifted = (uint8_t)(byte * pow3[n]);
    return (int8_t)(((unsigned)shifted * 3u) >> 8);
}

void bn_tq1_0_values(const bn_block_tq1_0 *b, int8_t t[BN_QK_K]) {
    /* bytes 0..31: values m + 32·n; bytes 32..47: 160 + m + 16·n;
     * qh bytes j: 240 + j + 4·n (four digits, the fifth is zero) */
    for (int n = 0; n < 5; n++) {
        for (int m = 0; m < 32; m++) t[m + 32 * n] = (int8_t)(tq1_digit(b->qs[m], n) - 1);
        for (int m = 0; m < 16; m++)
            t[160 + m + 16 * n] = (int8_t)(tq1_digit(b->qs[32 + m], n) - 1);
    }
    for (int n = 0; n < 4; n++)
        for (int j = 0; j < 4; j++) t[240 + j + 4 * n] = (int8_t)(tq1_digit(b->qh[j], n) - 1);
}

static void tq2_0_to_float(const void *src, float *dst, int64_t n) {
    const bn_block_tq2_0 *b = src;
    int8_t t[BN_QK_K];
    for (int64_t i = 0; i < n / BN_QK_K; i++) {
        const float d = bn_f16_to_f32(b[i].d);
        bn_tq2_0_values(&b[i], t);
        for (int j = 0; j < BN_QK_K; j++) dst[i * BN_QK_K + j] = (float)t[j] * d;
    }
}

static void tq1_0_to_float(const void *src, float *dst, int64_t n) {
    const bn_block_tq1_0 *b = src;
    int8_t t[BN_QK_K];
    for (int64_t i = 0; i < n / BN_QK_K; i++) {
        const float d = bn_f16_to_f32(b[i].d);
        bn_tq1_0_values(&b[i], t);
        for (int j = 0; j < BN_QK_K; j++) dst[i * BN_QK_K + j] = (float)t[j] * d;
    }
}

static const bn_type_traits type_traits[BN_TYPE_COUNT] = {
    [BN_TYPE_F32] = {"f32", 1, 4, false, false, f32_to_float},
    [BN_TYPE_F16] = {"f16", 1, 2, false, false, f16_to_float},
    [BN_TYPE_Q4_0] = {"q4_0", 32, 18, false, false, NULL},
    [BN_TYPE_Q4_1] = {"q4_1", 32, 20, false, false, NULL},
    [BN_TYPE_Q5_0] = {"q5_0", 32, 22, false, false, NULL},
    [BN_TYPE_Q5_1] = {"q5_1", 32, 24, false, false, NULL},
    [BN_TYPE_Q8_0] = {"q8_0", BN_QK8_0, sizeof(bn_block_q8_0), false, false, q8_0_to_float},
    [BN_TYPE_Q8_1] = {"q8_1", 32, 36, false, false, NULL},
    [BN_TYPE_Q2_K] = {"q2_K", 256, 84, false, false, NULL},
    [BN_TYPE_Q3_K] = {"q3_K", 256, 110, false, false, NULL},
    [BN_TYPE_Q4_K] = {"q4_K", 256, 144, false, false, NULL},
    [BN_TYPE_Q5_K] = {"q5_K", 256, 176, false, false, NULL},
    [BN_TYPE_Q6_K] = {"q6_K", BN_QK_K, sizeof(bn_block_q6_k), false, false, q6_k_to_float},
    [BN_TYPE_Q8_K] = {"q8_K", 256, 292, false, false, NULL},
    [BN_TYPE_I8] = {"i8", 1, 1, false, false, NULL},
    [BN_TYPE_I16] = {"i16", 1, 2, false, false, NULL},
    [BN_TYPE_I32] = {"i32", 1, 4, false, false, NULL},
    [BN_TYPE_I64] = {"i64", 1, 8, false, false, NULL},
    [BN_TYPE_F64] = {"f64", 1, 8, false, false, NULL},
    [BN_TYPE_BF16] = {"bf16", 1, 2, false, false, bf16_to_float},
    [BN_TYPE_TQ1_0] = {"tq1_0", BN_QK_K, sizeof(bn_block_tq1_0), true, false, tq1_0_to_float},
    [BN_TYPE_TQ2_0] = {"tq2_0", BN_QK_K, sizeof(bn_block_tq2_0), true, false, tq2_0_to_float},
    /* I2_S/TL1/TL2 sizes are tensor-wide (bn_type_nbytes); block_size is the
     * granularity ne0 must respect for our kernels. */
    [BN_TYPE_I2_S] = {"i2_s", BN_I2S_BLOCK, 32, true, true, NULL},
    [BN_TYPE_TL1] = {"tl1", 4, 1, true, true, NULL},
    [BN_TYPE_TL2] = {"tl2", 4, 1, true, true, NULL},
};

const bn_type_traits *bn_type_get(uint32_t type) {
    if (type >= BN_TYPE_COUNT || !type_traits[type].name) return NULL;
    return &type_traits[type];
}

const char *bn_type_name(uint32_t type) {
    const bn_type_traits *t = bn_type_get(type);
    if (t) return t->name;
    if (type == BN_TYPE_I8_S) return "i8_s";
    static const char *const removed[] = {"type 4 (removed q4_2)", "type 5 (removed q4_3)"};
    if (type == 4 || type == 5) return removed[type - 4];
    if (type >= 16 && type <= 23) return "an iq* type";
    if (type == 29) return "iq1_m";
    if (type >= 31 && type <= 33) return "a q4_0_x_x type";
    return "unknown type";
}

bool bn_type_nbytes(uint32_t type, const int64_t *ne, int n_dims, uint64_t *nbytes) {
    const bn_type_traits *t = bn_type_get(type);
    if (!t || n_dims < 1) return false;
    uint64_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        if (ne[i] < 0 || __builtin_mul_overflow(n, (uint64_t)ne[i], &n)) return false;
    }
    if (ne[0] % t->block_size != 0) return false;
    switch (type) {
    case BN_TYPE_I2_S:
    case BN_TYPE_TL1:
        *nbytes = n / 4 + 32; /* 2 bits per value + the scale tail */
        return true;
    case BN_TYPE_TL2: {
        /* allocation rule of bitnet.cpp's fork (spec 2.1), with ne1 = rows,
         * in its int64_t arithmetic: C division truncates toward zero, so
         * for K < 256 the first term is negative and the sum can still be a
         * valid size (small tensors). A sum <= 0 has no span. */
        if (ne[0] < 1 || n == 0) return false;
        int64_t k = ne[0], m = (int64_t)(n / (uint64_t)ne[0]), a, b;
        if (__builtin_mul_overflow(k - 256, m, &a) || __builtin_mul_overflow(a / 3, 5, &a) ||
            __builtin_mul_overflow(m, 64, &b) /* 256·m/2·4/8, exact */ ||
            __builtin_add_overflow(a / 8, b, &a))
            return false;
        if (a <= 0 || a > INT64_MAX - 64) return false;
        *nbytes = ((uint64_t)a + 31) / 32 * 32 + 32;
        return true;
    }
    default: {
        uint64_t blocks = n / (uint64_t)t->block_size;
        return !__builtin_mul_overflow(blocks, (uint64_t)t->type_size, nbytes);
    }
    }
}

size_t bn_type_row_size(uint32_t type, int64_t ne0) {
    const bn_type_traits *t = bn_type_get(type);
    if (!t) return 0;
    if (type == BN_TYPE_I2_S) return (size_t)ne0 / 4;
    return (size_t)(ne0 / t->block_size) * t->type_size;
}

void bn_i2s_to_float(const uint8_t *data, float scale, int64_t start, int64_t n, float *dst) {
    static const float value_of_code[4] = {-1.0f, 0.0f, 1.0f, 0.0f};
    for (int64_t i = 0; i < n; i++) dst[i] = value_of_code[bn_i2s_code(data, start + i)] * scale;
}
