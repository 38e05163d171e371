/* bitnet chat: a conversation. Interactive ("> " prompt) when stdin is a
 * terminal; otherwise one user turn per input line, ending at end of input,
 * so scripts never hang waiting for a terminal. Each turn appends only its new
 * text to the context (the KV cache keeps the conversation). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_options.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet chat -m FILE [--system TEXT] [--chat-template NAME] [options]\n"
            "  reads one user turn per line from stdin (a line: at most 64 MiB, no NUL bytes);\n"
            "  replies stream to stdout\n"
            "  --chat-template bitnet|llama3|falcon3|chatml  (default: from the file)\n"
            "  -n N (max tokens per reply, default 256), -c CTX, -t N, --temp T (default 0.8),\n"
            "  --top-k K, --top-p P, --min-p P, --repeat-penalty R, -s SEED, --isa ISA, -v,\n"
            "  --no-mmap, --mlock, --check-tensors (see bitnet run --help)\n"
            "  a repeated flag: the last one wins\n"
            "\n"
            "examples:\n"
            "  echo \"What is a ternary weight?\" | bitnet chat -m model.gguf --system \"Be "
            "brief.\" -n 64\n"
            "  bitnet chat -m model.gguf --chat-template llama3 --temp 0   # type a line, Enter; "
            "Ctrl-D ends\n");
}

cli_parse_status cli_parse_chat_args(int argc, char **argv, chat_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    o->n_predict = 256;
    cli_sampling_defaults(&o->sampling);
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        bool ok = true;
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_args_model_flag(a, &o->load))
            continue;
        else if (cli_args_is(a, "-m", "--model"))
            ok = cli_args_value(a, &o->model);
        else if (cli_args_is(a, "-sys", "--system"))
            ok = cli_args_value(a, &o->system);
        else if (cli_args_is(a, "-n", "--n-predict"))
            ok = cli_args_int(a, -1, 1 << 24, &o->n_predict);
        else if (cli_args_is(a, "-c", "--ctx-size"))
            ok = cli_args_int(a, 0, 1 << 24, &o->n_ctx);
        else if (cli_args_is(a, "-t", "--threads"))
            ok = cli_args_int(a, 1, 1024, &o->threads);
        else if (cli_args_sampling_flag(a, &o->sampling, false, &ok))
            ; /* ok says whether its value parsed */
        else if (cli_args_is(a, NULL, "--isa"))
            ok = cli_args_value(a, &o->isa);
        else if (cli_args_is(a, NULL, "--chat-template")) {
            ok = cli_args_value(a, &o->chat_template);
            if (ok && !bn_chat_format_parse(o->chat_template, &o->chat_format))
                ok = cli_args_fail(
                    a, "--chat-template: unknown format '%s' (bitnet, llama3, falcon3, chatml)",
                    o->chat_template);
        } else
            return cli_args_unknown(a);
        if (!ok) return CLI_PARSE_ERROR;
    }
    if (!o->model) {
        cli_args_fail(a, "-m is required");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

/* One line of at most `max` bytes without its end-of-line: its length, -1 at
 * end of input, -2 when longer than max (the rest of the input is not read,
 * so `chat < /dev/zero` stops at the limit), -3 out of memory. */
static long long read_line(FILE *in, char **buf, size_t *cap, size_t max) {
    size_t n = 0;
    int c = EOF;
    while ((c = getc(in)) != EOF && c != '\n') {
        if (n >= max) return -2;
        if (n + 1 >= *cap) {
            size_t want = *cap ? *cap * 2 : 256;
            char *bigger = realloc(*buf, want);
            if (!bigger) return -3;
            *buf = bigger;
            *cap = want;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0) return -1;
    if (!*buf && !(*buf = malloc(*cap = 1))) return -3;
    (*buf)[n] = '\0';
    return (long long)n;
}

typedef struct chat_state {
    bitnet_chat_message *msgs;
    size_t n, cap;
} chat_state;

static bool add_message(chat_state *c, const char *role, const char *content) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        bitnet_chat_message *m = realloc(c->msgs, cap * sizeof *m);
        if (!m) return false;
        c->msgs = m;
        c->cap = cap;
    }
    char *copy = strdup(content);
    if (!copy) return false;
    c->msgs[c->n++] = (bitnet_chat_message){role, copy};
    return true;
}

