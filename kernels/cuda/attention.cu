// Attention decode for one token over the F16 cache, split over the cells
// (cuda_layout.h, BN_ATT_CHUNK keys a block) so that a long cache fills the
// device at batch 1: scores + chunk maxima, then per chunk exp and partial
// V sums against the global maximum, then one combine per head.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda_kernels.h"
#include "cuda_layout.h"

#define ATT_THREADS BN_ATT_CHUNK // one key per thread in the score pass
#define VAL_THREADS 128

__device__ __forceinline__ float f16(uint16_t h) { return __half2float(__ushort_as_half(h)); }

// Work buffer: sums [n_head][n_chunks] double, maxima [n_head][n_chunks],
// partial outputs [n_head][n_chunks][hd].
struct att_work {
    double *sum;
    float *max;
    float *out;
};

__host__ __device__ inline att_work att_work_at(void *base, int n_head, int n_chunks) {
    att_work w;
    w.sum = static_cast<double *>(base);
    w.max = reinterpret_cast<float *>(w.sum + static_cast<size_t>(n_head) * n_chunks);
    w.out = w.max + static_cast<size_t>(n_head) * n_chunks;
    return w;
}

extern "C" size_t bn_cuda_attn_work_bytes(int n_head, int hd, int n_keys) {
    const size_t hc = static_cast<size_t>(n_head) * static_cast<size_t>(bn_att_n_chunks(n_keys));
    return hc * (sizeof(double) + sizeof(float) + static_cast<size_t>(hd) * sizeof(float));
}

// Thread j of chunk c: key c·CHUNK + j, the fmaf chain over d of kernels.h's
// attn_scores_f16 (bit for bit); reads of kt[d][j..] are coalesced.
__global__ void __launch_bounds__(ATT_THREADS)
    att_scores_kernel(const float *__restrict__ q, const uint16_t *__restrict__ kt,
                      int64_t kt_stride, int group, int hd, int n_keys, float scale,
                      float *__restrict__ scores, att_work w, int n_chunks) {
    extern __shared__ float qs[]; // [hd]
    __shared__ float red[ATT_THREADS / 32];
    const int c = blockIdx.x, h = blockIdx.y, kvh = h / group;
    for (int d = threadIdx.x; d < hd; d += ATT_THREADS) qs[d] = q[static_cast<int64_t>(h) * hd + d];
    __syncthreads();
    int first, count;
    bn_att_chunk(n_keys, c, &first, &count);
    const int j = first + static_cast<int>(threadIdx.x);
    float m = -INFINITY;
    if (static_cast<int>(threadIdx.x) < count) {
        const uint16_t *col = kt + static_cast<int64_t>(kvh) * hd * kt_stride + j;
        float acc = 0.0f;
        for (int d = 0; d < hd; d++) acc = fmaf(f16(col[d * kt_stride]), qs[d], acc);
        scores[static_cast<int64_t>(h) * n_keys + j] = acc;
        m = __fmul_rn(acc, scale);
    }
    for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
        float mm = red[0];
        for (int i = 1; i < ATT_THREADS / 32; i++) mm = fmaxf(mm, red[i]);
        w.max[static_cast<int64_t>(h) * n_chunks + c] = mm;
    }
}

