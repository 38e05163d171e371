/* Speed measurement helpers: memory read bandwidth of this machine, measured
 * in the same run as the decode speeds it normalises, and robust summaries
 * (median, spread) of repetition samples. */
#ifndef BV_BENCH_H
#define BV_BENCH_H

#include <stddef.h>

/* Single-thread read bandwidth in GB/s (1e9 bytes/s): the best of `reps`
 * passes summing a buffer of `bytes` (make it much larger than the last-level
 * cache). 0 if the buffer cannot be allocated. */
double bench_read_bandwidth(size_t bytes, int reps);

typedef struct bench_summary {
    double median, min, max, mean, stddev;
    double iqr;        /* interquartile range */
    double rel_spread; /* iqr / median: how noisy the samples were */
} bench_summary;

void bench_summarize(const double *x, int n, bench_summary *s);

#endif
