/* bitnet run: generate text from a prompt, streaming it to stdout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_options.h"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bitnet run -m FILE (-p TEXT | -f FILE) [options]\n"
        "  -m, --model FILE        GGUF model\n"
        "  -p, --prompt TEXT       prompt (or -f FILE; the two are exclusive)\n"
        "  -f, --file FILE         read the prompt from a file (at most 64 MiB, no NUL bytes)\n"
        "  -n, --n-predict N       tokens to generate (default 128; -1 = until end of text\n"
        "                          or a full context)\n"
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
        "      --isa ISA           ref, avx2, avx512, amx, neon, wasm (default: best here)\n"
        "      --device DEV        cpu or cuda (default: $BITNET_DEVICE, else cpu); cuda says\n"
        "                          why it cannot run (docs/cuda.md)\n"
        "      --head-q8           8-bit output head: faster, slightly different logits\n"
        "      --no-special        do not parse special-token text in the prompt\n"
        "      --chat              format the prompt as one user turn of the model's chat format\n"
        "      --chat-template NAME  bitnet, llama3, falcon3 or chatml (implies --chat)\n"
        "      --system TEXT       system message for --chat\n"
        "      --no-mmap           read the model into memory instead of mapping it\n"
        "      --mlock             lock the model in RAM (a warning if the limit refuses)\n"
        "      --check-tensors     check every weight at load (NaN/Inf, ternary codes)\n"
        "      --kernel-config FILE  bitnet.cpp's kernel_config.ini for TL1/TL2 shapes the\n"
        "                          file and the built-in presets do not describe\n"
        "      --i2s-block 64|128  I2_S layout when the file does not say (default 128; 64 for\n"
        "                          files quantized by bitnet.cpp's ARM builds since 2025-11)\n"
        "  -v, --verbose           log loading details to stderr\n"
        "  a repeated flag: the last one wins\n"
        "\n"
        "examples:\n"
        "  bitnet run -m model.gguf -p \"The capital of France is\" -n 32 --temp 0\n"
        "  bitnet run -m model.gguf -f prompt.txt -n 64 --temp 0.7 --top-p 0.9 -s 42\n"
        "  bitnet run -m model.gguf --chat --system \"Be brief.\" -p \"What is a ternary "
        "weight?\"\n"
        "  bitnet run -m hf-model -p \"Hello\" -n 16 -t 2   # a Hugging Face directory\n");
}

static const char *const numerics_names[] = {"compat", "exact", NULL};

cli_parse_status cli_parse_run_args(int argc, char **argv, run_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    o->n_predict = 128;
    cli_sampling_defaults(&o->sampling);
    o->parse_special = true;
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
        else if (cli_args_is(a, "-p", "--prompt"))
            ok = cli_args_value(a, &o->prompt);
        else if (cli_args_is(a, "-f", "--file"))
            ok = cli_args_value(a, &o->prompt_file);
        else if (cli_args_is(a, "-n", "--n-predict"))
            ok = cli_args_int(a, -1, 1 << 24, &o->n_predict);
        else if (cli_args_is(a, "-c", "--ctx-size"))
            ok = cli_args_int(a, 0, 1 << 24, &o->n_ctx);
        else if (cli_args_is(a, "-t", "--threads"))
            ok = cli_args_int(a, 1, 1024, &o->threads);
        else if (cli_args_sampling_flag(a, &o->sampling, true, &ok))
            ; /* ok says whether its value parsed */
        else if (cli_args_is(a, NULL, "--ignore-eos"))
            o->ignore_eos = true;
        else if (cli_args_is(a, NULL, "--head-q8"))
            o->head_q8 = true;
        else if (cli_args_is(a, NULL, "--no-special"))
            o->parse_special = false;
        else if (cli_args_is(a, NULL, "--chat"))
            o->chat = true;
        else if (cli_args_is(a, NULL, "--system"))
            ok = cli_args_value(a, &o->system);
        else if (cli_args_is(a, NULL, "--isa"))
            ok = cli_args_value(a, &o->isa);
        else if (cli_args_is(a, NULL, "--device"))
            ok = cli_args_value(a, &o->device);
        else if (cli_args_is(a, NULL, "--chat-template")) {
            ok = cli_args_value(a, &o->chat_template);
            if (ok && !bn_chat_format_parse(o->chat_template, &o->chat_format))
                ok = cli_args_fail(
                    a, "--chat-template: unknown format '%s' (bitnet, llama3, falcon3, chatml)",
                    o->chat_template);
            o->chat = true;
        } else if (cli_args_is(a, NULL, "--numerics")) {
            ok = cli_args_choice(a, numerics_names, &k);
            o->numerics = k == 1 ? BITNET_NUMERICS_EXACT : BITNET_NUMERICS_COMPAT;
        } else
            return cli_args_unknown(a);
        if (!ok) return CLI_PARSE_ERROR;
    }
    if (o->prompt && o->prompt_file) {
        cli_args_fail(a, "-p and -f are exclusive: give the prompt one way");
        return CLI_PARSE_ERROR;
    }
    if (!o->model || (!o->prompt && !o->prompt_file)) {
        cli_args_fail(a, "%s is required", !o->model ? "-m" : "a prompt (-p TEXT or -f FILE)");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

/* stdout as the piece callback sees it: the first failed write (EPIPE when
 * the reader went away) cancels generation. */
typedef struct stdout_sink {
    bool failed;
    int err;
} stdout_sink;

static bool print_piece(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    stdout_sink *s = user_data;
    if (s->failed) return false;
    errno = 0;
    if (fwrite(piece, 1, len, stdout) != len || fflush(stdout) != 0) {
        s->failed = true;
        s->err = errno;
        return false;
    }
    return true;
}

static char *render_chat(const run_options *o, const bitnet_model *model, const char *prompt) {
    bn_chat_format fmt = o->chat_template ? o->chat_format : bn_chat_format_detect(model);
    bitnet_chat_message msgs[2] = {{"system", o->system ? o->system : ""}, {"user", prompt}};
    const bitnet_chat_message *first = o->system ? msgs : msgs + 1;
    size_t n_msgs = o->system ? 2 : 1;
    int32_t n = bn_chat_render(fmt, first, n_msgs, true, NULL, 0);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!text) {
        fprintf(stderr, "bitnet run: cannot format the prompt as %s chat\n",
                bn_chat_format_name(fmt));
        return NULL;
    }
    bn_chat_render(fmt, first, n_msgs, true, text, n + 1);
    if (o->load.verbose)
        fprintf(stderr, "chat format %s; prompt: %s\n", bn_chat_format_name(fmt), text);
    return text;
}

