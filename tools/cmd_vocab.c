/* bitnet vocab: writes a vocabulary-only GGUF (tokenizer.* keys, no
 * tensors) from a tiktoken ranks file, a Hugging Face tokenizer.json (both
 * imported by engine/text/vocab_import*.c) or another GGUF (its tokenizer.* keys
 * are copied). The result loads with `bitnet tokenize -m OUT.gguf` and in the
 * tests. The output is written under a temporary name, loaded back, and
 * renamed only then, so a failed run leaves no file behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gguf.h"
#include "vocab.h"
#include "vocab_import.h"

#define CMD "vocab"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bitnet vocab --from FILE [--format gguf|json|tiktoken] [--pre "
        "llama-bpe|default]\n"
        "                    [--special-tokens N] -o OUT.gguf\n"
        "  FILE: a tiktoken ranks file, a Hugging Face tokenizer.json or a GGUF file\n"
        "  --format F          what FILE is (default: detected from its first bytes: the\n"
        "                      GGUF magic, a JSON object, or a line 'BASE64 RANK')\n"
        "  --pre NAME          write tokenizer.ggml.pre (without it the key is left out, as in\n"
        "                      the official BitNet-b1.58-2B-4T file: llama.cpp then uses\n"
        "                      'default')\n"
        "  --special-tokens N  (tiktoken) append N LLaMA-3 special tokens after the ranks\n"
        "                      (<|begin_of_text|> first; 256 for LLaMA-3 and BitNet 2B-4T)\n"
        "\n"
        "examples:\n"
        "  bitnet vocab --from tokenizer.json -o vocab.gguf\n"
        "  bitnet vocab --from tokenizer.model --special-tokens 256 --pre llama-bpe -o vocab.gguf\n"
        "  bitnet vocab --from model.gguf -o vocab.gguf   # the tokenizer of a model, alone\n");
}

static bitnet_status write_built(const bn_vocab_build *b, const char *pre, const char *out) {
    bn_gguf_writer *w = bn_gguf_writer_new();
    if (!w) return BITNET_ERR_NOMEM;
    bitnet_status st = bn_gguf_set_str(w, "general.architecture", "llama");
    if (!st) st = bn_gguf_set_str(w, "general.name", "vocab");
    if (!st) st = bn_vocab_build_write(b, pre, w);
    if (!st) st = bn_gguf_write(w, out);
    bn_gguf_writer_free(w);
    return st;
}

static bitnet_status copy_gguf(const char *path, const char *pre, const char *out) {
    bn_gguf *g = NULL;
    bitnet_status st = bn_gguf_open(path, true, &g);
    if (st) return st;
    bn_gguf_writer *w = bn_gguf_writer_new();
    if (!w) {
        bn_gguf_close(g);
        return BITNET_ERR_NOMEM;
    }
    st = bn_gguf_set_str(w, "general.architecture", "llama");
    if (!st) st = bn_gguf_set_str(w, "general.name", "vocab");
    for (uint64_t i = 0; !st && i < g->n_kv; i++) {
        const bn_gguf_kv *kv = &g->kv[i];
        if (strncmp(kv->key, "tokenizer.", 10) != 0) continue;
        if (pre && !strcmp(kv->key, "tokenizer.ggml.pre")) continue;
        st = bn_gguf_set_kv_copy(w, kv);
    }
    if (!st && pre) st = bn_gguf_set_str(w, "tokenizer.ggml.pre", pre);
    if (!st) st = bn_gguf_write(w, out);
    bn_gguf_writer_free(w);
    bn_gguf_close(g);
    return st;
}

/* Loads what was written, so that a bad input is reported here and not at
 * first use; describes it in summary (what the command prints). */
static int check_written(const char *tmp, char *summary, size_t size) {
    bn_gguf *g = NULL;
    bn_vocab *v = NULL;
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_status st = bn_gguf_open(tmp, true, &g);
    if (!st) st = bn_vocab_load(g, &mp, &v);
    if (st) {
        fprintf(stderr, "bitnet %s: the written file does not load: %s\n", CMD,
                bitnet_get_last_error());
        bn_gguf_close(g);
        return CLI_RUNTIME;
    }
    snprintf(summary, size, "%d tokens, bos %d, eos %d, eot %d", bn_vocab_n_tokens(v),
             bn_vocab_bos(v), bn_vocab_eos(v), bn_vocab_eot(v));
    bn_vocab_free(v);
    bn_gguf_close(g);
    return 0;
}

/* The first bytes of a file, to tell a GGUF (which may be gigabytes, and is
 * mapped, not read) from the formats that are read whole. */
static bool read_magic(const char *path, char magic[4], size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bitnet %s: %s: %s\n", CMD, path, strerror(errno));
        return false;
    }
    *n = fread(magic, 1, 4, f);
    fclose(f);
    return true;
}

