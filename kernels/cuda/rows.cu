// Row kernels: int8 activation quantization (alone and fused after RMSNorm),
// RoPE, the FFN activations and the F16 output head. Float order follows
// the CPU code named in cuda_kernels.h; the build has --fmad=false and the
// intrinsics below spell out IEEE rounding where it matters.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda_kernels.h"

#define ROW_THREADS 256

// ggml's nearest_int, the very bit trick of kernels/ref/quantize_ref.c, so
// that NaN and ties give the reference's integers too.
__device__ __forceinline__ int nearest_int(float v) {
    const int bits = __float_as_int(__fadd_rn(v, 12582912.0f));
    return (bits & 0x007fffff) - 0x00400000;
}

template <typename T> __device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int off = 16; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

// Block-wide reductions over ROW_THREADS threads; every thread gets the result.
template <typename T> __device__ T block_sum(T v, T *scratch /* [32] */) {
    v = warp_sum(v);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); // scratch may still be read by a previous reduction
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T total = lane < ROW_THREADS / 32 ? scratch[lane] : T(0);
    return warp_sum(total);
}

__device__ float block_max(float v, float *scratch /* [32] */) {
    v = warp_max(v);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float m = lane < ROW_THREADS / 32 ? scratch[lane] : 0.0f;
    return warp_max(m);
}

// Spec 1.2 for one row, by one block. fmaxf ignores NaN as the reference's
// `a > max` does; max(|x|) is exact in float, so taking it before widening
// to double changes nothing.
__device__ void quantize_row(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum) {
    __shared__ float fscratch[32];
    __shared__ int iscratch[32];
    float m = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += ROW_THREADS) m = fmaxf(m, fabsf(x[i]));
    m = block_max(m, fscratch);
    const double max = static_cast<double>(m) > 0.00001 ? static_cast<double>(m) : 0.00001;
    const float s = static_cast<float>(__ddiv_rn(127.0, max));
    int total = 0;
    for (int64_t i = threadIdx.x; i < n; i += ROW_THREADS) {
        int v = nearest_int(__fmul_rn(x[i], s));
        v = v > 127 ? 127 : v < -128 ? -128 : v;
        q[i] = static_cast<int8_t>(v);
        total += v;
    }
    total = block_sum(total, iscratch);
    if (threadIdx.x == 0) {
        *scale = s;
        *sum = total;
    }
}

__global__ void __launch_bounds__(ROW_THREADS)
    quantize_kernel(const float *__restrict__ x, int64_t n, int8_t *__restrict__ q,
                    float *__restrict__ scale, int32_t *__restrict__ sum) {
    const int64_t t = blockIdx.x;
    quantize_row(x + t * n, n, q + t * n, scale + t, sum + t);
}

extern "C" int bn_cuda_quantize_i8(const float *d_x, int64_t n, int64_t n_tok, int8_t *d_q,
                                   float *d_scale, int32_t *d_sum) {
    if (n <= 0 || n_tok <= 0 || n_tok > 0x7fffffff) return BN_CUDA_EINVAL;
    quantize_kernel<<<static_cast<unsigned>(n_tok), ROW_THREADS>>>(d_x, n, d_q, d_scale, d_sum);
    return static_cast<int>(cudaGetLastError());
}