static int generate(const run_options *o, bitnet_model *model, const char *prompt) {
    bitnet_context_params cp = bitnet_context_default_params();
    int32_t train_ctx = bitnet_model_n_ctx_train(model);
    cp.n_ctx = o->n_ctx ? (int32_t)o->n_ctx : (train_ctx < 4096 ? train_ctx : 4096);
    cli_warn_ctx("run", model, cp.n_ctx);
    cp.n_threads = (int32_t)o->threads;
    cp.numerics = o->numerics;
    cp.isa = o->isa;
    cp.device = o->device;
    cp.head_q8 = o->head_q8;
    bitnet_context *ctx = bitnet_context_new(model, &cp);
    if (!ctx) {
        fprintf(stderr, "bitnet run: %s\n", bitnet_get_last_error());
        return CLI_RUNTIME;
    }
    bitnet_inference_params ip = bitnet_inference_default_params();
    ip.n_predict = (int32_t)o->n_predict;
    ip.ignore_eos = o->ignore_eos;
    ip.parse_special = o->parse_special;
    ip.sampling.temperature = (float)o->sampling.temp;
    ip.sampling.top_k = (int32_t)o->sampling.top_k;
    ip.sampling.top_p = (float)o->sampling.top_p;
    ip.sampling.min_p = (float)o->sampling.min_p;
    ip.sampling.repeat_penalty = (float)o->sampling.rep;
    ip.sampling.repeat_last_n = (int32_t)o->sampling.last_n;
    ip.sampling.seed = (uint64_t)o->sampling.seed;
    stdout_sink sink = {0};
    ip.on_piece = print_piece;
    ip.user_data = &sink;
    bitnet_inference_stats stats;
    bitnet_status st = bitnet_inference(ctx, prompt, &ip, &stats);
    int rc = 0;
    if (sink.failed) {
        if (sink.err == EPIPE)
            fprintf(stderr, "bitnet run: output closed early (broken pipe); generation stopped\n");
        else
            fprintf(stderr, "\nbitnet run: writing the output failed: %s; generation stopped\n",
                    sink.err ? strerror(sink.err) : "write error");
        rc = CLI_RUNTIME;
    } else if (st != BITNET_OK) {
        fprintf(stderr, "\nbitnet run: %s\n", bitnet_get_last_error());
        rc = CLI_RUNTIME;
    } else {
        if (stats.stop_reason == BITNET_STOP_CONTEXT_FULL) {
            fprintf(stderr,
                    "\nbitnet run: stopped: context full (%d tokens) after %d generated "
                    "tokens; use -c to enlarge it\n",
                    bitnet_context_n_ctx(ctx), stats.n_generated);
            /* -n N asked for N tokens: fewer is a failed run; -n -1 means "until full" */
            if (o->n_predict >= 0) rc = CLI_RUNTIME;
        }
        fprintf(stderr,
                "\n[bitnet] prompt: %d tokens in %.1f ms (%.2f t/s) | generation: %d tokens in "
                "%.1f ms (%.2f t/s) | %s, %s, %d threads\n",
                stats.n_prompt, stats.t_prompt_ms,
                stats.t_prompt_ms > 0 ? 1e3 * stats.n_prompt / stats.t_prompt_ms : 0.0,
                stats.n_generated, stats.t_gen_ms,
                stats.t_gen_ms > 0 ? 1e3 * stats.n_generated / stats.t_gen_ms : 0.0,
                bitnet_context_isa(ctx), o->numerics == BITNET_NUMERICS_COMPAT ? "compat" : "exact",
                bitnet_context_n_threads(ctx));
    }
    bitnet_context_free(ctx);
    return rc;
}

int cmd_run(int argc, char **argv) {
    run_options o;
    cli_args args;
    const int done =
        cli_args_outcome("run", cli_parse_run_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    char *file_text = NULL;
    const char *prompt = o.prompt;
    if (o.prompt_file) {
        size_t len = 0;
        if (!(file_text = cli_read_file("run", o.prompt_file, &len))) return CLI_RUNTIME;
        if (!cli_check_no_nul("run", o.prompt_file, file_text, len)) {
            free(file_text);
            return CLI_RUNTIME;
        }
        prompt = file_text;
    }
    int rc = CLI_RUNTIME;
    char *chat_text = NULL;
    bitnet_model *model = cli_load_model_opts("run", o.model, false, &o.load);
    if (model && (!o.chat || (prompt = chat_text = render_chat(&o, model, prompt))))
        rc = generate(&o, model, prompt);
    bitnet_model_free(model);
    free(file_text);
    free(chat_text);
    return rc ? rc : cli_finish_stdout("run");
}
