/* A tiny test harness: CHECK macros that count failures, SKIP with a reason
 * (exit 77, reported by CTest as skipped), and helpers for paths and child
 * processes. Each test file includes this once and ends with TEST_END(). */
#ifndef BN_TESTUTIL_H
#define BN_TESTUTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        test_checks++;                                                                \
        if (!(cond)) {                                                                \
            test_failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#define CHECKF(cond, ...)                                                             \
    do {                                                                              \
        test_checks++;                                                                \
        if (!(cond)) {                                                                \
            test_failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

#define SKIP(...)                              \
    do {                                       \
        fprintf(stdout, "SKIPPED: ");          \
        fprintf(stdout, __VA_ARGS__);          \
        fputc('\n', stdout);                   \
        exit(77);                              \
    } while (0)

#define TEST_END()                                                                          \
    do {                                                                                    \
        printf("%d checks, %d failed\n", test_checks, test_failures);                       \
        return test_failures ? 1 : 0;                                                       \
    } while (0)

static inline const char *test_env(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

/* Path under ../shared, or NULL when the shared folder is absent. */
static inline const char *test_shared_path(const char *rel) {
    static char buf[4096];
    const char *dir = test_env("BITNET_SHARED_DIR", "../shared");
    snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    struct stat st;
    return stat(buf, &st) == 0 ? buf : NULL;
}

/* A scratch directory under the build tree (tests write nowhere else). */
static inline const char *test_tmpdir(const char *name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/tmp", test_env("BITNET_BUILD_DIR", "."));
    mkdir(buf, 0755);
    snprintf(buf, sizeof buf, "%s/tmp/%s", test_env("BITNET_BUILD_DIR", "."), name);
    mkdir(buf, 0755);
    return buf;
}

/* Runs a shell command, captures stdout (up to cap-1 bytes) and returns the
 * exit status (-1 if it could not run). stderr goes to the test's stderr. */
static inline int test_run(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    if (out && cap) {
        n = fread(out, 1, cap - 1, p);
        out[n] = '\0';
    }
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline char *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len) *len = (size_t)n;
    }
    return buf;
}

#endif
