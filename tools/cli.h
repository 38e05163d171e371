/* Shared pieces of the bitnet CLI: the subcommand table and strict argument
 * parsing (a bad number or an unknown flag is a usage error, exit 2, naming
 * the flag; runtime errors exit 1 with the library's message). */
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

enum { CLI_USAGE = 2, CLI_RUNTIME = 1 };

/* Parsers: on a bad value print "bitnet CMD: FLAG: ..." to stderr and return
 * false; the caller exits with CLI_USAGE. */
bool cli_parse_int(const char *cmd, const char *flag, const char *text, long long min,
                   long long max, long long *out);
bool cli_parse_float(const char *cmd, const char *flag, const char *text, double min, double max,
                     double *out);
/* The value after argv[*i] (advancing *i), or NULL after printing an error. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

/* Reads a whole file (NUL-terminated); NULL with a message on stderr. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);
/* The same without the message (NULL and errno set). */
char *cli_slurp(const char *path, size_t *len);

/* Loads a model, printing the library's message on failure (NULL). */
bitnet_model *cli_load_model(const char *cmd, const char *path, bool vocab_only, bool verbose);

/* Log callback that prints warnings and errors (and info when verbose) to stderr. */
void cli_log_stderr(bitnet_log_level level, const char *message, void *user_data);

/* Monotonic clock in milliseconds. */
double cli_now_ms(void);

#endif
