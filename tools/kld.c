#include "kld.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int kld_file_read(const char *path, kld_file *f) {
    memset(f, 0, sizeof *f);
    size_t len = 0;
    char *buf = cli_read_file("perplexity", path, &len);
    if (!buf) return -1;
    f->data = (uint8_t *)buf;
    f->size = len;
    if (len < 20 || memcmp(buf, "_logits_", 8) != 0) {
        fprintf(stderr, "%s: not a llama-perplexity log-probability file (magic _logits_)\n", path);
        goto bad;
    }
    memcpy(&f->n_ctx, buf + 8, 4);
    memcpy(&f->n_vocab, buf + 12, 4);
    memcpy(&f->n_chunk, buf + 16, 4);
    if (f->n_ctx < 4 || f->n_ctx > (1u << 20) || f->n_vocab <= 0 || f->n_vocab > (1 << 24) ||
        f->n_chunk <= 0 || f->n_chunk > (1 << 20)) {
        fprintf(stderr, "%s: implausible header n_ctx %u, n_vocab %d, n_chunk %d\n", path, f->n_ctx,
                f->n_vocab, f->n_chunk);
        goto bad;
    }
    f->n_scored = (int32_t)(f->n_ctx - 1 - f->n_ctx / 2);
    f->nv = 2 * ((f->n_vocab + 1) / 2) + 4;
    size_t tok_bytes = (size_t)f->n_ctx * (size_t)f->n_chunk * 4;
    size_t rec_bytes = (size_t)f->n_chunk * (size_t)f->n_scored * (size_t)f->nv * 2;
    if (len != 20 + tok_bytes + rec_bytes) {
        fprintf(stderr, "%s: size %zu does not match its header (expected %zu bytes)\n", path, len,
                20 + tok_bytes + rec_bytes);
        goto bad;
    }
    /* the payload starts at byte 20: copy to aligned storage */
    uint8_t *aligned = malloc(tok_bytes + rec_bytes);
    if (!aligned) goto bad;
    memcpy(aligned, buf + 20, tok_bytes + rec_bytes);
    free(buf);
    f->data = aligned;
    f->tokens = (const int32_t *)aligned;
    f->records = (const uint16_t *)(aligned + tok_bytes);
    return 0;
bad:
    free(buf);
    f->data = NULL;
    return -1;
}

void kld_file_free(kld_file *f) {
    free(f->data);
    f->data = NULL;
}

const uint16_t *kld_record(const kld_file *f, int chunk, int pos) {
    return f->records + ((size_t)chunk * (size_t)f->n_scored + (size_t)pos) * (size_t)f->nv;
}

double kld_log_softmax(const float *logits, int32_t n_vocab, int32_t tok) {
    float max = logits[0];
    for (int32_t i = 1; i < n_vocab; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++) sum += expf(logits[i] - max);
    return logits[tok] - max - log(sum);
}

double kld_add(kld_stats *s, const float *logits, int32_t n_vocab, const uint16_t *base,
               int32_t next_token) {
    float max = logits[0];
    int32_t imax = 0;
    for (int32_t i = 1; i < n_vocab; i++)
        if (logits[i] > max) {
            max = logits[i];
            imax = i;
        }
    double sum_exp = 0.0;
    for (int32_t i = 0; i < n_vocab; i++) sum_exp += expf(logits[i] - max);
    const float log_sum_exp = (float)log(sum_exp);
    float scale, min_log_prob;
    memcpy(&scale, base, 4);
    memcpy(&min_log_prob, base + 2, 4);
    const uint16_t *codes = base + 4;

    const float nll = max + log_sum_exp - logits[next_token];
    const float nll_base = -(scale * codes[next_token] + min_log_prob);
    s->sum_nll += nll;
    s->sum_nll2 += (double)nll * nll;
    s->sum_nll_base += nll_base;
    s->sum_nll_base2 += (double)nll_base * nll_base;
    s->sum_nll_nll_base += (double)nll * nll_base;

    /* KL(base || ours) over tokens the base gives non-negligible mass */
    const float log_norm = max + log_sum_exp;
    double kld = 0.0;
    int32_t imax_base = 0;
    float best_base = 0.0f;
    for (int32_t i = 0; i < n_vocab; i++) {
        const float lp_base = scale * codes[i] + min_log_prob;
        if (i == 0 || lp_base > best_base) {
            best_base = lp_base;
            imax_base = i;
        }
        if (lp_base > -16.0f) kld += expf(lp_base) * (lp_base - logits[i] + log_norm);
    }
    s->sum_kld += kld;
    s->sum_kld2 += kld * kld;
    s->count++;
    if (imax == imax_base) s->n_same_top++;
    const float p_diff = expf(-nll) - expf(-nll_base);
    s->sum_p_diff += p_diff;
    s->sum_p_diff2 += (double)p_diff * p_diff;
    s->sum_p_diff4 += (double)p_diff * p_diff * p_diff * p_diff;
    if (fabsf(p_diff) > s->max_p_diff) s->max_p_diff = fabsf(p_diff);
    if (s->count > s->kld_cap) {
        size_t cap = s->kld_cap ? s->kld_cap * 2 : 256;
        float *v = realloc(s->kld_values, cap * sizeof *v);
        if (v) {
            s->kld_values = v;
            s->kld_cap = cap;
        }
    }
    if (s->count <= s->kld_cap) s->kld_values[s->count - 1] = (float)kld;
    return kld;
}

void kld_mean_err(double sum, double sum2, size_t count, double *mean, double *err) {
    *mean = count ? sum / (double)count : 0.0;
    double var = count ? sum2 / (double)count - *mean * *mean : 0.0;
    *err = (var > 0 && count > 10) ? sqrt(var / (double)(count - 1)) : 0.0;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

double kld_percentile(kld_stats *s, double fraction) {
    size_t n = s->count < s->kld_cap ? s->count : s->kld_cap;
    if (n == 0) return 0.0;
    qsort(s->kld_values, n, sizeof(float), cmp_float);
    if (fraction <= 0) return s->kld_values[0];
    if (fraction >= 1) return s->kld_values[n - 1];
    double p = fraction * (double)(n - 1);
    size_t ip = (size_t)p;
    p -= (double)ip;
    size_t next = ip + 1 < n ? ip + 1 : n - 1;
    return (1 - p) * s->kld_values[ip] + p * s->kld_values[next];
}

void kld_stats_free(kld_stats *s) {
    free(s->kld_values);
    s->kld_values = NULL;
}
