/* The launcher API of kernels/cuda/cuda_kernels.h implemented on the host
 * with the CPU truths each launcher names, "device" memory being host
 * memory. Linked with engine/cuda/cuda_forward.c into test_cuda_forward_host
 * (label unit, every build): it checks the forward pass's orchestration
 * (buffers, layouts, the fused groups, the KV cache, the order of steps)
 * against the CPU engine without a GPU. It says nothing about the device
 * kernels themselves; tests/cuda/test_cuda_kernels.c does, on a GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_kernels.h"
#include "cuda_layout.h"
#include "f16.h"
#include "ops.h"
#include "ref/kernels_ref.h"

const char *bn_cuda_error_string(int err) {
    return err == BN_CUDA_EINVAL ? "invalid shape (host emulation)" : "host emulation error";
}

int bn_cuda_init(char *name, size_t name_size) {
    if (name_size) snprintf(name, name_size, "host emulation of the CUDA launchers (no GPU)");
    return 1;
}

int bn_cuda_malloc(void **d_ptr, size_t bytes) {
    /* 16-byte aligned like cudaMalloc's (which gives 256) */
    *d_ptr = aligned_alloc(256, (bytes + 255) / 256 * 256);
    return *d_ptr ? 0 : 2;
}

int bn_cuda_free(void *d_ptr) {
    free(d_ptr);
    return 0;
}

int bn_cuda_upload(void *d_dst, const void *src, size_t bytes) {
    memcpy(d_dst, src, bytes);
    return 0;
}

int bn_cuda_download(void *dst, const void *d_src, size_t bytes) {
    memcpy(dst, d_src, bytes);
    return 0;
}

int bn_cuda_i2s_gemv(const uint32_t *d_w, int64_t K, int64_t n_rows, const int8_t *d_q,
                     int32_t *d_out) {
    if (K <= 0 || K % 128 != 0 || n_rows <= 0) return BN_CUDA_EINVAL;
    for (int64_t r = 0; r < n_rows; r++) {
        const uint32_t *row = d_w + r * bn_k16_row_words(K);
        int32_t s = 0;
        for (int64_t k = 0; k < K; k++) s += bn_k16_code(row, k) * d_q[k];
        d_out[r] = s;
    }
    return 0;
}

int bn_cuda_i2s_gemm(const uint32_t *d_w, int64_t K, int64_t n_rows, const int8_t *d_q,
                     int64_t q_stride, int64_t n_tok, int32_t *d_out, int64_t out_stride) {
    if (K <= 0 || K % 128 != 0 || n_rows <= 0 || q_stride < K || q_stride % 16 != 0 ||
        out_stride < n_rows)
        return BN_CUDA_EINVAL;
    for (int64_t t = 0; t < n_tok; t++)
        if (bn_cuda_i2s_gemv(d_w, K, n_rows, d_q + t * q_stride, d_out + t * out_stride))
            return BN_CUDA_EINVAL;
    return 0;
}

int bn_cuda_bitlinear_out(const int32_t *d_raw, int64_t raw_stride, int64_t n_tok,
                          const int32_t *d_sum, const float *d_sx, const bn_cuda_out_part *parts,
                          int n_parts) {
    int64_t rows = 0;
    for (int p = 0; p < n_parts; p++) {
        if (parts[p].row0 != rows) return BN_CUDA_EINVAL;
        rows += parts[p].n;
    }
    if (raw_stride < rows) return BN_CUDA_EINVAL;
    for (int p = 0; p < n_parts; p++)
        for (int64_t t = 0; t < n_tok; t++) {
            float *y = parts[p].d_y + t * parts[p].n;
            bn_scale_i32_ref(d_raw + t * raw_stride + parts[p].row0, parts[p].n, (float)d_sum[t],
                             d_sx[t], parts[p].s_w, y);
            for (int64_t r = 0; r < parts[p].n; r++) {
                if (parts[p].has_post) y[r] *= parts[p].post_scale;
                if (parts[p].d_bias) y[r] += parts[p].d_bias[r];
            }
        }
    return 0;
}

int bn_cuda_quantize_i8(const float *d_x, int64_t n, int64_t n_tok, int8_t *d_q, float *d_scale,
                        int32_t *d_sum) {
    for (int64_t t = 0; t < n_tok; t++)
        bn_quantize_i8_ref(d_x + t * n, n, d_q + t * n, d_scale + t, d_sum + t);
    return 0;
}

