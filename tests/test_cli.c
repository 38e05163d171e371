/* The CLI's contract (catalogue C1-C4): usage errors exit 2 naming the flag,
 * runtime errors exit 1 with the library's message, stdout carries only the
 * result, and a closed pipe ends generation quietly. */
#include "model_builder.h"
#include "testutil.h"

static char out[1 << 16];

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
    const char *bad[] = {"-n abc", "-n 12abc", "-n ''", "-n 99999999999999999999", "-t 0",
                         "-t 100000", "--temp nan", "--top-p 1.5", "--min-p -1", "-c -5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "run -m '%s' -p hi %s", model, bad[i]);
        char flag[16];
        sscanf(bad[i], "%15s", flag);
        CHECKF(run(args) == 2 && strstr(out, flag), "%s: exit/message wrong:\n%s", bad[i], out);
    }
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
    TEST_END();
}
