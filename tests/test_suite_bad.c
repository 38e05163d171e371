/* The bad-suite catalogue (docs/research/style-and-reliability.md, J1-J8, and
 * issue 9 findings 1, 6, 16, 17): each malformed or hostile suite file makes
 * bitnet-validate exit 2 at once with a message that names the file and the
 * key path (or line and byte) of what is wrong - never a crash, never a run
 * whose checks silently vanished. Every committed suite still loads. */
#include "testutil.h"

static char validate_bin[4096], dir[4096];

/* A fixture that would really run, so that a value the parser wrongly
 * accepts shows up as a run (exit 0 or 1), not as some other error. */
#define GEN                                                                                        \
    "\"generate\": [\"--preset\", \"tiny\", \"--arch\", \"bitnet-b1.58\", \"--kind\", "            \
    "\"random\", \"--seed\", \"2\", \"--quant\", \"i2_s\"]"
#define HEAD "{\"schema\": \"bitnet-validate-suite/1\", "
#define ONE(fixture_extra) HEAD "\"fixtures\": [{\"name\": \"t\", " GEN fixture_extra "}]}"
#define CHECKS(checks) HEAD "\"checks\": " checks ", \"fixtures\": [{\"name\": \"t\", " GEN "}]}"

typedef struct bad_case {
    const char *id;
    const char *text; /* NULL: made by make_text */
    const char *expect;
} bad_case;

