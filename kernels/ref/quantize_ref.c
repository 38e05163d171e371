#include <math.h>
#include <string.h>

#include "kernels_ref.h"

/* Round half to even the way ggml's nearest_int does: adding 1.5*2^23 puts the
 * integer part in the low mantissa bits (valid for |v| <= 2^22, which holds
 * because |x*scale| <= 127 up to rounding). */
static inline int nearest_int(float v) {
    float shifted = v + 12582912.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

void bn_quantize_i8_ref(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum) {
    double max = 0.00001;
    for (int64_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (a > max) max = a;
    }
    const float s = (float)(127.0 / max);
    int32_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        int v = nearest_int(x[i] * s);
        if (v > 127) v = 127;
        if (v < -128) v = -128;
        q[i] = (int8_t)v;
        total += v;
    }
    *scale = s;
    *sum = total;
}
