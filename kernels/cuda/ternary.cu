// Ternary × int8 kernels over K16 weights (cuda_layout.h): the decode GEMV
// on __dp4a and the prefill GEMM on mma.sync m16n8k32 s8. Both give the raw
// integer sums of kernels.h's i2s_gemv / i2s_gemm, bit for bit.
#include <cuda_runtime.h>

#include "cuda_kernels.h"
#include "cuda_layout.h"

// One warp per row. Each lane reads uint4 groups (64 codes) of its row and
// the matching 64 activation bytes; lanes of a warp read consecutive
// groups, so every load instruction of the warp covers 512 bytes of weights.
__global__ void __launch_bounds__(32 * BN_GEMV_WARPS)
    i2s_gemv_kernel(const uint32_t *__restrict__ w, int64_t K, int64_t n_rows,
                    const int8_t *__restrict__ q, int32_t *__restrict__ out) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t r = bn_gemv_row(blockIdx.x, warp);
    if (r >= n_rows) return;
    const uint4 *row = reinterpret_cast<const uint4 *>(w + r * bn_k16_row_words(K)); // [K/64]
    const int4 *qv = reinterpret_cast<const int4 *>(q);                              // [K/16]
    const int64_t groups = K / 64;
    int acc = 0;
    for (int64_t g = lane; g < groups; g += 32) {
        const uint4 codes = __ldg(row + g);
        const uint32_t word[4] = {codes.x, codes.y, codes.z, codes.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int4 x = __ldg(qv + 4 * g + i); // the 16 activations of word i
            const int xs[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
            for (int b = 0; b < 4; b++)
                acc = __dp4a(static_cast<int>(bn_k16_expand4((word[i] >> (8 * b)) & 0xffu)), xs[b],
                             acc);
        }
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) out[r] = acc;
}

extern "C" int bn_cuda_i2s_gemv(const uint32_t *d_w, int64_t K, int64_t n_rows, const int8_t *d_q,
                                int32_t *d_out) {
    if (K <= 0 || K % 128 != 0 || n_rows <= 0 || reinterpret_cast<uintptr_t>(d_q) % 16 != 0)
        return BN_CUDA_EINVAL;
    const bn_gemv_plan p = bn_gemv_plan_for(n_rows);
    i2s_gemv_kernel<<<static_cast<unsigned>(p.n_blocks), p.threads>>>(d_w, K, n_rows, d_q, d_out);
    return static_cast<int>(cudaGetLastError());
}

__device__ __forceinline__ void mma_s8(int c[4], const uint32_t a[4], const uint32_t b[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap(); // the build targets sm_80+; the launcher also checks the device
#endif
}

// A first, register-only tiling: each warp loads its fragments straight
// from global memory (A rows as 32-bit words, B as K16 bytes expanded to
// s8), no shared-memory staging yet (docs/cuda.md: prefill plan).
__global__ void __launch_bounds__(32 * BN_MMA_WARPS_M * BN_MMA_WARPS_N)
    i2s_gemm_kernel(const uint32_t *__restrict__ w, int64_t K, int64_t n_rows,
                    const int8_t *__restrict__ q, int64_t q_stride, int64_t n_tok,
                    int32_t *__restrict__ out, int64_t out_stride) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t bx = blockIdx.x, by = blockIdx.y;
    const int64_t words = bn_k16_row_words(K);
    int acc[BN_MMA_WM][BN_MMA_WN][4] = {};
    for (int64_t k0 = 0; k0 < K; k0 += 32) {
        uint32_t a[BN_MMA_WM][4], b[BN_MMA_WN][2];
#pragma unroll
        for (int i = 0; i < BN_MMA_WM; i++) {
            const int64_t t0 = bn_gemm_tile_tok(by, warp, i);
#pragma unroll
            for (int reg = 0; reg < 4; reg++) {
                const int64_t t = t0 + bn_mma_a_row(lane, reg);
                const int64_t k = k0 + bn_mma_a_col(lane, reg);
                a[i][reg] = t < n_tok
                                ? __ldg(reinterpret_cast<const uint32_t *>(q + t * q_stride + k))
                                : 0u;
            }
        }
#pragma unroll
        for (int j = 0; j < BN_MMA_WN; j++) {
            const int64_t r = bn_gemm_tile_row(bx, warp, j) + bn_mma_b_col(lane);
#pragma unroll
            for (int reg = 0; reg < 2; reg++) {
                const int64_t k = k0 + bn_mma_b_row(lane, reg); // k % 16 is 0, 4, 8 or 12
                const uint32_t word = r < n_rows ? __ldg(w + r * words + k / 16) : 0u;
                b[j][reg] = bn_k16_expand4((word >> (2 * (k % 16))) & 0xffu);
            }
        }
#pragma unroll
        for (int i = 0; i < BN_MMA_WM; i++)
#pragma unroll
            for (int j = 0; j < BN_MMA_WN; j++) mma_s8(acc[i][j], a[i], b[j]);
    }
#pragma unroll
    for (int i = 0; i < BN_MMA_WM; i++)
#pragma unroll
        for (int j = 0; j < BN_MMA_WN; j++)
#pragma unroll
            for (int reg = 0; reg < 4; reg++) {
                int64_t t, r;
                bn_gemm_out_elem(bx, by, warp, i, j, lane, reg, &t, &r);
                if (t < n_tok && r < n_rows) out[t * out_stride + r] = acc[i][j][reg];
            }
}

