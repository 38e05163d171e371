/* A cursor over one subcommand's argv for the parse-only step: every parser
 * reads its flags through it, records the first error as text instead of
 * printing it, and never opens files or allocates, so any argv can be
 * parsed (and fuzzed) without running anything. */
#ifndef BN_CLI_ARGS_H
#define BN_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"

typedef enum cli_parse_status {
    CLI_PARSED = 0,  /* run the command */
    CLI_PARSE_HELP,  /* -h/--help: print the usage, exit 0 */
    CLI_PARSE_ERROR, /* usage error in args->error: exit CLI_USAGE */
} cli_parse_status;

typedef struct cli_args {
    int argc;
    char **argv;
    int i;            /* index of the flag being parsed */
    const char *flag; /* argv[i] */
    char error[320];  /* "FLAG: what is wrong", without the "bitnet CMD: " prefix */
} cli_args;

void cli_args_init(cli_args *a, int argc, char **argv);
/* Advances to the next flag (argv[1] first); false at the end. */
bool cli_args_next(cli_args *a);
bool cli_args_is(const cli_args *a, const char *short_name, const char *long_name);
/* Records an error (printf-style) and returns false. */
bool cli_args_fail(cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The flag's value (the next argument); false with "FLAG needs a value". */
bool cli_args_value(cli_args *a, const char **out);
bool cli_args_int(cli_args *a, long long min, long long max, long long *out);
bool cli_args_float(cli_args *a, double min, double max, double *out);

/* The sampling flags `run` and `chat` share (--temp, --top-k, --top-p,
 * --min-p, --repeat-penalty, -s/--seed, and --repeat-last-n where
 * with_last_n), with the defaults both document. */
typedef struct cli_sampling_opts {
    long long top_k, last_n, seed;
    double temp, top_p, min_p, rep;
} cli_sampling_opts;
void cli_sampling_defaults(cli_sampling_opts *s);
/* True when the current flag is one of them; *ok then says whether its
 * value was valid (the error is recorded in `a` as for cli_args_int). */
bool cli_args_sampling_flag(cli_args *a, cli_sampling_opts *s, bool with_last_n, bool *ok);
/* The value as one of `names` (NULL-terminated); *out is its index. */
bool cli_args_choice(cli_args *a, const char *const *names, int *out);
/* A comma-separated integer list of at most `cap` items (appended after the
 * *n already there, so a repeated flag adds to the list). */
bool cli_args_int_list(cli_args *a, long long min, long long max, long long *vals, int cap, int *n);
/* --no-mmap, --mlock, --check-tensors, -v/--verbose, --kernel-config FILE,
 * --i2s-block 64|128: true when the flag was one of them and parsed (a bad
 * value returns false with the error kept in a->error). */
bool cli_args_model_flag(cli_args *a, cli_model_opts *m);
/* "unknown option 'X'" */
cli_parse_status cli_args_unknown(cli_args *a);

/* Prints "bitnet CMD: ERROR" to stderr. */
void cli_args_report(const char *cmd, const cli_args *a);

/* What every command does with its parse status, so the help/usage exits
 * are the same everywhere: CLI_PARSE_HELP prints usage to stdout and returns
 * cli_finish_stdout's status; CLI_PARSE_ERROR reports the error, prints usage
 * to stderr and returns CLI_USAGE; CLI_PARSED returns -1 (run the command). */
int cli_args_outcome(const char *cmd, cli_parse_status st, const cli_args *a,
                     void (*usage)(FILE *out));

#endif
