/* bitnet tokenize: print the token ids of a text as one JSON array. */
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"
#include "cli_options.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet tokenize -m FILE (-p TEXT | -f FILE) [--no-bos] [--no-parse-special] "
            "[--pieces]\n"
            "  prints a JSON array of token ids (BOS added when the file's metadata says so)\n"
            "  --pieces  print [[id, \"piece\"], ...] instead; a piece that is not valid UTF-8\n"
            "            (a byte token) has U+FFFD for its invalid bytes and a third element,\n"
            "            its exact bytes: [id, \"\\ufffd\", [240]]\n"
            "  -f FILE: at most 64 MiB; --no-mmap, --mlock, --check-tensors, -v as for run\n"
            "\n"
            "examples:\n"
            "  bitnet tokenize -m model.gguf -p \"Hello world\"\n"
            "  bitnet tokenize -m model.gguf -f prompt.txt --pieces --no-bos\n");
}

cli_parse_status cli_parse_tokenize_args(int argc, char **argv, tokenize_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    o->add_bos = true;
    o->parse_special = true;
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        bool ok = true;
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_args_model_flag(a, &o->load))
            continue;
        else if (cli_args_is(a, "-m", "--model"))
            ok = cli_args_value(a, &o->model);
        else if (cli_args_is(a, "-p", "--prompt"))
            ok = cli_args_value(a, &o->text);
        else if (cli_args_is(a, "-f", "--file"))
            ok = cli_args_value(a, &o->file);
        else if (cli_args_is(a, NULL, "--no-bos"))
            o->add_bos = false;
        else if (cli_args_is(a, NULL, "--no-parse-special"))
            o->parse_special = false;
        else if (cli_args_is(a, NULL, "--pieces"))
            o->pieces = true;
        else
            return cli_args_unknown(a);
        if (!ok) return CLI_PARSE_ERROR;
    }
    if (o->text && o->file) {
        cli_args_fail(a, "-p and -f are exclusive: give the text one way");
        return CLI_PARSE_ERROR;
    }
    if (!o->model || (!o->text && !o->file)) {
        cli_args_fail(a, "%s is required", !o->model ? "-m" : "a text (-p TEXT or -f FILE)");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

/* [id, "piece"] or, for a piece that is not valid UTF-8, [id, "piece", [bytes]] */
static cJSON *piece_json(const bitnet_model *m, bitnet_token id) {
    char small[256], *piece = small;
    int32_t n = bitnet_token_to_piece(m, id, small, sizeof small, true);
    if (n < 0 && n != INT32_MIN) {
        piece = malloc((size_t)-n);
        n = piece ? bitnet_token_to_piece(m, id, piece, -n, true) : INT32_MIN;
    }
    cJSON *item = cJSON_CreateArray();
    bool valid = true;
    char *text = n >= 0 ? cli_utf8_sanitize(piece, (size_t)n, &valid) : NULL;
    bool ok = item && text && cJSON_AddItemToArray(item, cJSON_CreateNumber(id)) &&
              cJSON_AddItemToArray(item, cJSON_CreateString(text));
    if (ok && !valid) {
        cJSON *bytes = cJSON_CreateArray();
        ok = bytes && cJSON_AddItemToArray(item, bytes);
        for (int32_t k = 0; ok && k < n; k++)
            ok = cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)piece[k]));
    }
    free(text);
    if (piece != small) free(piece);
    if (!ok) {
        if (n == INT32_MIN) fprintf(stderr, "bitnet tokenize: %s\n", bitnet_get_last_error());
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

static int print_tokens(const tokenize_options *o, const bitnet_model *m, const bitnet_token *ids,
                        int32_t n) {
    cJSON *root = cJSON_CreateArray();
    for (int32_t i = 0; root && i < n; i++) {
        cJSON *item = o->pieces ? piece_json(m, ids[i]) : cJSON_CreateNumber(ids[i]);
        if (!item || !cJSON_AddItemToArray(root, item)) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    return cli_json_emit("tokenize", root, true); /* one line: [1, 2, 3] */
}

int cmd_tokenize(int argc, char **argv) {
    tokenize_options o;
    cli_args args;
    const int done =
        cli_args_outcome("tokenize", cli_parse_tokenize_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    size_t len = 0;
    char *owned = NULL;
    const char *text = o.text;
    if (o.file) {
        if (!(owned = cli_read_file("tokenize", o.file, &len))) return CLI_RUNTIME;
        text = owned;
    } else {
        len = strlen(text);
    }
    if (len > INT32_MAX) {
        fprintf(stderr, "bitnet tokenize: text too long\n");
        free(owned);
        return CLI_RUNTIME;
    }
    bitnet_model *m = cli_load_model_opts("tokenize", o.model, true, &o.load);
    if (!m) {
        free(owned);
        return CLI_RUNTIME;
    }
    int32_t n = bitnet_tokenize(m, text, (int32_t)len, NULL, 0, o.add_bos, o.parse_special);
    bitnet_token *ids = NULL;
    if (n != INT32_MIN) {
        if (n < 0) n = -n;
        ids = malloc(sizeof *ids * (size_t)(n ? n : 1));
        n = ids ? bitnet_tokenize(m, text, (int32_t)len, ids, n, o.add_bos, o.parse_special)
                : INT32_MIN;
    }
    int rc;
    if (n < 0) {
        fprintf(stderr, "bitnet tokenize: %s\n", ids ? bitnet_get_last_error() : "out of memory");
        rc = CLI_RUNTIME;
    } else {
        rc = print_tokens(&o, m, ids, n);
    }
    free(ids);
    free(owned);
    bitnet_model_free(m);
    return rc ? rc : cli_finish_stdout("tokenize");
}
