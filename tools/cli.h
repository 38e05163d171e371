/* Shared pieces of the bitnet CLI: the subcommand table, strict argument
 * parsing (a bad number or an unknown flag is a usage error, exit 2, naming
 * the flag; runtime errors exit 1 with the library's message), bounded file
 * reading, model loading and checked output. */
#ifndef BN_CLI_H
#define BN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bitnet.h"

typedef int (*cli_fn)(int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *help;
    cli_fn fn;
} cli_command;

int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_fixture(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* only with libmicrohttpd (BITNET_HAVE_SERVE) */
int cmd_pull(int argc, char **argv);  /* only with libcurl (BITNET_HAVE_PULL) */
int cmd_completion(int argc, char **argv);
/* The subcommand table (tools/main.c), for `bitnet completion`. */
const cli_command *cli_commands(size_t *n);

enum { CLI_USAGE = 2, CLI_RUNTIME = 1 };

/* The largest text input (prompt file, chat input, perplexity text, suite
 * file) the CLI reads: 64 MiB. A prompt longer than the context is refused
 * later anyway; the limit keeps `-f /dev/zero` from reading until ENOMEM. */
#define CLI_MAX_TEXT_BYTES ((size_t)64 << 20)

/* Parsers: on a bad value print "bitnet CMD: FLAG: ..." to stderr and return
 * false; the caller exits with CLI_USAGE. */
bool cli_parse_int(const char *cmd, const char *flag, const char *text, long long min,
                   long long max, long long *out);
bool cli_parse_float(const char *cmd, const char *flag, const char *text, double min, double max,
                     double *out);
/* The value after argv[*i] (advancing *i), or NULL after printing an error. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

/* Reads at most `max` bytes of a file, pipe or device (NUL-terminated; *len
 * excludes the terminator). NULL with errno set: EFBIG when the input is
 * longer than `max` (checked while reading, so devices without a size stop
 * there too), otherwise the error of the failing open/read. */
char *cli_slurp_max(const char *path, size_t max, size_t *len);
/* cli_slurp_max with CLI_MAX_TEXT_BYTES. */
char *cli_slurp(const char *path, size_t *len);
/* The same, printing "bitnet CMD: PATH: reason" on failure. */
char *cli_read_file_max(const char *cmd, const char *path, size_t max, size_t *len);
char *cli_read_file(const char *cmd, const char *path, size_t *len);

/* False (with "bitnet CMD: WHAT: NUL byte at offset N" on stderr) when the
 * text holds a NUL byte: the library takes prompts as C strings, so one
 * would silently cut the prompt there. */
bool cli_check_no_nul(const char *cmd, const char *what, const char *text, size_t len);

/* How a command loads its model (--no-mmap, --mlock, --check-tensors, -v,
 * --kernel-config FILE, --i2s-block 64|128). */
typedef struct cli_model_opts {
    bool no_mmap, mlock, check_tensors, verbose;
    const char *kernel_config; /* NULL: none */
    int32_t i2s_block;         /* 0: from the file */
} cli_model_opts;

/* Loads a model, printing the library's message on failure (NULL). */
bitnet_model *cli_load_model(const char *cmd, const char *path, bool vocab_only, bool verbose);
bitnet_model *cli_load_model_opts(const char *cmd, const char *path, bool vocab_only,
                                  const cli_model_opts *opts);

/* Warns on stderr when n_ctx exceeds the model's training context. */
void cli_warn_ctx(const char *cmd, const bitnet_model *model, int32_t n_ctx);

/* Log callback that prints warnings and errors (and info when verbose) to stderr. */
void cli_log_stderr(bitnet_log_level level, const char *message, void *user_data);

/* Process-wide setup for every command: SIGPIPE ignored (a closed stdout is
 * seen as EPIPE), and a SIGBUS handler that explains a model file changed or
 * truncated while mapped and exits 1. */
void cli_install_signal_handlers(void);

/* Flushes stdout and checks that every write to it succeeded: 0, or
 * CLI_RUNTIME after one line on stderr (EPIPE is reported in one line too). */
int cli_finish_stdout(const char *cmd);

/* Monotonic clock in milliseconds. */
double cli_now_ms(void);

#endif
