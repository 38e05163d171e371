// Device buffers, errors, timing and the copy kernel (cuda_kernels.h).
#include <cuda_runtime.h>

#include <cstdio>

#include "cuda_kernels.h"

extern "C" const char *bn_cuda_error_string(int err) {
    if (err == BN_CUDA_EINVAL) return "invalid shape or alignment for this CUDA kernel";
    return cudaGetErrorString(static_cast<cudaError_t>(err));
}

extern "C" int bn_cuda_init(char *name, size_t name_size) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return -static_cast<int>(err);
    if (count == 0) return 0;
    err = cudaSetDevice(0);
    if (err != cudaSuccess) return -static_cast<int>(err);
    cudaDeviceProp prop;
    err = cudaGetDeviceProperties(&prop, 0);
    if (err != cudaSuccess) return -static_cast<int>(err);
    if (name_size)
        std::snprintf(name, name_size, "%s (sm_%d%d, %d SMs, %.1f GiB)", prop.name, prop.major,
                      prop.minor, prop.multiProcessorCount,
                      static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
    return count;
}

extern "C" int bn_cuda_malloc(void **d_ptr, size_t bytes) {
    return static_cast<int>(cudaMalloc(d_ptr, bytes ? bytes : 1));
}

extern "C" int bn_cuda_free(void *d_ptr) { return static_cast<int>(cudaFree(d_ptr)); }

extern "C" int bn_cuda_upload(void *d_dst, const void *src, size_t bytes) {
    return static_cast<int>(cudaMemcpy(d_dst, src, bytes, cudaMemcpyHostToDevice));
}

extern "C" int bn_cuda_download(void *dst, const void *d_src, size_t bytes) {
    return static_cast<int>(cudaMemcpy(dst, d_src, bytes, cudaMemcpyDeviceToHost));
}

extern "C" int bn_cuda_sync(void) { return static_cast<int>(cudaDeviceSynchronize()); }

// Grid-stride uint4 copy: reads and writes each byte once, the traffic the
// bandwidth fraction of the benchmark is measured against.
__global__ void copy_kernel(uint4 *dst, const uint4 *src, size_t n) {
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x)
        dst[i] = src[i];
}

extern "C" int bn_cuda_copy(void *d_dst, const void *d_src, size_t bytes) {
    if (bytes % 16 != 0) return BN_CUDA_EINVAL;
    int sms = 0;
    cudaError_t err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
    if (err != cudaSuccess) return static_cast<int>(err);
    copy_kernel<<<sms * 8, 512>>>(static_cast<uint4 *>(d_dst), static_cast<const uint4 *>(d_src),
                                  bytes / 16);
    return static_cast<int>(cudaGetLastError());
}

extern "C" int bn_cuda_time(int (*fn)(void *), void *arg, int reps, double *ms) {
    cudaEvent_t start, stop;
    int err = static_cast<int>(cudaEventCreate(&start));
    if (err) return err;
    err = static_cast<int>(cudaEventCreate(&stop));
    if (err) {
        cudaEventDestroy(start);
        return err;
    }
    err = fn(arg); // warm-up: first-launch costs are not the kernel's
    if (!err) err = static_cast<int>(cudaDeviceSynchronize());
    if (!err) err = static_cast<int>(cudaEventRecord(start));
    for (int i = 0; i < reps && !err; i++) err = fn(arg);
    if (!err) err = static_cast<int>(cudaEventRecord(stop));
    if (!err) err = static_cast<int>(cudaEventSynchronize(stop));
    float total = 0.0f;
    if (!err) err = static_cast<int>(cudaEventElapsedTime(&total, start, stop));
    if (!err) *ms = static_cast<double>(total) / (reps > 0 ? reps : 1);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return err;
}
