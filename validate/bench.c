#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vutil.h"

/* The sum is written to a volatile so the compiler cannot drop the loop; four
 * independent accumulators keep the adder from being the bottleneck. */
static volatile uint64_t sink;

double bench_read_bandwidth(size_t bytes, int reps) {
    size_t n = bytes / sizeof(uint64_t);
    n -= n % 4;
    uint64_t *buf = malloc(n * sizeof *buf);
    if (!buf || n == 0) {
        free(buf);
        return 0.0;
    }
    for (size_t i = 0; i < n; i++) buf[i] = i * 0x9e3779b97f4a7c15ull; /* fault every page in */
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = vu_now_s();
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (size_t i = 0; i < n; i += 4) {
            a += buf[i];
            b += buf[i + 1];
            c += buf[i + 2];
            d += buf[i + 3];
        }
        double dt = vu_now_s() - t0;
        sink = a + b + c + d;
        double gbs = (double)(n * sizeof *buf) / dt / 1e9;
        if (gbs > best) best = gbs;
    }
    free(buf);
    return best;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, int n, double q) {
    double p = q * (n - 1);
    int i = (int)p;
    double f = p - i;
    return i + 1 < n ? (1 - f) * sorted[i] + f * sorted[i + 1] : sorted[n - 1];
}

void bench_summarize(const double *x, int n, bench_summary *s) {
    memset(s, 0, sizeof *s);
    if (n <= 0) return;
    double *v = malloc(sizeof(double) * (size_t)n);
    if (!v) return;
    memcpy(v, x, sizeof(double) * (size_t)n);
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    s->median = quantile(v, n, 0.5);
    s->min = v[0];
    s->max = v[n - 1];
    s->iqr = quantile(v, n, 0.75) - quantile(v, n, 0.25);
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    s->mean = sum / n;
    for (int i = 0; i < n; i++) sum2 += (v[i] - s->mean) * (v[i] - s->mean);
    s->stddev = n > 1 ? sqrt(sum2 / (n - 1)) : 0.0;
    s->rel_spread = s->median > 0 ? s->iqr / s->median : 0.0;
    free(v);
}
