/* Output files appear whole or not at all (issue 9: "a failed bitnet vocab
 * leaves its broken output file behind"): the GGUF writer goes through
 * engine/formats/atomic_file.c, so a write that fails half-way leaves neither a
 * truncated target nor a temporary file, and keeps the previous file. */
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>

#include "atomic_file.h"
#include "gguf.h"
#include "testutil.h"
#include "types.h"

enum { N_VALUES = 1 << 16 }; /* 256 KiB of F32: well above the size limit below */

static bitnet_status write_model(const char *path, float value) {
    static float data[N_VALUES];
    for (int i = 0; i < N_VALUES; i++) data[i] = value;
    bn_gguf_writer *w = bn_gguf_writer_new();
    bn_gguf_set_str(w, "general.architecture", "test");
    const int64_t ne[1] = {N_VALUES};
    bn_gguf_add_tensor(w, "t", BN_TYPE_F32, 1, ne, data, sizeof data, false);
    bitnet_status st = bn_gguf_write(w, path);
    bn_gguf_writer_free(w);
    return st;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static float first_value(const char *path) {
    bn_gguf *g = NULL;
    if (bn_gguf_open(path, false, &g)) return NAN;
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, "t");
    float v = t ? ((const float *)t->data)[0] : NAN;
    bn_gguf_close(g);
    return v;
}

int main(void) {
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%d", test_tmpdir("atomic_file"), (int)getpid());
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/out.gguf", dir);

    CHECK(write_model(path, 1.0f) == BITNET_OK);
    CHECK(first_value(path) == 1.0f);
    CHECK(count_entries(dir) == 1);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);

    /* a write that fails half-way (the file-size limit, in a child) */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {.rlim_cur = 64 * 1024, .rlim_max = 64 * 1024};
        setrlimit(RLIMIT_FSIZE, &lim);
        bitnet_status s = write_model(path, 2.0f);
        const char *msg = bitnet_get_last_error();
        _exit(s == BITNET_ERR_IO && strstr(msg, path) && strstr(msg, "write failed") ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECKF(first_value(path) == 1.0f, "the previous file was damaged");
    CHECKF(count_entries(dir) == 1, "a temporary file was left behind (%d entries)",
           count_entries(dir));

    /* a device is written in place; its failure is reported */
    if (stat("/dev/full", &st) == 0) {
        CHECK(write_model("/dev/full", 3.0f) == BITNET_ERR_IO);
        CHECK(strstr(bitnet_get_last_error(), "/dev/full") != NULL);
    }
    /* a missing directory, a directory as the target */
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.gguf", dir);
    CHECK(write_model(missing, 1.0f) == BITNET_ERR_IO);
    CHECK(strstr(bitnet_get_last_error(), missing) != NULL);
    CHECK(write_model(dir, 1.0f) == BITNET_ERR_IO);
    CHECK(strstr(bitnet_get_last_error(), "directory") != NULL);
    CHECK(count_entries(dir) == 1);

    unlink(path);
    rmdir(dir);
    TEST_END();
}