static const bad_case cases[] = {
    /* J1: empty, truncated, not JSON */
    {"empty", "", "empty file"},
    {"blank", "  \n\t\n", "empty file"},
    {"truncated", HEAD "\"fixtures\": [", "ends early"},
    {"truncated-string", HEAD "\"na", "line 1"},
    {"trailing-garbage", ONE("") " }", "not valid JSON near '}'"},
    {"not-object", "[1, 2]", "top level must be a JSON object"},
    {"second-line", "{\n  \"schema\": \"bitnet-validate-suite/1\",\n  \"fixtures\": [,]\n}",
     "line 3"},
    /* J2: depth, size, bytes */
    {"deep-array", NULL, "nested deeper than 64"},
    {"deep-in-value", NULL, "nested deeper than 64"},
    {"too-big", NULL, "larger than 1048576 bytes"},
    {"nul-byte", NULL, "NUL byte"},
    {"escaped-nul", ONE(", \"description\": \"a\\u0000b\""), "\\u0000"},
    {"bad-utf8", NULL, "not valid UTF-8"},
    /* schema */
    {"no-schema", "{\"fixtures\": []}", "schema"},
    {"wrong-schema", "{\"schema\": \"bitnet-validate-suite/2\", \"fixtures\": []}", "schema"},
    {"no-fixtures", HEAD "\"fixtures\": []}", "fixtures: must be a non-empty array"},
    {"fixtures-object", HEAD "\"fixtures\": {}}", "fixtures: must be a non-empty array"},
    /* J4/J6 and finding 16: numbers checked before conversion */
    {"n-tokens-negative", CHECKS("{\"logits\": {\"n_tokens\": -5}}"),
     "checks.logits.n_tokens: must be an integer in 2..4096, got -5"},
    {"n-tokens-1e300", CHECKS("{\"logits\": {\"n_tokens\": 1e300}}"), "checks.logits.n_tokens"},
    {"n-tokens-fraction", CHECKS("{\"logits\": {\"n_tokens\": 2.5}}"), "got 2.5"},
    {"n-tokens-one", CHECKS("{\"logits\": {\"n_tokens\": 1}}"), "checks.logits.n_tokens"},
    {"n-tokens-string", CHECKS("{\"logits\": {\"n_tokens\": \"64\"}}"), "got \"64\""},
    {"n-tokens-huge", ONE(", \"checks\": {\"logits\": {\"n_tokens\": 100000}}"),
     "fixtures[0].checks.logits.n_tokens"},
    {"n-tokens-2e9", CHECKS("{\"logits\": {\"n_tokens\": 2e9}}"), "checks.logits.n_tokens"},
    {"seed-negative", CHECKS("{\"logits\": {\"seed\": -1}}"), "checks.logits.seed"},
    {"n-predict-negative", CHECKS("{\"greedy\": {\"prompts\": [\"Once\"], \"n_predict\": -7}}"),
     "checks.greedy.n_predict"},
    {"n-predict-huge", CHECKS("{\"greedy\": {\"prompts\": [\"Once\"], \"n_predict\": 1e9}}"),
     "checks.greedy.n_predict"},
    {"prompts-empty", CHECKS("{\"greedy\": {\"prompts\": []}}"),
     "checks.greedy.prompts: must not be empty"},
    {"prompts-number", CHECKS("{\"greedy\": {\"prompts\": [\"a\", 7]}}"),
     "checks.greedy.prompts[1]: must be a string"},
    {"prompt-empty-string", CHECKS("{\"greedy\": {\"prompts\": [\"\"]}}"),
     "checks.greedy.prompts[0]: must not be empty"},
    {"prompt-120k", NULL, "checks.greedy.prompts[0]: longer than 4096 bytes"},
    {"greedy-no-prompts", CHECKS("{\"greedy\": {\"n_predict\": 4}}"), "no prompts"},
    {"logits-true", CHECKS("{\"logits\": true}"), "checks.logits: must be an object"},
    {"speed-2e9", CHECKS("{\"speed\": {\"pp\": 2e9}}"), "checks.speed.pp"},
    {"speed-zero", CHECKS("{\"speed\": {\"pp\": 0, \"tg\": 0}}"), "both 0"},
    {"kld-ctx", CHECKS("{\"kld\": {\"ctx\": 100000}}"), "checks.kld.ctx"},
    {"threads-zero", HEAD "\"threads\": 0, \"fixtures\": [{\"name\": \"t\", " GEN "}]}",
     "threads: must be an integer in 1..1024"},
    {"reps-1e300", HEAD "\"reps\": 1e300, \"fixtures\": [{\"name\": \"t\", " GEN "}]}", "reps"},
    {"derive-seed", NULL, "fixtures[1].derive.seed"},
    {"derive-nothing", NULL, "needs \"shuffle_tensor\" or \"relabel_arch\""},
    {"derive-unknown", NULL, "fixtures[1].derive.from: \"nope\" is not another fixture"},
    {"generate-empty", HEAD "\"fixtures\": [{\"name\": \"t\", \"generate\": []}]}",
     "fixtures[0].generate: must not be empty"},
    {"generate-number", HEAD "\"fixtures\": [{\"name\": \"t\", \"generate\": [\"--preset\", 1]}]}",
     "fixtures[0].generate[1]: must be a string"},
    {"two-kinds", ONE(", \"path\": \"x.gguf\""), "exactly one of"},
    {"tolerance-range",
     HEAD "\"tolerances\": {\"x\": {\"top1_min\": 2}}, \"fixtures\": "
          "[{\"name\": \"t\", \"tolerance\": \"x\", " GEN "}]}",
     "tolerances.x.top1_min: must be a number in 0..1"},
    {"tolerance-negative",
     HEAD "\"tolerances\": {\"x\": {\"kld_mean_max\": -1}}, \"fixtures\": "
          "[{\"name\": \"t\", " GEN "}]}",
     "tolerances.x.kld_mean_max"},
    {"tolerance-policy",
     HEAD "\"tolerances\": {\"x\": {\"greedy\": \"fuzzy\"}}, \"fixtures\": "
          "[{\"name\": \"t\", \"tolerance\": \"x\", " GEN "}]}",
     "tolerances.x.greedy"},
    {"tolerance-unknown", ONE(", \"tolerance\": \"nope\""), "unknown tolerance \"nope\""},
    /* unknown and duplicate keys */
    {"unknown-top-key", HEAD "\"fixture\": [], \"fixtures\": [{\"name\": \"t\", " GEN "}]}",
     "unknown key \"fixture\""},
    {"unknown-fixture-key", ONE(", \"genrate\": []"), "fixtures[0]: unknown key \"genrate\""},
    {"unknown-check-key", CHECKS("{\"logits\": {\"n_token\": 8}}"),
     "checks.logits: unknown key \"n_token\""},
    {"duplicate-key", ONE(", \"name\": \"u\""), "duplicate key \"name\""},
    /* finding 17: names */
    {"name-traversal", HEAD "\"fixtures\": [{\"name\": \"../../x\", " GEN "}]}",
     "fixtures[0].name: \"../../x\" is not a valid name"},
    {"name-slash", HEAD "\"fixtures\": [{\"name\": \"a/b\", " GEN "}]}", "fixtures[0].name"},
    {"name-newline", HEAD "\"fixtures\": [{\"name\": \"a\\nb\", " GEN "}]}", "fixtures[0].name"},
    {"name-pipe", HEAD "\"fixtures\": [{\"name\": \"a|b\", " GEN "}]}", "fixtures[0].name"},
    {"name-dot", HEAD "\"fixtures\": [{\"name\": \".hidden\", " GEN "}]}", "fixtures[0].name"},
    {"name-long", NULL, "fixtures[0].name"},
    {"name-missing", HEAD "\"fixtures\": [{" GEN "}]}", "fixtures[0]: has no \"name\""},
    {"name-duplicate",
     HEAD "\"fixtures\": [{\"name\": \"t\", " GEN "}, {\"name\": \"t\", " GEN "}]}",
     "fixtures[1].name: \"t\" is already the name of fixtures[0]"},
    {"suite-name", HEAD "\"name\": \"<b>x</b>\", \"fixtures\": [{\"name\": \"t\", " GEN "}]}",
     "name: \"<b>x</b>\" is not a valid name"},
};

