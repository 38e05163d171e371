#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

double cmp_percentile(const float *v, int32_t n, double fraction) {
    if (n <= 0) return 0.0;
    float *s = malloc(sizeof(float) * (size_t)n);
    if (!s) return NAN;
    memcpy(s, v, sizeof(float) * (size_t)n);
    qsort(s, (size_t)n, sizeof(float), cmp_float);
    double p = fraction * (n - 1);
    int32_t i = (int32_t)p;
    double frac = p - i, r = i + 1 < n ? (1 - frac) * s[i] + frac * s[i + 1] : s[n - 1];
    free(s);
    return r;
}

/* log-sum-exp of a row in double, so the comparison adds no error of its own */
static double row_lse(const float *x, int32_t n, int32_t *argmax) {
    double m = x[0];
    int32_t am = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > m) {
            m = x[i];
            am = i;
        }
    double s = 0.0;
    for (int32_t i = 0; i < n; i++) s += exp((double)x[i] - m);
    *argmax = am;
    return m + log(s);
}

int cmp_logits(const vb_logits *ref, const vb_logits *test, const int32_t *tokens,
               cmp_logit_stats *out) {
    memset(out, 0, sizeof *out);
    if (ref->n_pos != test->n_pos || ref->n_vocab != test->n_vocab || ref->n_pos <= 0) return -1;
    const int32_t n = ref->n_pos, nv = ref->n_vocab;
    out->n_pos = n;
    out->kld_pos = calloc((size_t)n, sizeof(float));
    out->max_err_pos = calloc((size_t)n, sizeof(float));
    if (!out->kld_pos || !out->max_err_pos) return -1;
    double se = 0.0, sr = 0.0, nll_r = 0.0, nll_t = 0.0, kld_sum = 0.0;
    int32_t same = 0, n_nll = 0;
    for (int32_t p = 0; p < n; p++) {
        const float *r = ref->data + (size_t)p * nv, *t = test->data + (size_t)p * nv;
        int32_t ar, at;
        double lr = row_lse(r, nv, &ar), lt = row_lse(t, nv, &at);
        double kld = 0.0, maxe = 0.0;
        for (int32_t i = 0; i < nv; i++) {
            double lpr = r[i] - lr, lpt = t[i] - lt;
            kld += exp(lpr) * (lpr - lpt);
            double d = (double)t[i] - r[i];
            se += d * d;
            sr += (double)r[i] * r[i];
            if (fabs(d) > maxe) maxe = fabs(d);
        }
        if (kld < 0) kld = 0; /* rounding below zero on identical rows */
        out->kld_pos[p] = (float)kld;
        out->max_err_pos[p] = (float)maxe;
        kld_sum += kld;
        if (kld > out->kld_max) out->kld_max = kld;
        if (maxe > out->max_abs_err) out->max_abs_err = maxe;
        if (ar == at) same++;
        if (p + 1 < n && tokens) {
            int32_t next = tokens[p + 1];
            if (next >= 0 && next < nv) {
                nll_r += lr - r[next];
                nll_t += lt - t[next];
                n_nll++;
            }
        }
    }
    out->kld_mean = kld_sum / n;
    out->kld_p50 = cmp_percentile(out->kld_pos, n, 0.50);
    out->kld_p90 = cmp_percentile(out->kld_pos, n, 0.90);
    out->kld_p99 = cmp_percentile(out->kld_pos, n, 0.99);
    out->top1 = (double)same / n;
    out->nmse = sr > 0 ? se / sr : (se > 0 ? INFINITY : 0.0);
    if (n_nll) {
        out->ppl_ref = exp(nll_r / n_nll);
        out->ppl_test = exp(nll_t / n_nll);
        out->ppl_delta_rel = out->ppl_test / out->ppl_ref - 1.0;
    }
    return 0;
}

void cmp_logit_stats_free(cmp_logit_stats *s) {
    free(s->kld_pos);
    free(s->max_err_pos);
    s->kld_pos = s->max_err_pos = NULL;
}

void cmp_greedy(const vb_gen *ref, const vb_gen *test, float eps, cmp_greedy_result *out) {
    memset(out, 0, sizeof *out);
    out->first_diff = -1;
    int32_t n = ref->n < test->n ? ref->n : test->n;
    out->n_compared = n;
    int32_t i = 0;
    while (i < n && ref->tokens[i] == test->tokens[i]) i++;
    out->n_matching_prefix = i;
    if (i == n && ref->n == test->n) {
        out->cls = CMP_IDENTICAL;
        return;
    }
    out->first_diff = i;
    out->ref_token = i < ref->n ? ref->tokens[i] : -1;
    out->test_token = i < test->n ? test->tokens[i] : -1;
    out->ref_margin = ref->margins && i < ref->n ? ref->margins[i] : NAN;
    out->test_margin = test->margins && i < test->n ? test->margins[i] : NAN;
    /* A tie-break: the reference itself had the two candidates within eps, so
     * a faithful implementation with rounding differences may pick either.
     * If the reference gives no margin we trust the tested side's. */
    float m = isnan(out->ref_margin) ? out->test_margin : out->ref_margin;
    out->cls = (i < n && !isnan(m) && m < eps) ? CMP_NEAR_TIE : CMP_DIVERGED;
}

const char *cmp_greedy_class_str(cmp_greedy_class c) {
    switch (c) {
    case CMP_IDENTICAL: return "identical";
    case CMP_NEAR_TIE: return "near-tie";
    default: return "diverged";
    }
}
