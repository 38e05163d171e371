/* Timing shared by the peak probes: best rate over runs of `iters`
 * iterations of `body` (each doing macs_per_iter multiply-adds) until
 * min_seconds have passed. */
#ifndef BN_BENCH_PEAK_TIME_H
#define BN_BENCH_PEAK_TIME_H

#include <time.h>

static inline double peak_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double peak_best_gmacs(void (*body)(long), long iters, double macs_per_iter,
                                     double min_seconds) {
    double best = 0, start = peak_now_s();
    do {
        const double t0 = peak_now_s();
        body(iters);
        const double rate = (double)iters * macs_per_iter / (peak_now_s() - t0) * 1e-9;
        if (rate > best) best = rate;
    } while (peak_now_s() - start < min_seconds);
    return best;
}

#endif