static char *make_text(const char *id, size_t *len) {
    size_t cap = 2u << 20;
    char *t = malloc(cap);
    if (!t) return NULL;
    size_t n = 0;
    if (!strcmp(id, "deep-array")) {
        for (; n < 128 * 1024; n++) t[n] = '[';
    } else if (!strcmp(id, "deep-in-value")) {
        n = (size_t)snprintf(t, cap, "%s\"description\": ", HEAD);
        for (int i = 0; i < 100; i++) t[n++] = '[';
        for (int i = 0; i < 100; i++) t[n++] = ']';
        n += (size_t)snprintf(t + n, cap - n, ", \"fixtures\": [{\"name\": \"t\", %s}]}", GEN);
    } else if (!strcmp(id, "too-big")) {
        n = (size_t)snprintf(t, cap, "%s", ONE(""));
        while (n < (1u << 20) + 10) t[n++] = ' ';
    } else if (!strcmp(id, "nul-byte")) {
        n = (size_t)snprintf(t, cap, "%s", ONE(""));
        t[12] = '\0';
    } else if (!strcmp(id, "bad-utf8")) {
        n = (size_t)snprintf(t, cap, "%s", ONE(", \"description\": \"caf\xC3\x28\""));
    } else if (!strcmp(id, "prompt-120k")) {
        n = (size_t)snprintf(t, cap, "%s\"checks\": {\"greedy\": {\"prompts\": [\"", HEAD);
        for (int i = 0; i < 120 * 1024; i++) t[n++] = 'a';
        n += (size_t)snprintf(t + n, cap - n, "\"]}}, \"fixtures\": [{\"name\": \"t\", %s}]}", GEN);
    } else if (!strcmp(id, "derive-seed") || !strcmp(id, "derive-nothing") ||
               !strcmp(id, "derive-unknown")) {
        const char *d = !strcmp(id, "derive-seed")
                            ? "{\"from\": \"t\", \"shuffle_tensor\": \"blk.0.attn_q.weight\", "
                              "\"seed\": -1}"
                        : !strcmp(id, "derive-nothing") ? "{\"from\": \"t\"}"
                                                        : "{\"from\": \"nope\", \"relabel_arch\": "
                                                          "\"bitnet\"}";
        n = (size_t)snprintf(t, cap,
                             "%s\"fixtures\": [{\"name\": \"t\", %s}, {\"name\": \"u\", "
                             "\"derive\": %s}]}",
                             HEAD, GEN, d);
    } else if (!strcmp(id, "name-long")) {
        n = (size_t)snprintf(t, cap, "%s\"fixtures\": [{\"name\": \"", HEAD);
        for (int i = 0; i < 100; i++) t[n++] = 'n';
        n += (size_t)snprintf(t + n, cap - n, "\", %s}]}", GEN);
    }
    *len = n;
    return t;
}

