/* The CLI's contract (catalogue C1-C4): usage errors exit 2 naming the flag,
 * runtime errors exit 1 with the library's message, stdout carries only the
 * result, and a closed pipe ends generation quietly. */
#include "model_builder.h"
#include "testutil.h"

#include <time.h>

static char out[1 << 16];
static char big_cmd[1 << 16];

static int run(const char *args) {
    char cmd[12000];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_env("BITNET_BIN", "bitnet"), args);
    return test_run(cmd, out, sizeof out);
}

int main(void) {
    char model[4200], args[9000];
    snprintf(model, sizeof model, "%s/cli.gguf", test_tmpdir("cli"));
    model_spec s = model_spec_default("bitnet");
    CHECK(build_model(model, &s));

    /* C1: no arguments, unknown command or flag, flag without value */
    CHECK(run("") == 2);
    CHECK(run("frobnicate") == 2 && strstr(out, "frobnicate"));
    snprintf(args, sizeof args, "run -m '%s' -p hi --bogus", model);
    CHECK(run(args) == 2 && strstr(out, "--bogus"));
    CHECK(run("run -m") == 2 && strstr(out, "-m needs a value"));
    CHECK(run("run -p hello") == 2);
    /* C2: numbers checked with their range, the flag named */
    const char *bad[] = {"-n abc",     "-n 12abc",  "-n ''",      "-n 99999999999999999999",
                         "-t 0",       "-t 100000", "--temp nan", "--top-p 1.5",
                         "--min-p -1", "-c -5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "run -m '%s' -p hi %s", model, bad[i]);
        char flag[16];
        sscanf(bad[i], "%15s", flag);
        CHECKF(run(args) == 2 && strstr(out, flag), "%s: exit/message wrong:\n%s", bad[i], out);
    }
    /* C5: a bad BITNET_ISA is a usage error naming the variable and the real choices */
    char envcmd[12000];
    snprintf(envcmd, sizeof envcmd, "BITNET_ISA=bogus %s run -m '%s' -p hi 2>&1",
             test_env("BITNET_BIN", "bitnet"), model);
    CHECKF(test_run(envcmd, out, sizeof out) == 2 && strstr(out, "BITNET_ISA 'bogus'") &&
               strstr(out, "ref"),
           "BITNET_ISA=bogus:\n%s", out);
#if defined(__x86_64__)
    CHECKF(!strstr(out, "neon"), "an x86 build offers neon:\n%s", out);
#endif
    /* C3: bad paths are runtime errors with the reason */
    CHECK(run("run -m /nonexistent.gguf -p hi") == 1 && strstr(out, "/nonexistent.gguf"));
    CHECK(run("run -m / -p hi") == 1 && strstr(out, "not a regular file"));
    CHECK(run("inspect -m /dev/null") == 1);
    /* stdout holds only the generated text; the timing line goes to stderr */
    char cmd[12000];
    snprintf(cmd, sizeof cmd, "%s run -m '%s' -p hi -n 4 --temp 0 -t 1 2>/dev/null",
             test_env("BITNET_BIN", "bitnet"), model);
    CHECK(test_run(cmd, out, sizeof out) == 0 && !strstr(out, "[bitnet]"));
    snprintf(cmd, sizeof cmd, "%s run -m '%s' -p hi -n 4 --temp 0 -t 1 2>&1 >/dev/null",
             test_env("BITNET_BIN", "bitnet"), model);
    CHECK(test_run(cmd, out, sizeof out) == 0 && strstr(out, "[bitnet] prompt:"));
    /* C4: reading end closed early: no crash, no hang */
    snprintf(cmd, sizeof cmd,
             "bash -c \"%s run -m %s -p hi -n 2000 -c 128 --temp 0 -t 1 --ignore-eos 2>/dev/null | "
             "head -c 1 >/dev/null; echo status \\${PIPESTATUS[0]}\"",
             test_env("BITNET_BIN", "bitnet"), model);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    int st = -1;
    const char *p = strstr(out, "status ");
    if (p) st = atoi(p + 7);
    CHECKF(st == 0 || st == 1, "writer exit status %d (a signal would be >= 128)", st);
    /* tokenize prints one JSON array with BOS; --no-bos drops it */
    snprintf(args, sizeof args, "tokenize -m '%s' -p 'w1 w2'", model);
    CHECK(run(args) == 0 && out[0] == '[' && strstr(out, "[1, "));
    snprintf(args, sizeof args, "tokenize -m '%s' -p 'w1' --no-bos", model);
    CHECK(run(args) == 0 && !strstr(out, "[1, "));

    /* issue 9, finding 22: clear messages. -p with -f names the conflict */
    snprintf(args, sizeof args, "run -m '%s' -p x -f /nonexistent", model);
    CHECKF(run(args) == 2 && strstr(out, "-p and -f are exclusive"), "%s", out);
    /* a read failure says what failed, with the real errno */
    snprintf(args, sizeof args, "run -m '%s' -f / -n 1", model);
    CHECKF(run(args) == 1 && strstr(out, "Is a directory"), "%s", out);
    /* list flags: an empty item or too many values is a usage error naming the flag */
    snprintf(args, sizeof args, "bench -m '%s' -p ,,,", model);
    CHECKF(run(args) == 2 && strstr(out, "-p: empty item"), "%s", out);
    snprintf(args, sizeof args, "bench -m '%s' -t 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", model);
    CHECKF(run(args) == 2 && strstr(out, "more than 16"), "%s", out);
    /* -n -1 stopping at a full context says so; -n N that does not fit fails */
    snprintf(args, sizeof args, "run -m '%s' -p hi -n -1 -c 32 --temp 0 -t 1 --ignore-eos", model);
    CHECKF(run(args) == 0 && strstr(out, "stopped: context full (32 tokens)") &&
               strstr(out, "use -c"),
           "%s", out);
    snprintf(args, sizeof args, "run -m '%s' -p hi -n 100 -c 32 --temp 0 -t 1 --ignore-eos", model);
    CHECKF(run(args) == 1 && strstr(out, "context full"), "%s", out);
    /* -c above the training context (128) warns with both numbers */
    snprintf(args, sizeof args, "run -m '%s' -p hi -n 2 -c 512 --temp 0 -t 1", model);
    CHECKF(run(args) == 0 && strstr(out, "512") && strstr(out, "training context 128"), "%s", out);
    /* repeated single-value flags: the last wins */
    snprintf(args, sizeof args, "run -m /nonexistent.gguf -m '%s' -p hi -n 1 -n 2 -t 1", model);
    CHECKF(run(args) == 0 && strstr(out, "generation: 2 tokens"), "%s", out);

    /* finding 7: input files have a limit, checked while reading (devices too) */
    snprintf(args, sizeof args, "run -m '%s' -f /dev/zero -n 1", model);
    CHECKF(run(args) == 1 && strstr(out, "/dev/zero") && strstr(out, "64 MiB"), "%s", out);
    snprintf(args, sizeof args, "tokenize -m '%s' -f /dev/zero", model);
    CHECKF(run(args) == 1 && strstr(out, "64 MiB"), "%s", out);
    /* finding 12: a NUL byte in a prompt is refused, naming the file and offset */
    char nul_path[4300];
    snprintf(nul_path, sizeof nul_path, "%s/nul.txt", test_tmpdir("cli"));
    FILE *nf = fopen(nul_path, "wb");
    CHECK(nf && fwrite("w1 w2\0w3", 1, 8, nf) == 8);
    if (nf) fclose(nf);
    snprintf(args, sizeof args, "run -m '%s' -f '%s' -n 1", model, nul_path);
    CHECKF(run(args) == 1 && strstr(out, "nul.txt") && strstr(out, "offset 5"), "%s", out);
    snprintf(cmd, sizeof cmd, "printf 'w1\\n w2\\000w3\\n' | %s chat -m '%s' -n 2 -t 1 2>&1",
             test_env("BITNET_BIN", "bitnet"), model);
    CHECKF(test_run(cmd, out, sizeof out) == 1 && strstr(out, "stdin line 2") &&
               strstr(out, "offset 3"),
           "%s", out);

    /* finding 19: a closed stdout stops generation and fails (exit 1, one line) */
    snprintf(cmd, sizeof cmd,
             "bash -c '{ %s run -m %s -p hi -n 100000 -c 100000 --temp 0 -t 1 --ignore-eos "
             "2>%s/epipe.err; echo $? >%s/epipe.rc; } | head -c 5 >/dev/null'",
             test_env("BITNET_BIN", "bitnet"), model, test_tmpdir("cli"), test_tmpdir("cli"));
    double t0 = (double)time(NULL);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    char rc_path[4400], err_path[4400];
    snprintf(rc_path, sizeof rc_path, "%s/epipe.rc", test_tmpdir("cli"));
    snprintf(err_path, sizeof err_path, "%s/epipe.err", test_tmpdir("cli"));
    char *rc_text = test_read_file(rc_path, NULL), *err_text = test_read_file(err_path, NULL);
    CHECKF(rc_text && atoi(rc_text) == 1, "exit after EPIPE: %s", rc_text ? rc_text : "?");
    CHECKF(err_text && strstr(err_text, "broken pipe") && !strstr(err_text, "generation: 100000"),
           "stderr: %s", err_text ? err_text : "?");
    CHECKF((double)time(NULL) - t0 < 60, "the writer ran on after the pipe closed");
    free(rc_text);
    free(err_text);

    /* finding 2: --no-mmap, --mlock, --check-tensors exist on every model command */
    const char *loaders[] = {"run -p hi -n 1 -t 1", "tokenize -p hi", "bench -p 4 -n 2 -r 1 -t 1",
                             "perplexity -f /nonexistent -c 8"};
    for (size_t k = 0; k < sizeof loaders / sizeof loaders[0]; k++) {
        snprintf(args, sizeof args, "%s -m '%s' --no-mmap --mlock --check-tensors", loaders[k],
                 model);
        int rc = run(args);
        CHECKF(rc == (k == 3 ? 1 : 0) && !strstr(out, "unknown option"), "%s: %d\n%s", loaders[k],
               rc, out);
    }
    /* a model truncated while mapped: a message and exit 1, not SIGBUS; with
     * --no-mmap the run is unaffected */
    char big[4300];
    snprintf(big, sizeof big, "%s/truncated.gguf", test_tmpdir("cli"));
    for (int no_mmap = 0; no_mmap < 2; no_mmap++) {
        snprintf(cmd, sizeof cmd, "%s fixture -q -o '%s' --ctx 32768",
                 test_env("BITNET_BIN", "bitnet"), big);
        CHECK(test_run(cmd, out, sizeof out) == 0);
        snprintf(big_cmd, sizeof big_cmd,
                 "bash -c \"%s run -m '%s' %s -p hi -n %d -c 32768 --ignore-eos --temp 0 -t 1 "
                 ">/dev/null 2>'%s.err' & pid=\\$!; sleep 0.5; truncate -s 4096 '%s'; wait \\$pid; "
                 "echo status \\$?\"",
                 test_env("BITNET_BIN", "bitnet"), big, no_mmap ? "--no-mmap" : "",
                 no_mmap ? 3000 : 30000, big, big);
        CHECK(test_run(big_cmd, out, sizeof out) == 0);
        p = strstr(out, "status ");
        st = p ? atoi(p + 7) : -1;
        snprintf(err_path, sizeof err_path, "%s.err", big);
        err_text = test_read_file(err_path, NULL);
        if (!no_mmap)
            CHECKF(st == 1 && err_text && strstr(err_text, "truncated while it was mapped") &&
                       strstr(err_text, "--no-mmap"),
                   "status %d (a signal: >= 128); stderr: %s", st, err_text ? err_text : "?");
        else
            CHECKF(st == 0, "--no-mmap: status %d; stderr: %s", st, err_text ? err_text : "?");
        free(err_text);
    }
    TEST_END();
}
