/* bitnet inspect: a GGUF file's metadata and tensor table. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
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

int cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: bitnet inspect -m FILE\n");
            return 0;
        } else if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) {
            if (!(path = cli_value("inspect", argc, argv, &i))) return CLI_USAGE;
        } else {
            fprintf(stderr, "bitnet inspect: unknown option '%s'\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: bitnet inspect -m FILE\n");
        return CLI_USAGE;
    }
    bn_gguf *g;
    if (bn_gguf_open(path, true, &g) != BITNET_OK) {
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
        printf("  %-32s %-6s %-24s %14" PRIu64 "\n", t->name, bn_type_name(t->type), shape, t->nbytes);
        total += t->nbytes;
    }
    printf("\n%" PRIu64 " bytes of tensor data (%.2f MiB)\n", total, (double)total / 1048576.0);
    bn_gguf_close(g);
    return 0;
}
