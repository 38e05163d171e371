/* Aggregate decode throughput of N sequences decoded together
 * (bitnet_decode_batch: one token per sequence per step, all sequences in one
 * pass over the weights) against one sequence, the way a server with N busy
 * streams decodes.
 *
 *   bench_batch -m MODEL [-t THREADS] [-s N,N,..] [-p PROMPT] [-n STEPS] [-r REPS]
 *               [--isa ISA] [--numerics compat|exact]
 *
 * Per repetition and per N (the N values alternate within each repetition, so
 * that a drift of the machine touches all of them alike): clear the cache,
 * prefill N different prompts of PROMPT tokens in one batch (not timed), then
 * time STEPS decode steps of N tokens, logits kept for every token.
 * Aggregate tokens/s = N x STEPS / time. The row "1 (bitnet_decode)" decodes
 * the same single sequence with bitnet_decode, one token per call: the
 * single-sequence API, for comparison with the batch call at N = 1.
 * Prints a markdown table: median aggregate t/s with [min - max] over the
 * repetitions, the spread (max - min) / median, and the ratio of the median
 * to N = 1's median with the range of the per-repetition ratios. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitnet.h"

enum { MAX_N = 16, MAX_REPS = 64 };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + 1e-6 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double s[MAX_REPS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof s[0], cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static void min_max(const double *v, int n, double *lo, double *hi) {
    *lo = *hi = v[0];
    for (int i = 1; i < n; i++) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

static bitnet_token tok_of(int s, int p, int32_t n_vocab) {
    uint32_t x = (uint32_t)(s * 7919 + p * 104729 + 17);
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    return (bitnet_token)(x % (uint32_t)n_vocab);
}

static void usage(void) {
    fprintf(stderr, "usage: bench_batch -m MODEL [-t THREADS] [-s N,N,..] [-p PROMPT] [-n STEPS] "
                    "[-r REPS] [--isa ISA] [--numerics compat|exact]\n");
    exit(2);
}

/* One measurement: n_seq sequences, prompt tokens each, then steps decode
 * steps. single: one sequence through bitnet_decode. Returns aggregate
 * tokens/s of the decode steps, or -1 on error. */
static double run_once(bitnet_context *ctx, int n_seq, int prompt, int steps, bool single,
                       int32_t n_vocab) {
    bitnet_kv_seq_rm(ctx, -1, -1, -1);
    bitnet_batch b = bitnet_batch_init(n_seq * prompt > n_seq ? n_seq * prompt : n_seq);
    if (!b.token) return -1;
    for (int p = 0; p < prompt; p++)
        for (int s = 0; s < n_seq; s++) {
            const int k = b.n_tokens++;
            b.token[k] = tok_of(s, p, n_vocab);
            b.pos[k] = p;
            b.seq_id[k] = s;
            b.logits[k] = p == prompt - 1;
        }
    double tps = -1;
    if (bitnet_decode_batch(ctx, &b) != BITNET_OK) goto done;
    double t0 = now_ms();
    for (int i = 0; i < steps; i++) {
        const int p = prompt + i;
        if (single) {
            const bitnet_token t = tok_of(0, p, n_vocab);
            if (bitnet_decode(ctx, &t, 1, false) != BITNET_OK) goto done;
            continue;
        }
        b.n_tokens = 0;
        for (int s = 0; s < n_seq; s++) {
            const int k = b.n_tokens++;
            b.token[k] = tok_of(s, p, n_vocab);
            b.pos[k] = p;
            b.seq_id[k] = s;
            b.logits[k] = 1;
        }
        if (bitnet_decode_batch(ctx, &b) != BITNET_OK) goto done;
    }
    tps = (double)n_seq * steps / ((now_ms() - t0) / 1e3);
done:
    if (tps < 0) fprintf(stderr, "bench_batch: %s\n", bitnet_get_last_error());
    bitnet_batch_free(&b);
    return tps;
}