static bool write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

int main(void) {
    const char *build = test_env("BITNET_BUILD_DIR", ".");
    const char *src = test_env("BITNET_SOURCE_DIR", ".");
    snprintf(validate_bin, sizeof validate_bin, "%s/bin/bitnet-validate", build);
    if (access(validate_bin, X_OK) != 0) SKIP("%s not built", validate_bin);
    snprintf(dir, sizeof dir, "%s", test_tmpdir("suite_bad"));
    /* quick options, so that a suite wrongly accepted runs briefly */
    char common[8400];
    snprintf(common, sizeof common,
             "--no-python --no-speed --isa ref --quick --out %s/out --fixtures %s/fx", dir, dir);

    int n_cases = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n_cases; i++) {
        const bad_case *c = &cases[i];
        char path[4300];
        snprintf(path, sizeof path, "%s/%s.json", dir, c->id);
        size_t len = 0;
        char *made = c->text ? NULL : make_text(c->id, &len);
        const char *text = c->text ? c->text : made;
        if (c->text) len = strlen(c->text);
        CHECKF(text && write_file(path, text, len), "%s: cannot write", c->id);
        free(made);
        char cmd[32768], out[8192];
        snprintf(cmd, sizeof cmd, "%s --suite %s %s 2>&1", validate_bin, path, common);
        int rc = test_run(cmd, out, sizeof out);
        CHECKF(rc == 2, "%s: exit %d, want 2; output: %.600s", c->id, rc, out);
        CHECKF(strstr(out, c->expect) != NULL, "%s: message lacks '%s': %.600s", c->id, c->expect,
               out);
        CHECKF(strstr(out, path) != NULL, "%s: message does not name the file: %.300s", c->id, out);
        /* refused before any work: no fixture made, no check run */
        CHECKF(!strstr(out, "[fixture]"), "%s: the run went ahead: %.300s", c->id, out);
    }

    /* a directory, a missing file and /dev/zero (unbounded) as the suite */
    static const char *paths[] = {"/", "/nonexistent/suite.json", "/dev/zero"};
    static const char *expects[] = {"is a directory", "cannot open", "larger than"};
    for (int i = 0; i < 3; i++) {
        char cmd[32768], out[4096];
        snprintf(cmd, sizeof cmd, "%s --suite %s %s 2>&1", validate_bin, paths[i], common);
        int rc = test_run(cmd, out, sizeof out);
        CHECKF(rc == 2 && strstr(out, expects[i]), "--suite %s: exit %d: %.300s", paths[i], rc,
               out);
    }

    /* the committed suites load (an unsupported ISA stops the run right after) */
    static const char *committed[] = {"suite-ci", "suite-default", "suite-negative",
                                      "suite-bitnet-cpp"};
    for (int i = 0; i < 4; i++) {
        char cmd[32768], out[4096];
        snprintf(cmd, sizeof cmd, "%s --suite %s/fixtures/%s.json --isa bogus --out %s/out 2>&1",
                 validate_bin, src, committed[i], dir);
        int rc = test_run(cmd, out, sizeof out);
        CHECKF(rc == 2 && strstr(out, "ISA 'bogus'"), "%s does not load: %.400s", committed[i],
               out);
    }
    TEST_END();
}
