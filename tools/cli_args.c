#include "cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_args_init(cli_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    a->i = 0;
}

bool cli_args_next(cli_args *a) {
    if (a->i + 1 >= a->argc) return false;
    a->flag = a->argv[++a->i];
    return true;
}

bool cli_args_is(const cli_args *a, const char *short_name, const char *long_name) {
    return (short_name && !strcmp(a->flag, short_name)) ||
           (long_name && !strcmp(a->flag, long_name));
}

bool cli_args_fail(cli_args *a, const char *fmt, ...) {
    if (a->error[0]) return false; /* keep the first error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->error, sizeof a->error, fmt, ap);
    va_end(ap);
    return false;
}

bool cli_args_value(cli_args *a, const char **out) {
    if (a->i + 1 >= a->argc) return cli_args_fail(a, "%s needs a value", a->flag);
    *out = a->argv[++a->i];
    return true;
}

static bool parse_int(cli_args *a, const char *text, long long min, long long max, long long *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno == ERANGE)
        return cli_args_fail(a, "%s: '%s' is not an integer", a->flag, text);
    if (v < min || v > max)
        return cli_args_fail(a, "%s: %lld is out of range [%lld, %lld]", a->flag, v, min, max);
    *out = v;
    return true;
}

bool cli_args_int(cli_args *a, long long min, long long max, long long *out) {
    const char *v = NULL;
    return cli_args_value(a, &v) && parse_int(a, v, min, max, out);
}

bool cli_args_float(cli_args *a, double min, double max, double *out) {
    const char *text = NULL;
    if (!cli_args_value(a, &text)) return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno == ERANGE || !isfinite(v))
        return cli_args_fail(a, "%s: '%s' is not a finite number", a->flag, text);
    if (v < min || v > max)
        return cli_args_fail(a, "%s: %g is out of range [%g, %g]", a->flag, v, min, max);
    *out = v;
    return true;
}

bool cli_args_choice(cli_args *a, const char *const *names, int *out) {
    const char *v = NULL;
    if (!cli_args_value(a, &v)) return false;
    char list[160] = "";
    for (int k = 0; names[k]; k++) {
        if (!strcmp(v, names[k])) {
            *out = k;
            return true;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", names[k]);
    }
    return cli_args_fail(a, "%s: '%s' is not one of %s", a->flag, v, list);
}

bool cli_args_int_list(cli_args *a, long long min, long long max, long long *vals, int cap,
                       int *n) {
    const char *v = NULL;
    if (!cli_args_value(a, &v)) return false;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (len == 0) return cli_args_fail(a, "%s: empty item in the list '%s'", a->flag, v);
        if (len >= sizeof item)
            return cli_args_fail(a, "%s: '%.*s' is not an integer", a->flag, (int)len, p);
        if (*n >= cap) return cli_args_fail(a, "%s: more than %d values", a->flag, cap);
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse_int(a, item, min, max, &vals[*n])) return false;
        *n += 1;
        if (!comma) return true;
        p = comma + 1;
    }
}

bool cli_args_model_flag(cli_args *a, cli_model_opts *m) {
    if (cli_args_is(a, NULL, "--no-mmap"))
        m->no_mmap = true;
    else if (cli_args_is(a, NULL, "--mlock"))
        m->mlock = true;
    else if (cli_args_is(a, NULL, "--check-tensors"))
        m->check_tensors = true;
    else if (cli_args_is(a, "-v", "--verbose"))
        m->verbose = true;
    else if (cli_args_is(a, NULL, "--kernel-config"))
        return cli_args_value(a, &m->kernel_config);
    else if (cli_args_is(a, NULL, "--i2s-block")) {
        /* a bad value returns false: the caller's chain then ends in
         * cli_args_unknown, which keeps this (first) error */
        static const char *const blocks[] = {"64", "128", NULL};
        int k = 0;
        if (!cli_args_choice(a, blocks, &k)) return false;
        m->i2s_block = k == 0 ? 64 : 128;
    } else
        return false;
    return true;
}

cli_parse_status cli_args_unknown(cli_args *a) {
    cli_args_fail(a, "unknown option '%s'", a->flag);
    return CLI_PARSE_ERROR;
}

void cli_args_report(const char *cmd, const cli_args *a) {
    fprintf(stderr, "bitnet %s: %s\n", cmd, a->error[0] ? a->error : "invalid arguments");
}

int cli_args_outcome(const char *cmd, cli_parse_status st, const cli_args *a,
                     void (*usage)(FILE *out)) {
    switch (st) {
    case CLI_PARSE_HELP: usage(stdout); return cli_finish_stdout(cmd);
    case CLI_PARSE_ERROR:
        cli_args_report(cmd, a);
        usage(stderr);
        return CLI_USAGE;
    case CLI_PARSED: break;
    }
    return -1;
}

void cli_sampling_defaults(cli_sampling_opts *s) {
    s->top_k = 40;
    s->last_n = 64;
    s->seed = 0;
    s->temp = 0.8;
    s->top_p = 0.95;
    s->min_p = 0.05;
    s->rep = 1.0;
}

bool cli_args_sampling_flag(cli_args *a, cli_sampling_opts *s, bool with_last_n, bool *ok) {
    if (cli_args_is(a, NULL, "--temp"))
        *ok = cli_args_float(a, 0, 100, &s->temp);
    else if (cli_args_is(a, NULL, "--top-k"))
        *ok = cli_args_int(a, 0, 1 << 24, &s->top_k);
    else if (cli_args_is(a, NULL, "--top-p"))
        *ok = cli_args_float(a, 1e-9, 1, &s->top_p);
    else if (cli_args_is(a, NULL, "--min-p"))
        *ok = cli_args_float(a, 0, 1, &s->min_p);
    else if (cli_args_is(a, NULL, "--repeat-penalty"))
        *ok = cli_args_float(a, 1e-6, 100, &s->rep);
    else if (with_last_n && cli_args_is(a, NULL, "--repeat-last-n"))
        *ok = cli_args_int(a, 0, 1 << 20, &s->last_n);
    else if (cli_args_is(a, "-s", "--seed"))
        *ok = cli_args_int(a, 0, INT64_MAX, &s->seed);
    else
        return false;
    return true;
}
