/* bitnet-validate end to end: the quick CI suite passes (exit 0) and writes
 * every report file (valid PNG plots, a report.json that follows the
 * documented schema, a self-contained HTML page); the gate can fail:
 * deliberately wrong models (shuffled codes, wrong FFN activation, another
 * seed) exit 1; a run forced to the scalar kernels against a report from the
 * SIMD kernels is a slowdown (exit 1); an identical run passes; usage errors
 * exit 2. */
#include <cjson/cJSON.h>

#include "testutil.h"

static char validate_bin[4096], src[4096], py_flag[4200];

static int run_validate(const char *args, const char *out) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s %s --out %s >%s/stdout.txt 2>%s/stderr.txt", validate_bin,
             py_flag, args, out, out, out);
    char mk[4200];
    snprintf(mk, sizeof mk, "mkdir -p %s", out);
    test_run(mk, NULL, 0);
    int rc = test_run(cmd, NULL, 0);
    if (rc != 0) {
        char tail[4400];
        snprintf(tail, sizeof tail, "tail -n 5 %s/stderr.txt >&2", out);
        test_run(tail, NULL, 0);
    }
    return rc;
}

static cJSON *load_report(const char *dir) {
    char p[4200];
    snprintf(p, sizeof p, "%s/report.json", dir);
    char *text = test_read_file(p, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

/* The documented schema (docs/validation.md, "report.json"): required members
 * and their types. */
static bool has(const cJSON *o, const char *k, int type_mask) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return v && (v->type & type_mask);
}

static void check_schema(const cJSON *r) {
    CHECK(cJSON_IsString(cJSON_GetObjectItem(r, "schema")) &&
          !strcmp(cJSON_GetObjectItem(r, "schema")->valuestring, "bitnet-validate/1"));
    CHECK(has(r, "created", cJSON_String));
    CHECK(has(r, "suite", cJSON_Object));
    const cJSON *m = cJSON_GetObjectItem(r, "machine");
    CHECK(has(m, "cpu", cJSON_String) && has(m, "cpu_flags", cJSON_Array) &&
          has(m, "online_cpus", cJSON_Number));
    const cJSON *b = cJSON_GetObjectItem(r, "build");
    CHECK(has(b, "compiler", cJSON_String) && has(b, "git_commit", cJSON_String | cJSON_NULL));
    CHECK(has(r, "implementations", cJSON_Array));
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "implementations")) {
        CHECK(has(it, "name", cJSON_String) && has(it, "status", cJSON_String));
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "fixtures")) {
        CHECK(has(it, "name", cJSON_String) && has(it, "status", cJSON_String));
        if (!strcmp(cJSON_GetObjectItem(it, "status")->valuestring, "ready"))
            CHECK(has(it, "sha256", cJSON_String) &&
                  strlen(cJSON_GetObjectItem(it, "sha256")->valuestring) == 64);
    }
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "checks")) > 0);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "checks")) {
        CHECK(has(it, "id", cJSON_String) && has(it, "kind", cJSON_String) &&
              has(it, "status", cJSON_String) && has(it, "reason", cJSON_String));
        const char *st = cJSON_GetObjectItem(it, "status")->valuestring;
        CHECK(!strcmp(st, "pass") || !strcmp(st, "fail") || !strcmp(st, "skipped") ||
              !strcmp(st, "error"));
    }
    const cJSON *sp = cJSON_GetObjectItem(r, "speed");
    CHECK(has(sp, "entries", cJSON_Array));
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(sp, "entries")) {
        CHECK(has(it, "impl", cJSON_String) && has(it, "test", cJSON_String) &&
              has(it, "samples_ts", cJSON_Array) && has(it, "median_ts", cJSON_Number) &&
              has(it, "model_sha256", cJSON_String));
    }
    const cJSON *s = cJSON_GetObjectItem(r, "summary");
    CHECK(has(s, "exit_code", cJSON_Number) && has(s, "result", cJSON_String));
}

static void check_png(const char *dir, const char *name) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t len = 0;
    char *d = test_read_file(p, &len);
    CHECKF(d && len > 1000 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8), "%s is not a PNG", p);
    if (d && len > 24) {
        /* IHDR width and height, big-endian, must be sane */
        const unsigned char *u = (const unsigned char *)d;
        unsigned w = (unsigned)u[16] << 24 | u[17] << 16 | u[18] << 8 | u[19];
        unsigned h = (unsigned)u[20] << 24 | u[21] << 16 | u[22] << 8 | u[23];
        CHECKF(w >= 200 && w <= 10000 && h >= 200 && h <= 10000, "%s: %ux%u", p, w, h);
    }
    free(d);
}

