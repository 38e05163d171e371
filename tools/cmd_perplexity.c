/* bitnet perplexity: llama-perplexity's chunked perplexity, and its KL
 * divergence against a base file written by llama-perplexity. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kld.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet perplexity -m FILE -f TEXT [-c CTX] [--chunks N] [-t N] [--json]\n"
            "       bitnet perplexity -m FILE --kl-divergence-base BASE [--chunks N] [-t N] [--json]\n"
            "  non-overlapping chunks of CTX tokens (default 512), each starting with BOS; the\n"
            "  second half of each chunk is scored, like llama-perplexity.\n"
            "  --kl-divergence-base FILE  compare with log-probabilities saved by\n"
            "      `llama-perplexity --kl-divergence-base FILE` (tokens and CTX come from it)\n"
            "  --numerics compat|exact, --isa ISA, -v\n"
            "  --head-q8  8-bit output head (see docs/performance.md)\n");
}

typedef struct ppl_args {
    const char *model, *text_file, *kld_base, *isa;
    long long n_ctx, n_chunks, threads;
    bool json, verbose, head_q8;
    bitnet_numerics numerics;
} ppl_args;

static bitnet_context *make_context(bitnet_model *m, const ppl_args *a, int32_t n_ctx) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_threads = (int32_t)a->threads;
    cp.numerics = a->numerics;
    cp.isa = a->isa;
    cp.head_q8 = a->head_q8;
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

static int run_perplexity(bitnet_model *m, const ppl_args *a) {
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
            fprintf(stderr, "bitnet perplexity: %s tokenizes to %d tokens; at least %d (2 x CTX) are needed\n",
                    a->text_file, n, 2 * n_ctx);
        else
            fprintf(stderr, "bitnet perplexity: %s\n", bitnet_get_last_error());
        free(tokens);
        return CLI_RUNTIME;
    }
    int32_t n_chunk = n / n_ctx;
    if (a->n_chunks > 0 && a->n_chunks < n_chunk) n_chunk = (int32_t)a->n_chunks;
    bitnet_context *ctx = make_context(m, a, n_ctx);
    if (!ctx) {
        free(tokens);
        return CLI_RUNTIME;
    }
    const int32_t n_vocab = bitnet_model_n_vocab(m), first = n_ctx / 2;
    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    double *running = malloc(sizeof *running * (size_t)n_chunk);
    FILE *progress = a->json ? stderr : stdout;
    double t0 = cli_now_ms();
    int rc = 0;
    for (int32_t c = 0; c < n_chunk && running; c++) {
        if (!eval_chunk(ctx, m, tokens + (int64_t)c * n_ctx, n_ctx)) {
            rc = CLI_RUNTIME;
            break;
        }
        for (int32_t j = first; j < n_ctx - 1; j++) {
            const float *logits = bitnet_get_logits_ith(ctx, j);
            double v = -kld_log_softmax(logits, n_vocab, tokens[(int64_t)c * n_ctx + j + 1]);
            nll += v;
            nll2 += v * v;
        }
        count += n_ctx - 1 - first;
        running[c] = exp(nll / (double)count);
        fprintf(progress, "[%d]%.4f,", c + 1, running[c]);
        fflush(progress);
    }
    fprintf(progress, "\n");
    if (rc == 0 && running) {
        double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
        double ppl = exp(mean), err = var > 0 ? sqrt(var / (double)(count - 1)) * ppl : 0.0;
        double secs = (cli_now_ms() - t0) / 1e3;
        if (a->json) {
            printf("{\"ppl\": %.6f, \"ppl_err\": %.6f, \"n_ctx\": %d, \"n_chunks\": %d, "
                   "\"n_tokens_scored\": %lld, \"seconds\": %.3f, \"isa\": \"%s\", \"chunks\": [",
                   ppl, err, n_ctx, n_chunk, (long long)count, secs, bitnet_context_isa(ctx));
            for (int32_t c = 0; c < n_chunk; c++) printf("%s%.6f", c ? ", " : "", running[c]);
            printf("]}\n");
        } else {
            printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
        }
    }
    free(running);
    free(tokens);
    bitnet_context_free(ctx);
    return rc;
}

static int run_kld(bitnet_model *m, const ppl_args *a) {
    kld_file f;
    if (kld_file_read(a->kld_base, &f) != 0) return CLI_RUNTIME;
    const int32_t n_vocab = bitnet_model_n_vocab(m);
    if (f.n_vocab != n_vocab) {
        fprintf(stderr, "bitnet perplexity: %s was made with a %d-token vocabulary, the model has %d\n",
                a->kld_base, f.n_vocab, n_vocab);
        kld_file_free(&f);
        return CLI_RUNTIME;
    }
    for (size_t i = 0; i < (size_t)f.n_ctx * (size_t)f.n_chunk; i++)
        if (f.tokens[i] < 0 || f.tokens[i] >= n_vocab) {
            fprintf(stderr, "bitnet perplexity: %s: token %d at index %zu is outside the vocabulary\n",
                    a->kld_base, f.tokens[i], i);
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
    fprintf(progress, "chunk    PPL        KL divergence    Same top p\n");
    for (int32_t c = 0; c < n_chunk; c++) {
        if (!eval_chunk(ctx, m, f.tokens + (int64_t)c * n_ctx, n_ctx)) {
            rc = CLI_RUNTIME;
            break;
        }
        for (int32_t j = 0; j < f.n_scored; j++)
            kld_add(&s, bitnet_get_logits_ith(ctx, first + j), n_vocab, kld_record(&f, c, j),
                    f.tokens[(int64_t)c * n_ctx + first + j + 1]);
        double mnll, enll, mk, ek;
        kld_mean_err(s.sum_nll, s.sum_nll2, s.count, &mnll, &enll);
        kld_mean_err(s.sum_kld, s.sum_kld2, s.count, &mk, &ek);
        fprintf(progress, "%4d  %10.4f  %10.5f ± %8.5f  %6.3f %%\n", c + 1, exp(mnll), mk, ek,
                100.0 * (double)s.n_same_top / (double)s.count);
    }
    if (rc == 0 && s.count > 0) {
        double mnll, enll, mb, eb, mk, ek;
        kld_mean_err(s.sum_nll, s.sum_nll2, s.count, &mnll, &enll);
        kld_mean_err(s.sum_nll_base, s.sum_nll_base2, s.count, &mb, &eb);
        kld_mean_err(s.sum_kld, s.sum_kld2, s.count, &mk, &ek);
        double top = (double)s.n_same_top / (double)s.count;
        double top_err = s.count > 1 ? sqrt(top * (1 - top) / (double)(s.count - 1)) : 0.0;
        double max_kld = kld_percentile(&s, 1.0), p99 = kld_percentile(&s, 0.99),
               med = kld_percentile(&s, 0.5);
        if (a->json) {
            printf("{\"positions\": %zu, \"ppl\": %.6f, \"ppl_base\": %.6f, \"mean_kld\": %.6f, "
                   "\"mean_kld_err\": %.6f, \"max_kld\": %.6f, \"p99_kld\": %.6f, \"median_kld\": %.6f, "
                   "\"same_top\": %.6f, \"same_top_err\": %.6f, \"isa\": \"%s\"}\n",
                   s.count, exp(mnll), exp(mb), mk, ek, max_kld, p99, med, top, top_err,
                   bitnet_context_isa(ctx));
        } else {
            printf("\n====== Perplexity statistics ======\n");
            printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", exp(mnll), exp(mnll) * enll);
            printf("Mean PPL(base)                : %10.6f ± %10.6f\n", exp(mb), exp(mb) * eb);
            printf("\n====== KL divergence statistics ======\n");
            printf("Mean    KLD: %10.6f ± %10.6f\n", mk, ek);
            printf("Maximum KLD: %10.6f\n", max_kld);
            printf("99.0%%   KLD: %10.6f\n", p99);
            printf("Median  KLD: %10.6f\n", med);
            printf("\n====== Token probability statistics ======\n");
            printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * top, 100.0 * top_err);
        }
    }
    kld_stats_free(&s);
    kld_file_free(&f);
    bitnet_context_free(ctx);
    return rc;
}

int cmd_perplexity(int argc, char **argv) {
    const char *cmd = "perplexity";
    ppl_args a = {.n_ctx = 512, .numerics = BITNET_NUMERICS_COMPAT};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v;
#define VALUE() (v = cli_value(cmd, argc, argv, &i))
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(o, "-m") || !strcmp(o, "--model")) { if (!VALUE()) return CLI_USAGE; a.model = v; }
        else if (!strcmp(o, "-f") || !strcmp(o, "--file")) { if (!VALUE()) return CLI_USAGE; a.text_file = v; }
        else if (!strcmp(o, "--kl-divergence-base")) { if (!VALUE()) return CLI_USAGE; a.kld_base = v; }
        else if (!strcmp(o, "-c") || !strcmp(o, "--ctx-size")) { if (!VALUE() || !cli_parse_int(cmd, o, v, 8, 1 << 20, &a.n_ctx)) return CLI_USAGE; }
        else if (!strcmp(o, "--chunks")) { if (!VALUE() || !cli_parse_int(cmd, o, v, 1, 1 << 24, &a.n_chunks)) return CLI_USAGE; }
        else if (!strcmp(o, "-t") || !strcmp(o, "--threads")) { if (!VALUE() || !cli_parse_int(cmd, o, v, 1, 1024, &a.threads)) return CLI_USAGE; }
        else if (!strcmp(o, "--json")) a.json = true;
        else if (!strcmp(o, "--head-q8")) a.head_q8 = true;
        else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) a.verbose = true;
        else if (!strcmp(o, "--isa")) { if (!VALUE()) return CLI_USAGE; a.isa = v; }
        else if (!strcmp(o, "--numerics")) {
            if (!VALUE()) return CLI_USAGE;
            if (!strcmp(v, "compat")) a.numerics = BITNET_NUMERICS_COMPAT;
            else if (!strcmp(v, "exact")) a.numerics = BITNET_NUMERICS_EXACT;
            else { fprintf(stderr, "bitnet perplexity: --numerics: '%s' is not compat or exact\n", v); return CLI_USAGE; }
        } else { fprintf(stderr, "bitnet perplexity: unknown option '%s'\n", o); usage(stderr); return CLI_USAGE; }
#undef VALUE
    }
    if (!a.model || (!a.text_file && !a.kld_base) || (a.text_file && a.kld_base)) {
        fprintf(stderr, "bitnet perplexity: -m and one of -f or --kl-divergence-base are required\n");
        usage(stderr);
        return CLI_USAGE;
    }
    bitnet_model *m = cli_load_model(cmd, a.model, false, a.verbose);
    if (!m) return CLI_RUNTIME;
    int rc = a.kld_base ? run_kld(m, &a) : run_perplexity(m, &a);
    bitnet_model_free(m);
    return rc;
}
