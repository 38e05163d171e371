/* Replays a fuzz target's corpus without libFuzzer (SQLite's fuzzcheck idea):
 * every file of the given directories (or the files themselves) goes through
 * LLVMFuzzerTestOneInput once, in a buffer of exactly its size so that ASan
 * sees over-reads. The normal build checks that nothing aborts or hangs; the
 * ASan/UBSan build checks memory errors and leaks on the same inputs.
 *
 *   fuzz_replay_NAME [--min N] PATH...    exit 0 when all ran and >= N files */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* libFuzzer's optional hook; targets that need no set-up do not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { REPLAY_SECONDS_PER_INPUT = 20 };

static bool replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return false;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return false;
    }
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return false;
    }
    memcpy(exact, buf, len);
    free(buf);
    alarm(REPLAY_SECONDS_PER_INPUT); /* a hang kills the test with SIGALRM */
    LLVMFuzzerTestOneInput(exact, len);
    alarm(0);
    free(exact);
    return true;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays PATH (a file, or every regular file in a directory, in name order
 * so that a failure reproduces); returns the count or -1 on an error. */
static long replay_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: missing\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return replay_file(path) ? 1 : -1;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: cannot list %s\n", path);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **bigger = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!bigger) break;
            names = bigger;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    long count = 0;
    char child[4096];
    for (size_t i = 0; i < n; i++) {
        snprintf(child, sizeof child, "%s/%s", path, names[i]);
        free(names[i]);
        if (stat(child, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (!replay_file(child))
            count = -1;
        else if (count >= 0)
            count++;
    }
    free(names);
    return count;
}

int main(int argc, char **argv) {
    long min_files = 1, total = 0;
    int first = 1;
    if (argc > 2 && !strcmp(argv[1], "--min")) {
        min_files = strtol(argv[2], NULL, 10);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--min N] CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    bool ok = true;
    for (int i = first; i < argc; i++) {
        long n = replay_path(argv[i]);
        if (n < 0)
            ok = false;
        else
            total += n;
    }
    if (total < min_files) {
        fprintf(stderr, "replay: only %ld inputs (want at least %ld)\n", total, min_files);
        ok = false;
    }
    printf("replayed %ld inputs: %s\n", total, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
