/* bitnet pull against a loopback server (tests/pull_server.py on 127.0.0.1,
 * a free port, files in build/tmp/pull/srv): download + verify, resume of a
 * .part with a Range request (seen in the server log), a server that ignores
 * Range, a corrupted file (refused, neither FILE nor FILE.part left), a wrong
 * --sha256, a 404 named in the error, and the hub (REPO) form through
 * HF_ENDPOINT with the hash taken from X-Linked-Etag. */
#include "testutil.h"

#include <signal.h>
#include <time.h>

static char out[1 << 16];
static char dir[4096], srv[4200], log_path[4200], url[256];

static int run(const char *args) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s %s 2>&1", dir, test_env("BITNET_BIN", "bitnet"), args);
    return test_run(cmd, out, sizeof out);
}

static bool exists(const char *name) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void write_bytes(const char *path, const unsigned char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f) fclose(f);
}

static bool same_file(const char *path, const unsigned char *data, size_t n) {
    size_t len = 0;
    char *got = test_read_file(path, &len);
    bool ok = got && len == n && !memcmp(got, data, n);
    free(got);
    return ok;
}

static size_t log_count(const char *needle) {
    size_t len = 0, k = 0;
    char *text = test_read_file(log_path, &len);
    for (char *p = text; p && (p = strstr(p, needle)); p++) k++;
    free(text);
    return k;
}