/* Imports a tokenizer.json or tiktoken file and writes it to tmp. */
static int import_file(const char *from, bn_vocab_format fmt, bool fmt_given, const char *pre,
                       size_t n_special, const char *tmp) {
    char *data = NULL;
    size_t size = 0;
    bitnet_status st = bn_vocab_import_read(from, &data, &size);
    if (st) {
        fprintf(stderr, "bitnet %s: %s\n", CMD, bitnet_get_last_error());
        return CLI_RUNTIME;
    }
    if (!fmt_given) fmt = bn_vocab_format_detect(data, size);
    if (fmt == BN_VOCAB_FORMAT_UNKNOWN) {
        fprintf(stderr,
                "bitnet %s: %s: not a GGUF file, a tokenizer.json (a JSON object) or a tiktoken "
                "ranks file (lines 'BASE64 RANK'); --format says which it is\n",
                CMD, from);
        free(data);
        return CLI_RUNTIME;
    }
    if (n_special && fmt != BN_VOCAB_FORMAT_TIKTOKEN) {
        fprintf(stderr, "bitnet %s: --special-tokens applies to tiktoken files only\n", CMD);
        free(data);
        return CLI_USAGE;
    }
    bn_vocab_build b;
    if (fmt == BN_VOCAB_FORMAT_JSON)
        st = bn_vocab_import_json(from, data, size, &b);
    else
        st = bn_vocab_import_tiktoken(from, data, size, n_special, &b);
    free(data);
    if (!st) st = write_built(&b, pre ? pre : b.pre, tmp);
    bn_vocab_build_free(&b);
    if (st) {
        fprintf(stderr, "bitnet %s: %s\n", CMD, bitnet_get_last_error());
        return CLI_RUNTIME;
    }
    return 0;
}

int cmd_vocab(int argc, char **argv) {
    const char *from = NULL, *out = NULL, *pre = NULL;
    long long n_special = 0;
    bn_vocab_format fmt = BN_VOCAB_FORMAT_UNKNOWN;
    bool fmt_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--from")) {
            if (!(from = cli_value(CMD, argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = cli_value(CMD, argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "--format")) {
            const char *v = cli_value(CMD, argc, argv, &i);
            if (!v) return CLI_USAGE;
            if (!bn_vocab_format_parse(v, &fmt)) {
                fprintf(stderr, "bitnet %s: --format: '%s' is not gguf, json or tiktoken\n", CMD,
                        v);
                return CLI_USAGE;
            }
            fmt_given = true;
        } else if (!strcmp(a, "--pre")) {
            if (!(pre = cli_value(CMD, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(pre, "llama-bpe") && strcmp(pre, "default")) {
                fprintf(stderr, "bitnet %s: --pre: '%s' is not llama-bpe or default\n", CMD, pre);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--special-tokens")) {
            const char *v = cli_value(CMD, argc, argv, &i);
            if (!v || !cli_parse_int(CMD, a, v, 0, 1 << 20, &n_special)) return CLI_USAGE;
        } else {
            fprintf(stderr, "bitnet %s: unknown option '%s'\n", CMD, a);
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!from || !out) {
        fprintf(stderr, "bitnet %s: --from and -o are required\n", CMD);
        usage(stderr);
        return CLI_USAGE;
    }
    char magic[4];
    size_t n_magic = 0;
    if (!read_magic(from, magic, &n_magic)) return CLI_RUNTIME;
    bool is_gguf =
        fmt_given ? fmt == BN_VOCAB_FORMAT_GGUF : n_magic == 4 && !memcmp(magic, "GGUF", 4);
    if (is_gguf && n_special) {
        fprintf(stderr, "bitnet %s: --special-tokens applies to tiktoken files only\n", CMD);
        return CLI_USAGE;
    }

    /* a temporary name beside the output, renamed once the file loads */
    size_t tmp_len = strlen(out) + 16;
    char *tmp = malloc(tmp_len);
    if (!tmp) {
        fprintf(stderr, "bitnet %s: out of memory\n", CMD);
        return CLI_RUNTIME;
    }
    snprintf(tmp, tmp_len, "%s.tmp-XXXXXX", out);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "bitnet %s: cannot create a file beside %s: %s\n", CMD, out,
                strerror(errno));
        free(tmp);
        return CLI_RUNTIME;
    }
    /* mkstemp makes it 0600; give it the mode a plain create would */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask); /* not worth failing for */
    close(fd);

    int rc = 0;
    if (is_gguf) {
        bitnet_status st = copy_gguf(from, pre, tmp);
        if (st) {
            fprintf(stderr, "bitnet %s: %s\n", CMD, bitnet_get_last_error());
            rc = CLI_RUNTIME;
        }
    } else {
        rc = import_file(from, fmt, fmt_given, pre, (size_t)n_special, tmp);
    }
    char summary[128];
    if (!rc) rc = check_written(tmp, summary, sizeof summary);
    if (!rc && rename(tmp, out) != 0) {
        fprintf(stderr, "bitnet %s: cannot rename %s to %s: %s\n", CMD, tmp, out, strerror(errno));
        rc = CLI_RUNTIME;
    }
    if (!rc) printf("wrote %s: %s\n", out, summary);
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}
