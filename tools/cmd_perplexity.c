/* bitnet perplexity: llama-perplexity's chunked perplexity, and its KL
 * divergence against a base file written by llama-perplexity. A result that
 * is not finite (NaN or Inf logits) is written as null and fails the run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"
#include "cli_options.h"
#include "kld.h"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bitnet perplexity -m FILE -f TEXT [-c CTX] [--chunks N] [-t N] [--json]\n"
        "       bitnet perplexity -m FILE --kl-divergence-base BASE [--chunks N] [-t N] [--json]\n"
        "  non-overlapping chunks of CTX tokens (default 512), each starting with BOS; the\n"
        "  second half of each chunk is scored, like llama-perplexity. TEXT: at most 64 MiB.\n"
        "  --kl-divergence-base FILE  compare with log-probabilities saved by\n"
        "      `llama-perplexity --kl-divergence-base FILE` (tokens and CTX come from it)\n"
        "  --numerics compat|exact, --isa ISA, -v, --no-mmap, --mlock, --check-tensors\n"
        "  --head-q8  8-bit output head (see docs/performance.md)\n"
        "  a result that is not finite (NaN/Inf logits) is null in --json and exits 1\n"
        "\n"
        "examples:\n"
        "  bitnet perplexity -m model.gguf -f text.txt -c 128\n"
        "  bitnet perplexity -m model.gguf -f text.txt -c 128 --chunks 4 --json > ppl.json\n"
        "  bitnet perplexity -m model.gguf --kl-divergence-base base.kld   # vs "
        "llama-perplexity\n");
}

static const char *const numerics_names[] = {"compat", "exact", NULL};

cli_parse_status cli_parse_perplexity_args(int argc, char **argv, perplexity_options *o,
                                           cli_args *a) {
    memset(o, 0, sizeof *o);
    o->n_ctx = 512;
    o->numerics = BITNET_NUMERICS_COMPAT;
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        bool ok = true;
        int k;
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_args_model_flag(a, &o->load))
            continue;
        else if (cli_args_is(a, "-m", "--model"))
            ok = cli_args_value(a, &o->model);
        else if (cli_args_is(a, "-f", "--file"))
            ok = cli_args_value(a, &o->text_file);
        else if (cli_args_is(a, NULL, "--kl-divergence-base"))
            ok = cli_args_value(a, &o->kld_base);
        else if (cli_args_is(a, "-c", "--ctx-size"))
            ok = cli_args_int(a, 8, 1 << 20, &o->n_ctx);
        else if (cli_args_is(a, NULL, "--chunks"))
            ok = cli_args_int(a, 1, 1 << 24, &o->n_chunks);
        else if (cli_args_is(a, "-t", "--threads"))
            ok = cli_args_int(a, 1, 1024, &o->threads);
        else if (cli_args_is(a, NULL, "--json"))
            o->json = true;
        else if (cli_args_is(a, NULL, "--head-q8"))
            o->head_q8 = true;
        else if (cli_args_is(a, NULL, "--isa"))
            ok = cli_args_value(a, &o->isa);
        else if (cli_args_is(a, NULL, "--numerics")) {
            ok = cli_args_choice(a, numerics_names, &k);
            o->numerics = k == 1 ? BITNET_NUMERICS_EXACT : BITNET_NUMERICS_COMPAT;
        } else
            return cli_args_unknown(a);
        if (!ok) return CLI_PARSE_ERROR;
    }
    if (o->text_file && o->kld_base) {
        cli_args_fail(a, "-f and --kl-divergence-base are exclusive");
        return CLI_PARSE_ERROR;
    }
    if (!o->model || (!o->text_file && !o->kld_base)) {
        cli_args_fail(a, "%s is required",
                      !o->model ? "-m" : "-f TEXT or --kl-divergence-base FILE");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

static bitnet_context *make_context(bitnet_model *m, const perplexity_options *a, int32_t n_ctx) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_threads = (int32_t)a->threads;
    cp.numerics = a->numerics;
    cp.isa = a->isa;
    cp.head_q8 = a->head_q8;
    cli_warn_ctx("perplexity", m, n_ctx);
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    if (!ctx) fprintf(stderr, "bitnet perplexity: %s\n", bitnet_get_last_error());
    return ctx;
}

/* Evaluates one chunk (first token replaced by BOS when the model adds BOS). */
static bool eval_chunk(bitnet_context *ctx, const bitnet_model *m, const int32_t *tokens,
                       int32_t n_ctx) {
    bitnet_token *chunk = malloc(sizeof *chunk * (size_t)n_ctx);
    if (!chunk) return false;
    memcpy(chunk, tokens, sizeof *chunk * (size_t)n_ctx);
    if (bitnet_add_bos(m)) chunk[0] = bitnet_token_bos(m);
    bitnet_kv_truncate(ctx, 0);
    bitnet_status st = bitnet_decode(ctx, chunk, n_ctx, true);
    free(chunk);
    if (st) fprintf(stderr, "bitnet perplexity: %s\n", bitnet_get_last_error());
    return st == BITNET_OK;
}