// bn_rmsnorm_ref's math with one difference: the double sum of squares is a
// tree over the block instead of sixteen running sums. Squares of floats are
// exact in double, so only the order of double additions differs; the
// float mean then differs from the CPU's only when that order moves it
// across a rounding boundary (docs/cuda.md: tolerance).
__global__ void __launch_bounds__(ROW_THREADS)
    rmsnorm_quant_kernel(const float *x, const float *__restrict__ w, int64_t n, float eps,
                         float *y, int8_t *__restrict__ q, float *__restrict__ scale,
                         int32_t *__restrict__ sum) {
    extern __shared__ float ys[]; // [n]: the normed row, quantized from here
    __shared__ double dscratch[32];
    const int64_t t = blockIdx.x;
    const float *xr = x + t * n;
    double ss = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += ROW_THREADS) {
        const double v = static_cast<double>(xr[i]);
        ss = __dadd_rn(ss, __dmul_rn(v, v));
    }
    ss = block_sum(ss, dscratch);
    const float mean = static_cast<float>(__ddiv_rn(ss, static_cast<double>(n)));
    const float inv = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(mean, eps)));
    for (int64_t i = threadIdx.x; i < n; i += ROW_THREADS)
        ys[i] = __fmul_rn(__fmul_rn(xr[i], inv), w[i]);
    __syncthreads(); // every x read before y (which may be x) is written
    for (int64_t i = threadIdx.x; i < n; i += ROW_THREADS) y[t * n + i] = ys[i];
    if (q) quantize_row(ys, n, q + t * n, scale + t, sum + t);
}

