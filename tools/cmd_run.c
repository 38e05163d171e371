/* bitnet run: generate text from a prompt, streaming it to stdout. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet run -m FILE -p TEXT [options]\n"
            "  -m, --model FILE        GGUF model\n"
            "  -p, --prompt TEXT       prompt (or -f FILE)\n"
            "  -f, --file FILE         read the prompt from a file\n"
            "  -n, --n-predict N       tokens to generate (default 128; -1 = until end of text)\n"
            "  -c, --ctx-size N        context size (default: the model's, capped at 4096)\n"
            "  -t, --threads N         threads (default: physical cores)\n"
            "      --temp T            temperature (default 0.8; 0 = greedy)\n"
            "      --top-k K           (default 40; 0 = off)\n"
            "      --top-p P           (default 0.95; 1 = off)\n"
            "      --min-p P           (default 0.05; 0 = off)\n"
            "      --repeat-penalty R  (default 1.0 = off)\n"
            "      --repeat-last-n N   (default 64)\n"
            "  -s, --seed S            (default 0)\n"
            "      --ignore-eos        keep generating after end-of-text tokens\n"
            "      --numerics MODE     compat (default: bitnet.cpp's roundings) or exact\n"
            "      --isa ISA           ref, avx2, avx512, neon (default: best for this CPU)\n"
            "      --head-q8           8-bit output head: faster, slightly different logits\n"
            "      --no-special        do not parse special-token text in the prompt\n"
            "      --chat              format the prompt as one user turn of the model's chat format\n"
            "      --chat-template NAME  bitnet, llama3, falcon3 or chatml (implies --chat)\n"
            "      --system TEXT       system message for --chat\n"
            "  -v, --verbose           log loading details to stderr\n");
}

static bool print_piece(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    (void)user_data;
    if (fwrite(piece, 1, len, stdout) != len) return false; /* stdout closed: stop quietly */
    fflush(stdout);
    return true;
}

int cmd_run(int argc, char **argv) {
    const char *cmd = "run", *model_path = NULL, *prompt = NULL, *prompt_file = NULL, *isa = NULL;
    long long n_predict = 128, n_ctx = 0, threads = 0, top_k = 40, last_n = 64, seed = 0;
    double temp = 0.8, top_p = 0.95, min_p = 0.05, rep = 1.0;
    bool ignore_eos = false, verbose = false, parse_special = true, chat = false, head_q8 = false;
    const char *chat_template = NULL, *system = NULL;
    bitnet_numerics numerics = BITNET_NUMERICS_COMPAT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() (v = cli_value(cmd, argc, argv, &i))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { if (!VALUE()) return CLI_USAGE; model_path = v; }
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) { if (!VALUE()) return CLI_USAGE; prompt = v; }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) { if (!VALUE()) return CLI_USAGE; prompt_file = v; }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { if (!VALUE() || !cli_parse_int(cmd, a, v, -1, 1 << 24, &n_predict)) return CLI_USAGE; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 0, 1 << 24, &n_ctx)) return CLI_USAGE; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 1, 1024, &threads)) return CLI_USAGE; }
        else if (!strcmp(a, "--temp")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 0, 100, &temp)) return CLI_USAGE; }
        else if (!strcmp(a, "--top-k")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 0, 1 << 24, &top_k)) return CLI_USAGE; }
        else if (!strcmp(a, "--top-p")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 1e-9, 1, &top_p)) return CLI_USAGE; }
        else if (!strcmp(a, "--min-p")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 0, 1, &min_p)) return CLI_USAGE; }
        else if (!strcmp(a, "--repeat-penalty")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 1e-6, 100, &rep)) return CLI_USAGE; }
        else if (!strcmp(a, "--repeat-last-n")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 0, 1 << 20, &last_n)) return CLI_USAGE; }
        else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 0, INT64_MAX, &seed)) return CLI_USAGE; }
        else if (!strcmp(a, "--ignore-eos")) ignore_eos = true;
        else if (!strcmp(a, "--head-q8")) head_q8 = true;
        else if (!strcmp(a, "--no-special")) parse_special = false;
        else if (!strcmp(a, "--chat")) chat = true;
        else if (!strcmp(a, "--chat-template")) { if (!VALUE()) return CLI_USAGE; chat_template = v; chat = true; }
        else if (!strcmp(a, "--system")) { if (!VALUE()) return CLI_USAGE; system = v; }
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = true;
        else if (!strcmp(a, "--isa")) { if (!VALUE()) return CLI_USAGE; isa = v; }
        else if (!strcmp(a, "--numerics")) {
            if (!VALUE()) return CLI_USAGE;
            if (!strcmp(v, "compat")) numerics = BITNET_NUMERICS_COMPAT;
            else if (!strcmp(v, "exact")) numerics = BITNET_NUMERICS_EXACT;
            else { fprintf(stderr, "bitnet run: --numerics: '%s' is not compat or exact\n", v); return CLI_USAGE; }
        } else {
            fprintf(stderr, "bitnet run: unknown option '%s'\n", a);
            usage(stderr);
            return CLI_USAGE;
        }