extern "C" int bn_cuda_i2s_gemm(const uint32_t *d_w, int64_t K, int64_t n_rows, const int8_t *d_q,
                                int64_t q_stride, int64_t n_tok, int32_t *d_out,
                                int64_t out_stride) {
    if (K <= 0 || K % 128 != 0 || n_rows <= 0 || n_tok <= 0 || q_stride < K || q_stride % 16 != 0 ||
        out_stride < n_rows || reinterpret_cast<uintptr_t>(d_q) % 16 != 0)
        return BN_CUDA_EINVAL;
    int major = 0;
    cudaError_t err = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
    if (err != cudaSuccess) return static_cast<int>(err);
    if (major < 8) return static_cast<int>(cudaErrorNoKernelImageForDevice);
    const bn_gemm_plan p = bn_gemm_plan_for(n_tok, n_rows);
    if (p.grid_y > 65535) return BN_CUDA_EINVAL;
    const dim3 grid(static_cast<unsigned>(p.grid_x), static_cast<unsigned>(p.grid_y));
    i2s_gemm_kernel<<<grid, p.threads>>>(d_w, K, n_rows, d_q, q_stride, n_tok, d_out, out_stride);
    return static_cast<int>(cudaGetLastError());
}

// IEEE division and multiplication in this order, as on the CPU (no FMA is
// possible here; --fmad=false covers the build anyway).
__global__ void scale_i32_kernel(const int32_t *__restrict__ raw, int64_t n, float sum_q, float s_x,
                                 float s_w, float *__restrict__ y) {
    const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (i < n) y[i] = __fmul_rn(__fdiv_rn(__fsub_rn(static_cast<float>(raw[i]), sum_q), s_x), s_w);
}

struct out_parts {
    bn_cuda_out_part p[BN_CUDA_MAX_OUT_PARTS];
    int n;
};

// One thread per (token, row) of the group; parts are found by a scan of at
// most four ranges. The operations of finish_rows, each rounded once.
__global__ void bitlinear_out_kernel(const int32_t *__restrict__ raw, int64_t raw_stride,
                                     int64_t rows, const int32_t *__restrict__ sum,
                                     const float *__restrict__ sx, out_parts parts) {
    const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    const int64_t t = blockIdx.y;
    if (r >= rows) return;
    int i = 0;
    while (i + 1 < parts.n && r >= parts.p[i + 1].row0) i++;
    const bn_cuda_out_part &p = parts.p[i];
    const int64_t j = r - p.row0;
    float y = __fmul_rn(__fdiv_rn(__fsub_rn(static_cast<float>(raw[t * raw_stride + r]),
                                            static_cast<float>(sum[t])),
                                  sx[t]),
                        p.s_w);
    if (p.has_post) y = __fmul_rn(y, p.post_scale);
    if (p.d_bias) y = __fadd_rn(y, p.d_bias[j]);
    p.d_y[t * p.n + j] = y;
}

extern "C" int bn_cuda_bitlinear_out(const int32_t *d_raw, int64_t raw_stride, int64_t n_tok,
                                     const int32_t *d_sum, const float *d_sx,
                                     const bn_cuda_out_part *parts, int n_parts) {
    if (n_parts < 1 || n_parts > BN_CUDA_MAX_OUT_PARTS || n_tok <= 0 || n_tok > 65535)
        return BN_CUDA_EINVAL;
    out_parts op = {};
    int64_t rows = 0;
    for (int i = 0; i < n_parts; i++) {
        if (parts[i].row0 != rows || parts[i].n <= 0 || !parts[i].d_y) return BN_CUDA_EINVAL;
        op.p[i] = parts[i];
        rows += parts[i].n;
    }
    op.n = n_parts;
    if (raw_stride < rows) return BN_CUDA_EINVAL;
    const dim3 grid(static_cast<unsigned>((rows + 255) / 256), static_cast<unsigned>(n_tok));
    bitlinear_out_kernel<<<grid, 256>>>(d_raw, raw_stride, rows, d_sum, d_sx, op);
    return static_cast<int>(cudaGetLastError());
}

extern "C" int bn_cuda_scale_i32(const int32_t *d_raw, int64_t n, float sum_q, float s_x, float s_w,
                                 float *d_y) {
    if (n <= 0) return BN_CUDA_EINVAL;
    scale_i32_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(d_raw, n, sum_q, s_x, s_w,
                                                                      d_y);
    return static_cast<int>(cudaGetLastError());
}
