/* bitnet inspect: a GGUF file's metadata and tensor table. */
#include <inttypes.h>
#include <string.h>

#include "cli_options.h"
#include "gguf.h"
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

static void usage(FILE *out) { fprintf(out, "usage: bitnet inspect -m FILE [--no-mmap]\n"); }

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
    switch (cli_parse_inspect_args(argc, argv, &o, &args)) {
    case CLI_PARSE_HELP: usage(stdout); return cli_finish_stdout("inspect");
    case CLI_PARSE_ERROR:
        cli_args_report("inspect", &args);
        usage(stderr);
        return CLI_USAGE;
    case CLI_PARSED: break;
    }
    const char *path = o.model;
    bn_gguf *g;
    if (bn_gguf_open(path, !o.load.no_mmap, &g) != BITNET_OK) {
        fprintf(stderr, "bitnet inspect: %s\n", bitnet_get_last_error());
        return CLI_RUNTIME;
    }
    printf("file: %s\nGGUF version %u, %" PRIu64 " metadata keys, %" PRIu64
           " tensors, alignment %u, data at byte %" PRIu64 "\n\nmetadata:\n",
           path, g->version, g->n_kv, g->n_tensors, g->alignment, g->data_offset);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        printf("  %-45s %-8s ", g->kv[i].key, bn_gguf_type_name(g->kv[i].type));
        print_value(&g->kv[i]);
        putchar('\n');
    }
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