static char *render(bn_chat_format f, const chat_state *c, bool add_assistant) {
    int32_t n = bn_chat_render(f, c->msgs, c->n, add_assistant, NULL, 0);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) bn_chat_render(f, c->msgs, c->n, add_assistant, s, n + 1);
    return s;
}

/* The reply being generated, and stdout: the first failed write cancels. */
typedef struct reply {
    char *text;
    size_t len, cap;
    bool write_failed, nomem;
    int err;
} reply;

static bool on_piece(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    reply *r = user_data;
    if (r->write_failed || r->nomem) return false;
    if (r->len + len + 1 > r->cap) {
        size_t cap = (r->len + len + 1) * 2;
        char *t = realloc(r->text, cap);
        if (!t) {
            r->nomem = true;
            return false;
        }
        r->text = t;
        r->cap = cap;
    }
    memcpy(r->text + r->len, piece, len);
    r->len += len;
    r->text[r->len] = '\0';
    errno = 0;
    if (fwrite(piece, 1, len, stdout) != len || fflush(stdout) != 0) {
        r->write_failed = true;
        r->err = errno;
        return false;
    }
    return true;
}

/* Tokens of the new text, after the pending (sampled, not yet evaluated)
 * token of the last reply; NULL with a message on failure. */
static bitnet_token *tokenize_turn(const bitnet_model *m, const char *text, bool first,
                                   bitnet_token pending, int32_t *n_out) {
    int32_t n = bitnet_tokenize(m, text, -1, NULL, 0, first, true);
    if (n == INT32_MIN) {
        fprintf(stderr, "bitnet chat: %s\n", bitnet_get_last_error());
        return NULL;
    }
    n = n < 0 ? -n : n;
    bitnet_token *toks = malloc(sizeof *toks * ((size_t)n + 2));
    if (!toks) {
        fprintf(stderr, "bitnet chat: out of memory\n");
        return NULL;
    }
    int32_t off = 0;
    if (pending >= 0) toks[off++] = pending;
    n = bitnet_tokenize(m, text, -1, toks + off, n + 1, first, true);
    if (n < 0) {
        fprintf(stderr, "bitnet chat: %s\n", bitnet_get_last_error());
        free(toks);
        return NULL;
    }
    *n_out = n + off;
    return toks;
}

