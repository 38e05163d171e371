/* bitnet fixture: write a deterministic synthetic GGUF model (docs/fixtures.md). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "cli_options.h"
#include "fixture.h"
#include "types.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet fixture -o FILE [options]\n"
            "  -o, --output FILE     where to write the GGUF file (--format hf: a directory)\n"
            "      --format F        gguf (default) or hf: a Hugging Face directory of the\n"
            "                        same model (arch bitnet-b1.58 or llama, --vocab bpe)\n"
            "      --hf-variant V    packed-autobitlinear (default), packed-bitlinear,\n"
            "                        bf16-online\n"
            "      --shards N        hf: split the safetensors into N shards (default 1)\n"
            "      --preset NAME     tiny (default), small, 700m, 2b4t: the shape below\n"
            "      --arch ARCH       bitnet (default), bitnet-b1.58, llama\n"
            "      --kind KIND       random (default) or peaked (greedy follows a fixed cycle\n"
            "                        of tokens by a margin of several logits)\n"
            "      --seed S          PRNG seed (default 0): same arguments, same bytes\n"
            "      --quant TYPE      i2_s (default), tq1_0, tq2_0, f16, f32: type of the\n"
            "                        projections (tq1_0/tq2_0 as llama.cpp writes them;\n"
            "                        n_embd and n_ff must then be multiples of 256)\n"
            "                        tl1, tl2: bitnet.cpp's table-lookup layouts (n_embd, n_ff\n"
            "                        multiples of 128; BM/BK/bm in bitnet.tl.MxK.* keys)\n"
            "      --i2s-block 64    i2_s in bitnet.cpp's ARM layout (64-value blocks)\n"
            "      --no-layout-keys  testing aid: omit the bitnet.tl.* / bitnet.i2s.block_size\n"
            "                        keys, as bitnet.cpp's writers do\n"
            "      --block-scales    testing aid: a scale per 256-value block (not i2_s)\n"
            "      --pow2-scales     testing aid: projection scales rounded down to powers of\n"
            "                        two (--format hf always: 1/scale and bf16 are exact)\n"
            "      --vocab KIND      spm (default) or bpe: built-in synthetic vocabulary\n"
            "      --vocab-from FILE copy the tokenizer of another GGUF (sets --n-vocab)\n"
            "      --n-embd N --n-ff N --n-layer N --n-head N --n-head-kv N --n-vocab N\n"
            "      --ctx N --rope-base F   override the preset\n"
            "      --name TEXT       general.name (default fixture-ARCH-KIND)\n"
            "      --margin-tokens N peaked: greedy tokens to measure the margin over\n"
            "                        (default 64; 0 skips the measurement)\n"
            "      --ablate-attn L, --ablate-ffn L   zero that layer's attention output or\n"
            "                        FFN down projection (to measure what it contributes)\n"
            "  -t, --threads N       threads for the margin run\n"
            "  -q, --quiet           print nothing on success\n"
            "presets:\n"
            "  tiny   128 embd, 384 ff, 2 layers, 4:2 heads, vocab 512, ctx 256\n"
            "  small  256 embd, 768 ff, 4 layers, 4:4 heads, vocab 4096, ctx 512\n"
            "  700m   1536 embd, 4096 ff, 24 layers, 16:16 heads, vocab 32000, ctx 2048\n"
            "  2b4t   2560 embd, 6912 ff, 30 layers, 20:5 heads, vocab 128256 (bpe), ctx 4096,\n"
            "         rope base 500000, arch bitnet-b1.58\n"
            "\n"
            "examples:\n"
            "  bitnet fixture --arch bitnet --preset small --seed 1 -o small.gguf\n"
            "  bitnet fixture --preset tiny --kind peaked --quant tl1 -o tiny-tl1.gguf\n"
            "  bitnet fixture --format hf --arch bitnet-b1.58 --vocab bpe -o hf-fixture\n");
}

typedef struct int_flag {
    const char *flag;
    int32_t *field;
    long long min, max;
} int_flag;

/* A flag that sets one of the shape's integers: true when it was one. */
static bool int_flag_parse(cli_args *a, bn_fixture_params *p, bool *ok, bool *n_vocab_flag) {
    const int_flag ints[] = {
        {"--n-embd", &p->n_embd, 1, 1 << 20},
        {"--n-ff", &p->n_ff, 1, 1 << 22},
        {"--n-layer", &p->n_layer, 1, 4096},
        {"--n-head", &p->n_head, 1, 1 << 14},
        {"--n-head-kv", &p->n_head_kv, 1, 1 << 14},
        {"--n-vocab", &p->n_vocab, 1, INT32_MAX / 2},
        {"--ctx", &p->n_ctx, 1, 1 << 24},
        {"--margin-tokens", &p->margin_tokens, 0, 1 << 20},
        {"--ablate-attn", &p->ablate_attn, -1, 4095},
        {"--ablate-ffn", &p->ablate_ffn, -1, 4095},
        {"--threads", &p->n_threads, 1, 1024},
        {"--i2s-block", &p->i2s_block, 64, 128},
        {"-t", &p->n_threads, 1, 1024},
    };
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
        if (strcmp(a->flag, ints[k].flag) != 0) continue;
        long long x = 0;
        *ok = cli_args_int(a, ints[k].min, ints[k].max, &x);
        if (*ok) *ints[k].field = (int32_t)x;
        if (!strcmp(a->flag, "--n-vocab")) *n_vocab_flag = true;
        return true;
    }
    return false;
}

