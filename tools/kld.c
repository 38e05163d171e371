#include "kld.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KLD_HEADER = 20 };

/* Messages go to `err`, or nowhere when it is NULL (the fuzz target). */
static void report(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(FILE *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
}

/* Validates the 20-byte header; fills the shape and the payload size. */
static int parse_header(FILE *err, const char *name, const uint8_t *h, kld_file *f,
                        uint64_t *payload) {
    if (memcmp(h, "_logits_", 8) != 0) {
        report(err, "%s: not a llama-perplexity log-probability file (magic _logits_)\n", name);
        return -1;
    }
    memcpy(&f->n_ctx, h + 8, 4);
    memcpy(&f->n_vocab, h + 12, 4);
    memcpy(&f->n_chunk, h + 16, 4);
    if (f->n_ctx < 4 || f->n_ctx > (1u << 20) || f->n_vocab <= 0 || f->n_vocab > (1 << 24) ||
        f->n_chunk <= 0 || f->n_chunk > (1 << 20)) {
        report(err, "%s: implausible header n_ctx %u, n_vocab %d, n_chunk %d\n", name, f->n_ctx,
               f->n_vocab, f->n_chunk);
        return -1;
    }
    f->n_scored = (int32_t)(f->n_ctx - 1 - f->n_ctx / 2);
    f->nv = 2 * ((f->n_vocab + 1) / 2) + 4;
    /* each factor is at most 2^25, so the products fit in 64 bits */
    uint64_t tok_bytes = (uint64_t)f->n_ctx * (uint64_t)f->n_chunk * 4;
    uint64_t rec_bytes = (uint64_t)f->n_chunk * (uint64_t)f->n_scored * (uint64_t)f->nv * 2;
    *payload = tok_bytes + rec_bytes;
    if (KLD_HEADER + *payload > KLD_MAX_BYTES || *payload > SIZE_MAX) {
        report(err,
               "%s: header n_ctx %u, n_vocab %d, n_chunk %d implies %llu bytes, more than "
               "the %llu-byte limit\n",
               name, f->n_ctx, f->n_vocab, f->n_chunk, (unsigned long long)(KLD_HEADER + *payload),
               (unsigned long long)KLD_MAX_BYTES);
        return -1;
    }
    return 0;
}

static int size_mismatch(FILE *err, const char *name, uint64_t size, uint64_t payload) {
    report(err, "%s: size %llu does not match its header (expected %llu bytes)\n", name,
           (unsigned long long)size, (unsigned long long)(KLD_HEADER + payload));
    return -1;
}

/* Token ids against the vocabulary, records' scale and minimum as
 * llama-perplexity writes them: log p = scale * code + min, so scale >= 0 and
 * min (the smallest log-probability) <= 0, both finite. */
static int check_payload(FILE *err, const char *name, const kld_file *f) {
    for (int32_t c = 0; c < f->n_chunk; c++)
        for (uint32_t p = 0; p < f->n_ctx; p++) {
            int32_t t = f->tokens[(size_t)c * f->n_ctx + p];
            if (t < 0 || t >= f->n_vocab) {
                report(err,
                       "%s: chunk %d, position %u: token id %d is outside the vocabulary "
                       "[0, %d)\n",
                       name, c, p, t, f->n_vocab);
                return -1;
            }
        }
    for (int32_t c = 0; c < f->n_chunk; c++)
        for (int32_t j = 0; j < f->n_scored; j++) {
            const uint16_t *r = kld_record(f, c, j);
            float scale, min;
            memcpy(&scale, r, 4);
            memcpy(&min, r + 2, 4);
            const char *bad = !isfinite(scale) ? "scale is not finite"
                              : scale < 0      ? "scale is negative"
                              : !isfinite(min) ? "minimum log-probability is not finite"
                              : min > 1e-3f    ? "minimum log-probability is positive"
                                               : NULL;
            if (bad) {
                report(err,
                       "%s: chunk %d, scored position %d (token %d): %s (scale %g, "
                       "minimum %g)\n",
                       name, c, j, (int)(f->n_ctx / 2) + j, bad, (double)scale, (double)min);
                return -1;
            }
        }
    return 0;
}

/* Points the kld_file at a payload it now owns (tokens first, then records:
 * malloc's alignment suits both). */
static int adopt_payload(FILE *err, const char *name, kld_file *f, uint8_t *payload) {
    f->data = payload;
    f->size = KLD_HEADER + (size_t)f->n_ctx * (size_t)f->n_chunk * 4 +
              (size_t)f->n_chunk * (size_t)f->n_scored * (size_t)f->nv * 2;
    f->tokens = (const int32_t *)payload;
    f->records = (const uint16_t *)(payload + (size_t)f->n_ctx * (size_t)f->n_chunk * 4);
    if (check_payload(err, name, f) == 0) return 0;
    kld_file_free(f);
    return -1;
}

int kld_file_parse(const char *name, const void *data, size_t size, kld_file *f, FILE *err) {
    memset(f, 0, sizeof *f);
    uint64_t payload;
    if (size < KLD_HEADER) {
        report(err, "%s: %zu bytes, shorter than the 20-byte header\n", name, size);
        return -1;
    }
    if (parse_header(err, name, data, f, &payload) != 0) return -1;
    if (size != KLD_HEADER + payload) return size_mismatch(err, name, size, payload);
    uint8_t *copy = malloc(payload ? (size_t)payload : 1);
    if (!copy) {
        report(err, "%s: out of memory (%llu bytes)\n", name, (unsigned long long)payload);
        return -1;
    }
    memcpy(copy, (const uint8_t *)data + KLD_HEADER, (size_t)payload);
    return adopt_payload(err, name, f, copy);
}

/* Reads exactly n bytes; returns how many were read (less at end of file),
 * or -1 with errno. */
static int64_t read_full(int fd, uint8_t *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got > (1u << 30) ? (1u << 30) : n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

int kld_file_read(const char *path, kld_file *f) {
    FILE *err = stderr;
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        report(err, "%s: cannot open: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    uint8_t header[KLD_HEADER];
    uint64_t payload = 0;
    int64_t got = read_full(fd, header, sizeof header);
    int rc = -1;
    uint8_t *buf = NULL;
    if (got < 0)
        report(err, "%s: cannot read: %s\n", path, strerror(errno));
    else if (got < KLD_HEADER)
        report(err, "%s: %lld bytes, shorter than the 20-byte header\n", path, (long long)got);
    else if (parse_header(err, path, header, f, &payload) != 0) {
    } else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != KLD_HEADER + payload)
        size_mismatch(err, path, (uint64_t)st.st_size, payload); /* before allocating anything */
    else if (!(buf = malloc(payload ? (size_t)payload : 1)))
        report(err, "%s: out of memory (%llu bytes)\n", path, (unsigned long long)payload);
    else if ((got = read_full(fd, buf, (size_t)payload)) < 0)
        report(err, "%s: cannot read: %s\n", path, strerror(errno));
    else if ((uint64_t)got < payload)
        size_mismatch(err, path, KLD_HEADER + (uint64_t)got, payload);
    else {
        uint8_t extra;
        got = read_full(fd, &extra, 1); /* a pipe or device: must end here */
        if (got != 0)
            size_mismatch(err, path, KLD_HEADER + payload + 1, payload);
        else
            rc = 0;
    }
    close(fd);
    if (rc != 0) {
        free(buf);
        memset(f, 0, sizeof *f);
        return -1;
    }
    return adopt_payload(err, path, f, buf);
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