int main(void) {
    if (run("pull --help") != 0 || !strstr(out, "usage: bitnet pull"))
        SKIP("bitnet pull is not built (libcurl not found at configure time: "
             "apt-get install libcurl4-openssl-dev)");
    if (system("python3 -c 'import http.server' >/dev/null 2>&1"))
        SKIP("python3 is needed for the loopback server");
    snprintf(dir, sizeof dir, "%s", test_tmpdir("pull"));
    snprintf(srv, sizeof srv, "%s/srv", dir);
    mkdir(srv, 0755);
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.gguf* '%s'/port '%s'/log; rm -f '%s'/*", dir, dir, dir,
             srv);
    CHECK(system(cmd) == 0);
    snprintf(log_path, sizeof log_path, "%s/log", dir);

    /* 300 KiB of pseudo-random bytes, its SHA-256 from sha256sum */
    enum { N = 300 * 1024 };
    static unsigned char data[N];
    uint64_t s = 12345;
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        data[i] = (unsigned char)(s >> 56);
    }
    char path[4400], sha[80] = "";
    snprintf(path, sizeof path, "%s/model.gguf", srv);
    write_bytes(path, data, N);
    snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64", path);
    CHECK(test_run(cmd, sha, sizeof sha) == 0);
    sha[strcspn(sha, "\n")] = '\0';
    CHECK(strlen(sha) == 64);

    /* the server */
    char portfile[4400];
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char script[4200];
        snprintf(script, sizeof script, "%s/tests/pull_server.py",
                 test_env("BITNET_SOURCE_DIR", "."));
        execlp("python3", "python3", script, srv, portfile, log_path, (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    char port[32] = "";
    for (int i = 0; i < 200 && !port[0]; i++) { /* up to 10 s */
        size_t len = 0;
        char *p = test_read_file(portfile, &len);
        if (p) snprintf(port, sizeof port, "%s", p);
        free(p);
        if (!port[0]) usleep(50000);
    }
    if (!port[0]) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fprintf(stderr, "the loopback server did not start\n");
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);
    char args[8000], got[4400];
    snprintf(got, sizeof got, "%s/got.gguf", dir);

    /* 1. download + verify */
    snprintf(args, sizeof args, "pull %s/model.gguf -o got.gguf --sha256 %s", url, sha);
    CHECKF(run(args) == 0, "%s", out);
    CHECK(same_file(got, data, N) && !exists("got.gguf.part"));
    CHECK(strstr(out, sha) && strstr(out, "--sha256"));
    /* the default output name is the URL's last segment */
    snprintf(args, sizeof args, "pull '%s/model.gguf?x=1' --sha256 %s -q", url, sha);
    CHECKF(run(args) == 0, "%s", out);
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    CHECK(same_file(path, data, N));

    /* 2. resume: a .part holding the first 100000 bytes */
    remove(got);
    char part[4500];
    snprintf(part, sizeof part, "%s.part", got);
    write_bytes(part, data, 100000);
    size_t ranges = log_count("range=bytes=100000-");
    snprintf(args, sizeof args, "pull %s/model.gguf -o got.gguf --sha256 %s", url, sha);
    CHECKF(run(args) == 0 && strstr(out, "resumed at byte 100000"), "%s", out);
    CHECK(log_count("range=bytes=100000-") == ranges + 1);
    CHECK(same_file(got, data, N) && !exists("got.gguf.part"));

    /* 3. a server that ignores Range: starts over, still correct */
    remove(got);
    unsigned char junk[5000];
    memset(junk, 'x', sizeof junk); /* not a prefix of the file: must not survive */
    write_bytes(part, junk, sizeof junk);
    snprintf(args, sizeof args, "pull %s/norange/model.gguf -o got.gguf --sha256 %s", url, sha);
    CHECKF(run(args) == 0 && strstr(out, "ignored the Range"), "%s", out);
    CHECK(log_count("GET /norange/model.gguf range=bytes=5000-") == 1);
    CHECK(same_file(got, data, N) && !exists("got.gguf.part"));

    /* 4. a .part already as long as the file: 416, retried from the start */
    remove(got);
    write_bytes(part, data, N);
    CHECKF(run(args + 0) == 0, "%s", out); /* norange: 200, restarts */
    snprintf(args, sizeof args, "pull %s/model.gguf -o got.gguf --sha256 %s", url, sha);
    remove(got);
    write_bytes(part, data, N);
    CHECKF(run(args) == 0, "%s", out);
    CHECK(same_file(got, data, N) && !exists("got.gguf.part"));
    CHECK(log_count("GET /model.gguf range=bytes=307200-") == 1); /* answered 416 */

    /* 5. a corrupted file on the server: refused, no FILE, no .part */
    remove(got);
    static unsigned char bad[N];
    memcpy(bad, data, N);
    bad[N / 2] ^= 1;
    snprintf(path, sizeof path, "%s/bad.gguf", srv);
    write_bytes(path, bad, N);
    snprintf(args, sizeof args, "pull %s/bad.gguf -o got.gguf --sha256 %s", url, sha);
    CHECKF(run(args) == 1 && strstr(out, "SHA-256 mismatch") && strstr(out, sha), "%s", out);
    CHECK(!exists("got.gguf") && !exists("got.gguf.part"));
    /* a resumed download whose kept bytes are corrupt: also refused */
    write_bytes(part, bad, 200000);
    snprintf(args, sizeof args, "pull %s/model.gguf -o got.gguf --sha256 %s", url, sha);
    CHECKF(run(args) == 1 && strstr(out, "SHA-256 mismatch"), "%s", out);
    CHECK(!exists("got.gguf") && !exists("got.gguf.part"));

    /* 6. a wrong --sha256; an existing FILE is left alone */
    char wrong[65];
    memcpy(wrong, sha, 65);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    write_bytes(got, (const unsigned char *)"old", 3);
    snprintf(args, sizeof args, "pull %s/model.gguf -o got.gguf --sha256 %s", url, wrong);
    CHECKF(run(args) == 1 && strstr(out, "SHA-256 mismatch") && strstr(out, wrong), "%s", out);
    CHECK(same_file(got, (const unsigned char *)"old", 3) && !exists("got.gguf.part"));
    remove(got);
    /* not a hash at all: a usage error */
    snprintf(args, sizeof args, "pull %s/model.gguf --sha256 abc", url);
    CHECK(run(args) == 2 && strstr(out, "--sha256") && strstr(out, "abc"));

    /* 7. 404 */
    snprintf(args, sizeof args, "pull %s/missing.gguf -o got.gguf", url);
    CHECKF(run(args) == 1 && strstr(out, "HTTP status 404") && strstr(out, "missing.gguf"), "%s",
           out);
    CHECK(!exists("got.gguf"));

    /* 8. the REPO form via HF_ENDPOINT: the hub's X-Linked-Etag verifies */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && HF_ENDPOINT=%s/hub %s pull org/name:model.gguf -o got.gguf 2>&1", dir, url,
             test_env("BITNET_BIN", "bitnet"));
    CHECKF(test_run(cmd, out, sizeof out) == 0 && strstr(out, "X-Linked-Etag"), "%s", out);
    CHECK(same_file(got, data, N));
    CHECK(log_count("GET /hub/org/name/resolve/main/model.gguf") >= 1);
    remove(got);
    /* a hub listing that disagrees with the bytes: refused */
    snprintf(path, sizeof path, "%s/model.gguf.sha256", srv);
    write_bytes(path, (const unsigned char *)wrong, 64);
    CHECKF(test_run(cmd, out, sizeof out) == 1 && strstr(out, "SHA-256 mismatch") &&
               strstr(out, "X-Linked-Etag"),
           "%s", out);
    CHECK(!exists("got.gguf") && !exists("got.gguf.part"));
    remove(path);
    /* REPO without a hash from the server (a plain file server): refused */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && HF_ENDPOINT=%s %s pull org/name:model.gguf -o got.gguf 2>&1", dir, url,
             test_env("BITNET_BIN", "bitnet"));
    CHECKF(test_run(cmd, out, sizeof out) == 1, "%s", out);
    CHECK(!exists("got.gguf"));
    CHECK(run("pull 'not a repo'") == 2);
    CHECK(run("pull ftp://x/y") == 2);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    TEST_END();
}