static int converse(const chat_options *o, bitnet_model *m, bitnet_context *ctx,
                    bn_chat_format fmt) {
    const bool interactive = isatty(STDIN_FILENO);
    chat_state conv = {0};
    int rc = 0;
    if (o->system && !add_message(&conv, "system", o->system)) rc = CLI_RUNTIME;
    char *shown = NULL;        /* the conversation text already in the context */
    bitnet_token pending = -1; /* last reply token, sampled but not yet evaluated */
    char *line = NULL;
    size_t line_cap = 0;
    for (long long line_no = 1; rc == 0; line_no++) {
        if (interactive) {
            fputs("> ", stderr);
            fflush(stderr);
        }
        long long got = read_line(stdin, &line, &line_cap, CLI_MAX_TEXT_BYTES);
        if (got == -1) {
            if (ferror(stdin)) {
                fprintf(stderr, "bitnet chat: reading stdin failed: %s\n", strerror(errno));
                rc = CLI_RUNTIME;
            }
            break;
        }
        if (got < -1) {
            if (got == -2)
                fprintf(
                    stderr,
                    "bitnet chat: stdin line %lld: longer than the %zu-byte (64 MiB) input limit\n",
                    line_no, CLI_MAX_TEXT_BYTES);
            else
                fprintf(stderr, "bitnet chat: out of memory reading stdin line %lld\n", line_no);
            rc = CLI_RUNTIME;
            break;
        }
        char what[48];
        snprintf(what, sizeof what, "stdin line %lld", line_no);
        if (!cli_check_no_nul("chat", what, line, (size_t)got)) {
            rc = CLI_RUNTIME;
            break;
        }
        while (got > 0 && line[got - 1] == '\r') line[--got] = '\0';
        if (got == 0) continue;
        if (!add_message(&conv, "user", line)) {
            rc = CLI_RUNTIME;
            break;
        }
        char *full = render(fmt, &conv, true);
        size_t old = shown ? strlen(shown) : 0;
        if (!full || strncmp(full, shown ? shown : "", old) != 0) {
            fprintf(stderr, "bitnet chat: the chat format re-rendered earlier turns differently\n");
            free(full);
            rc = CLI_RUNTIME;
            break;
        }
        /* new text: tokens with BOS only at the very start */
        bool first = bitnet_n_past(ctx) == 0 && pending < 0;
        int32_t n = 0;
        bitnet_token *toks = tokenize_turn(m, full + old, first, pending, &n);
        free(full);
        if (!toks) {
            rc = CLI_RUNTIME;
            break;
        }
        bitnet_inference_params ip = bitnet_inference_default_params();
        ip.n_predict = (int32_t)o->n_predict;
        ip.sampling.temperature = (float)o->sampling.temp;
        ip.sampling.top_k = (int32_t)o->sampling.top_k;
        ip.sampling.top_p = (float)o->sampling.top_p;
        ip.sampling.min_p = (float)o->sampling.min_p;
        ip.sampling.repeat_penalty = (float)o->sampling.rep;
        ip.sampling.seed = (uint64_t)o->sampling.seed + conv.n;
        reply r = {0};
        ip.on_piece = on_piece;
        ip.user_data = &r;
        bitnet_inference_stats stats;
        bitnet_status st = bitnet_inference_tokens(ctx, toks, n, &ip, &stats);
        free(toks);
        if (!r.write_failed) {
            errno = 0;
            if (fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
                r.write_failed = true;
                r.err = errno;
            }
        }
        if (r.write_failed || r.nomem || st != BITNET_OK) {
            if (r.write_failed && r.err == EPIPE)
                fprintf(stderr, "bitnet chat: output closed early (broken pipe)\n");
            else if (r.write_failed)
                fprintf(stderr, "bitnet chat: writing the output failed: %s\n",
                        r.err ? strerror(r.err) : "write error");
            else
                fprintf(stderr, "bitnet chat: %s\n",
                        r.nomem ? "out of memory" : bitnet_get_last_error());
            free(r.text);
            rc = CLI_RUNTIME;
            break;
        }
        if (o->load.verbose)
            fprintf(stderr, "[%d tokens, stop: %s]\n", stats.n_generated,
                    stats.stop_reason == BITNET_STOP_EOG ? "end of turn" : "limit");
        pending = stats.last_token;
        bool added = add_message(&conv, "assistant", r.text ? r.text : "");
        free(r.text);
        free(shown);
        shown = added ? render(fmt, &conv, false) : NULL;
        if (!shown) {
            fprintf(stderr, "bitnet chat: out of memory\n");
            rc = CLI_RUNTIME;
            break;
        }
        if (stats.stop_reason == BITNET_STOP_CONTEXT_FULL) {
            fprintf(stderr,
                    "bitnet chat: stopped: context full (%d tokens); use -c to enlarge it\n",
                    bitnet_context_n_ctx(ctx));
            break;
        }
    }
    free(line);
    free(shown);
    for (size_t i = 0; i < conv.n; i++) free((char *)conv.msgs[i].content);
    free(conv.msgs);
    return rc;
}

int cmd_chat(int argc, char **argv) {
    chat_options o;
    cli_args args;
    const int done =
        cli_args_outcome("chat", cli_parse_chat_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    bitnet_model *m = cli_load_model_opts("chat", o.model, false, &o.load);
    if (!m) return CLI_RUNTIME;
    bn_chat_format fmt = o.chat_template ? o.chat_format : bn_chat_format_detect(m);
    if (o.load.verbose) fprintf(stderr, "chat format: %s\n", bn_chat_format_name(fmt));
    bitnet_context_params cp = bitnet_context_default_params();
    int32_t train = bitnet_model_n_ctx_train(m);
    cp.n_ctx = o.n_ctx ? (int32_t)o.n_ctx : (train < 4096 ? train : 4096);
    cli_warn_ctx("chat", m, cp.n_ctx);
    cp.n_threads = (int32_t)o.threads;
    cp.isa = o.isa;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    if (!ctx) {
        fprintf(stderr, "bitnet chat: %s\n", bitnet_get_last_error());
        bitnet_model_free(m);
        return CLI_RUNTIME;
    }
    int rc = converse(&o, m, ctx, fmt);
    bitnet_context_free(ctx);
    bitnet_model_free(m);
    return rc ? rc : cli_finish_stdout("chat");
}