int main(int argc, char **argv) {
    const char *model = NULL, *isa = NULL;
    int threads = 2, prompt = 32, steps = 32, reps = 5;
    int ns[MAX_N + 1] = {1, 2, 4, 8, 16}, n_ns = 5;
    bitnet_numerics numerics = BITNET_NUMERICS_COMPAT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        i++;
        if (!strcmp(a, "-m")) {
            model = v;
        } else if (!strcmp(a, "-t")) {
            threads = atoi(v);
        } else if (!strcmp(a, "-p")) {
            prompt = atoi(v);
        } else if (!strcmp(a, "-n")) {
            steps = atoi(v);
        } else if (!strcmp(a, "-r")) {
            reps = atoi(v);
        } else if (!strcmp(a, "--isa")) {
            isa = v;
        } else if (!strcmp(a, "--numerics")) {
            if (strcmp(v, "compat") && strcmp(v, "exact")) usage();
            numerics = strcmp(v, "exact") ? BITNET_NUMERICS_COMPAT : BITNET_NUMERICS_EXACT;
        } else if (!strcmp(a, "-s")) {
            n_ns = 0;
            for (char *p = (char *)v; *p && n_ns < MAX_N;) {
                char *end;
                long n = strtol(p, &end, 10);
                if (end == p || n < 1 || n > MAX_N) usage();
                ns[n_ns++] = (int)n;
                p = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') usage();
            }
        } else {
            usage();
        }
    }
    if (!model || threads < 1 || prompt < 1 || steps < 1 || reps < 1 || reps > MAX_REPS || n_ns < 1)
        usage();

    bitnet_model *m = bitnet_model_load(model, NULL);
    if (!m) {
        fprintf(stderr, "bench_batch: %s\n", bitnet_get_last_error());
        return 1;
    }
    const int32_t n_vocab = bitnet_model_n_vocab(m);
    /* rows: "1 (bitnet_decode)", then every N */
    const int n_rows = n_ns + 1;
    bitnet_context *ctx[MAX_N + 2];
    int row_n[MAX_N + 2];
    bool row_single[MAX_N + 2];
    for (int r = 0; r < n_rows; r++) {
        row_single[r] = r == 0;
        row_n[r] = r == 0 ? 1 : ns[r - 1];
        bitnet_context_params cp = bitnet_context_default_params();
        cp.n_seq_max = row_n[r];
        cp.n_ctx = row_n[r] * (prompt + steps);
        cp.n_batch = row_n[r] * prompt > 512 ? row_n[r] * prompt : 512;
        cp.n_threads = threads;
        cp.isa = isa;
        cp.numerics = numerics;
        ctx[r] = bitnet_context_new(m, &cp);
        if (!ctx[r]) {
            fprintf(stderr, "bench_batch: %s\n", bitnet_get_last_error());
            return 1;
        }
    }
    double tps[MAX_N + 2][MAX_REPS];
    for (int r = 0; r < n_rows; r++) /* warm-up */
        if (run_once(ctx[r], row_n[r], prompt, steps, row_single[r], n_vocab) < 0) return 1;
    for (int k = 0; k < reps; k++)
        for (int r = 0; r < n_rows; r++) {
            tps[r][k] = run_once(ctx[r], row_n[r], prompt, steps, row_single[r], n_vocab);
            if (tps[r][k] < 0) return 1;
        }

    /* the reference row: N = 1 through the batch call if measured, else bitnet_decode */
    int base = 0;
    for (int r = 1; r < n_rows; r++)
        if (row_n[r] == 1) base = r;
    const double base_med = median(tps[base], reps);
    printf("| sequences | aggregate t/s: median [min - max] | spread | per sequence t/s | ratio to "
           "1 sequence [per-repetition range] |\n|---|---|---|---|---|\n");
    for (int r = 0; r < n_rows; r++) {
        double lo, hi, ratios[MAX_REPS], rlo, rhi;
        const double med = median(tps[r], reps);
        min_max(tps[r], reps, &lo, &hi);
        for (int k = 0; k < reps; k++) ratios[k] = tps[r][k] / tps[base][k];
        min_max(ratios, reps, &rlo, &rhi);
        char name[32];
        snprintf(name, sizeof name, row_single[r] ? "1 (bitnet_decode)" : "%d", row_n[r]);
        printf("| %s | %.1f [%.1f - %.1f] | %.0f %% | %.1f | %.2fx [%.2f - %.2f] |\n", name, med,
               lo, hi, 100 * (hi - lo) / med, med / row_n[r], med / base_med, rlo, rhi);
    }
    printf("\n%s; %d threads; %s numerics; %d-token prompts, %d decode steps; %d repetitions "
           "after one warm-up, the N values alternating\n",
           bitnet_system_info(), threads, numerics == BITNET_NUMERICS_EXACT ? "exact" : "compat",
           prompt, steps, reps);
    for (int r = 0; r < n_rows; r++) bitnet_context_free(ctx[r]);
    bitnet_model_free(m);
    return 0;
}
