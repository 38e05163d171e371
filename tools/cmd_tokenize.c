/* bitnet tokenize: print the token ids of a text as one JSON array. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: bitnet tokenize -m FILE (-p TEXT | -f FILE) [--no-bos] [--no-parse-special] [--pieces]\n"
                 "  prints a JSON array of token ids (BOS added when the file's metadata says so)\n"
                 "  --pieces  print [[id, \"piece\"], ...] instead\n");
}

static void print_json_string(const char *s, int32_t n) {
    putchar('"');
    for (int32_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int cmd_tokenize(int argc, char **argv) {
    const char *cmd = "tokenize", *model_path = NULL, *text = NULL, *file = NULL;
    bool add_bos = true, parse_special = true, pieces = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { if (!(model_path = cli_value(cmd, argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) { if (!(text = cli_value(cmd, argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) { if (!(file = cli_value(cmd, argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--no-bos")) add_bos = false;
        else if (!strcmp(a, "--no-parse-special")) parse_special = false;
        else if (!strcmp(a, "--pieces")) pieces = true;
        else { fprintf(stderr, "bitnet tokenize: unknown option '%s'\n", a); usage(stderr); return CLI_USAGE; }
    }
    if (!model_path || (!text && !file) || (text && file)) {
        fprintf(stderr, "bitnet tokenize: -m and one of -p or -f are required\n");
        usage(stderr);
        return CLI_USAGE;
    }
    size_t len = 0;
    char *owned = NULL;
    if (file) {
        if (!(owned = cli_read_file(cmd, file, &len))) return CLI_RUNTIME;
        text = owned;
    } else {
        len = strlen(text);
    }
    if (len > INT32_MAX) { fprintf(stderr, "bitnet tokenize: text too long\n"); free(owned); return CLI_RUNTIME; }
    bitnet_model *m = cli_load_model(cmd, model_path, true, false);
    if (!m) { free(owned); return CLI_RUNTIME; }
    int32_t n = bitnet_tokenize(m, text, (int32_t)len, NULL, 0, add_bos, parse_special);
    bitnet_token *ids = NULL;
    if (n != INT32_MIN) {
        if (n < 0) n = -n;
        ids = malloc(sizeof *ids * (size_t)(n ? n : 1));
        n = ids ? bitnet_tokenize(m, text, (int32_t)len, ids, n, add_bos, parse_special) : INT32_MIN;
    }
    if (n < 0) {
        fprintf(stderr, "bitnet tokenize: %s\n", bitnet_get_last_error());
        free(ids); free(owned); bitnet_model_free(m);
        return CLI_RUNTIME;
    }
    putchar('[');
    for (int32_t i = 0; i < n; i++) {
        if (i) printf(", ");
        if (pieces) {
            char piece[512];
            int32_t pl = bitnet_token_to_piece(m, ids[i], piece, sizeof piece, true);
            printf("[%d, ", ids[i]);
            print_json_string(piece, pl > 0 ? pl : 0);
            putchar(']');
        } else {
            printf("%d", ids[i]);
        }
    }
    printf("]\n");
    free(ids);
    free(owned);
    bitnet_model_free(m);
    return 0;
}
