/* bitnet-validate's setup (issue 9, findings 13-15): a report directory that
 * cannot be written and a bitnet.cpp baseline that was asked for but cannot
 * be used are setup errors (exit 2) reported before any work; --fixtures DIR
 * is where generated fixtures go; a bitnet.cpp build that cannot load the
 * fixture's architecture skips every bitnet.cpp step on it, the speed step
 * included, and the run passes. Reports are renamed into place: no
 * temporary file is left behind. */
#include <cjson/cJSON.h>
#include <dirent.h>

#include "testutil.h"

static char validate_bin[1024], dir[1024], suite[1100];

static int run(const char *env, const char *args, char *out, size_t cap) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "env %s %s --suite %s --no-python --isa ref --quick --reps 1 %s 2>&1",
             env, validate_bin, suite, args);
    return test_run(cmd, out, cap);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECKF(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A bitnet.cpp build from before the bitnet-b1.58 architecture: every tool
 * fails to load the model the way the real ones do (loader line, then the
 * tool's own line) and exits 1. */
static void make_fake_bitnetcpp(const char *bin) {
    static const char *tools[] = {"llama-cli", "llama-tokenize", "llama-perplexity", "llama-bench"};
    static const char *last[] = {
        "main: error: unable to load model", "main: error: could not load model from file",
        "main: error: unable to load model", "main: error: failed to load model 'model.gguf'"};
    char mk[4300];
    snprintf(mk, sizeof mk, "mkdir -p %s", bin);
    test_run(mk, NULL, 0);
    for (int i = 0; i < 4; i++) {
        char p[4400], text[1024];
        snprintf(p, sizeof p, "%s/%s", bin, tools[i]);
        snprintf(text, sizeof text,
                 "#!/bin/sh\n"
                 "echo \"llama_model_loader: loaded meta data with 24 key-value pairs\" >&2\n"
                 "echo \"llama_model_load: error loading model: error loading model "
                 "architecture: unknown model architecture: 'bitnet-b1.58'\" >&2\n"
                 "echo \"llama_load_model_from_file: failed to load model\" >&2\n"
                 "echo \"%s\" >&2\n"
                 "exit 1\n",
                 last[i]);
        write_text(p, text);
        chmod(p, 0755);
    }
}

static const cJSON *find_check(const cJSON *report, const char *id_prefix) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(report, "checks")) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(c, "id"));
        if (id && !strncmp(id, id_prefix, strlen(id_prefix))) return c;
    }
    return NULL;
}

static bool leftover_tmp(const char *d) {
    DIR *dp = opendir(d);
    if (!dp) return false;
    bool found = false;
    struct dirent *de;
    while ((de = readdir(dp)))
        if (strstr(de->d_name, ".tmp")) found = true;
    closedir(dp);
    return found;
}