int bn_cuda_rmsnorm_quant(const float *d_x, const float *d_w, int64_t n, int64_t n_tok, float eps,
                          float *d_y, int8_t *d_q, float *d_scale, int32_t *d_sum) {
    if (n <= 0 || n > BN_CUDA_NORM_MAX) return BN_CUDA_EINVAL;
    for (int64_t t = 0; t < n_tok; t++) {
        bn_rmsnorm_ref(d_y + t * n, d_x + t * n, d_w, n, eps);
        if (d_q) bn_quantize_i8_ref(d_y + t * n, n, d_q + t * n, d_scale + t, d_sum + t);
    }
    return 0;
}

int bn_cuda_rope(float *d_x, int n_tok, int n_heads, int head_dim, int n_rot, const float *d_cs,
                 int neox) {
    for (int t = 0; t < n_tok; t++)
        bn_rope_apply(d_x + (int64_t)t * n_heads * head_dim, n_heads, head_dim, n_rot,
                      d_cs + (int64_t)t * n_rot, neox ? BN_ROPE_NEOX : BN_ROPE_NORM);
    return 0;
}

int bn_cuda_ffn_act(float *d_g, const float *d_u, int64_t n, int silu) {
    (silu ? bn_silu_mul_ref : bn_relu2_mul_ref)(d_g, d_u, n);
    return 0;
}

int bn_cuda_head_f16(const uint16_t *d_a, int64_t K, int64_t n_rows, const float *d_x,
                     float *d_out) {
    for (int64_t r = 0; r < n_rows; r++) d_out[r] = bn_dot_f16_f32_ref(d_a + r * K, d_x, K);
    return 0;
}

size_t bn_cuda_attn_work_bytes(int n_head, int hd, int n_keys) {
    return (size_t)n_head * (size_t)bn_att_n_chunks(n_keys) * (size_t)(12 + 4 * hd);
}

int bn_cuda_attn_decode(const float *d_q, const uint16_t *d_kt, int64_t kt_stride,
                        const uint16_t *d_v, int n_head, int n_head_kv, int hd, int n_keys,
                        float *d_scores, void *d_work, float *d_out) {
    if (n_head % n_head_kv || kt_stride < n_keys) return BN_CUDA_EINVAL;
    (void)d_work;
    const int group = n_head / n_head_kv;
    for (int h = 0; h < n_head; h++) {
        const int kvh = h / group;
        const float *q[1] = {d_q + (int64_t)h * hd};
        float *s = d_scores + (int64_t)h * n_keys, *o = d_out + (int64_t)h * hd;
        float *sr[1] = {s}, *orow[1] = {o};
        bn_attn_scores_f16_ref(d_kt + (int64_t)kvh * hd * kt_stride, kt_stride, n_keys, hd, q, 1,
                               sr);
        bn_softmax_f32_ref(s, n_keys, 1.0f / sqrtf((float)hd));
        memset(o, 0, (size_t)hd * sizeof *o);
        const float *p[1] = {s};
        const int nk[1] = {n_keys};
        bn_attn_values_f16_ref(d_v + (int64_t)kvh * hd, (int64_t)n_head_kv * hd, hd, nk, p, 1,
                               orow);
    }
    return 0;
}

int bn_cuda_kv_store(const float *d_k, const float *d_v, int64_t kv_dim, int64_t cell,
                     uint16_t *d_kt, int64_t kt_stride, uint16_t *d_vc) {
    if (cell < 0 || cell >= kt_stride) return BN_CUDA_EINVAL;
    for (int64_t i = 0; i < kv_dim; i++) {
        d_kt[i * kt_stride + cell] = bn_f32_to_f16(d_k[i]);
        d_vc[cell * kv_dim + i] = bn_f32_to_f16(d_v[i]);
    }
    return 0;
}

int bn_cuda_add(float *d_x, const float *d_d, int64_t n) {
    for (int64_t i = 0; i < n; i++) d_x[i] += d_d[i];
    return 0;
}

int bn_cuda_round_f16(float *d_x, int64_t n) {
    for (int64_t i = 0; i < n; i++) d_x[i] = bn_round_f16(d_x[i]);
    return 0;
}
