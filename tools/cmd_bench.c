/* bitnet bench: prompt processing (pp) and text generation (tg) speed in the
 * spirit of llama-bench, with the decode speed also expressed as a fraction of
 * the memory read bandwidth measured in the same run. The JSON output uses
 * llama-bench's field names where they exist, so tools that read one read the
 * other. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet bench -m FILE [-p N[,N..]] [-n N[,N..]] [-t N[,N..]] [-r REPS] [-o md|json|csv]\n"
            "  -p  prompt lengths to process in one batch (default 128; 0 skips)\n"
            "  -n  tokens to generate one at a time (default 64; 0 skips)\n"
            "  -t  thread counts (default: physical cores)\n"
            "  -r  repetitions per test after one warm-up (default 5)\n"
            "  --isa ISA, --numerics compat|exact, --no-bandwidth\n"
            "  --head-q8  8-bit output head (faster decode, slightly different logits)\n");
}

#define MAX_LIST 16

static int parse_list(const char *cmd, const char *flag, const char *text, long long min, long long max,
                      long long *vals) {
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, ","); tok && n < MAX_LIST; tok = strtok(NULL, ","))
        if (!cli_parse_int(cmd, flag, tok, min, max, &vals[n++])) return -1;
    return n;
}

/* Read bandwidth in GB/s: sums a buffer far larger than the caches with
 * `threads` threads, best of 3 passes. */
static double measure_read_bandwidth(int threads) {
    const size_t bytes = (size_t)512 << 20;
    const size_t n = bytes / sizeof(uint64_t);
    uint64_t *buf = malloc(bytes);
    if (!buf) return 0.0;
    for (size_t i = 0; i < n; i++) buf[i] = i;
    double best = 0.0;
    volatile uint64_t sink = 0;
    /* Passes with and without software prefetch 4 KiB ahead, best of all:
     * on some machines (KVM guests in particular) the hardware prefetcher
     * alone reaches only ~2/3 of what a prefetching reader gets, and the
     * engine's kernels prefetch, so the limit is the prefetching one. */
    for (int pass = 0; pass < 6; pass++) {
        const size_t pf = pass % 2 ? 512 : 0; /* words ahead */
        double t0 = cli_now_ms();
        uint64_t total = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : total) schedule(static)
        for (size_t i = 0; i < n; i += 8) {
            if (pf) __builtin_prefetch(&buf[i + pf]);
            total += buf[i] + buf[i + 1] + buf[i + 2] + buf[i + 3] + buf[i + 4] + buf[i + 5] +
                     buf[i + 6] + buf[i + 7];
        }
        double secs = (cli_now_ms() - t0) / 1e3;
        sink += total;
        if (secs > 0 && bytes / secs / 1e9 > best) best = bytes / secs / 1e9;
    }
    (void)sink;
    free(buf);
    return best;
}

typedef struct result {
    int n_prompt, n_gen, threads;
    double avg_ts, stddev_ts;
    double samples_ts[64];
    double avg_ns, stddev_ns;
    double samples_ns[64];
    int reps;
} result;

static void stats(result *r) {
    double s = 0, s2 = 0, ns = 0, ns2 = 0;
    for (int i = 0; i < r->reps; i++) {
        s += r->samples_ts[i];
        s2 += r->samples_ts[i] * r->samples_ts[i];
        ns += r->samples_ns[i];
        ns2 += r->samples_ns[i] * r->samples_ns[i];
    }
    r->avg_ts = s / r->reps;
    r->avg_ns = ns / r->reps;
    r->stddev_ts = r->reps > 1 ? sqrt(fmax(0, (s2 - s * s / r->reps) / (r->reps - 1))) : 0;
    r->stddev_ns = r->reps > 1 ? sqrt(fmax(0, (ns2 - ns * ns / r->reps) / (r->reps - 1))) : 0;
}

/* One measurement: pp = one batch of n_prompt tokens into an empty cache;
 * tg = n_gen single-token decodes into an empty cache. Tokens are fixed
 * pseudo-random ids (the speed does not depend on them). */
