/* bitnet chat: a conversation. Interactive ("> " prompt) when stdin is a
 * terminal; otherwise one user turn per input line, ending at end of input,
 * so scripts never hang waiting for a terminal. Each turn appends only its new
 * text to the context (the KV cache keeps the conversation). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet chat -m FILE [--system TEXT] [--chat-template NAME] [options]\n"
            "  reads one user turn per line from stdin; replies stream to stdout\n"
            "  --chat-template bitnet|llama3|falcon3|chatml  (default: from the file)\n"
            "  -n N (max tokens per reply, default 256), -c CTX, -t N, --temp T (default 0.8),\n"
            "  --top-k K, --top-p P, --min-p P, --repeat-penalty R, -s SEED, --isa ISA, -v\n");
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

typedef struct reply {
    char *text;
    size_t len, cap;
} reply;

static bool on_piece(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    reply *r = user_data;
    if (r->len + len + 1 > r->cap) {
        size_t cap = (r->len + len + 1) * 2;
        char *t = realloc(r->text, cap);
        if (!t) return false;
        r->text = t;
        r->cap = cap;
    }
    memcpy(r->text + r->len, piece, len);
    r->len += len;
    r->text[r->len] = '\0';
    if (fwrite(piece, 1, len, stdout) != len) return false;
    fflush(stdout);
    return true;
}

int cmd_chat(int argc, char **argv) {
    const char *cmd = "chat", *model_path = NULL, *system = NULL, *tmpl = NULL, *isa = NULL;
    long long n_predict = 256, n_ctx = 0, threads = 0, top_k = 40, seed = 0;
    double temp = 0.8, top_p = 0.95, min_p = 0.05, rep = 1.0;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() (v = cli_value(cmd, argc, argv, &i))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { if (!VALUE()) return CLI_USAGE; model_path = v; }
        else if (!strcmp(a, "--system") || !strcmp(a, "-sys")) { if (!VALUE()) return CLI_USAGE; system = v; }
        else if (!strcmp(a, "--chat-template")) { if (!VALUE()) return CLI_USAGE; tmpl = v; }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { if (!VALUE() || !cli_parse_int(cmd, a, v, -1, 1 << 24, &n_predict)) return CLI_USAGE; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 0, 1 << 24, &n_ctx)) return CLI_USAGE; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 1, 1024, &threads)) return CLI_USAGE; }
        else if (!strcmp(a, "--temp")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 0, 100, &temp)) return CLI_USAGE; }
        else if (!strcmp(a, "--top-k")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 0, 1 << 24, &top_k)) return CLI_USAGE; }
        else if (!strcmp(a, "--top-p")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 1e-9, 1, &top_p)) return CLI_USAGE; }
        else if (!strcmp(a, "--min-p")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 0, 1, &min_p)) return CLI_USAGE; }
        else if (!strcmp(a, "--repeat-penalty")) { if (!VALUE() || !cli_parse_float(cmd, a, v, 1e-6, 100, &rep)) return CLI_USAGE; }
        else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) { if (!VALUE() || !cli_parse_int(cmd, a, v, 0, INT64_MAX, &seed)) return CLI_USAGE; }
        else if (!strcmp(a, "--isa")) { if (!VALUE()) return CLI_USAGE; isa = v; }
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = true;
        else { fprintf(stderr, "bitnet chat: unknown option '%s'\n", a); usage(stderr); return CLI_USAGE; }
#undef VALUE
    }
    if (!model_path) {
        fprintf(stderr, "bitnet chat: -m is required\n");
        usage(stderr);
        return CLI_USAGE;
    }
    bn_chat_format fmt = BN_CHAT_BITNET;
    if (tmpl && !bn_chat_format_parse(tmpl, &fmt)) {
        fprintf(stderr, "bitnet chat: --chat-template: unknown format '%s' (bitnet, llama3, falcon3, chatml)\n", tmpl);
        return CLI_USAGE;
    }
    bitnet_model *m = cli_load_model(cmd, model_path, false, verbose);
    if (!m) return CLI_RUNTIME;
    if (!tmpl) fmt = bn_chat_format_detect(m);
    if (verbose) fprintf(stderr, "chat format: %s\n", bn_chat_format_name(fmt));
    bitnet_context_params cp = bitnet_context_default_params();
    int32_t train = bitnet_model_n_ctx_train(m);
    cp.n_ctx = n_ctx ? (int32_t)n_ctx : (train < 4096 ? train : 4096);
    cp.n_threads = (int32_t)threads;
    cp.isa = isa;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    if (!ctx) {
        fprintf(stderr, "bitnet chat: %s\n", bitnet_get_last_error());
        bitnet_model_free(m);
        return CLI_RUNTIME;
    }
    const bool interactive = isatty(STDIN_FILENO);
    chat_state conv = {0};
    if (system) add_message(&conv, "system", system);
    char *shown = NULL; /* the conversation text already in the context */
    bitnet_token pending = -1; /* last reply token, sampled but not yet evaluated */
    int rc = 0;
    char *line = NULL;
    size_t line_cap = 0;
    for (;;) {
        if (interactive) {
            fputs("> ", stderr);
            fflush(stderr);
        }
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0) break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (got == 0) continue;
        if (!add_message(&conv, "user", line)) { rc = CLI_RUNTIME; break; }
        char *full = render(fmt, &conv, true);
        size_t old = shown ? strlen(shown) : 0;
        if (!full || strncmp(full, shown ? shown : "", old) != 0) {
            fprintf(stderr, "bitnet chat: the chat format re-rendered earlier turns differently\n");
            free(full);
            rc = CLI_RUNTIME;
            break;
        }
        /* new text: tokens with BOS only at the very start */
        const char *text = full + old;
        bool first = bitnet_n_past(ctx) == 0 && pending < 0;
        int32_t n = bitnet_tokenize(m, text, -1, NULL, 0, first, true);
        n = n < 0 ? -n : n;
        bitnet_token *toks = malloc(sizeof *toks * (size_t)(n + 2));
        int32_t off = 0;
        if (pending >= 0) toks[off++] = pending;
        n = bitnet_tokenize(m, text, -1, toks + off, n + 1, first, true);
        bitnet_inference_params ip = bitnet_inference_default_params();
        ip.n_predict = (int32_t)n_predict;
        ip.sampling.temperature = (float)temp;
        ip.sampling.top_k = (int32_t)top_k;
        ip.sampling.top_p = (float)top_p;
        ip.sampling.min_p = (float)min_p;
        ip.sampling.repeat_penalty = (float)rep;
        ip.sampling.seed = (uint64_t)seed + conv.n;
        reply r = {0};
        ip.on_piece = on_piece;
        ip.user_data = &r;
        bitnet_inference_stats stats;
        bitnet_status st = n < 0 ? BITNET_ERR_INPUT : bitnet_inference_tokens(ctx, toks, n + off, &ip, &stats);
        free(toks);
        fputc('\n', stdout);
        fflush(stdout);
        free(full);
        if (st != BITNET_OK) {
            fprintf(stderr, "bitnet chat: %s\n", bitnet_get_last_error());
            free(r.text);
            rc = CLI_RUNTIME;
            break;
        }
        if (verbose)
            fprintf(stderr, "[%d tokens, stop: %s]\n", stats.n_generated,
                    stats.stop_reason == BITNET_STOP_EOG ? "end of turn" : "limit");
        pending = stats.last_token;
        add_message(&conv, "assistant", r.text ? r.text : "");
        free(r.text);
        free(shown);
        shown = render(fmt, &conv, false);
        if (stats.stop_reason == BITNET_STOP_CONTEXT_FULL) {
            fprintf(stderr, "bitnet chat: the context window (%d tokens) is full\n", cp.n_ctx);
            break;
        }
    }
    free(line);
    free(shown);
    for (size_t i = 0; i < conv.n; i++) free((char *)conv.msgs[i].content);
    free(conv.msgs);
    bitnet_context_free(ctx);
    bitnet_model_free(m);
    return rc;
}
