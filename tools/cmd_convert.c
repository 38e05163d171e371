/* bitnet convert: any model libbitnet loads -> GGUF with the projections in
 * the requested type (engine/formats/gguf_export.h, docs/formats.md). */
#include <string.h>

#include "cli_export.h"

#define CMD "convert"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet convert SRC -o OUT.gguf [--type TYPE] [options]\n"
            "  SRC                       any model bitnet loads (a GGUF of any type it reads)\n"
            "  -o, --output OUT.gguf     where to write (written whole or not at all)\n"
            "      --type TYPE           projections: i2_s (default; the 128-value-block layout\n"
            "                            bitnet.cpp reads), tq1_0, tq2_0 (llama.cpp), tl1, tl2\n"
            "                            (bitnet.cpp's table-lookup layouts), f16, f32\n"
            "      --token-embedding-type T   f32, f16, q8_0, q6_k (default: as in SRC)\n"
            "      --output-tensor-type T     the same for output.weight, when SRC has one\n"
            "      --ternarize MODE      float projections into ternary types: auto (default:\n"
            "                            presigned when already ternary, else absmean),\n"
            "                            absmean, presigned\n"
            "      --name TEXT           general.name (default: as in SRC)\n"
            "  -q, --quiet               print nothing on success\n"
            "      --no-mmap, --mlock, --check-tensors, -v   how SRC is loaded\n"
            "Ternary weights are re-encoded exactly: i2_s, tq1_0, tq2_0, tl1 and tl2 give the\n"
            "same logits as SRC (tq up to F16 of each scale; the summary says if any changed).\n"
            "\n"
            "examples:\n"
            "  bitnet convert hf-model -o model-i2_s.gguf --type i2_s   # a Hugging Face "
            "directory\n"
            "  bitnet convert model.gguf -o model-tq2_0.gguf --type tq2_0\n"
            "  bitnet convert model.gguf -o model-tl2.gguf --type tl2 --token-embedding-type "
            "f16\n");
}

cli_parse_status cli_parse_convert_args(int argc, char **argv, export_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    bn_export_default_params(&o->params);
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        bool ok = true;
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_export_common_flag(a, o, &ok)) {
            if (!ok) return CLI_PARSE_ERROR;
        } else if (cli_args_is(a, "-o", "--output")) {
            if (!cli_args_value(a, &o->out)) return CLI_PARSE_ERROR;
        } else if (cli_args_is(a, NULL, "--type")) {
            if (!cli_export_type_value(a, true, &o->params.type)) return CLI_PARSE_ERROR;
        } else if (a->flag[0] != '-' || !a->flag[1]) {
            if (o->src) {
                cli_args_fail(a, "more than one SRC ('%s' and '%s')", o->src, a->flag);
                return CLI_PARSE_ERROR;
            }
            o->src = a->flag;
        } else
            return cli_args_unknown(a);
    }
    if (!o->src) {
        cli_args_fail(a, "SRC is required");
        return CLI_PARSE_ERROR;
    }
    if (!o->out) {
        cli_args_fail(a, "-o OUT.gguf is required");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

int cmd_convert(int argc, char **argv) {
    export_options o;
    cli_args args;
    const int done =
        cli_args_outcome(CMD, cli_parse_convert_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    return cli_export_run(CMD, &o, false);
}