int main(void) {
    const char *build = test_env("BITNET_BUILD_DIR", ".");
    snprintf(validate_bin, sizeof validate_bin, "%s/bin/bitnet-validate", build);
    if (access(validate_bin, X_OK) != 0) SKIP("%s not built", validate_bin);
    const char *tmpdir = test_tmpdir("validate_setup");
    if (strlen(tmpdir) >= sizeof dir) SKIP("build path too long");
    memcpy(dir, tmpdir, strlen(tmpdir) + 1);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf %s/fx %s/out %s/out-fake", dir, dir, dir);
    test_run(cmd, NULL, 0);
    snprintf(suite, sizeof suite, "%s/suite.json", dir);
    write_text(suite,
               "{\"schema\": \"bitnet-validate-suite/1\", \"name\": \"setup\",\n"
               " \"checks\": {\"logits\": {\"n_tokens\": 8}, \"greedy\": {\"prompts\": "
               "[\"Once upon a time\"], \"n_predict\": 4}, \"speed\": {\"pp\": 8, \"tg\": 4}},\n"
               " \"fixtures\": [{\"name\": \"t\", \"generate\": [\"--preset\", \"tiny\", "
               "\"--arch\", \"bitnet-b1.58\", \"--kind\", \"random\", \"--seed\", \"2\", "
               "\"--quant\", \"i2_s\"]}]}\n");
    char out[16384], args[4400];

    /* 14. --out naming an existing file: exit 2 before any work */
    char file[1100];
    snprintf(file, sizeof file, "%s/a-file", dir);
    write_text(file, "not a directory\n");
    snprintf(args, sizeof args, "--out %s --fixtures %s/fx", file, dir);
    int rc = run("", args, out, sizeof out);
    CHECKF(rc == 2, "--out FILE: exit %d, want 2: %.500s", rc, out);
    CHECKF(strstr(out, file) && strstr(out, "not a directory"), "--out FILE message: %.500s", out);
    CHECKF(!strstr(out, "[fixture]") && !strstr(out, "PASS"), "--out FILE ran anyway: %.500s", out);

    /* 15. an explicitly requested baseline that is absent: exit 2, naming it */
    snprintf(args, sizeof args, "--out %s/out --fixtures %s/fx --bitnet-cpp /nonexistent/bin", dir,
             dir);
    rc = run("", args, out, sizeof out);
    CHECKF(rc == 2, "--bitnet-cpp /nonexistent: exit %d, want 2: %.500s", rc, out);
    CHECKF(strstr(out, "/nonexistent/bin") && strstr(out, "llama-cli"),
           "--bitnet-cpp message: %.500s", out);
    CHECKF(!strstr(out, "[fixture]"), "--bitnet-cpp /nonexistent ran anyway: %.500s", out);
    /* ... and through the environment variable (documented: the same) */
    snprintf(args, sizeof args, "--out %s/out --fixtures %s/fx", dir, dir);
    rc = run("BITNET_CPP_DIR=/nonexistent/bin", args, out, sizeof out);
    CHECKF(rc == 2 && strstr(out, "BITNET_CPP_DIR") && strstr(out, "/nonexistent/bin"),
           "BITNET_CPP_DIR=/nonexistent: exit %d: %.500s", rc, out);

    /* 13. --fixtures DIR holds the generated fixture */
    rc = run("BITNET_CPP_DIR=", args, out, sizeof out);
    CHECKF(rc == 0, "plain run: exit %d: %.800s", rc, out);
    snprintf(cmd, sizeof cmd, "ls %s/fx | grep -c '^t-.*\\.gguf$'", dir);
    char count[64] = "";
    test_run(cmd, count, sizeof count);
    CHECKF(atoi(count) == 1, "--fixtures %s/fx holds %s fixture files, want 1", dir, count);
    snprintf(cmd, sizeof cmd, "%s/out", dir);
    CHECKF(!leftover_tmp(cmd), "a temporary report file was left in %s", cmd);
    CHECKF(!leftover_tmp(dir), "a temporary file was left in %s", dir);

    /* 15. a bitnet.cpp build that cannot load the architecture: every
     * bitnet.cpp step skipped with its reason, speed included; exit 0 */
    char fake[1100];
    snprintf(fake, sizeof fake, "%s/bitnet-cpp-2024", dir);
    make_fake_bitnetcpp(fake);
    snprintf(args, sizeof args, "--out %s/out-fake --fixtures %s/fx --bitnet-cpp %s", dir, dir,
             fake);
    rc = run("", args, out, sizeof out);
    CHECKF(rc == 0, "arch-limited bitnet.cpp: exit %d, want 0: %.1500s", rc, out);
    char rp[4400];
    snprintf(rp, sizeof rp, "%s/out-fake/report.json", dir);
    char *text = test_read_file(rp, NULL);
    cJSON *r = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECKF(r != NULL, "no readable %s", rp);
    const cJSON *c = find_check(r, "bitnet.cpp/t/bitnet.cpp");
    CHECKF(c && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")), "skipped"),
           "bitnet.cpp correctness step not skipped");
    c = find_check(r, "speed/t/bitnet.cpp");
    const char *st = c ? cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")) : "";
    const char *why = c ? cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")) : "";
    CHECKF(c && !strcmp(st, "skipped") && strstr(why, "cannot load") && strstr(why, "bitnet-b1.58"),
           "bitnet.cpp speed step: %s (%s)", st, why);
    c = find_check(r, "speed/t/libbitnet-ref");
    CHECKF(c && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")), "pass"),
           "libbitnet's own speed step did not run");
    cJSON_Delete(r);
    TEST_END();
}
