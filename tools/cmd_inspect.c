/* bitnet inspect: a GGUF file's metadata and tensor table; for a Hugging
 * Face directory, what the loader made of its JSON files and the tensors of
 * its safetensors files. */
#include <inttypes.h>
#include <string.h>

#include "cli_options.h"
#include "gguf.h"
#include "hf_load.h"
#include "model.h"
#include "st_index.h"
#include "types.h"

static void print_value(const bn_gguf_kv *kv) {
    char buf[160];
    int n = bn_gguf_format_value(kv, buf, sizeof buf);
    /* keep one line per key: long strings (chat templates) are cut */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    printf("%s%s", buf, n >= (int)sizeof buf ? "..." : "");
    if (kv->type == BN_GGUF_ARRAY && kv->n > 0 && kv->elem_type == BN_GGUF_STRING) {
        printf(" first: \"%.*s\"", (int)(kv->strings[0].len > 40 ? 40 : kv->strings[0].len),
               kv->strings[0].ptr);
    }
}

static void usage(FILE *out) {
    fprintf(out, "usage: bitnet inspect -m FILE|DIR [--no-mmap]\n"
                 "  prints a GGUF file's metadata keys and tensors (name, type, shape, offset),\n"
                 "  or a Hugging Face directory's config and safetensors tensors\n"
                 "\n"
                 "examples:\n"
                 "  bitnet inspect -m model.gguf\n"
                 "  bitnet inspect -m hf-model\n"
                 "  bitnet inspect -m model.gguf | grep tokenizer.ggml\n");
}

static void print_kvs(const bn_gguf *g) {
    for (uint64_t i = 0; i < g->n_kv; i++) {
        printf("  %-45s %-8s ", g->kv[i].key, bn_gguf_type_name(g->kv[i].type));
        print_value(&g->kv[i]);
        putchar('\n');
    }
}

/* A Hugging Face directory: the metadata the loader derived (config.json,
 * tokenizer files; the chat format it recognised) and every tensor. */
static int inspect_hf(const char *path, bool use_mmap) {
    bitnet_model_params mp = bitnet_model_default_params();
    mp.vocab_only = true;
    mp.use_mmap = use_mmap;
    bitnet_model *m = bitnet_model_load(path, &mp);
    char dir[4096];
    bn_st_set *set = NULL;
    if (!m || !bn_hf_dir_of(path, dir, sizeof dir) || bn_st_set_open(dir, use_mmap, &set)) {
        fprintf(stderr, "bitnet inspect: %s\n", bitnet_get_last_error());
        bitnet_model_free(m);
        return CLI_RUNTIME;
    }
    printf("directory: %s\nHugging Face model, %zu safetensors file%s, %zu tensors\n\n"
           "metadata (from config.json and the tokenizer files):\n",
           dir, set->n_files, set->n_files == 1 ? "" : "s", set->n_tensors);
    print_kvs(m->file);
    printf("\ntensors:\n  %-50s %-5s %-20s %12s  %s\n", "name", "dtype", "shape", "bytes", "file");
    uint64_t total = 0;
    for (size_t f = 0; f < set->n_files; f++) {
        const bn_safetensors *st = set->files[f];
        const char *file = strrchr(st->path, '/') ? strrchr(st->path, '/') + 1 : st->path;
        for (size_t i = 0; i < st->n_tensors; i++) {
            const bn_st_tensor *t = &st->tensors[i];
            char shape[64];
            int off = snprintf(shape, sizeof shape, "[");
            for (int d = 0; d < t->n_dims && off < (int)sizeof shape; d++)
                off += snprintf(shape + off, sizeof shape - (size_t)off, "%s%" PRId64,
                                d ? ", " : "", t->shape[d]);
            if (off < (int)sizeof shape) snprintf(shape + off, sizeof shape - (size_t)off, "]");
            printf("  %-50s %-5s %-20s %12" PRIu64 "  %s\n", t->name, bn_st_dtype_name(t->dtype),
                   shape, t->nbytes, file);
            total += t->nbytes;
        }
    }
    printf("\n%" PRIu64 " bytes of tensor data (%.2f MiB)\n", total, (double)total / 1048576.0);
    bn_st_set_close(set);
    bitnet_model_free(m);
    return cli_finish_stdout("inspect");
}

cli_parse_status cli_parse_inspect_args(int argc, char **argv, inspect_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_args_model_flag(a, &o->load))
            continue;
        else if (cli_args_is(a, "-m", "--model")) {
            if (!cli_args_value(a, &o->model)) return CLI_PARSE_ERROR;
        } else
            return cli_args_unknown(a);
    }
    if (!o->model) {
        cli_args_fail(a, "-m is required");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

int cmd_inspect(int argc, char **argv) {
    inspect_options o;
    cli_args args;
    const int done =
        cli_args_outcome("inspect", cli_parse_inspect_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    const char *path = o.model;
    if (bn_hf_is_model_path(path)) return inspect_hf(path, !o.load.no_mmap);
    bn_gguf *g;
    if (bn_gguf_open(path, !o.load.no_mmap, &g) != BITNET_OK) {
        fprintf(stderr, "bitnet inspect: %s\n", bitnet_get_last_error());
        return CLI_RUNTIME;
    }
    printf("file: %s\nGGUF version %u, %" PRIu64 " metadata keys, %" PRIu64
           " tensors, alignment %u, data at byte %" PRIu64 "\n\nmetadata:\n",
           path, g->version, g->n_kv, g->n_tensors, g->alignment, g->data_offset);
    print_kvs(g);
    printf("\ntensors:\n  %-32s %-6s %-24s %14s\n", "name", "type", "shape", "bytes");
    uint64_t total = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const bn_gguf_tensor *t = &g->tensors[i];
        char shape[64];
        int off = snprintf(shape, sizeof shape, "[%" PRId64, t->ne[0]);
        for (uint32_t d = 1; d < t->n_dims && off < (int)sizeof shape; d++)
            off += snprintf(shape + off, sizeof shape - (size_t)off, ", %" PRId64, t->ne[d]);
        snprintf(shape + off, sizeof shape - (size_t)off, "]");
        printf("  %-32s %-6s %-24s %14" PRIu64 "\n", t->name, bn_type_name(t->type), shape,
               t->nbytes);
        total += t->nbytes;
    }
    printf("\n%" PRIu64 " bytes of tensor data (%.2f MiB)\n", total, (double)total / 1048576.0);
    bn_gguf_close(g);
    return cli_finish_stdout("inspect");
}
