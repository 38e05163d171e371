/* bitnet bench: prompt processing (pp) and text generation (tg) speed in the
 * spirit of llama-bench, with the decode speed also expressed as a fraction of
 * the memory read bandwidth measured in the same run. The JSON output uses
 * llama-bench's field names where they exist, so tools that read one read the
 * other; the CSV has the same fields. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_json.h"
#include "cli_options.h"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bitnet bench -m FILE [-m FILE..] [-p N[,N..]] [-n N[,N..]] [-t N[,N..]] [-r REPS]\n"
        "                    [-o md|json|csv]\n"
        "  -m  models: every one is benchmarked, in order (like llama-bench)\n"
        "  -p  prompt lengths to process in one batch (default 128; 0 skips)\n"
        "  -n  tokens to generate one at a time (default 64; 0 skips)\n"
        "  -t  thread counts (default: physical cores)\n"
        "  -r  repetitions per test after one warm-up (default 5)\n"
        "  lists: comma-separated, at most 16 values; a repeated -m/-p/-n/-t adds to its list\n"
        "  --isa ISA, --numerics compat|exact, --no-bandwidth, --no-mmap, --mlock,\n"
        "  --check-tensors\n"
        "  --device cpu|cuda  (default: $BITNET_DEVICE, else cpu); cuda says why it cannot run\n"
        "  (docs/cuda.md; kernel times on a GPU: ci/gpu-check.sh)\n"
        "  --head-q8  8-bit output head (faster decode, slightly different logits)\n"
        "  JSON and CSV have the same fields; bandwidth_fraction is null (empty in CSV) for\n"
        "  pp tests, with --no-bandwidth, and when the model fits in the last-level cache\n"
        "  (its decode speed is then not bound by memory bandwidth)\n"
        "\n"
        "examples:\n"
        "  bitnet bench -m model.gguf -p 128 -n 64 -t 1,2 -o json\n"
        "  bitnet bench -m model.gguf -m model-tq2_0.gguf -p 0 -n 32 -r 3   # two formats, decode "
        "only\n");
}

static const char *const numerics_names[] = {"compat", "exact", NULL};
static const char *const format_names[] = {"md", "json", "csv", NULL};

cli_parse_status cli_parse_bench_args(int argc, char **argv, bench_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    o->reps = 5;
    o->bandwidth = true;
    o->numerics = BITNET_NUMERICS_COMPAT;
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        bool ok = true;
        int k = 0;
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_args_model_flag(a, &o->load))
            continue;
        else if (cli_args_is(a, "-m", "--model")) {
            if (o->n_models >= BENCH_MAX_LIST)
                ok = cli_args_fail(a, "-m: more than %d models", BENCH_MAX_LIST);
            else
                ok = cli_args_value(a, &o->models[o->n_models++]);
        } else if (cli_args_is(a, "-p", "--n-prompt"))
            ok = cli_args_int_list(a, 0, 1 << 16, o->pp, BENCH_MAX_LIST, &o->n_pp);
        else if (cli_args_is(a, "-n", "--n-gen"))
            ok = cli_args_int_list(a, 0, 1 << 16, o->tg, BENCH_MAX_LIST, &o->n_tg);
        else if (cli_args_is(a, "-t", "--threads"))
            ok = cli_args_int_list(a, 1, 1024, o->th, BENCH_MAX_LIST, &o->n_th);
        else if (cli_args_is(a, "-r", "--repetitions"))
            ok = cli_args_int(a, 1, 64, &o->reps);
        else if (cli_args_is(a, "-o", "--output")) {
            if ((ok = cli_args_choice(a, format_names, &k)))
                o->format = k == 0 ? BENCH_MD : k == 1 ? BENCH_JSON : BENCH_CSV;
        } else if (cli_args_is(a, NULL, "--isa"))
            ok = cli_args_value(a, &o->isa);
        else if (cli_args_is(a, NULL, "--device"))
            ok = cli_args_value(a, &o->device);
        else if (cli_args_is(a, NULL, "--no-bandwidth"))
            o->bandwidth = false;
        else if (cli_args_is(a, NULL, "--head-q8"))
            o->head_q8 = true;
        else if (cli_args_is(a, NULL, "--numerics")) {
            ok = cli_args_choice(a, numerics_names, &k);
            o->numerics = k == 1 ? BITNET_NUMERICS_EXACT : BITNET_NUMERICS_COMPAT;
        } else
            return cli_args_unknown(a);
        if (!ok) return CLI_PARSE_ERROR;
    }
    if (o->n_models == 0) {
        cli_args_fail(a, "-m is required");
        return CLI_PARSE_ERROR;
    }
    /* defaults for the lists not given */
    if (o->n_pp == 0) o->pp[o->n_pp++] = 128;
    if (o->n_tg == 0) o->tg[o->n_tg++] = 64;
    if (o->n_th == 0) o->th[o->n_th++] = 0;
    return CLI_PARSED;
}