extern "C" int bn_cuda_rmsnorm_quant(const float *d_x, const float *d_w, int64_t n, int64_t n_tok,
                                     float eps, float *d_y, int8_t *d_q, float *d_scale,
                                     int32_t *d_sum) {
    if (n <= 0 || n > BN_CUDA_NORM_MAX || n_tok <= 0 || n_tok > 0x7fffffff) return BN_CUDA_EINVAL;
    if (d_q && (!d_scale || !d_sum)) return BN_CUDA_EINVAL;
    const size_t smem = static_cast<size_t>(n) * sizeof(float);
    cudaError_t err = cudaFuncSetAttribute(
        rmsnorm_quant_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (err != cudaSuccess) return static_cast<int>(err);
    rmsnorm_quant_kernel<<<static_cast<unsigned>(n_tok), ROW_THREADS, smem>>>(d_x, d_w, n, eps, d_y,
                                                                              d_q, d_scale, d_sum);
    return static_cast<int>(cudaGetLastError());
}

// One thread per rotated pair; the products and sums of bn_rope_apply in
// its order, each rounded once.
__global__ void rope_kernel(float *x, int n_tok, int n_heads, int head_dim, int n_rot,
                            const float *__restrict__ cs, int neox) {
    const int half = n_rot / 2;
    const int64_t id = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (id >= static_cast<int64_t>(n_tok) * n_heads * half) return;
    const int i = static_cast<int>(id % half);
    const int64_t th = id / half; // token · n_heads + head
    const int64_t tok = th / n_heads;
    float *v = x + th * head_dim;
    const float c = cs[tok * n_rot + 2 * i], s = cs[tok * n_rot + 2 * i + 1];
    const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
    const float x0 = v[a], x1 = v[b];
    v[a] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
    v[b] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
}

extern "C" int bn_cuda_rope(float *d_x, int n_tok, int n_heads, int head_dim, int n_rot,
                            const float *d_cs, int neox) {
    if (n_tok <= 0 || n_heads <= 0 || n_rot <= 0 || n_rot % 2 || n_rot > head_dim)
        return BN_CUDA_EINVAL;
    const int64_t n = static_cast<int64_t>(n_tok) * n_heads * (n_rot / 2);
    rope_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(d_x, n_tok, n_heads, head_dim,
                                                                 n_rot, d_cs, neox);
    return static_cast<int>(cudaGetLastError());
}

// ReLU² is exact (the CPU's bits); SiLU's expf is CUDA's (≤ 2 ulp, docs/cuda.md).
__global__ void ffn_act_kernel(float *g, const float *__restrict__ u, int64_t n, int silu) {
    const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (i >= n) return;
    const float x = g[i];
    if (silu) {
        g[i] = __fmul_rn(__fdiv_rn(x, __fadd_rn(1.0f, expf(-x))), u[i]);
    } else {
        const float r = x > 0.0f ? x : 0.0f;
        g[i] = __fmul_rn(__fmul_rn(r, r), u[i]);
    }
}

extern "C" int bn_cuda_ffn_act(float *d_g, const float *d_u, int64_t n, int silu) {
    if (n <= 0) return BN_CUDA_EINVAL;
    ffn_act_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(d_g, d_u, n, silu);
    return static_cast<int>(cudaGetLastError());
}

__global__ void kv_store_kernel(const float *__restrict__ k, const float *__restrict__ v,
                                int64_t kv_dim, int64_t cell, uint16_t *__restrict__ kt,
                                int64_t kt_stride, uint16_t *__restrict__ vc) {
    const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (i >= kv_dim) return;
    kt[i * kt_stride + cell] = __half_as_ushort(__float2half_rn(k[i]));
    vc[cell * kv_dim + i] = __half_as_ushort(__float2half_rn(v[i]));
}

extern "C" int bn_cuda_kv_store(const float *d_k, const float *d_v, int64_t kv_dim, int64_t cell,
                                uint16_t *d_kt, int64_t kt_stride, uint16_t *d_vc) {
    if (kv_dim <= 0 || cell < 0 || cell >= kt_stride) return BN_CUDA_EINVAL;
    kv_store_kernel<<<static_cast<unsigned>((kv_dim + 255) / 256), 256>>>(d_k, d_v, kv_dim, cell,
                                                                          d_kt, kt_stride, d_vc);
    return static_cast<int>(cudaGetLastError());
}

__global__ void add_kernel(float *x, const float *__restrict__ d, int64_t n) {
    const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (i < n) x[i] = __fadd_rn(x[i], d[i]);
}

extern "C" int bn_cuda_add(float *d_x, const float *d_d, int64_t n) {
    if (n <= 0) return BN_CUDA_EINVAL;
    add_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(d_x, d_d, n);
    return static_cast<int>(cudaGetLastError());
}

__global__ void round_f16_kernel(float *x, int64_t n) {
    const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (i < n) x[i] = __half2float(__float2half_rn(x[i]));
}

extern "C" int bn_cuda_round_f16(float *d_x, int64_t n) {
    if (n <= 0) return BN_CUDA_EINVAL;
    round_f16_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(d_x, n);
    return static_cast<int>(cudaGetLastError());
}

// F16 head: one warp per row. Rows whose start is 16-byte aligned (K % 8
// == 0) are read 8 halves per lane per load; others one half at a time.
__global__ void __launch_bounds__(256)
    head_f16_kernel(const uint16_t *__restrict__ a, int64_t K, int64_t n_rows,
                    const float *__restrict__ x, float *__restrict__ out) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t r = blockIdx.x * 8 + warp;
    if (r >= n_rows) return;
    const uint16_t *row = a + r * K;
    float acc = 0.0f;
    if (K % 8 == 0) {
        const uint4 *rv = reinterpret_cast<const uint4 *>(row);
        for (int64_t g = lane; g < K / 8; g += 32) {
            const uint4 u = __ldg(rv + g);
            const uint32_t p[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const float lo = __half2float(__ushort_as_half(static_cast<unsigned short>(p[i])));
                const float hi =
                    __half2float(__ushort_as_half(static_cast<unsigned short>(p[i] >> 16)));
                acc = __fadd_rn(acc, __fmul_rn(lo, __ldg(x + 8 * g + 2 * i)));
                acc = __fadd_rn(acc, __fmul_rn(hi, __ldg(x + 8 * g + 2 * i + 1)));
            }
        }
    } else {
        for (int64_t k = lane; k < K; k += 32)
            acc = __fadd_rn(acc, __fmul_rn(__half2float(__ushort_as_half(row[k])), __ldg(x + k)));
    }
    acc = warp_sum(acc);
    if (lane == 0) out[r] = acc;
}

extern "C" int bn_cuda_head_f16(const uint16_t *d_a, int64_t K, int64_t n_rows, const float *d_x,
                                float *d_out) {
    if (K <= 0 || n_rows <= 0 || reinterpret_cast<uintptr_t>(d_a) % 16 != 0) return BN_CUDA_EINVAL;
    head_f16_kernel<<<static_cast<unsigned>((n_rows + 7) / 8), 256>>>(d_a, K, n_rows, d_x, d_out);
    return static_cast<int>(cudaGetLastError());
}
