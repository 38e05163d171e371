#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool cli_parse_int(const char *cmd, const char *flag, const char *text, long long min,
                   long long max, long long *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno == ERANGE) {
        fprintf(stderr, "bitnet %s: %s: '%s' is not an integer\n", cmd, flag, text);
        return false;
    }
    if (v < min || v > max) {
        fprintf(stderr, "bitnet %s: %s: %lld is out of range [%lld, %lld]\n", cmd, flag, v, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_float(const char *cmd, const char *flag, const char *text, double min, double max,
                     double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno == ERANGE || !isfinite(v)) {
        fprintf(stderr, "bitnet %s: %s: '%s' is not a finite number\n", cmd, flag, text);
        return false;
    }
    if (v < min || v > max) {
        fprintf(stderr, "bitnet %s: %s: %g is out of range [%g, %g]\n", cmd, flag, v, min, max);
        return false;
    }
    *out = v;
    return true;
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "bitnet %s: %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

char *cli_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        errno = err ? EIO : ENOMEM;
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

char *cli_read_file(const char *cmd, const char *path, size_t *len) {
    char *buf = cli_slurp(path, len);
    if (!buf) fprintf(stderr, "bitnet %s: %s: %s\n", cmd, path, strerror(errno));
    return buf;
}

void cli_log_stderr(bitnet_log_level level, const char *message, void *user_data) {
    bool verbose = user_data != NULL;
    if (level <= BITNET_LOG_WARN || (verbose && level <= BITNET_LOG_INFO)) {
        static const char *const names[] = {"error", "warning", "info", "debug"};
        fprintf(stderr, "%s: %s\n", names[level], message);
    }
}

bitnet_model *cli_load_model(const char *cmd, const char *path, bool vocab_only, bool verbose) {
    bitnet_model_params mp = bitnet_model_default_params();
    mp.vocab_only = vocab_only;
    mp.log_callback = cli_log_stderr;
    mp.log_user_data = verbose ? (void *)1 : NULL;
    bitnet_model *m = bitnet_model_load(path, &mp);
    if (!m) fprintf(stderr, "bitnet %s: %s\n", cmd, bitnet_get_last_error());
    return m;
}

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