static bool run_once(bitnet_context *ctx, int32_t n_vocab, int n_prompt, int n_gen, double *ms) {
    bitnet_token *toks = malloc(sizeof *toks * (size_t)(n_prompt > n_gen ? n_prompt : n_gen) + 4);
    uint32_t x = 12345;
    for (int i = 0; i < (n_prompt > n_gen ? n_prompt : n_gen); i++) {
        x = x * 1664525u + 1013904223u;
        toks[i] = (bitnet_token)(x % (uint32_t)n_vocab);
    }
    bitnet_kv_truncate(ctx, 0);
    double t0 = cli_now_ms();
    bool ok = true;
    if (n_prompt > 0) ok = bitnet_decode(ctx, toks, n_prompt, false) == BITNET_OK;
    for (int i = 0; ok && i < n_gen; i++) ok = bitnet_decode(ctx, &toks[i], 1, false) == BITNET_OK;
    *ms = cli_now_ms() - t0;
    free(toks);
    if (!ok) fprintf(stderr, "bitnet bench: %s\n", bitnet_get_last_error());
    return ok;
}

int cmd_bench(int argc, char **argv) {
    const char *cmd = "bench", *model_path = NULL, *isa = NULL, *format = "md";
    long long pp[MAX_LIST] = {128}, tg[MAX_LIST] = {64}, th[MAX_LIST] = {0}, reps = 5;
    int n_pp = 1, n_tg = 1, n_th = 1;
    bool bandwidth = true, head_q8 = false;
    bitnet_numerics numerics = BITNET_NUMERICS_COMPAT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() (v = cli_value(cmd, argc, argv, &i))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { if (!VALUE()) return CLI_USAGE; model_path = v; }
        else if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) { if (!VALUE() || (n_pp = parse_list(cmd, a, v, 0, 1 << 16, pp)) < 0) return CLI_USAGE; }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) { if (!VALUE() || (n_tg = parse_list(cmd, a, v, 0, 1 << 16, tg)) < 0) return CLI_USAGE; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!VALUE() || (n_th = parse_list(cmd, a, v, 1, 1024, th)) < 0) return CLI_USAGE; }
        else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 1, 64, &reps)) return CLI_USAGE; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!VALUE()) return CLI_USAGE;
            if (strcmp(v, "md") && strcmp(v, "json") && strcmp(v, "csv")) { fprintf(stderr, "bitnet bench: -o: '%s' is not md, json or csv\n", v); return CLI_USAGE; }
            format = v;
        }
        else if (!strcmp(a, "--isa")) { if (!VALUE()) return CLI_USAGE; isa = v; }
        else if (!strcmp(a, "--no-bandwidth")) bandwidth = false;
        else if (!strcmp(a, "--head-q8")) head_q8 = true;
        else if (!strcmp(a, "--numerics")) {
            if (!VALUE()) return CLI_USAGE;
            if (!strcmp(v, "compat")) numerics = BITNET_NUMERICS_COMPAT;
            else if (!strcmp(v, "exact")) numerics = BITNET_NUMERICS_EXACT;
            else { fprintf(stderr, "bitnet bench: --numerics: '%s' is not compat or exact\n", v); return CLI_USAGE; }
        } else { fprintf(stderr, "bitnet bench: unknown option '%s'\n", a); usage(stderr); return CLI_USAGE; }
