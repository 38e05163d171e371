#include "gate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Number of arrangements of m x-values and n y-values with U = u, counted by
 * the classic recurrence c(m,n,u) = c(m-1,n,u-n) + c(m,n-1,u) (the largest
 * value is either an x, adding n to U, or a y). Small m, n only. */
static double exact_cdf(int m, int n, double u_obs) {
    int umax = m * n;
    /* table[i][j][u] flattened: (m+1)*(n+1)*(umax+1) doubles */
    size_t sz = (size_t)(m + 1) * (size_t)(n + 1) * (size_t)(umax + 1);
    double *c = calloc(sz, sizeof *c);
    if (!c) return NAN;
#define C(i, j, u)                                                                                 \
    c[((size_t)(i) * (size_t)(n + 1) + (size_t)(j)) * (size_t)(umax + 1) + (size_t)(u)]
    for (int i = 0; i <= m; i++)
        for (int j = 0; j <= n; j++) {
            if (i == 0 || j == 0) {
                C(i, j, 0) = 1;
                continue;
            }
            for (int u = 0; u <= i * j; u++) {
                double v = C(i, j - 1, u);
                if (u >= j) v += C(i - 1, j, u - j);
                C(i, j, u) = v;
            }
        }
    double total = 0, below = 0;
    for (int u = 0; u <= umax; u++) {
        total += C(m, n, u);
        if (u <= u_obs + 1e-9) below += C(m, n, u);
    }
#undef C
    free(c);
    return below / total;
}

double mann_whitney_p_less(const double *a, int na, const double *b, int nb) {
    if (na < 1 || nb < 1) return 1.0;
    /* U for b: pairs (b_j, a_i) with b_j > a_i, ties counting one half. Small U
     * means b tends to be smaller. */
    double u = 0;
    bool ties = false;
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < na; i++) {
            if (b[j] > a[i])
                u += 1;
            else if (b[j] == a[i]) {
                u += 0.5;
                ties = true;
            }
        }
    if (!ties && na <= 20 && nb <= 20) return exact_cdf(nb, na, u);
    /* normal approximation with continuity and tie correction */
    int n = na + nb;
    double *all = malloc(sizeof(double) * (size_t)n);
    if (!all) return 1.0;
    memcpy(all, a, sizeof(double) * (size_t)na);
    memcpy(all + na, b, sizeof(double) * (size_t)nb);
    double tie_term = 0;
    for (int i = 0; i < n; i++) {
        int t = 0;
        bool first = true;
        for (int k = 0; k < n; k++) {
            if (all[k] == all[i]) {
                t++;
                if (k < i) first = false;
            }
        }
        if (first && t > 1) tie_term += (double)t * t * t - t;
    }
    free(all);
    double mu = na * (double)nb / 2;
    double var = na * (double)nb / 12 * ((n + 1) - tie_term / ((double)n * (n - 1)));
    if (var <= 0) return 1.0;
    double z = (u + 0.5 - mu) / sqrt(var);
    return 0.5 * erfc(-z / sqrt(2.0));
}

void gate_speed(const double *old_s, int n_old, const double *new_s, int n_new, double threshold,
                double alpha, bool busy, gate_speed_verdict *v) {
    memset(v, 0, sizeof *v);
    bench_summary so, sn;
    bench_summarize(old_s, n_old, &so);
    bench_summarize(new_s, n_new, &sn);
    v->old_median = so.median;
    v->new_median = sn.median;
    v->slowdown = so.median > 0 ? 1.0 - sn.median / so.median : 0.0;
    v->p = mann_whitney_p_less(old_s, n_old, new_s, n_new);
    v->noise = so.rel_spread > sn.rel_spread ? so.rel_spread : sn.rel_spread;
    if (busy && threshold < GATE_BUSY_THRESHOLD) threshold = GATE_BUSY_THRESHOLD;
    bool big = v->slowdown > threshold;
    bool significant = v->p < alpha;
    bool above_noise = v->slowdown > v->noise;
    v->regression = big && significant && above_noise;
    if (v->regression)
        snprintf(
            v->reason, sizeof v->reason,
            "%.1f%% slower (median %.2f -> %.2f t/s), Mann-Whitney p = %.4f < %.2f, noise %.1f%%",
            100 * v->slowdown, so.median, sn.median, v->p, alpha, 100 * v->noise);
    else if (big)
        snprintf(v->reason, sizeof v->reason,
                 "%.1f%% slower but not conclusive (p = %.4f, noise %.1f%%): not gated",
                 100 * v->slowdown, v->p, 100 * v->noise);
    else if (busy && v->slowdown > 0.05)
        snprintf(v->reason, sizeof v->reason,
                 "%.1f%% slower on a busy machine (load above the CPU count): only a slowdown "
                 "beyond %.0f%% gates there",
                 100 * v->slowdown, 100 * threshold);
    else
        snprintf(v->reason, sizeof v->reason, "%+.1f%% (within %.0f%%)", -100 * v->slowdown,
                 100 * threshold);
}
