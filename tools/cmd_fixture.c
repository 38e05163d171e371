/* bitnet fixture: write a deterministic synthetic GGUF model (docs/fixtures.md). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "fixture.h"
#include "types.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet fixture -o FILE [options]\n"
            "  -o, --output FILE     where to write the GGUF file\n"
            "      --preset NAME     tiny (default), small, 700m, 2b4t: the shape below\n"
            "      --arch ARCH       bitnet (default), bitnet-b1.58, llama\n"
            "      --kind KIND       random (default) or peaked (greedy follows a fixed cycle\n"
            "                        of tokens by a margin of several logits)\n"
            "      --seed S          PRNG seed (default 0): same arguments, same bytes\n"
            "      --quant TYPE      i2_s (default), f16, f32: type of the projections\n"
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
            "         rope base 500000, arch bitnet-b1.58\n");
}

typedef struct int_flag {
    const char *flag;
    int32_t *field;
    long long min, max;
} int_flag;

int cmd_fixture(int argc, char **argv) {
    const char *cmd = "fixture", *out = NULL, *preset = "tiny";
    bool quiet = false;
    bn_fixture_params p;
    bn_fixture_default_params(&p);
    /* the preset first, so that explicit flags override it wherever they are */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--preset")) preset = argv[++i];
    if (!bn_fixture_apply_preset(preset, &p)) {
        fprintf(stderr, "bitnet fixture: --preset %s: not one of %s\n", preset,
                bn_fixture_preset_list());
        return CLI_USAGE;
    }
    const int_flag ints[] = {
        {"--n-embd", &p.n_embd, 1, 1 << 20},
        {"--n-ff", &p.n_ff, 1, 1 << 22},
        {"--n-layer", &p.n_layer, 1, 4096},
        {"--n-head", &p.n_head, 1, 1 << 14},
        {"--n-head-kv", &p.n_head_kv, 1, 1 << 14},
        {"--n-vocab", &p.n_vocab, 1, INT32_MAX / 2},
        {"--ctx", &p.n_ctx, 1, 1 << 24},
        {"--margin-tokens", &p.margin_tokens, 0, 1 << 20},
        {"--ablate-attn", &p.ablate_attn, -1, 4095},
        {"--ablate-ffn", &p.ablate_ffn, -1, 4095},
        {"--threads", &p.n_threads, 1, 1024},
        {"-t", &p.n_threads, 1, 1024},
    };
    bool vocab_flag = false, n_vocab_flag = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() (v = cli_value(cmd, argc, argv, &i))
        bool done = false;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0] && !done; k++) {
            if (strcmp(a, ints[k].flag) != 0) continue;
            long long x;
            if (!VALUE() || !cli_parse_int(cmd, a, v, ints[k].min, ints[k].max, &x))
                return CLI_USAGE;
            *ints[k].field = (int32_t)x;
            if (!strcmp(a, "--n-vocab")) n_vocab_flag = true;
            done = true;
        }
        if (done) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!VALUE()) return CLI_USAGE;
            out = v;
        } else if (!strcmp(a, "--preset"))
            i++; /* applied above */
        else if (!strcmp(a, "--arch")) {
            if (!VALUE()) return CLI_USAGE;
            p.arch = v;
        } else if (!strcmp(a, "--name")) {
            if (!VALUE()) return CLI_USAGE;
            p.name = v;
        } else if (!strcmp(a, "--vocab-from")) {
            if (!VALUE()) return CLI_USAGE;
            p.vocab_from = v;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            quiet = true;
        else if (!strcmp(a, "--seed")) {
            long long s;
            if (!VALUE() || !cli_parse_int(cmd, a, v, 0, INT64_MAX, &s)) return CLI_USAGE;
            p.seed = (uint64_t)s;
        } else if (!strcmp(a, "--rope-base")) {
            double f;
            if (!VALUE() || !cli_parse_float(cmd, a, v, 1.0000001, 1e12, &f)) return CLI_USAGE;
            p.rope_base = (float)f;
        } else if (!strcmp(a, "--kind")) {
            if (!VALUE()) return CLI_USAGE;
            if (!strcmp(v, "random"))
                p.kind = BN_FIXTURE_RANDOM;
            else if (!strcmp(v, "peaked"))
                p.kind = BN_FIXTURE_PEAKED;
            else {
                fprintf(stderr, "bitnet fixture: --kind: '%s' is not random or peaked\n", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--quant")) {
            if (!VALUE()) return CLI_USAGE;
            if (!strcmp(v, "i2_s"))
                p.quant = BN_TYPE_I2_S;
            else if (!strcmp(v, "f16"))
                p.quant = BN_TYPE_F16;
            else if (!strcmp(v, "f32"))
                p.quant = BN_TYPE_F32;
            else {
                fprintf(stderr, "bitnet fixture: --quant: '%s' is not i2_s, f16 or f32\n", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--vocab")) {
            if (!VALUE()) return CLI_USAGE;
            vocab_flag = true;
            if (!strcmp(v, "spm"))
                p.vocab = BN_VOCAB_SPM;
            else if (!strcmp(v, "bpe"))
                p.vocab = BN_VOCAB_BPE;
            else {
                fprintf(stderr, "bitnet fixture: --vocab: '%s' is not spm or bpe\n", v);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "bitnet fixture: unknown option '%s'\n", a);
            usage(stderr);
            return CLI_USAGE;
        }
#undef VALUE
    }
    if (!out) {
        fprintf(stderr, "bitnet fixture: -o FILE is required\n");
        usage(stderr);
        return CLI_USAGE;
    }
    if (p.vocab_from && (vocab_flag || n_vocab_flag)) {
        fprintf(stderr, "bitnet fixture: --vocab-from: cannot be combined with %s\n",
                vocab_flag ? "--vocab" : "--n-vocab");
        return CLI_USAGE;
    }
    if (bn_fixture_check(&p) != BITNET_OK) {
        fprintf(stderr, "bitnet fixture: %s\n", bitnet_get_last_error());
        return CLI_USAGE;
    }
    double t0 = cli_now_ms();
    bn_fixture_result r;
    bitnet_status st = bn_fixture_write(&p, out, &r);
    if (st != BITNET_OK) {
        fprintf(stderr, "bitnet fixture: %s\n", bitnet_get_last_error());
        return st == BITNET_ERR_INVALID_ARGUMENT ? CLI_USAGE : CLI_RUNTIME;
    }
    if (!quiet) {
        char args[1024];
        bn_fixture_args(&p, args, sizeof args);
        printf("wrote %s: %.2f MiB, vocab %d, %.0f ms\n  args: %s\n", out,
               (double)r.file_bytes / 1048576.0, r.n_vocab, cli_now_ms() - t0, args);
        if (r.measured)
            printf("  peaked: min top1-top2 margin %.3f (step %d of %d), %d/%d steps follow the "
                   "cycle\n",
                   (double)r.min_margin, r.min_margin_step, r.n_steps, r.n_follow, r.n_steps);
    }
    return 0;
}
