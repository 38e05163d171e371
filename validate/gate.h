/* Gating: exit codes and the slowdown test against an earlier report.
 *
 * A speed entry is a regression only when all three hold:
 *   1. the median slowed down by more than the threshold (default 5%);
 *   2. a one-sided Mann-Whitney U test on the repetition samples says the new
 *      samples are smaller with p < alpha (default 0.05);
 *   3. the slowdown exceeds the noise of the two runs: the larger of their
 *      relative interquartile ranges.
 * (1) ignores effects nobody cares about, (2) ignores differences the
 * repetitions cannot support, (3) keeps a busy shared machine, whose samples
 * swing together within a run, from tripping the gate with a consistent but
 * small shift. On an overloaded machine (load average above the CPU count
 * during either run) the threshold rises to BUSY_THRESHOLD: only gross
 * regressions, such as losing the SIMD kernels, gate there. See
 * docs/validation.md. */
#ifndef BV_GATE_H
#define BV_GATE_H

#include <stdbool.h>

enum { GATE_PASS = 0, GATE_FAIL = 1, GATE_USAGE = 2 };

/* One-sided p-value that samples `b` are stochastically smaller than `a`
 * (H1: b < a). Exact distribution for small samples without ties, normal
 * approximation with tie correction otherwise. */
double mann_whitney_p_less(const double *a, int na, const double *b, int nb);

typedef struct gate_speed_verdict {
    double old_median, new_median;
    double slowdown; /* 1 - new/old: positive when slower */
    double p;
    double noise; /* max relative IQR of the two sample sets */
    bool regression;
    char reason[256];
} gate_speed_verdict;

#define GATE_BUSY_THRESHOLD 0.5

void gate_speed(const double *old_s, int n_old, const double *new_s, int n_new, double threshold,
                double alpha, bool busy, gate_speed_verdict *v);

#endif
