/* libbitnet on Hugging Face directories against transformers on the same
 * directories (issue 10), through bitnet-validate and the "hf" tolerance
 * (mean KLD <= 5e-3, top-1 >= 90% over 128 teacher-forced positions;
 * identical tokenization; greedy identical or diverging at a near-tie):
 *   A. fixtures/suite-hf.json: directories written at run time by
 *      `bitnet fixture --format hf` (packed-autobitlinear, packed-bitlinear,
 *      bf16-online, 3 shards);
 *   B. the directories transformers itself writes
 *      (baseline/transformers/make_checkpoint.py --all: the same three, a
 *      sharded bf16 and transformers-resharded packed shards) - independent
 *      of our writer; plus a deliberately wrong reading: the packed-bitlinear
 *      directory relabelled autobitlinear (weight_scale multiplied where it
 *      divides) against transformers on the original must fail.
 * Skipped (77) with the reason when build/venv-hf is absent. */
#include <unistd.h>

#include "validate_testutil.h"

static char validate_bin[1024], dir[1024], py[1200];

static const char *const SUITE_CHECKS =
    "\"checks\": {\"logits\": {\"n_tokens\": 128, \"seed\": 1}, \"greedy\": {\"prompts\": "
    "[\"Hello, world!\", \"The capital of France is\", \"def fibonacci(n): return 1234567 + "
    "n;\", \"Unicode: caf\\u00e9, na\\u00efve, \\u6771\\u4eac\"], \"n_predict\": 16}, "
    "\"speed\": false, \"kld\": false}";

/* Runs a suite; every fixture named in `good` must pass tokenize, logits
 * (128 positions, within "hf") and greedy against transformers. */
static cJSON *run_suite(const char *suite, const char *tag, const char *const *good, int n_good,
                        int *rc_out) {
    char out_dir[1300], cmd[8192], out[32768];
    snprintf(out_dir, sizeof out_dir, "%s/out-%s", dir, tag);
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && %s --suite %s --no-python --isa ref --no-speed --out %s --fixtures "
             "%s/fx --transformers-python %s 2>&1",
             out_dir, validate_bin, suite, out_dir, dir, py);
    *rc_out = test_run(cmd, out, sizeof out);
    cJSON *r = read_report(out_dir);
    for (int i = 0; i < n_good; i++) {
        char id[300];
        const char *kinds[3] = {"tokenize", "logits", "greedy"};
        for (int k = 0; k < 3; k++) {
            snprintf(id, sizeof id, "%s/%s/libbitnet-ref vs transformers", kinds[k], good[i]);
            const cJSON *c = find_check(r, id);
            CHECKF(!strcmp(status_of(c), "pass"), "%s: %s\n%.3000s", id, status_of(c), out);
            if (k != 1 || !c) continue;
            const cJSON *m = cJSON_GetObjectItem(c, "metrics");
            double kld = cJSON_GetNumberValue(cJSON_GetObjectItem(m, "kld_mean"));
            double top1 = cJSON_GetNumberValue(cJSON_GetObjectItem(m, "top1"));
            int npos = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "n_positions"));
            CHECKF(npos == 128 && kld <= 5e-3 && top1 >= 0.9, "%s: %d positions, KLD %g, top-1 %g",
                   id, npos, kld, top1);
            printf("%-28s vs transformers: %d positions, mean KLD %.3g, top-1 %.1f%%\n", good[i],
                   npos, kld, 100 * top1);
        }
    }
    return r;
}

static void part_a(const char *src) {
    char suite[1300];
    snprintf(suite, sizeof suite, "%s/fixtures/suite-hf.json", src);
    static const char *const good[] = {"hf-packed-autobitlinear", "hf-packed-bitlinear",
                                       "hf-bf16-online", "hf-sharded"};
    int rc = 0;
    cJSON *r = run_suite(suite, "a", good, 4, &rc);
    CHECKF(rc == 0, "suite-hf.json: bitnet-validate exit %d (a gate failed)", rc);
    cJSON_Delete(r);
}