static void report_not_finite(const char *what, double v, int32_t chunk) {
    fprintf(stderr,
            "bitnet perplexity: the %s is %s (first non-finite value in chunk %d): the model's "
            "logits are not finite; check the weights with --check-tensors\n",
            what, isnan(v) ? "NaN" : "infinite", chunk);
}

static int print_ppl_json(const bitnet_context *ctx, double ppl, double err, int32_t n_ctx,
                          int32_t n_chunk, int64_t count, double secs, const double *running) {
    cJSON *o = cJSON_CreateObject(), *chunks = cJSON_CreateArray();
    bool ok = o && chunks && cli_json_add_number(o, "ppl", ppl) &&
              cli_json_add_number(o, "ppl_err", err) && cli_json_add_number(o, "n_ctx", n_ctx) &&
              cli_json_add_number(o, "n_chunks", n_chunk) &&
              cli_json_add_number(o, "n_tokens_scored", (double)count) &&
              cli_json_add_number(o, "seconds", secs) &&
              cli_json_add_string(o, "isa", bitnet_context_isa(ctx));
    for (int32_t c = 0; ok && c < n_chunk; c++)
        ok = cJSON_AddItemToArray(chunks, cli_json_number(running[c]));
    if (ok)
        ok = cJSON_AddItemToObject(o, "chunks", chunks);
    else
        cJSON_Delete(chunks);
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    return cli_json_emit("perplexity", o, false);
}

