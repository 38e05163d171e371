/* Comparisons between two implementations' outputs: teacher-forced logits
 * (KL divergence, top-1 agreement, NMSE, max abs error, perplexity) and greedy
 * sequences (first divergence, classified). Pure functions: no I/O. */
#ifndef BV_COMPARE_H
#define BV_COMPARE_H

#include <stdint.h>

#include "backend.h"

typedef struct cmp_logit_stats {
    int32_t n_pos;
    double kld_mean, kld_max, kld_p50, kld_p90, kld_p99;
    double top1; /* fraction of positions whose argmax agrees */
    double nmse; /* sum (t-r)^2 / sum r^2 over every logit */
    double max_abs_err;
    double ppl_ref, ppl_test, ppl_delta_rel; /* next-token perplexity, test/ref - 1 */
    float *kld_pos;                          /* [n_pos] per position, for plots */
    float *max_err_pos;                      /* [n_pos] */
} cmp_logit_stats;

/* ref and test hold the same n_pos x n_vocab shape; tokens[i+1] is the token
 * predicted at position i (the last position has none and adds no NLL).
 * KL(ref || test) per position, in nats, computed in double. */
int cmp_logits(const vb_logits *ref, const vb_logits *test, const int32_t *tokens,
               cmp_logit_stats *out);
void cmp_logit_stats_free(cmp_logit_stats *s);

typedef enum cmp_greedy_class {
    CMP_IDENTICAL = 0,
    CMP_NEAR_TIE = 1, /* first divergence where the reference's top-2 gap < eps */
    CMP_DIVERGED = 2,
} cmp_greedy_class;

typedef struct cmp_greedy_result {
    cmp_greedy_class cls;
    int32_t n_compared;
    int32_t first_diff; /* -1 when identical */
    int32_t ref_token, test_token;
    float ref_margin, test_margin; /* top-1 minus top-2 logit at that step */
    int32_t n_matching_prefix;
} cmp_greedy_result;

void cmp_greedy(const vb_gen *ref, const vb_gen *test, float eps, cmp_greedy_result *out);
const char *cmp_greedy_class_str(cmp_greedy_class c);

/* Percentile (0..1) of n values, sorting a copy. */
double cmp_percentile(const float *v, int32_t n, double fraction);

#endif
