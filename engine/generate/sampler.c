/* Token sampling. Deterministic: a seeded xoshiro256** generator, total
 * orders (ties broken by token id) and double-precision probabilities, so
 * the same seed and logits pick the same token on every machine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "bitnet.h"
#include "error.h"

typedef struct candidate {
    int32_t id;
    float logit;
    double p;
} candidate;

struct bitnet_sampler {
    bitnet_sampler_params params;
    uint64_t rng[4];
    bitnet_token *history; /* ring of the last repeat_last_n accepted tokens */
    int32_t history_len, history_pos;
    candidate *cand;
    int32_t cand_cap;
};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t s[4]) {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in [0, 1) with 53 random bits */
static double next_unit(uint64_t s[4]) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

bitnet_sampler_params bitnet_sampler_default_params(void) {
    bitnet_sampler_params p;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.seed = 0;
    return p;
}

static bool valid(const bitnet_sampler_params *p) {
    if (!isfinite(p->temperature) || p->temperature < 0.0f)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "sampler: temperature %g must be >= 0",
                       (double)p->temperature),
               false;
    if (p->top_k < 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "sampler: top_k %d must be >= 0", p->top_k),
               false;
    if (!isfinite(p->top_p) || p->top_p <= 0.0f || p->top_p > 1.0f)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "sampler: top_p %g must be in (0, 1]",
                       (double)p->top_p),
               false;
    if (!isfinite(p->min_p) || p->min_p < 0.0f || p->min_p > 1.0f)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "sampler: min_p %g must be in [0, 1]",
                       (double)p->min_p),
               false;
    if (!isfinite(p->repeat_penalty) || p->repeat_penalty <= 0.0f)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "sampler: repeat_penalty %g must be > 0",
                       (double)p->repeat_penalty),
               false;
    if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 20))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "sampler: repeat_last_n %d out of range",
                       p->repeat_last_n),
               false;
    return true;
}

void bitnet_sampler_reset(bitnet_sampler *s) {
    if (!s) return;
    uint64_t seed = s->params.seed;
    if (seed == BITNET_SEED_RANDOM) seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)s;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&seed);
    s->history_len = s->history_pos = 0;
}

bitnet_sampler *bitnet_sampler_new(const bitnet_sampler_params *params) {
    bn_clear_error();
    bitnet_sampler_params defaults = bitnet_sampler_default_params();
    if (!params) params = &defaults;
    if (!valid(params)) return NULL;
    bitnet_sampler *s = bn_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->params = *params;
    if (params->repeat_last_n > 0) {
        s->history = bn_malloc_array((size_t)params->repeat_last_n, sizeof *s->history);
        if (!s->history) {
            bn_free(s);
            return NULL;
        }
    }
    bitnet_sampler_reset(s);
    return s;
}

void bitnet_sampler_free(bitnet_sampler *s) {
    if (!s) return;
    bn_free(s->history);
    bn_free(s->cand);
    bn_free(s);
}

void bitnet_sampler_accept(bitnet_sampler *s, bitnet_token token) {
    if (!s || s->params.repeat_last_n == 0) return;
    s->history[s->history_pos] = token;
    s->history_pos = (s->history_pos + 1) % s->params.repeat_last_n;
    if (s->history_len < s->params.repeat_last_n) s->history_len++;
}

static int by_logit_desc(const void *a, const void *b) {
    const candidate *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* true when a comes before b in the total order (higher logit, then lower id) */
static bool better(const candidate *a, const candidate *b) { return by_logit_desc(a, b) < 0; }

static void sift_down(candidate *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && better(&h[w], &h[l])) w = l; /* the heap keeps the worst on top */
        if (r < n && better(&h[w], &h[r])) w = r;
        if (w == i) return;
        candidate t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Moves the k best candidates (in the total order) to c[0..k), unordered:
 * a heap of the k best seen so far, its worst entry on top. */
static void select_top_k(candidate *c, int32_t n, int32_t k) {
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
    for (int32_t i = k; i < n; i++) {
        if (better(&c[i], &c[0])) {
            c[0] = c[i];
            sift_down(c, k, 0);
        }
    }
}

/* p_i ∝ exp((l_i - l_max) / temp) over the first n candidates (sorted). */
static void softmax(candidate *c, int32_t n, double temp) {
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        c[i].p = exp(((double)c[i].logit - (double)c[0].logit) / temp);
        sum += c[i].p;
    }
    for (int32_t i = 0; i < n; i++) c[i].p /= sum;
}

bitnet_token bitnet_sampler_sample(bitnet_sampler *s, const float *logits, int32_t n_vocab) {
    if (!s || !logits || n_vocab <= 0) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_sampler_sample: invalid arguments");
        return -1;
    }
    if (s->cand_cap < n_vocab) {
        candidate *c = bn_realloc(s->cand, (size_t)n_vocab * sizeof *c);
        if (!c) return -1;
        s->cand = c;
        s->cand_cap = n_vocab;
    }
    candidate *c = s->cand;
    for (int32_t i = 0; i < n_vocab; i++) c[i] = (candidate){i, logits[i], 0.0};

    /* repetition penalty, llama.cpp's rule: shrink positive logits, grow negative ones */
    const float pen = s->params.repeat_penalty;
    if (pen != 1.0f) {
        for (int32_t h = 0; h < s->history_len; h++) {
            bitnet_token t = s->history[h];
            if (t < 0 || t >= n_vocab) continue;
            bool seen_before = false; /* penalize each distinct token once */
            for (int32_t j = 0; j < h; j++) seen_before |= s->history[j] == t;
            if (seen_before) continue;
            c[t].logit = c[t].logit > 0 ? c[t].logit / pen : c[t].logit * pen;
        }
    }

    if (s->params.temperature <= 0.0f) { /* greedy: lowest id wins a tie */
        int32_t best = 0;
        for (int32_t i = 1; i < n_vocab; i++)
            if (c[i].logit > c[best].logit) best = i;
        return c[best].id;
    }

    int32_t n = n_vocab;
    if (s->params.top_k > 0 && s->params.top_k < n) {
        /* only the k best need ordering: select them in O(n log k) instead
         * of sorting the whole vocabulary (128k entries) for every token */
        n = s->params.top_k;
        select_top_k(c, n_vocab, n);
    }
    qsort(c, (size_t)n, sizeof *c, by_logit_desc);
    if (s->params.top_p < 1.0f) {
        softmax(c, n, 1.0);
        double cum = 0.0;
        int32_t keep = n;
        for (int32_t i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= s->params.top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (s->params.min_p > 0.0f) {
        softmax(c, n, 1.0);
        const double threshold = c[0].p * s->params.min_p;
        int32_t keep = 1;
        while (keep < n && c[keep].p >= threshold) keep++;
        n = keep;
    }
    softmax(c, n, (double)s->params.temperature);
    double u = next_unit(s->rng), cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += c[i].p;
        if (u < cum) return c[i].id;
    }
    return c[n - 1].id;
}