static int run_perplexity(bitnet_model *m, const perplexity_options *a) {
    size_t len;
    char *text = cli_read_file("perplexity", a->text_file, &len);
    if (!text) return CLI_RUNTIME;
    int32_t n = bitnet_tokenize(m, text, (int32_t)len, NULL, 0, true, false);
    bitnet_token *tokens = NULL;
    if (n != INT32_MIN) {
        n = n < 0 ? -n : n;
        tokens = malloc(sizeof *tokens * (size_t)(n ? n : 1));
        n = tokens ? bitnet_tokenize(m, text, (int32_t)len, tokens, n, true, false) : INT32_MIN;
    }
    free(text);
    const int32_t n_ctx = (int32_t)a->n_ctx;
    if (n < 0 || n < 2 * n_ctx) {
        if (n >= 0)
            fprintf(
                stderr,
                "bitnet perplexity: %s tokenizes to %d tokens; at least %d (2 x CTX) are needed\n",
                a->text_file, n, 2 * n_ctx);
        else
            fprintf(stderr, "bitnet perplexity: %s\n", bitnet_get_last_error());
        free(tokens);
        return CLI_RUNTIME;
    }
    int32_t n_chunk = n / n_ctx;
    if (a->n_chunks > 0 && a->n_chunks < n_chunk) n_chunk = (int32_t)a->n_chunks;
    bitnet_context *ctx = make_context(m, a, n_ctx);
    double *running = malloc(sizeof *running * (size_t)n_chunk);
    if (!ctx || !running) {
        if (ctx && !running) fprintf(stderr, "bitnet perplexity: out of memory\n");
        free(running);
        free(tokens);
        bitnet_context_free(ctx);
        return CLI_RUNTIME;
    }
    const int32_t n_vocab = bitnet_model_n_vocab(m), first = n_ctx / 2;
    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    int32_t first_bad = -1;
    FILE *progress = a->json ? stderr : stdout;
    double t0 = cli_now_ms();
    int rc = 0;
    for (int32_t c = 0; c < n_chunk; c++) {
        if (!eval_chunk(ctx, m, tokens + (int64_t)c * n_ctx, n_ctx)) {
            rc = CLI_RUNTIME;
            break;
        }
        for (int32_t j = first; j < n_ctx - 1; j++) {
            const float *logits = bitnet_get_logits_ith(ctx, j);
            double v = -kld_log_softmax(logits, n_vocab, tokens[(int64_t)c * n_ctx + j + 1]);
            if (!isfinite(v) && first_bad < 0) first_bad = c + 1;
            nll += v;
            nll2 += v * v;
        }
        count += n_ctx - 1 - first;
        running[c] = exp(nll / (double)count);
        fprintf(progress, "[%d]%.4f,", c + 1, running[c]);
        fflush(progress);
    }
    fprintf(progress, "\n");
    if (rc == 0) {
        double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
        double ppl = exp(mean), err = var > 0 ? sqrt(var / (double)(count - 1)) * ppl : 0.0;
        double secs = (cli_now_ms() - t0) / 1e3;
        if (a->json)
            rc = print_ppl_json(ctx, ppl, err, n_ctx, n_chunk, count, secs, running);
        else
            printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
        if (!isfinite(ppl) || first_bad >= 0) {
            report_not_finite("perplexity", ppl, first_bad);
            rc = CLI_RUNTIME;
        }
    }
    free(running);
    free(tokens);
    bitnet_context_free(ctx);
    return rc;
}

typedef struct kld_summary {
    double ppl, ppl_err, ppl_base, ppl_base_err, mean_kld, mean_kld_err, max_kld, p99_kld,
        median_kld, same_top, same_top_err;
} kld_summary;

static kld_summary summarize(kld_stats *s) {
    kld_summary r;
    double mnll, enll, mb, eb;
    kld_mean_err(s->sum_nll, s->sum_nll2, s->count, &mnll, &enll);
    kld_mean_err(s->sum_nll_base, s->sum_nll_base2, s->count, &mb, &eb);
    kld_mean_err(s->sum_kld, s->sum_kld2, s->count, &r.mean_kld, &r.mean_kld_err);
    r.ppl = exp(mnll);
    r.ppl_err = r.ppl * enll;
    r.ppl_base = exp(mb);
    r.ppl_base_err = r.ppl_base * eb;
    r.same_top = (double)s->n_same_top / (double)s->count;
    r.same_top_err =
        s->count > 1 ? sqrt(r.same_top * (1 - r.same_top) / (double)(s->count - 1)) : 0.0;
    r.max_kld = kld_percentile(s, 1.0);
    r.p99_kld = kld_percentile(s, 0.99);
    r.median_kld = kld_percentile(s, 0.5);
    return r;
}

static int print_kld(const kld_summary *r, size_t count, const bitnet_context *ctx, bool json) {
    if (json) {
        cJSON *o = cJSON_CreateObject();
        bool ok = o && cli_json_add_number(o, "positions", (double)count) &&
                  cli_json_add_number(o, "ppl", r->ppl) &&
                  cli_json_add_number(o, "ppl_base", r->ppl_base) &&
                  cli_json_add_number(o, "mean_kld", r->mean_kld) &&
                  cli_json_add_number(o, "mean_kld_err", r->mean_kld_err) &&
                  cli_json_add_number(o, "max_kld", r->max_kld) &&
                  cli_json_add_number(o, "p99_kld", r->p99_kld) &&
                  cli_json_add_number(o, "median_kld", r->median_kld) &&
                  cli_json_add_number(o, "same_top", r->same_top) &&
                  cli_json_add_number(o, "same_top_err", r->same_top_err) &&
                  cli_json_add_string(o, "isa", bitnet_context_isa(ctx));
        if (!ok) {
            cJSON_Delete(o);
            o = NULL;
        }
        return cli_json_emit("perplexity", o, false);
    }
    printf("\n====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", r->ppl, r->ppl_err);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", r->ppl_base, r->ppl_base_err);
    printf("\n====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", r->mean_kld, r->mean_kld_err);
    printf("Maximum KLD: %10.6f\n", r->max_kld);
    printf("99.0%%   KLD: %10.6f\n", r->p99_kld);
    printf("Median  KLD: %10.6f\n", r->median_kld);
    printf("\n====== Token probability statistics ======\n");
    printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * r->same_top, 100.0 * r->same_top_err);
    return 0;
}

