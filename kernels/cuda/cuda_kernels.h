/* The CUDA kernels' host API (C, no CUDA headers needed): device buffers,
 * and one launcher per kernel. Each kernel's truth is a CPU function named
 * beside it; tests/cuda/test_cuda_kernels.c compares them. Pointers named
 * d_* are device memory. Launchers are asynchronous on the default stream
 * and return 0 or a cudaError_t value (bn_cuda_error_string names it);
 * a bad shape gives BN_CUDA_EINVAL before anything is launched. */
#ifndef BN_CUDA_KERNELS_H
#define BN_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BN_CUDA_EINVAL (-1)

const char *bn_cuda_error_string(int err);
/* Number of devices, or a negative cudaError_t; sets device 0 current. */
int bn_cuda_init(char *name, size_t name_size);
int bn_cuda_malloc(void **d_ptr, size_t bytes);
int bn_cuda_free(void *d_ptr);
int bn_cuda_upload(void *d_dst, const void *src, size_t bytes);
int bn_cuda_download(void *dst, const void *d_src, size_t bytes);
int bn_cuda_sync(void);

/* Ternary GEMV (truth: bn_i2s_gemv_ref on the I2_S bytes): d_w is
 * [n_rows][K/16] K16 words (bn_k16_repack_i2s), d_q [K] int8 (16-byte
 * aligned), d_out[r] = Σ_k code·q. */
int bn_cuda_i2s_gemv(const uint32_t *d_w, int64_t K, int64_t n_rows, const int8_t *d_q,
                     int32_t *d_out);

/* Ternary GEMM on the int8 tensor cores (truth: bn_i2s_gemm_ref):
 * d_q [n_tok][q_stride] int8, q_stride % 16 == 0;
 * d_out[t·out_stride + r]. Needs sm_80 or newer. */
int bn_cuda_i2s_gemm(const uint32_t *d_w, int64_t K, int64_t n_rows, const int8_t *d_q,
                     int64_t q_stride, int64_t n_tok, int32_t *d_out, int64_t out_stride);

/* BitLinear output (truth: bn_scale_i32_ref): d_y[i] = ((float)raw - sum_q) / s_x · s_w. */
int bn_cuda_scale_i32(const int32_t *d_raw, int64_t n, float sum_q, float s_x, float s_w,
                      float *d_y);

/* The BitLinear outputs of a fused group (engine/model/cuda_weights.h), with
 * the token's Σq and scale read on the device where the quantizer wrote
 * them (truth: matmul.c's finish_rows per part: bn_scale_i32_ref, then ×
 * post_scale when has_post, then + bias). d_raw [n_tok][raw_stride]; part p
 * takes rows [row0, row0 + n) and writes d_y [n_tok][n]. */
#define BN_CUDA_MAX_OUT_PARTS 4
typedef struct bn_cuda_out_part {
    int64_t row0, n;
    float s_w, post_scale;
    int has_post;
    const float *d_bias; /* [n] or NULL */
    float *d_y;
} bn_cuda_out_part;
int bn_cuda_bitlinear_out(const int32_t *d_raw, int64_t raw_stride, int64_t n_tok,
                          const int32_t *d_sum, const float *d_sx, const bn_cuda_out_part *parts,
                          int n_parts);

/* Per-token int8 quantization of n_tok rows of n floats (truth:
 * bn_quantize_i8_ref per row): d_q [n_tok][n], d_scale [n_tok], d_sum [n_tok]. */
int bn_cuda_quantize_i8(const float *d_x, int64_t n, int64_t n_tok, int8_t *d_q, float *d_scale,
                        int32_t *d_sum);

/* RMSNorm of n_tok rows (truth: bn_rmsnorm_ref), then, when d_q is not NULL,
 * the int8 quantization of the normed row (the BitLinear input) in the same
 * kernel. d_y may be d_x. n <= BN_CUDA_NORM_MAX. */
#define BN_CUDA_NORM_MAX 12288
int bn_cuda_rmsnorm_quant(const float *d_x, const float *d_w, int64_t n, int64_t n_tok, float eps,
                          float *d_y, int8_t *d_q, float *d_scale, int32_t *d_sum);

/* NEOX/NORM RoPE in place (truth: bn_rope_apply): d_x [n_tok][n_heads·head_dim],
 * d_cs [n_tok][n_rot] (bn_rope_table of each token's position). neox: 1/0. */
int bn_cuda_rope(float *d_x, int n_tok, int n_heads, int head_dim, int n_rot, const float *d_cs,
                 int neox);

/* FFN activation in place (truth: bn_silu_mul_ref, bn_relu2_mul_ref): g = act(g)·u; silu 1
 * for SiLU, 0 for ReLU². */
int bn_cuda_ffn_act(float *d_g, const float *d_u, int64_t n, int silu);

/* One token's K and V into the F16 cache of one layer at cell `cell` (truth:
 * bn_f32_to_f16 of each value, as bn_kv_store in compat mode; finite
 * values): d_kt [n_kv·hd][kt_stride] (keys transposed), d_vc [cells][n_kv·hd]. */
int bn_cuda_kv_store(const float *d_k, const float *d_v, int64_t kv_dim, int64_t cell,
                     uint16_t *d_kt, int64_t kt_stride, uint16_t *d_vc);

/* x += d (the residual add; exact). */
int bn_cuda_add(float *d_x, const float *d_d, int64_t n);

/* x = (float)F16(x) in place (compat's rounding of the hidden state before
 * an F16 head; truth: bn_round_f16, finite values). */
int bn_cuda_round_f16(float *d_x, int64_t n);

/* F16 output head (truth: bn_dot_f16_f32_ref per row): d_out[r] = Σ_k a[r][k]·x[k],
 * d_a [n_rows][K] F16 bits. */
int bn_cuda_head_f16(const uint16_t *d_a, int64_t K, int64_t n_rows, const float *d_x,
                     float *d_out);

/* Attention decode for one token, split over the cache (cuda_layout.h):
 * d_q [n_head][hd] float; d_kt [n_head_kv][hd][kt_stride] F16 (keys
 * transposed, n_keys used); d_v [n_keys][n_head_kv·hd] F16; d_out
 * [n_head][hd]. d_scores [n_head][n_keys] receives the raw q·k chains
 * (truth: bn_attn_scores_f16_ref, bit for bit); d_work holds
 * bn_cuda_attn_work_bytes(n_head, hd, n_keys) bytes.
 * Truth of d_out: bn_softmax_f32_ref(1/sqrt(hd)) then bn_attn_values_f16_ref. */
size_t bn_cuda_attn_work_bytes(int n_head, int hd, int n_keys);
int bn_cuda_attn_decode(const float *d_q, const uint16_t *d_kt, int64_t kt_stride,
                        const uint16_t *d_v, int n_head, int n_head_kv, int hd, int n_keys,
                        float *d_scores, void *d_work, float *d_out);

/* Device-to-device copy of `bytes` (a multiple of 16) with a plain kernel:
 * the yardstick of the benchmark's bandwidth fraction. */
int bn_cuda_copy(void *d_dst, const void *d_src, size_t bytes);

/* Times `reps` launches of fn(arg) with CUDA events; milliseconds per
 * launch in *ms. */
int bn_cuda_time(int (*fn)(void *), void *arg, int reps, double *ms);

#ifdef __cplusplus
}
#endif

#endif