#undef VALUE
    }
    if (!model_path) { fprintf(stderr, "bitnet bench: -m is required\n"); usage(stderr); return CLI_USAGE; }
    bitnet_model *m = cli_load_model(cmd, model_path, false, false);
    if (!m) return CLI_RUNTIME;
    const int32_t n_vocab = bitnet_model_n_vocab(m);
    const double model_gb = (double)bitnet_model_size(m) / 1e9;

    result results[MAX_LIST * MAX_LIST * 2];
    int n_results = 0, rc = 0;
    double bw[MAX_LIST] = {0};
    for (int ti = 0; ti < n_th && rc == 0; ti++) {
        bitnet_context_params cp = bitnet_context_default_params();
        long long max_len = 1;
        for (int i = 0; i < n_pp; i++) if (pp[i] > max_len) max_len = pp[i];
        for (int i = 0; i < n_tg; i++) if (tg[i] > max_len) max_len = tg[i];
        cp.n_ctx = (int32_t)max_len;
        cp.n_batch = (int32_t)max_len;
        cp.n_threads = (int32_t)th[ti];
        cp.isa = isa;
        cp.numerics = numerics;
        cp.head_q8 = head_q8;
        bitnet_context *ctx = bitnet_context_new(m, &cp);
        if (!ctx) { fprintf(stderr, "bitnet bench: %s\n", bitnet_get_last_error()); rc = CLI_RUNTIME; break; }
        int threads = bitnet_context_n_threads(ctx);
        if (bandwidth) bw[ti] = measure_read_bandwidth(threads);
        for (int kind = 0; kind < 2 && rc == 0; kind++) {
            int count = kind == 0 ? n_pp : n_tg;
            for (int k = 0; k < count && rc == 0; k++) {
                int np = kind == 0 ? (int)pp[k] : 0, ng = kind == 1 ? (int)tg[k] : 0;
                if (np == 0 && ng == 0) continue;
                result *r = &results[n_results];
                memset(r, 0, sizeof *r);
                r->n_prompt = np;
                r->n_gen = ng;
                r->threads = threads;
                r->reps = (int)reps;
                double ms;
                if (!run_once(ctx, n_vocab, np, ng, &ms)) { rc = CLI_RUNTIME; break; } /* warm-up */
                for (int i = 0; i < r->reps; i++) {
                    if (!run_once(ctx, n_vocab, np, ng, &ms)) { rc = CLI_RUNTIME; break; }
                    r->samples_ns[i] = ms * 1e6;
                    r->samples_ts[i] = (np + ng) / (ms / 1e3);
                }
                stats(r);
                n_results++;
            }
        }
        bitnet_context_free(ctx);
    }

    if (!strcmp(format, "json")) {
        printf("[\n");
        for (int i = 0; i < n_results; i++) {
            const result *r = &results[i];
            int ti = 0;
            for (int j = 0; j < n_th; j++) if ((th[j] ? th[j] : r->threads) == r->threads) ti = j;
            printf("  {\"model_filename\": \"%s\", \"model_type\": \"%s\", \"model_size\": %llu, "
                   "\"model_n_params\": %llu, \"cpu_info\": \"%s\", \"n_threads\": %d, \"n_prompt\": %d, "
                   "\"n_gen\": %d, \"avg_ns\": %.0f, \"stddev_ns\": %.0f, \"avg_ts\": %.6f, \"stddev_ts\": %.6f, "
                   "\"read_bandwidth_gbs\": %.3f, \"bandwidth_fraction\": %.4f, \"samples_ns\": [",
                   model_path, bitnet_model_arch(m), (unsigned long long)bitnet_model_size(m),
                   (unsigned long long)bitnet_model_n_params(m), bitnet_system_info(), r->threads,
                   r->n_prompt, r->n_gen, r->avg_ns, r->stddev_ns, r->avg_ts, r->stddev_ts, bw[ti],
                   r->n_gen && bw[ti] > 0 ? r->avg_ts * model_gb / bw[ti] : 0.0);
            for (int k = 0; k < r->reps; k++) printf("%s%.0f", k ? ", " : "", r->samples_ns[k]);
            printf("], \"samples_ts\": [");
            for (int k = 0; k < r->reps; k++) printf("%s%.6f", k ? ", " : "", r->samples_ts[k]);
            printf("]}%s\n", i + 1 < n_results ? "," : "");
        }
        printf("]\n");
    } else if (!strcmp(format, "csv")) {
        printf("model,size_bytes,threads,n_prompt,n_gen,avg_ts,stddev_ts,read_bw_gbs,bw_fraction\n");
        for (int i = 0; i < n_results; i++) {
            const result *r = &results[i];
            double b = bw[0];
            printf("%s,%llu,%d,%d,%d,%.4f,%.4f,%.3f,%.4f\n", model_path,
                   (unsigned long long)bitnet_model_size(m), r->threads, r->n_prompt, r->n_gen,
                   r->avg_ts, r->stddev_ts, b, r->n_gen && b > 0 ? r->avg_ts * model_gb / b : 0.0);
        }
    } else {
        printf("| model | size | threads | test | t/s | bandwidth use |\n|---|---|---|---|---|---|\n");
        for (int i = 0; i < n_results; i++) {
            const result *r = &results[i];
            int ti = 0;
            for (int j = 0; j < n_th; j++) if ((th[j] ? th[j] : r->threads) == r->threads) ti = j;
            char test[32], frac[48] = "";
            snprintf(test, sizeof test, r->n_prompt ? "pp%d" : "tg%d", r->n_prompt ? r->n_prompt : r->n_gen);
            if (r->n_gen && bw[ti] > 0)
                snprintf(frac, sizeof frac, "%.0f%% of %.1f GB/s", 100 * r->avg_ts * model_gb / bw[ti], bw[ti]);
            printf("| %s | %.1f MiB | %d | %s | %.2f ± %.2f | %s |\n", bitnet_model_arch(m),
                   (double)bitnet_model_size(m) / 1048576.0, r->threads, test, r->avg_ts, r->stddev_ts, frac);
        }
        printf("\n%s; %lld repetitions after one warm-up; bandwidth use = tokens/s x model bytes / "
               "measured read bandwidth\n", bitnet_system_info(), reps);
    }
    bitnet_model_free(m);
    return rc;
}