static const char *const kind_names[] = {"random", "peaked", NULL};
static const char *const quant_names[] = {"i2_s",  "f16", "f32", "tq1_0",
                                          "tq2_0", "tl1", "tl2", NULL};
static const uint32_t quant_types[] = {BN_TYPE_I2_S,  BN_TYPE_F16, BN_TYPE_F32, BN_TYPE_TQ1_0,
                                       BN_TYPE_TQ2_0, BN_TYPE_TL1, BN_TYPE_TL2};
static const char *const vocab_names[] = {"spm", "bpe", NULL};
static const char *const format_names[] = {"gguf", "hf", NULL};
static const char *const hf_variant_names[] = {"packed-autobitlinear", "packed-bitlinear",
                                               "bf16-online", NULL};

cli_parse_status cli_parse_fixture_args(int argc, char **argv, fixture_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    bn_fixture_params *p = &o->params;
    bn_fixture_default_params(p);
    cli_args_init(a, argc, argv);
    /* the preset first, so that explicit flags override it wherever they are */
    const char *preset = "tiny";
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--preset")) preset = argv[++i];
    if (!bn_fixture_apply_preset(preset, p)) {
        cli_args_fail(a, "--preset %s: not one of %s", preset, bn_fixture_preset_list());
        return CLI_PARSE_ERROR;
    }
    bool vocab_flag = false, n_vocab_flag = false, hf_flag = false;
    o->n_shards = 1;
    while (cli_args_next(a)) {
        bool ok = true;
        int k = 0;
        long long s = 0;
        double f = 0;
        const char *ignored;
        if (int_flag_parse(a, p, &ok, &n_vocab_flag)) {
        } else if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_args_is(a, "-o", "--output"))
            ok = cli_args_value(a, &o->out);
        else if (cli_args_is(a, NULL, "--preset"))
            ok = cli_args_value(a, &ignored); /* applied above */
        else if (cli_args_is(a, NULL, "--arch"))
            ok = cli_args_value(a, &p->arch);
        else if (cli_args_is(a, NULL, "--name"))
            ok = cli_args_value(a, &p->name);
        else if (cli_args_is(a, NULL, "--vocab-from"))
            ok = cli_args_value(a, &p->vocab_from);
        else if (cli_args_is(a, "-q", "--quiet"))
            o->quiet = true;
        else if (cli_args_is(a, NULL, "--block-scales"))
            p->block_scales = true;
        else if (cli_args_is(a, NULL, "--pow2-scales"))
            p->pow2_scales = true;
        else if (cli_args_is(a, NULL, "--no-layout-keys"))
            p->no_layout_keys = true;
        else if (cli_args_is(a, NULL, "--seed")) {
            if ((ok = cli_args_int(a, 0, INT64_MAX, &s))) p->seed = (uint64_t)s;
        } else if (cli_args_is(a, NULL, "--rope-base")) {
            if ((ok = cli_args_float(a, 1.0000001, 1e12, &f))) p->rope_base = (float)f;
        } else if (cli_args_is(a, NULL, "--kind")) {
            if ((ok = cli_args_choice(a, kind_names, &k)))
                p->kind = k == 0 ? BN_FIXTURE_RANDOM : BN_FIXTURE_PEAKED;
        } else if (cli_args_is(a, NULL, "--quant")) {
            if ((ok = cli_args_choice(a, quant_names, &k))) p->quant = quant_types[k];
        } else if (cli_args_is(a, NULL, "--format")) {
            if ((ok = cli_args_choice(a, format_names, &k))) o->hf = k == 1;
        } else if (cli_args_is(a, NULL, "--hf-variant")) {
            hf_flag = true;
            ok = cli_args_choice(a, hf_variant_names, &o->hf_variant);
        } else if (cli_args_is(a, NULL, "--shards")) {
            hf_flag = true;
            if ((ok = cli_args_int(a, 1, 64, &s))) o->n_shards = (int32_t)s;
        } else if (cli_args_is(a, NULL, "--vocab")) {
            vocab_flag = true;
            if ((ok = cli_args_choice(a, vocab_names, &k)))
                p->vocab = k == 0 ? BN_VOCAB_SPM : BN_VOCAB_BPE;
        } else
            return cli_args_unknown(a);
        if (!ok) return CLI_PARSE_ERROR;
    }
    if (!o->out) {
        cli_args_fail(a, "-o FILE is required");
        return CLI_PARSE_ERROR;
    }
    if (hf_flag && !o->hf) {
        cli_args_fail(a, "--hf-variant and --shards need --format hf");
        return CLI_PARSE_ERROR;
    }
    if (p->vocab_from && (vocab_flag || n_vocab_flag)) {
        cli_args_fail(a, "--vocab-from: cannot be combined with %s",
                      vocab_flag ? "--vocab" : "--n-vocab");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

int cmd_fixture(int argc, char **argv) {
    fixture_options o;
    cli_args args;
    const int done =
        cli_args_outcome("fixture", cli_parse_fixture_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    const bn_fixture_params *pp = &o.params;
    const char *out = o.out;
    if (bn_fixture_check(pp) != BITNET_OK) {
        fprintf(stderr, "bitnet fixture: %s\n", bitnet_get_last_error());
        return CLI_USAGE;
    }
    double t0 = cli_now_ms();
    bn_fixture_result r;
    bitnet_status st =
        o.hf ? bn_fixture_write_hf(pp, (bn_hf_variant)o.hf_variant, o.n_shards, out, &r)
             : bn_fixture_write(pp, out, &r);
    if (st != BITNET_OK) {
        fprintf(stderr, "bitnet fixture: %s\n", bitnet_get_last_error());
        return st == BITNET_ERR_INVALID_ARGUMENT ? CLI_USAGE : CLI_RUNTIME;
    }
    if (!o.quiet) {
        char argtext[1024];
        bn_fixture_args(pp, argtext, sizeof argtext);
        if (o.hf)
            printf("wrote %s/: Hugging Face directory (%s, %d shard%s), vocab %d, %.0f ms\n"
                   "  args: %s\n",
                   out, bn_hf_variant_name((bn_hf_variant)o.hf_variant), o.n_shards,
                   o.n_shards == 1 ? "" : "s", r.n_vocab, cli_now_ms() - t0, argtext);
        else
            printf("wrote %s: %.2f MiB, vocab %d, %.0f ms\n  args: %s\n", out,
                   (double)r.file_bytes / 1048576.0, r.n_vocab, cli_now_ms() - t0, argtext);
        if (r.measured)
            printf("  peaked: min top1-top2 margin %.3f (step %d of %d), %d/%d steps follow the "
                   "cycle\n",
                   (double)r.min_margin, r.min_margin_step, r.n_steps, r.n_follow, r.n_steps);
    }
    return cli_finish_stdout("fixture");
}