static int run_kld(bitnet_model *m, const perplexity_options *a) {
    kld_file f;
    if (kld_file_read(a->kld_base, &f) != 0) return CLI_RUNTIME;
    const int32_t n_vocab = bitnet_model_n_vocab(m);
    if (f.n_vocab != n_vocab) {
        fprintf(stderr,
                "bitnet perplexity: %s was made with a %d-token vocabulary, the model has %d\n",
                a->kld_base, f.n_vocab, n_vocab);
        kld_file_free(&f);
        return CLI_RUNTIME;
    }
    int32_t n_chunk = f.n_chunk;
    if (a->n_chunks > 0 && a->n_chunks < n_chunk) n_chunk = (int32_t)a->n_chunks;
    const int32_t n_ctx = (int32_t)f.n_ctx, first = n_ctx / 2;
    bitnet_context *ctx = make_context(m, a, n_ctx);
    if (!ctx) {
        kld_file_free(&f);
        return CLI_RUNTIME;
    }
    kld_stats s;
    memset(&s, 0, sizeof s);
    FILE *progress = a->json ? stderr : stdout;
    int rc = 0;
    int32_t first_bad = -1;
    fprintf(progress, "chunk    PPL        KL divergence    Same top p\n");
    for (int32_t c = 0; c < n_chunk; c++) {
        if (!eval_chunk(ctx, m, f.tokens + (int64_t)c * n_ctx, n_ctx)) {
            rc = CLI_RUNTIME;
            break;
        }
        for (int32_t j = 0; j < f.n_scored; j++) {
            double kld =
                kld_add(&s, bitnet_get_logits_ith(ctx, first + j), n_vocab, kld_record(&f, c, j),
                        f.tokens[(int64_t)c * n_ctx + first + j + 1]);
            if (!isfinite(kld) && first_bad < 0) first_bad = c + 1;
        }
        double mnll, enll, mk, ek;
        kld_mean_err(s.sum_nll, s.sum_nll2, s.count, &mnll, &enll);
        kld_mean_err(s.sum_kld, s.sum_kld2, s.count, &mk, &ek);
        fprintf(progress, "%4d  %10.4f  %10.5f ± %8.5f  %6.3f %%\n", c + 1, exp(mnll), mk, ek,
                100.0 * (double)s.n_same_top / (double)s.count);
    }
    if (rc == 0 && s.count > 0) {
        kld_summary r = summarize(&s);
        rc = print_kld(&r, s.count, ctx, a->json);
        if (!isfinite(r.mean_kld) || !isfinite(r.ppl) || first_bad >= 0) {
            report_not_finite(isfinite(r.mean_kld) ? "perplexity" : "KL divergence",
                              isfinite(r.mean_kld) ? r.ppl : r.mean_kld, first_bad);
            rc = CLI_RUNTIME;
        }
    }
    kld_stats_free(&s);
    kld_file_free(&f);
    bitnet_context_free(ctx);
    return rc;
}

int cmd_perplexity(int argc, char **argv) {
    perplexity_options o;
    cli_args args;
    const int done = cli_args_outcome(
        "perplexity", cli_parse_perplexity_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    bitnet_model *m = cli_load_model_opts("perplexity", o.model, false, &o.load);
    if (!m) return CLI_RUNTIME;
    int rc = o.kld_base ? run_kld(m, &o) : run_perplexity(m, &o);
    bitnet_model_free(m);
    return rc ? rc : cli_finish_stdout("perplexity");
}
