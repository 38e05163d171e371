/* bitnet: the command-line tool. One file per subcommand (cmd_*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet.h"
#include "cli.h"

static const cli_command commands[] = {
    {"run", "generate text from a prompt", cmd_run},
    {"chat", "a conversation, one user turn per input line", cmd_chat},
    {"tokenize", "print the token ids of a text as a JSON array", cmd_tokenize},
    {"perplexity", "perplexity (and KL divergence against llama-perplexity's logits)",
     cmd_perplexity},
    {"bench", "prompt-processing and generation speed (llama-bench style)", cmd_bench},
    {"inspect", "show a GGUF file's metadata and tensors", cmd_inspect},
    {"fixture", "write a deterministic synthetic model (tests, validation)", cmd_fixture},
    {"vocab", "write a vocabulary-only GGUF from tiktoken, tokenizer.json or GGUF", cmd_vocab},
    {"convert", "write a model as GGUF with i2_s, tq1_0, tq2_0, f16 or f32 projections",
     cmd_convert},
    {"quantize", "ternarize an F32/F16/BF16 GGUF into i2_s, tq1_0 or tq2_0 (llama-quantize)",
     cmd_quantize},
#ifdef BITNET_HAVE_SERVE
    {"serve", "an OpenAI-compatible HTTP server with continuous batching", cmd_serve},
#endif
#ifdef BITNET_HAVE_PULL
    {"pull", "download a model (resumable, SHA-256 verified) from a URL or Hugging Face", cmd_pull},
#endif
    {"completion", "print a bash, zsh or fish completion script", cmd_completion},
};

const cli_command *cli_commands(size_t *n) {
    *n = sizeof commands / sizeof commands[0];
    return commands;
}

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bitnet COMMAND [options]   (bitnet COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\nlibbitnet %s, %s\n", bitnet_version(), bitnet_system_info());
}

int main(int argc, char **argv) {
    cli_install_signal_handlers();
    /* a bad BITNET_ISA is a usage error of every command: say so up front */
    const char *isa = getenv("BITNET_ISA");
    if (isa && *isa && !bitnet_isa_default()) {
        fprintf(stderr, "bitnet: %s\n", bitnet_get_last_error());
        return 2;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return cli_finish_stdout("help");
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bitnet %s (abi %d)\n", bitnet_version(), bitnet_abi_version());
        return cli_finish_stdout("--version");
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "bitnet: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
