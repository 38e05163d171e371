/* llama-perplexity's KL-divergence base file ("_logits_"): reading it and
 * comparing our logits with the log-probabilities it stores.
 *
 * Layout (little-endian): "_logits_" | u32 n_ctx | i32 n_vocab | i32 n_chunk |
 * i32 tokens[n_ctx * n_chunk] | per chunk, per scored position (n_ctx/2 ..
 * n_ctx-2, i.e. n_ctx-1-n_ctx/2 of them): nv = 2*((n_vocab+1)/2)+4 uint16,
 * of which the first four hold two floats (scale, min_log_prob) and the rest
 * code log p[i] = scale * code[i] + min_log_prob. */
#ifndef BN_KLD_H
#define BN_KLD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct kld_file {
    uint8_t *data;
    size_t size;
    uint32_t n_ctx;
    int32_t n_vocab;
    int32_t n_chunk;
    const int32_t *tokens;   /* [n_chunk * n_ctx] */
    const uint16_t *records; /* [n_chunk][n_scored][nv] */
    int32_t n_scored;        /* positions per chunk */
    int32_t nv;
} kld_file;

/* The largest base file read: 64 GiB (the header says how large the file
 * must be; it is checked against the file before anything is allocated). */
#define KLD_MAX_BYTES ((uint64_t)64 << 30)

/* Reads and validates the file: the header, the size it implies, every token
 * id (in [0, n_vocab)) and every record's scale (finite, >= 0) and minimum
 * log-probability (finite, <= 0). On error prints "PATH: what, where, value"
 * to stderr and returns -1 (f then holds nothing to free). */
int kld_file_read(const char *path, kld_file *f);
/* The same from memory (copied; `name` is used in the messages, which go to
 * `err`, or nowhere when it is NULL). */
int kld_file_parse(const char *name, const void *data, size_t size, kld_file *f, FILE *err);
void kld_file_free(kld_file *f);
const uint16_t *kld_record(const kld_file *f, int chunk, int pos);

/* Running sums, the same statistics llama-perplexity reports. */
typedef struct kld_stats {
    double sum_nll, sum_nll2, sum_nll_base, sum_nll_base2, sum_nll_nll_base;
    double sum_kld, sum_kld2, sum_p_diff, sum_p_diff2, sum_p_diff4;
    float max_p_diff;
    size_t n_same_top, count;
    float *kld_values; /* per position, for percentiles */
    size_t kld_cap;
} kld_stats;

/* Adds one position: our logits against the base record for the token that
 * follows. Returns the position's KL divergence. */
double kld_add(kld_stats *s, const float *logits, int32_t n_vocab, const uint16_t *base,
               int32_t next_token);

/* Mean and its standard error, as llama-perplexity computes them. */
void kld_mean_err(double sum, double sum2, size_t count, double *mean, double *err);
/* Sorted-percentile of kld_values (sorts in place). */
double kld_percentile(kld_stats *s, double fraction);
void kld_stats_free(kld_stats *s);

/* log-softmax of logits at `tok`, in llama-perplexity's arithmetic. */
double kld_log_softmax(const float *logits, int32_t n_vocab, int32_t tok);

#endif
