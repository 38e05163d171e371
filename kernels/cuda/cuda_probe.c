/* The CUDA runtime is opened with dlopen when a context asks for the
 * device, so that the library neither links nor loads it for CPU runs and a
 * machine without the CUDA driver still runs everything else. */
#include "cuda_probe.h"

#include <stdio.h>

#if defined(BITNET_HAVE_CUDA)
#include <dlfcn.h>
#include <string.h>

/* The calls we need, with the runtime's C signatures (cuda_runtime_api.h;
 * cudaError_t is an int-sized enum). cudaDeviceProp grows between runtime
 * versions, so it is received into a buffer far larger than any version's;
 * only its first field, char name[256], is read. */
typedef int (*get_count_fn)(int *);
typedef const char *(*error_string_fn)(int);
typedef int (*get_props_fn)(void *, int);

bool bn_cuda_probe(char *name, size_t name_size, char *why, size_t why_size) {
    if (name_size) name[0] = '\0';
    void *rt = dlopen(BITNET_CUDART_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!rt) {
        const char *err = dlerror();
        snprintf(why, why_size, "no CUDA device: cannot load the CUDA runtime (%s)",
                 err ? err : BITNET_CUDART_SONAME);
        return false;
    }
    get_count_fn get_count = (get_count_fn)dlsym(rt, "cudaGetDeviceCount");
    error_string_fn error_string = (error_string_fn)dlsym(rt, "cudaGetErrorString");
    get_props_fn get_props = (get_props_fn)dlsym(rt, "cudaGetDeviceProperties");
    if (!get_count || !error_string) {
        snprintf(why, why_size, "no CUDA device: %s lacks cudaGetDeviceCount",
                 BITNET_CUDART_SONAME);
        dlclose(rt);
        return false;
    }
    int count = 0;
    const int err = get_count(&count);
    bool ok = false;
    if (err != 0) {
        snprintf(why, why_size, "no CUDA device: %s", error_string(err));
    } else if (count <= 0) {
        snprintf(why, why_size, "no CUDA device: cudaGetDeviceCount found none");
    } else {
        ok = true;
        union {
            char name[256];
            char bytes[8192]; /* cudaDeviceProp is about 1 KiB in CUDA 13 */
            long double align;
        } props;
        if (get_props && name_size && get_props(&props, 0) == 0) {
            props.name[255] = '\0';
            snprintf(name, name_size, "%s", props.name);
        }
    }
    dlclose(rt);
    return ok;
}

#else

bool bn_cuda_probe(char *name, size_t name_size, char *why, size_t why_size) {
    if (name_size) name[0] = '\0';
    snprintf(why, why_size,
             "built without CUDA (configure with nvcc on PATH or -DBITNET_CUDA=ON; docs/cuda.md)");
    return false;
}

#endif
