/* Replays the GGUF fuzz corpus (fuzz/corpus/gguf/: seeds and every input that
 * ever crashed the reader) through the fuzz target itself, without libFuzzer:
 * SQLite's fuzzcheck idea. The normal build checks that nothing aborts; the
 * ASan/UBSan build in CI checks memory errors and leaks on the same inputs.
 * Extra directories or files given as arguments are replayed too (a crash
 * found by ci/fuzz.sh can be checked here before it is committed). */
#include <dirent.h>
#include <signal.h>

#include "../fuzz/fuzz_gguf.c"
#include "testutil.h"

static int n_files;

/* Each input gets an exactly sized buffer so that ASan sees over-reads. */
static void replay_file(const char *path) {
    size_t len = 0;
    char *text = test_read_file(path, &len);
    CHECKF(text != NULL, "cannot read %s", path);
    if (!text) return;
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, text, len);
    free(text);
    alarm(20); /* one input must never take long: a hang fails the test */
    LLVMFuzzerTestOneInput(buf, len);
    alarm(0);
    free(buf);
    n_files++;
}

static void replay(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        CHECKF(0, "%s: missing", path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        replay_file(path);
        return;
    }
    DIR *d = opendir(path);
    CHECKF(d != NULL, "cannot list %s", path);
    if (!d) return;
    struct dirent *e;
    char child[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) replay_file(child);
    }
    closedir(d);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        for (int i = 1; i < argc; i++) replay(argv[i]);
    } else {
        /* the source tree: from CTest's environment, else next to this file */
        char dir[4096];
        const char *src = getenv("BITNET_SOURCE_DIR");
        if (src && *src) {
            snprintf(dir, sizeof dir, "%s/fuzz/corpus/gguf", src);
        } else {
            snprintf(dir, sizeof dir, "%s", __FILE__);
            char *slash = strrchr(dir, '/');
            snprintf(slash ? slash + 1 : dir, sizeof dir - (size_t)(slash ? slash + 1 - dir : 0),
                     "../fuzz/corpus/gguf");
        }
        replay(dir);
        CHECKF(n_files >= 10, "only %d corpus files in %s", n_files, dir);
    }
    printf("replayed %d inputs\n", n_files);
    TEST_END();
}