/* Status of the first check whose id starts with prefix ("" if none). */
static const char *status_of(const cJSON *r, const char *prefix) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(r, "checks")) {
        const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
        if (!strncmp(id, prefix, strlen(prefix)))
            return cJSON_GetObjectItem(c, "status")->valuestring;
    }
    return "";
}

int main(void) {
    const char *build = test_env("BITNET_BUILD_DIR", ".");
    snprintf(src, sizeof src, "%s", test_env("BITNET_SOURCE_DIR", "."));
    snprintf(validate_bin, sizeof validate_bin, "%s/bin/bitnet-validate", build);
    if (access(validate_bin, X_OK) != 0) SKIP("%s not built", validate_bin);
    const char *py = test_env("BITNET_PYTHON", "");
    if (py[0] && access(py, X_OK) == 0)
        snprintf(py_flag, sizeof py_flag, "--python %s", py);
    else
        snprintf(py_flag, sizeof py_flag, "--no-python");
    const char *tmp = test_tmpdir("validate");
    char out[4200], args[16384];

    /* 1. the quick suite passes and writes every artifact */
    snprintf(out, sizeof out, "%s/ci", tmp);
    snprintf(args, sizeof args, "--suite %s/fixtures/suite-ci.json --quick", src);
    int rc = run_validate(args, out);
    CHECKF(rc == 0, "quick suite exit %d", rc);
    cJSON *r = load_report(out);
    CHECK(r != NULL);
    if (r) {
        check_schema(r);
        CHECK(!strcmp(status_of(r, "baseline/-/bitnet.cpp"), "skipped"));
        CHECK(!strcmp(status_of(r, "logits/tiny-b158-random/"), "pass"));
    }
    static const char *files[] = {"report.md", "report.html", "junit.xml", "history.jsonl"};
    for (int i = 0; i < 4; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/%s", out, files[i]);
        CHECKF(access(p, R_OK) == 0, "%s missing", p);
    }
    if (access("/usr/bin/gnuplot", X_OK) == 0) {
        check_png(out, "throughput.png");
        check_png(out, "logit_error.png");
        check_png(out, "speed_history.png");
    }
    char p[4300];
    snprintf(p, sizeof p, "%s/report.html", out);
    char *html = test_read_file(p, NULL);
    CHECK(html && strstr(html, "</html>"));
    /* self-contained: nothing fetched from elsewhere */
    CHECK(html && !strstr(html, "src=\"http") && !strstr(html, "href=\"http") &&
          !strstr(html, "<link") && !strstr(html, "@import") && !strstr(html, "<script src"));
    free(html);
    snprintf(p, sizeof p, "%s/report.md", out);
    char *md = test_read_file(p, NULL);
    CHECK(md && strstr(md, "bitnet.cpp") && strstr(md, "skipped"));
    free(md);
    char report_a[4300];
    snprintf(report_a, sizeof report_a, "%s/report.json", out);
    cJSON_Delete(r);

    /* 2. deliberately wrong models fail the gate (needs the Python reference) */
    if (strcmp(py_flag, "--no-python")) {
        snprintf(out, sizeof out, "%s/negative", tmp);
        snprintf(args, sizeof args, "--suite %s/fixtures/suite-negative.json --no-speed --isa ref",
                 src);
        rc = run_validate(args, out);
        CHECKF(rc == 1, "negative suite exit %d, want 1", rc);
        r = load_report(out);
        if (r) {
            CHECK(!strcmp(status_of(r, "logits/good/"), "pass"));
            CHECK(!strcmp(status_of(r, "logits/codes-shuffled/"), "fail"));
            CHECK(!strcmp(status_of(r, "greedy/codes-shuffled/"), "fail"));
            CHECK(!strcmp(status_of(r, "logits/wrong-ffn-activation/"), "fail"));
            CHECK(!strcmp(status_of(r, "greedy/wrong-ffn-activation/"), "fail"));
            CHECK(!strcmp(status_of(r, "logits/seed-mismatch/"), "fail"));
        }
        cJSON_Delete(r);
    } else {
        printf("negative suite skipped: no Python reference (BITNET_PYTHON)\n");
    }

    /* 2b. both sides in exact mode (libbitnet F32, the reference float64) */
    if (strcmp(py_flag, "--no-python")) {
        snprintf(out, sizeof out, "%s/exact", tmp);
        snprintf(args, sizeof args,
                 "--suite %s/fixtures/suite-ci.json --quick --no-speed --numerics exact", src);
        rc = run_validate(args, out);
        CHECKF(rc == 0, "exact-mode suite exit %d", rc);
    }

    /* 3. the slowdown gate: scalar kernels against a SIMD report */
    const char *simd = NULL;
    char line[256] = "";
    test_run("grep -m1 -o -w avx2 /proc/cpuinfo", line, sizeof line);
    simd = line[0] ? "avx2" : NULL;
    if (simd) {
        char base[4300];
        snprintf(out, sizeof out, "%s/speed-simd", tmp);
        snprintf(args, sizeof args,
                 "--suite %s/fixtures/suite-ci.json --quick --no-python --isa %s", src, simd);
        rc = run_validate(args, out);
        CHECKF(rc == 0, "SIMD speed run exit %d", rc);
        snprintf(base, sizeof base, "%s/report.json", out);
        snprintf(out, sizeof out, "%s/speed-ref", tmp);
        snprintf(
            args, sizeof args,
            "--suite %s/fixtures/suite-ci.json --quick --no-python --isa ref --threshold 0.3 "
            "--against report:%s",
            src, base);
        rc = run_validate(args, out);
        CHECKF(rc == 1, "scalar run against the SIMD report: exit %d, want 1", rc);
        r = load_report(out);
        if (r) CHECK(!strcmp(status_of(r, "speed-regression/tiny-b158-random/libbitnet "), "fail"));
        cJSON_Delete(r);
        /* an identical run passes. Runs minutes apart on a shared 2-core
         * machine drift by 10-20% (measured under sanitizers and other load),
         * so this check gates at 30%, which the scalar run above (70-85%
         * slower) still fails. If it trips, the retry first measures a fresh
         * base, so that the two runs compared are adjacent in time. */
        snprintf(out, sizeof out, "%s/speed-same", tmp);
        snprintf(args, sizeof args,
                 "--suite %s/fixtures/suite-ci.json --quick --no-python --isa %s --threshold 0.3 "
                 "--against report:%s",
                 src, simd, base);
        rc = run_validate(args, out);
        if (rc != 0) {
            char base_out[4300], base_args[16384];
            snprintf(base_out, sizeof base_out, "%s/speed-simd-again", tmp);
            snprintf(base_args, sizeof base_args,
                     "--suite %s/fixtures/suite-ci.json --quick --no-python --isa %s", src, simd);
            if (run_validate(base_args, base_out) == 0) {
                snprintf(args, sizeof args,
                         "--suite %s/fixtures/suite-ci.json --quick --no-python --isa %s "
                         "--threshold 0.3 --against report:%s/report.json",
                         src, simd, base_out);
                rc = run_validate(args, out);
            }
        }
        CHECKF(rc == 0, "identical run against its own report: exit %d, want 0", rc);
    } else {
        printf("speed gate skipped: no SIMD ISA on this CPU\n");
    }
    (void)report_a;

    /* 4. the bitnet.cpp adapter on recorded outputs of its tools (needs ../shared) */
    const char *shared = test_env("BITNET_SHARED_DIR", "");
    char golden[4300];
    snprintf(golden, sizeof golden, "%s/fixtures/bitnet-cpp/tiny-i2_s.gguf", shared);
    if (shared[0] && access(golden, R_OK) == 0) {
        snprintf(out, sizeof out, "%s/bitnet-cpp", tmp);
        snprintf(args, sizeof args,
                 "--suite %s/fixtures/suite-bitnet-cpp.json --bitnet-cpp "
                 "%s/tests/data/bitnet-cpp-recorded "
                 "--isa ref --reps 2",
                 src, src);
        rc = run_validate(args, out);
        CHECKF(rc == 0, "recorded bitnet.cpp suite exit %d", rc);
        r = load_report(out);
        if (r) {
            CHECK(!strcmp(status_of(r, "tokenize/bitnet-cpp-tiny/"), "pass"));
            CHECK(!strcmp(status_of(r, "greedy-text/bitnet-cpp-tiny/"), "pass"));
            CHECK(!strcmp(status_of(r, "logits-kld/bitnet-cpp-tiny/"), "pass"));
            /* llama-bench's JSON parsed: the recorded 5000 and 2000 t/s */
            const cJSON *e;
            int seen = 0;
            cJSON_ArrayForEach(e, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "speed"), "entries")) {
                if (strcmp(cJSON_GetObjectItem(e, "impl")->valuestring, "bitnet.cpp")) continue;
                double med = cJSON_GetObjectItem(e, "median_ts")->valuedouble;
                seen++;
                CHECK(med == 5000.0 || med == 2000.0);
            }
            CHECK(seen == 2);
        }
        cJSON_Delete(r);
    } else {
        printf("bitnet.cpp recorded-output test skipped: no ../shared golden fixture\n");
    }

    /* 5. usage and setup errors exit 2 */
    snprintf(out, sizeof out, "%s/usage", tmp);
    CHECK(run_validate("--bogus-flag", out) == 2);
    CHECK(run_validate("--against report:/nonexistent/report.json", out) == 2);
    CHECK(run_validate("--suite /nonexistent/suite.json", out) == 2);
    TEST_END();
}
