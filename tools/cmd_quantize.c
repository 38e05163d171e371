/* bitnet quantize: an F32/F16/BF16 GGUF -> ternary (or float) projections,
 * like llama-quantize of bitnet.cpp's pipeline (docs/formats.md). */
#include <string.h>

#include "cli_export.h"
#include "types.h"

#define CMD "quantize"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet quantize IN.gguf OUT.gguf TYPE [options]\n"
            "  IN.gguf                   a model with F32, F16 or BF16 projections\n"
            "  TYPE                      i2_s, tq1_0, tq2_0, f16, f32\n"
            "      --token-embedding-type T   f32, f16, q8_0, q6_k (default: f16 for the\n"
            "                            ternary types, as llama-quantize; else TYPE)\n"
            "      --output-tensor-type T     the same for output.weight, when IN has one\n"
            "      --ternarize MODE      auto (default): weights that are already ternary\n"
            "                            (each non-zero value of one magnitude, what bitnet.cpp's\n"
            "                            converters write) keep their codes and scale, as\n"
            "                            llama-quantize's I2_S does; master weights are\n"
            "                            ternarized by absmean (spec 1.1); or absmean, presigned\n"
            "      --name TEXT           general.name (default: as in IN)\n"
            "  -q, --quiet               print nothing on success\n"
            "      --no-mmap, --mlock, -v   how IN is loaded\n"
            "\n"
            "examples:\n"
            "  bitnet quantize model-f32.gguf model-i2_s.gguf i2_s\n"
            "  bitnet quantize model-f32.gguf model-tq1_0.gguf tq1_0 --token-embedding-type "
            "q8_0\n");
}

cli_parse_status cli_parse_quantize_args(int argc, char **argv, export_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    bn_export_default_params(&o->params);
    cli_args_init(a, argc, argv);
    const char *type = NULL;
    int n_pos = 0;
    while (cli_args_next(a)) {
        bool ok = true;
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_export_common_flag(a, o, &ok)) {
            if (!ok) return CLI_PARSE_ERROR;
        } else if (a->flag[0] != '-' || !a->flag[1]) {
            if (n_pos == 3) {
                cli_args_fail(a, "unexpected argument '%s' (IN OUT TYPE already given)", a->flag);
                return CLI_PARSE_ERROR;
            }
            const char **pos[] = {&o->src, &o->out, &type};
            *pos[n_pos++] = a->flag;
        } else
            return cli_args_unknown(a);
    }
    if (n_pos < 3) {
        cli_args_fail(a, "IN.gguf OUT.gguf TYPE are required (%d of 3 given)", n_pos);
        return CLI_PARSE_ERROR;
    }
    if (!cli_export_type_parse(a, "TYPE", type, true, &o->params.type)) return CLI_PARSE_ERROR;
    /* llama-quantize: token_embd/output become F16 for the ternary types */
    const bool ternary = o->params.type != BN_TYPE_F32 && o->params.type != BN_TYPE_F16;
    const uint32_t def = ternary ? BN_TYPE_F16 : o->params.type;
    if (o->params.embd_type == BN_EXPORT_KEEP) o->params.embd_type = def;
    if (o->params.output_type == BN_EXPORT_KEEP) o->params.output_type = def;
    return CLI_PARSED;
}

int cmd_quantize(int argc, char **argv) {
    export_options o;
    cli_args args;
    const int done =
        cli_args_outcome(CMD, cli_parse_quantize_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    return cli_export_run(CMD, &o, true);
}