/* The size of the last-level (highest-level) CPU cache in bytes, from sysfs;
 * 0 when unknown. */
static uint64_t last_level_cache_bytes(void) {
    uint64_t best = 0;
    int best_level = -1;
    for (int idx = 0; idx < 16; idx++) {
        char path[96];
        int level = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", idx);
        FILE *f = fopen(path, "r");
        if (!f) break;
        int got = fscanf(f, "%d", &level);
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", idx);
        if (got != 1 || !(f = fopen(path, "r"))) continue;
        unsigned long long v = 0;
        char unit = 0;
        got = fscanf(f, "%llu%c", &v, &unit);
        fclose(f);
        if (got < 1) continue;
        uint64_t mult = unit == 'K'   ? 1ull << 10
                        : unit == 'M' ? 1ull << 20
                        : unit == 'G' ? 1ull << 30
                                      : 1;
        if (level > best_level || (level == best_level && v * mult > best)) {
            best_level = level;
            best = v * mult;
        }
    }
    return best;
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
    int model, n_prompt, n_gen, threads;
    double read_bandwidth_gbs; /* 0: not measured */
    bool fits_in_cache;        /* the model fits in the last-level cache */
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

/* What one model's runs need to be printed. */
typedef struct model_info {
    const char *path;
    char arch[64];
    uint64_t size, n_params;
} model_info;

static double bandwidth_fraction(const result *r, const model_info *m) {
    if (!r->n_gen || r->read_bandwidth_gbs <= 0 || r->fits_in_cache) return NAN;
    return r->avg_ts * ((double)m->size / 1e9) / r->read_bandwidth_gbs;
}

/* One model: every thread count, every pp and tg test. Appends to results. */
static int bench_model(const bench_options *o, int mi, bitnet_model *m, uint64_t llc, double *bw,
                       result *results, int *n_results) {
    const int32_t n_vocab = bitnet_model_n_vocab(m);
    const bool fits = llc > 0 && bitnet_model_size(m) <= llc;
    for (int ti = 0; ti < o->n_th; ti++) {
        bitnet_context_params cp = bitnet_context_default_params();
        long long max_len = 1;
        for (int i = 0; i < o->n_pp; i++)
            if (o->pp[i] > max_len) max_len = o->pp[i];
        for (int i = 0; i < o->n_tg; i++)
            if (o->tg[i] > max_len) max_len = o->tg[i];
        cp.n_ctx = (int32_t)max_len;
        cp.n_batch = (int32_t)max_len;
        cp.n_threads = (int32_t)o->th[ti];
        cp.isa = o->isa;
        cp.device = o->device;
        cp.numerics = o->numerics;
        cp.head_q8 = o->head_q8;
        bitnet_context *ctx = bitnet_context_new(m, &cp);
        if (!ctx) {
            fprintf(stderr, "bitnet bench: %s: %s\n", o->models[mi], bitnet_get_last_error());
            return CLI_RUNTIME;
        }
        int threads = bitnet_context_n_threads(ctx);
        if (o->bandwidth && !fits && bw[ti] == 0) bw[ti] = measure_read_bandwidth(threads);
        for (int kind = 0; kind < 2; kind++) {
            int count = kind == 0 ? o->n_pp : o->n_tg;
            for (int k = 0; k < count; k++) {
                int np = kind == 0 ? (int)o->pp[k] : 0, ng = kind == 1 ? (int)o->tg[k] : 0;
                if (np == 0 && ng == 0) continue;
                result *r = &results[*n_results];
                memset(r, 0, sizeof *r);
                r->model = mi;
                r->n_prompt = np;
                r->n_gen = ng;
                r->threads = threads;
                r->reps = (int)o->reps;
                r->read_bandwidth_gbs = o->bandwidth && !fits ? bw[ti] : 0;
                r->fits_in_cache = fits;
                double ms;
                bool ok = run_once(ctx, n_vocab, np, ng, &ms); /* warm-up */
                for (int i = 0; ok && i < r->reps; i++) {
                    ok = run_once(ctx, n_vocab, np, ng, &ms);
                    r->samples_ns[i] = ms * 1e6;
                    r->samples_ts[i] = (np + ng) / (ms / 1e3);
                }
                if (!ok) {
                    bitnet_context_free(ctx);
                    return CLI_RUNTIME;
                }
                stats(r);
                *n_results += 1;
            }
        }
        bitnet_context_free(ctx);
    }
    return 0;
}

/* The fields of one result, the same for JSON and CSV (JSON adds the samples). */
static cJSON *result_json(const result *r, const model_info *m, uint64_t llc) {
    cJSON *o = cJSON_CreateObject(), *ns = cJSON_CreateArray(), *ts = cJSON_CreateArray();
    bool ok = o && ns && ts && cli_json_add_string(o, "model_filename", m->path) &&
              cli_json_add_string(o, "model_type", m->arch) &&
              cli_json_add_number(o, "model_size", (double)m->size) &&
              cli_json_add_number(o, "model_n_params", (double)m->n_params) &&
              cli_json_add_string(o, "cpu_info", bitnet_system_info()) &&
              cli_json_add_number(o, "n_threads", r->threads) &&
              cli_json_add_number(o, "n_prompt", r->n_prompt) &&
              cli_json_add_number(o, "n_gen", r->n_gen) &&
              cli_json_add_number(o, "avg_ns", round(r->avg_ns)) &&
              cli_json_add_number(o, "stddev_ns", round(r->stddev_ns)) &&
              cli_json_add_number(o, "avg_ts", r->avg_ts) &&
              cli_json_add_number(o, "stddev_ts", r->stddev_ts) &&
              cli_json_add_number(o, "read_bandwidth_gbs",
                                  r->read_bandwidth_gbs > 0 ? r->read_bandwidth_gbs : NAN) &&
              cli_json_add_number(o, "bandwidth_fraction", bandwidth_fraction(r, m)) &&
              cli_json_add_number(o, "llc_bytes", llc > 0 ? (double)llc : NAN);
    for (int k = 0; ok && k < r->reps; k++)
        ok = cJSON_AddItemToArray(ns, cli_json_number(round(r->samples_ns[k]))) &&
             cJSON_AddItemToArray(ts, cli_json_number(r->samples_ts[k]));
    if (ok)
        ok = cJSON_AddItemToObject(o, "samples_ns", ns) &&
             (ns = NULL, cJSON_AddItemToObject(o, "samples_ts", ts));
    else {
        cJSON_Delete(ns);
        cJSON_Delete(ts);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
static void csv_field(const char *s, bool last) {
    if (strpbrk(s, ",\"\r\n")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"') putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

/* CSV from the JSON objects, so both have the same fields and values (null:
 * an empty field; the sample arrays: space-separated). */
static int print_csv(cJSON *rows) {
    bool header = false;
    cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        cJSON *f;
        if (!header) {
            cJSON_ArrayForEach(f, row) csv_field(f->string, f->next == NULL);
            header = true;
        }
        cJSON_ArrayForEach(f, row) {
            char buf[64];
            if (cJSON_IsString(f)) {
                csv_field(f->valuestring, f->next == NULL);
                continue;
            }
            char *text = cJSON_IsArray(f) || cJSON_IsNumber(f) ? cJSON_PrintUnformatted(f) : NULL;
            if (!text) {
                csv_field("", f->next == NULL);
                continue;
            }
            if (cJSON_IsArray(f)) { /* [1,2] -> "1 2" */
                size_t n = strlen(text);
                memmove(text, text + 1, n);
                if (n >= 2) text[n - 2] = '\0';
                for (char *p = text; *p; p++)
                    if (*p == ',') *p = ' ';
                csv_field(text, f->next == NULL);
            } else {
                snprintf(buf, sizeof buf, "%s", text);
                csv_field(buf, f->next == NULL);
            }
            cJSON_free(text);
        }
    }
    return 0;
}

static void md_cell(const char *s) {
    for (; *s; s++) fputs(*s == '|' ? "\\|" : *s == '\n' ? " " : (char[]){*s, 0}, stdout);
}

static void print_md(const bench_options *o, const result *results, int n_results,
                     const model_info *models, uint64_t llc) {
    printf("| model | type | size | threads | test | t/s | bandwidth use |\n"
           "|---|---|---|---|---|---|---|\n");
    bool any_fits = false;
    for (int i = 0; i < n_results; i++) {
        const result *r = &results[i];
        const model_info *m = &models[r->model];
        char test[32], frac[64] = "";
        snprintf(test, sizeof test, r->n_prompt ? "pp%d" : "tg%d",
                 r->n_prompt ? r->n_prompt : r->n_gen);
        double f = bandwidth_fraction(r, m);
        if (isfinite(f))
            snprintf(frac, sizeof frac, "%.0f%% of %.1f GB/s", 100 * f, r->read_bandwidth_gbs);
        else if (r->n_gen && o->bandwidth && r->fits_in_cache)
            snprintf(frac, sizeof frac, "n/a (in cache)");
        any_fits |= r->fits_in_cache;
        fputs("| ", stdout);
        md_cell(m->path);
        fputs(" | ", stdout);
        md_cell(m->arch);
        printf(" | %.1f MiB | %d | %s | %.2f ± %.2f | %s |\n", (double)m->size / 1048576.0,
               r->threads, test, r->avg_ts, r->stddev_ts, frac);
    }
    printf("\n%s; %lld repetitions after one warm-up; bandwidth use = tokens/s x model bytes / "
           "measured read bandwidth\n",
           bitnet_system_info(), o->reps);
    if (any_fits && o->bandwidth)
        printf("n/a (in cache): the model is no larger than the %.1f MiB last-level cache, so its "
               "decode speed is not bound by memory bandwidth\n",
               (double)llc / 1048576.0);
}

int cmd_bench(int argc, char **argv) {
    bench_options o;
    cli_args args;
    const int done =
        cli_args_outcome("bench", cli_parse_bench_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    const uint64_t llc = last_level_cache_bytes();
    const size_t cap = (size_t)o.n_models * (size_t)o.n_th * (size_t)(o.n_pp + o.n_tg);
    result *results = calloc(cap ? cap : 1, sizeof *results);
    model_info models[BENCH_MAX_LIST];
    double bw[BENCH_MAX_LIST] = {0};
    int n_results = 0, rc = results ? 0 : CLI_RUNTIME;
    if (!results) fprintf(stderr, "bitnet bench: out of memory\n");
    for (int mi = 0; mi < o.n_models && rc == 0; mi++) {
        bitnet_model *m = cli_load_model_opts("bench", o.models[mi], false, &o.load);
        if (!m) {
            rc = CLI_RUNTIME;
            break;
        }
        models[mi] = (model_info){.path = o.models[mi],
                                  .size = bitnet_model_size(m),
                                  .n_params = bitnet_model_n_params(m)};
        snprintf(models[mi].arch, sizeof models[mi].arch, "%s", bitnet_model_arch(m));
        rc = bench_model(&o, mi, m, llc, bw, results, &n_results);
        bitnet_model_free(m);
    }
    if (rc == 0 && o.format == BENCH_MD) {
        print_md(&o, results, n_results, models, llc);
    } else if (rc == 0) {
        cJSON *rows = cJSON_CreateArray();
        for (int i = 0; rows && i < n_results; i++) {
            cJSON *row = result_json(&results[i], &models[results[i].model], llc);
            if (!row || !cJSON_AddItemToArray(rows, row)) {
                cJSON_Delete(rows);
                rows = NULL;
            }
        }
        if (o.format == BENCH_JSON) {
            rc = cli_json_emit("bench", rows, true);
        } else if (!rows) {
            fprintf(stderr, "bitnet bench: out of memory\n");
            rc = CLI_RUNTIME;
        } else {
            rc = print_csv(rows);
            cJSON_Delete(rows);
        }
    }
    free(results);
    return rc ? rc : cli_finish_stdout("bench");
}
