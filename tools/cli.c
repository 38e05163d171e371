#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
        fprintf(stderr, "bitnet %s: %s: %lld is out of range [%lld, %lld]\n", cmd, flag, v, min,
                max);
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

char *cli_slurp_max(const char *path, size_t max, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int err = buf ? 0 : ENOMEM;
    while (!err) {
        if (n + 1 == cap) {
            /* grow, but never past max + 2: one byte beyond max proves the
             * input too long without reading (or allocating) any further */
            size_t want = cap * 2 > max + 2 ? max + 2 : cap * 2;
            if (want <= cap) {
                err = EFBIG;
                break;
            }
            char *bigger = realloc(buf, want);
            if (!bigger) {
                err = ENOMEM;
                break;
            }
            buf = bigger;
            cap = want;
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0) {
            if (errno == EINTR) continue;
            err = errno;
            break;
        }
        if (got == 0) break;
        n += (size_t)got;
        if (n > max) err = EFBIG;
    }
    close(fd);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

char *cli_slurp(const char *path, size_t *len) {
    return cli_slurp_max(path, CLI_MAX_TEXT_BYTES, len);
}

char *cli_read_file_max(const char *cmd, const char *path, size_t max, size_t *len) {
    char *buf = cli_slurp_max(path, max, len);
    if (buf) return buf;
    if (errno == EFBIG)
        fprintf(stderr, "bitnet %s: %s: longer than the %zu-byte (%.0f MiB) input limit\n", cmd,
                path, max, (double)max / 1048576.0);
    else
        fprintf(stderr, "bitnet %s: %s: cannot read: %s\n", cmd, path, strerror(errno));
    return NULL;
}

char *cli_read_file(const char *cmd, const char *path, size_t *len) {
    return cli_read_file_max(cmd, path, CLI_MAX_TEXT_BYTES, len);
}

bool cli_check_no_nul(const char *cmd, const char *what, const char *text, size_t len) {
    const char *nul = memchr(text, '\0', len);
    if (!nul) return true;
    fprintf(stderr,
            "bitnet %s: %s: NUL byte at offset %zu (prompts are text; it would cut the "
            "prompt there)\n",
            cmd, what, (size_t)(nul - text));
    return false;
}

void cli_log_stderr(bitnet_log_level level, const char *message, void *user_data) {
    bool verbose = user_data != NULL;
    if (level <= BITNET_LOG_WARN || (verbose && level <= BITNET_LOG_INFO)) {
        static const char *const names[] = {"error", "warning", "info", "debug"};
        fprintf(stderr, "%s: %s\n", names[level], message);
    }
}

bitnet_model *cli_load_model_opts(const char *cmd, const char *path, bool vocab_only,
                                  const cli_model_opts *opts) {
    bitnet_model_params mp = bitnet_model_default_params();
    mp.vocab_only = vocab_only;
    mp.use_mmap = !opts->no_mmap;
    mp.use_mlock = opts->mlock;
    mp.check_tensors = opts->check_tensors;
    mp.kernel_config = opts->kernel_config;
    mp.i2s_block = opts->i2s_block;
    mp.log_callback = cli_log_stderr;
    mp.log_user_data = opts->verbose ? (void *)1 : NULL;
    bitnet_model *m = bitnet_model_load(path, &mp);
    if (!m) fprintf(stderr, "bitnet %s: %s\n", cmd, bitnet_get_last_error());
    return m;
}

bitnet_model *cli_load_model(const char *cmd, const char *path, bool vocab_only, bool verbose) {
    cli_model_opts opts = {.verbose = verbose};
    return cli_load_model_opts(cmd, path, vocab_only, &opts);
}

void cli_warn_ctx(const char *cmd, const bitnet_model *model, int32_t n_ctx) {
    int32_t train = bitnet_model_n_ctx_train(model);
    if (train > 0 && n_ctx > train)
        fprintf(stderr,
                "bitnet %s: warning: context size %d is larger than the model's training context "
                "%d; output beyond %d tokens may degrade\n",
                cmd, n_ctx, train, train);
}

static void on_sigbus(int sig) {
    (void)sig;
    /* async-signal-safe only: write(2) and _exit(2) */
    static const char msg[] =
        "\nbitnet: fatal: bus error reading the model: the model file was changed or truncated "
        "while it was mapped into memory (use --no-mmap to read it into memory instead)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(CLI_RUNTIME);
}

void cli_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_sigbus;
    sigaction(SIGBUS, &sa, NULL);
}

int cli_finish_stdout(const char *cmd) {
    errno = 0;
    bool failed = fflush(stdout) != 0 || ferror(stdout);
    if (!failed) return 0;
    int e = errno;
    if (e == EPIPE)
        fprintf(stderr, "bitnet %s: output closed early (broken pipe)\n", cmd);
    else
        fprintf(stderr, "bitnet %s: writing the output failed: %s\n", cmd,
                e ? strerror(e) : "write error");
    return CLI_RUNTIME;
}

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