#undef VALUE
    }
    if (!model_path || (!prompt && !prompt_file) || (prompt && prompt_file)) {
        fprintf(stderr, "bitnet run: -m and one of -p or -f are required\n");
        usage(stderr);
        return CLI_USAGE;
    }
    bn_chat_format fmt = BN_CHAT_BITNET;
    if (chat_template && !bn_chat_format_parse(chat_template, &fmt)) {
        fprintf(stderr, "bitnet run: --chat-template: unknown format '%s' (bitnet, llama3, falcon3, chatml)\n", chat_template);
        return CLI_USAGE;
    }
    char *file_text = NULL;
    if (prompt_file && !(prompt = file_text = cli_read_file(cmd, prompt_file, NULL))) return CLI_RUNTIME;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout ends generation through EPIPE */

    bitnet_model *model = cli_load_model(cmd, model_path, false, verbose);
    if (!model) { free(file_text); return CLI_RUNTIME; }
    char *chat_text = NULL;
    if (chat) {
        if (!chat_template) fmt = bn_chat_format_detect(model);
        bitnet_chat_message msgs[2] = {{"system", system ? system : ""}, {"user", prompt}};
        const bitnet_chat_message *first = system ? msgs : msgs + 1;
        size_t n_msgs = system ? 2 : 1;
        int32_t n = bn_chat_render(fmt, first, n_msgs, true, NULL, 0);
        chat_text = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (chat_text) bn_chat_render(fmt, first, n_msgs, true, chat_text, n + 1);
        prompt = chat_text ? chat_text : prompt;
        if (verbose) fprintf(stderr, "chat format %s; prompt: %s\n", bn_chat_format_name(fmt), prompt);
    }
    bitnet_context_params cp = bitnet_context_default_params();
    int32_t train_ctx = bitnet_model_n_ctx_train(model);
    cp.n_ctx = n_ctx ? (int32_t)n_ctx : (train_ctx < 4096 ? train_ctx : 4096);
    cp.n_threads = (int32_t)threads;
    cp.numerics = numerics;
    cp.isa = isa;
    cp.head_q8 = head_q8;
    bitnet_context *ctx = bitnet_context_new(model, &cp);
    if (!ctx) {
        fprintf(stderr, "bitnet run: %s\n", bitnet_get_last_error());
        bitnet_model_free(model);
        free(file_text);
        return CLI_RUNTIME;
    }
    bitnet_inference_params ip = bitnet_inference_default_params();
    ip.n_predict = (int32_t)n_predict;
    ip.ignore_eos = ignore_eos;
    ip.parse_special = parse_special;
    ip.sampling.temperature = (float)temp;
    ip.sampling.top_k = (int32_t)top_k;
    ip.sampling.top_p = (float)top_p;
    ip.sampling.min_p = (float)min_p;
    ip.sampling.repeat_penalty = (float)rep;
    ip.sampling.repeat_last_n = (int32_t)last_n;
    ip.sampling.seed = (uint64_t)seed;
    ip.on_piece = print_piece;
    bitnet_inference_stats stats;
    bitnet_status st = bitnet_inference(ctx, prompt, &ip, &stats);
    fflush(stdout);
    int rc = 0;
    if (st != BITNET_OK) {
        fprintf(stderr, "\nbitnet run: %s\n", bitnet_get_last_error());
        rc = CLI_RUNTIME;
    } else {
        fprintf(stderr,
                "\n[bitnet] prompt: %d tokens in %.1f ms (%.2f t/s) | generation: %d tokens in "
                "%.1f ms (%.2f t/s) | %s, %s, %d threads\n",
                stats.n_prompt, stats.t_prompt_ms,
                stats.t_prompt_ms > 0 ? 1e3 * stats.n_prompt / stats.t_prompt_ms : 0.0,
                stats.n_generated, stats.t_gen_ms,
                stats.t_gen_ms > 0 ? 1e3 * stats.n_generated / stats.t_gen_ms : 0.0,
                bitnet_context_isa(ctx), numerics == BITNET_NUMERICS_COMPAT ? "compat" : "exact",
                bitnet_context_n_threads(ctx));
    }
    bitnet_context_free(ctx);
    bitnet_model_free(model);
    free(file_text);
    free(chat_text);
    return rc;
}