// exp against the maximum over all chunks (the CPU's single max), the
// chunk's Σe in double, and the chunk's Σ_j v[j][d]·e_j as fmaf chains in j
// order; normalization waits for the combine.
__global__ void __launch_bounds__(VAL_THREADS)
    att_values_kernel(const float *__restrict__ scores, const uint16_t *__restrict__ v, int group,
                      int n_head_kv, int hd, int n_keys, float scale, att_work w, int n_chunks) {
    __shared__ float p[BN_ATT_CHUNK];
    __shared__ double dred[VAL_THREADS / 32];
    const int c = blockIdx.x, h = blockIdx.y, kvh = h / group;
    float gmax = -INFINITY;
    for (int i = 0; i < n_chunks; i++)
        gmax = fmaxf(gmax, w.max[static_cast<int64_t>(h) * n_chunks + i]);
    int first, count;
    bn_att_chunk(n_keys, c, &first, &count);
    double part = 0.0;
    for (int j = threadIdx.x; j < count; j += VAL_THREADS) {
        const float s = __fmul_rn(scores[static_cast<int64_t>(h) * n_keys + first + j], scale);
        const float e = expf(__fsub_rn(s, gmax));
        p[j] = e;
        part = __dadd_rn(part, static_cast<double>(e));
    }
    for (int off = 16; off > 0; off /= 2) part += __shfl_xor_sync(0xffffffffu, part, off);
    if (threadIdx.x % 32 == 0) dred[threadIdx.x / 32] = part;
    __syncthreads();
    const int64_t hc = static_cast<int64_t>(h) * n_chunks + c;
    if (threadIdx.x == 0) {
        double s = 0.0;
        for (int i = 0; i < VAL_THREADS / 32; i++) s += dred[i];
        w.sum[hc] = s;
    }
    const int64_t v_stride = static_cast<int64_t>(n_head_kv) * hd;
    const uint16_t *vb =
        v + static_cast<int64_t>(first) * v_stride + static_cast<int64_t>(kvh) * hd;
    for (int d = threadIdx.x; d < hd; d += VAL_THREADS) {
        float acc = 0.0f;
        for (int j = 0; j < count; j++) acc = fmaf(f16(vb[j * v_stride + d]), p[j], acc);
        w.out[hc * hd + d] = acc;
    }
}

__global__ void __launch_bounds__(VAL_THREADS)
    att_combine_kernel(int hd, att_work w, int n_chunks, float *__restrict__ out) {
    const int h = blockIdx.x;
    double sum = 0.0;
    for (int i = 0; i < n_chunks; i++) sum += w.sum[static_cast<int64_t>(h) * n_chunks + i];
    const float inv = static_cast<float>(__ddiv_rn(1.0, sum));
    for (int d = threadIdx.x; d < hd; d += VAL_THREADS) {
        float acc = 0.0f;
        for (int i = 0; i < n_chunks; i++)
            acc = __fadd_rn(acc, w.out[(static_cast<int64_t>(h) * n_chunks + i) * hd + d]);
        out[static_cast<int64_t>(h) * hd + d] = __fmul_rn(acc, inv);
    }
}

extern "C" int bn_cuda_attn_decode(const float *d_q, const uint16_t *d_kt, int64_t kt_stride,
                                   const uint16_t *d_v, int n_head, int n_head_kv, int hd,
                                   int n_keys, float *d_scores, void *d_work, float *d_out) {
    if (n_head <= 0 || n_head_kv <= 0 || n_head % n_head_kv || hd <= 0 || hd > 1024 ||
        n_keys <= 0 || kt_stride < n_keys)
        return BN_CUDA_EINVAL;
    const int n_chunks = bn_att_n_chunks(n_keys);
    const int group = n_head / n_head_kv;
    const float scale = 1.0f / sqrtf(static_cast<float>(hd)); // as attention.c
    const att_work w = att_work_at(d_work, n_head, n_chunks);
    const dim3 grid(static_cast<unsigned>(n_chunks), static_cast<unsigned>(n_head));
    att_scores_kernel<<<grid, ATT_THREADS, static_cast<size_t>(hd) * sizeof(float)>>>(
        d_q, d_kt, kt_stride, group, hd, n_keys, scale, d_scores, w, n_chunks);
    att_values_kernel<<<grid, VAL_THREADS>>>(d_scores, d_v, group, n_head_kv, hd, n_keys, scale, w,
                                             n_chunks);
    att_combine_kernel<<<static_cast<unsigned>(n_head), VAL_THREADS>>>(hd, w, n_chunks, d_out);
    return static_cast<int>(cudaGetLastError());
}