static void part_b(const char *src) {
    char ck[1300], cmd[8192];
    snprintf(ck, sizeof ck, "%s/ck", dir);
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && cd %s/baseline/transformers && %s make_checkpoint.py %s --all "
             ">%s/make_checkpoint.log 2>&1",
             ck, src, py, ck, dir);
    int rc = test_run(cmd, NULL, 0);
    CHECKF(rc == 0, "make_checkpoint.py --all failed (%d), see %s/make_checkpoint.log", rc, dir);
    if (rc) return;

    /* the wrong reading: bitlinear codes declared autobitlinear */
    char wrong[1400];
    snprintf(wrong, sizeof wrong, "%s/packed-bitlinear-as-auto", dir);
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && cp -r %s/packed-bitlinear %s && %s -c \"import json,sys; p=sys.argv[1]; "
             "c=json.load(open(p)); c['quantization_config']['linear_class']='autobitlinear'; "
             "json.dump(c, open(p,'w'))\" %s/config.json",
             wrong, ck, wrong, py, wrong);
    CHECKF(test_run(cmd, NULL, 0) == 0, "cannot make %s", wrong);

    static const char *const good[] = {"tf-bf16-online", "tf-packed-autobitlinear",
                                       "tf-packed-bitlinear", "tf-sharded", "tf-sharded-packed"};
    char suite[1300], text[8192];
    snprintf(suite, sizeof suite, "%s/suite-b.json", dir);
    int w = snprintf(text, sizeof text,
                     "{\"schema\": \"bitnet-validate-suite/1\", \"name\": \"hf-tf\", %s,\n"
                     " \"fixtures\": [\n",
                     SUITE_CHECKS);
    for (int i = 0; i < 5; i++)
        w += snprintf(text + w, sizeof text - (size_t)w,
                      "  {\"name\": \"%s\", \"path\": \"%s/%s\", \"tolerance\": \"hf\"},\n",
                      good[i], ck, good[i] + 3);
    snprintf(text + w, sizeof text - (size_t)w,
             "  {\"name\": \"tf-wrong-scale\", \"path\": \"%s\", \"reference\": "
             "\"tf-packed-bitlinear\", \"tolerance\": \"hf\"}]}\n",
             wrong);
    write_text(suite, text);
    cJSON *r = run_suite(suite, "b", good, 5, &rc);
    const cJSON *bad = find_check(r, "logits/tf-wrong-scale/libbitnet-ref vs transformers");
    CHECKF(!strcmp(status_of(bad), "fail"), "wrong scale against transformers: %s (must fail)",
           status_of(bad));
    if (bad) {
        const cJSON *m = cJSON_GetObjectItem(bad, "metrics");
        printf("tf-wrong-scale (must fail)   vs transformers: mean KLD %.3g, top-1 %.1f%%\n",
               cJSON_GetNumberValue(cJSON_GetObjectItem(m, "kld_mean")),
               100 * cJSON_GetNumberValue(cJSON_GetObjectItem(m, "top1")));
    }
    CHECKF(rc == 1, "suite with one wrong fixture: exit %d, want 1 (gate failed)", rc);
    cJSON_Delete(r);
}

int main(void) {
    const char *build = test_env("BITNET_BUILD_DIR", ".");
    const char *src = test_env("BITNET_SOURCE_DIR", "..");
    snprintf(validate_bin, sizeof validate_bin, "%s/bin/bitnet-validate", build);
    if (access(validate_bin, X_OK) != 0) SKIP("%s not built", validate_bin);
    const char *env = test_env("BITNET_TRANSFORMERS_PYTHON", NULL);
    if (env)
        snprintf(py, sizeof py, "%s", env);
    else
        snprintf(py, sizeof py, "%s/build/venv-hf/bin/python", src);
    if (access(py, X_OK) != 0)
        SKIP("%s is absent (bash ci/install-transformers.sh makes build/venv-hf)", py);
    const char *tmpdir = test_tmpdir("validate_hf");
    if (strlen(tmpdir) >= sizeof dir) SKIP("build path too long");
    memcpy(dir, tmpdir, strlen(tmpdir) + 1);
    part_a(src);
    part_b(src);
    TEST_END();
}
