/* bitnet-validate: runs libbitnet (each ISA), the Python reference and, when
 * given, bitnet.cpp on the same models; compares them token by token and
 * logit by logit; measures their speed side by side; writes report.json,
 * report.md, report.html, plots, junit.xml and a history line.
 * Exit: 0 pass, 1 a check failed, 2 usage or setup error. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitnet.h"
#include "gate.h"
#include "json_util.h"
#include "report.h"
#include "run.h"
#include "suite.h"

enum { AGAINST_MAX_BYTES = 64 << 20 }; /* an --against report */

#ifndef BV_SOURCE_DIR
#define BV_SOURCE_DIR "."
#endif
#ifndef BV_PYTHON
#define BV_PYTHON "python3"
#endif

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bitnet-validate [--suite FILE] [--against baseline|report:FILE]\n"
        "                       [--models FILE...] [--bitnet-cpp DIR] [--isa LIST]\n"
        "                       [--threads N] [--reps N] [--out DIR] [--quick]\n"
        "  --suite FILE        suite of fixtures and checks (default fixtures/suite-default.json)\n"
        "  --against baseline  compare with the Python reference and, when given, bitnet.cpp\n"
        "  --against report:FILE  also gate speed against an earlier report.json\n"
        "  --models FILE...    run the checks on these model files instead of the suite\n"
        "  --bitnet-cpp DIR    bitnet.cpp build/bin (or $BITNET_CPP_DIR); a directory\n"
        "                      without its tools is a setup error (exit 2), either way\n"
        "  --isa LIST          comma list of libbitnet ISAs (default: every supported one;\n"
        "                      the first is the primary, recorded also as \"libbitnet\")\n"
        "  --threads N         threads for the speed runs (default 1; correctness uses 1)\n"
        "  --reps N            speed repetitions (default 5, after one warm-up)\n"
        "  --threshold F       slowdown gate threshold (default 0.05)\n"
        "  --numerics MODE     compat (default: bitnet.cpp's roundings) or exact, on both sides\n"
        "  --no-python         leave out the Python reference (reported as skipped)\n"
        "  --no-speed          leave out the speed runs\n"
        "  --fixtures DIR      where generated fixtures are cached (default BUILD/fixtures)\n"
        "  --python PATH       interpreter for the reference (default $BITNET_PYTHON or the venv)\n"
        "  --transformers-python PATH  interpreter with transformers, for Hugging Face\n"
        "                      directory fixtures (default $BITNET_TRANSFORMERS_PYTHON, else\n"
        "                      build/venv-hf from ci/install-transformers.sh; absent: skipped)\n"
        "  --out DIR           report directory (default reports/out); exit 2 if it\n"
        "                      cannot be written\n"
        "  --quick             fewer prompts and tokens: for CI\n"
        "\n"
        "examples:\n"
        "  bitnet-validate --models model.gguf --no-python --no-speed --out report\n"
        "  bitnet-validate --suite fixtures/suite-ci.json --quick --no-speed --out report\n");
}

typedef struct opts {
    const char *suite, *against, *bitnet_cpp, *isa, *out, *fixtures, *python, *tf_python;
    char **models;
    int n_models;
    int threads, reps;
    double threshold;
    bool quick, no_python, no_speed;
    bool exact; /* --numerics exact: both sides in their exact mode */
} opts;

static bool parse_int(const char *flag, const char *v, int lo, int hi, int *out) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < lo || x > hi) {
        fprintf(stderr, "bitnet-validate: %s needs an integer in %d..%d\n", flag, lo, hi);
        return false;
    }
    *out = (int)x;
    return true;
}

static int parse_args(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->reps = 5;
    o->threshold = 0.05;
    o->out = "reports/out";
    o->against = "baseline";
    o->models = calloc((size_t)argc, sizeof *o->models);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE()                                                                                     \
    do {                                                                                           \
        if (!v) {                                                                                  \
            fprintf(stderr, "bitnet-validate: %s needs a value\n", a);                             \
            return GATE_USAGE;                                                                     \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("bitnet-validate %s (abi %d)\n", bitnet_version(), bitnet_abi_version());
            exit(fflush(stdout) || ferror(stdout) ? 1 : 0);
        } else if (!strcmp(a, "--suite")) {
            TAKE();
            o->suite = v;
        } else if (!strcmp(a, "--against")) {
            TAKE();
            if (strcmp(v, "baseline") && strncmp(v, "report:", 7)) {
                fprintf(stderr, "bitnet-validate: --against takes baseline or report:FILE\n");
                return GATE_USAGE;
            }
            o->against = v;
        } else if (!strcmp(a, "--models")) {
            while (i + 1 < argc && argv[i + 1][0] != '-') o->models[o->n_models++] = argv[++i];
            if (!o->n_models) {
                fprintf(stderr, "bitnet-validate: --models needs at least one file\n");
                return GATE_USAGE;
            }
        } else if (!strcmp(a, "--bitnet-cpp")) {
            TAKE();
            o->bitnet_cpp = v;
        } else if (!strcmp(a, "--isa")) {
            TAKE();
            o->isa = v;
        } else if (!strcmp(a, "--threads")) {
            TAKE();
            if (!parse_int(a, v, 1, 1024, &o->threads)) return GATE_USAGE;
        } else if (!strcmp(a, "--reps")) {
            TAKE();
            if (!parse_int(a, v, 1, 1000, &o->reps)) return GATE_USAGE;
        } else if (!strcmp(a, "--threshold")) {
            TAKE();
            char *end;
            o->threshold = strtod(v, &end);
            if (*end || !(o->threshold >= 0 && o->threshold < 1)) {
                fprintf(stderr, "bitnet-validate: --threshold needs a fraction in [0, 1)\n");
                return GATE_USAGE;
            }
        } else if (!strcmp(a, "--out")) {
            TAKE();
            o->out = v;
        } else if (!strcmp(a, "--fixtures")) {
            TAKE();
            o->fixtures = v;
        } else if (!strcmp(a, "--python")) {
            TAKE();
            o->python = v;
        } else if (!strcmp(a, "--transformers-python")) {
            TAKE();
            o->tf_python = v;
        } else if (!strcmp(a, "--quick")) {
            o->quick = true;
        } else if (!strcmp(a, "--numerics")) {
            TAKE();
            if (strcmp(v, "compat") && strcmp(v, "exact")) {
                fprintf(stderr, "bitnet-validate: --numerics takes compat or exact\n");
                return GATE_USAGE;
            }
            o->exact = !strcmp(v, "exact");
        } else if (!strcmp(a, "--no-python")) {
            o->no_python = true;
        } else if (!strcmp(a, "--no-speed")) {
            o->no_speed = true;
        } else {
            fprintf(stderr, "bitnet-validate: unknown option '%s' (see --help)\n", a);
            return GATE_USAGE;
        }
#undef TAKE
    }
    return 0;
}

/* The libbitnet implementations: --isa, or every ISA this CPU runs (best first
 * via bitnet_isa_default(), so the primary is what users get). */
static bool make_libs(vrun *r, const char *list, bool exact) {
    static const char *all[] = {"ref", "avx2", "avx512", "amx", "neon"};
    char names[BV_MAX_IMPLS][16];
    int n = 0;
    if (list) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", list);
        for (char *t = strtok(buf, ","); t && n < BV_MAX_IMPLS; t = strtok(NULL, ",")) {
            if (!bitnet_isa_supported(t)) {
                fprintf(stderr, "bitnet-validate: ISA '%s' is not supported here (%s)\n", t,
                        bitnet_system_info());
                return false;
            }
            snprintf(names[n++], 16, "%s", t);
        }
    } else {
        snprintf(names[n++], 16, "%s", bitnet_isa_default());
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (bitnet_isa_supported(all[i]) && strcmp(all[i], names[0]))
                snprintf(names[n++], 16, "%s", all[i]);
    }
    r->ref_isa_index = -1;
    for (int i = 0; i < n; i++) {
        r->libs[r->n_libs] = vb_libbitnet_new(names[i], 1, exact);
        if (!r->libs[r->n_libs]) return false;
        if (!strcmp(names[i], "ref")) r->ref_isa_index = r->n_libs;
        r->n_libs++;
    }
    return n > 0;
}

static void setup_python(vrun *r, const opts *o) {
    r->python_wanted = true;
    if (o->no_python) {
        r->python_wanted = false;
        return;
    }
    const char *py = o->python ? o->python : getenv("BITNET_PYTHON");
    if (!py || !*py) py = BV_PYTHON;
    const char *src = getenv("BITNET_SOURCE_DIR");
    if (!src || !*src) src = BV_SOURCE_DIR;
    char pkg[4096];
    snprintf(pkg, sizeof pkg, "%s/baseline/python", src);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/bitnet_ref/runner.py", pkg);
    if (!vu_file_exists(probe)) {
        snprintf(r->python_reason, sizeof r->python_reason, "unavailable: %s is absent", probe);
        return;
    }
    verr e = {{0}};
    r->python = vb_python_new(py, pkg, o->quick ? 300 : 900, o->exact, &e);
    if (!r->python)
        snprintf(r->python_reason, sizeof r->python_reason, "unavailable: %s (interpreter %s)",
                 e.msg, py);
}

/* bitnet.cpp is compared only when asked for (--bitnet-cpp or BITNET_CPP_DIR).
 * A request that cannot be honoured is a setup error, whether it came from
 * the flag or the variable: a run that silently left out the comparison it
 * was asked for would pass without doing what was asked. To leave bitnet.cpp
 * out, unset the variable (or set it empty). */
static bool setup_bitnetcpp(vrun *r, const opts *o) {
    const char *dir = o->bitnet_cpp ? o->bitnet_cpp : getenv("BITNET_CPP_DIR");
    const char *from = o->bitnet_cpp ? "--bitnet-cpp" : "BITNET_CPP_DIR";
    if (!dir || !*dir) {
        snprintf(r->bitnetcpp_reason, sizeof r->bitnetcpp_reason,
                 "skipped: no --bitnet-cpp DIR or BITNET_CPP_DIR given");
        return true;
    }
    verr e = {{0}};
    r->bitnetcpp = vb_bitnetcpp_new(dir, r->threads, o->quick ? 300 : 900, &e);
    if (!r->bitnetcpp) {
        fprintf(stderr, "bitnet-validate: %s %s: %s\n", from, dir, e.msg);
        return false;
    }
    return true;
}

/* transformers runs only where a fixture is a Hugging Face directory. Its
 * environment is big (ci/install-transformers.sh), so its absence is a skip
 * with the reason; an interpreter that was named (flag or variable) and cannot
 * run it is a setup error, as with bitnet.cpp. */
static bool setup_transformers(vrun *r, const opts *o, const vsuite *s, const char *src) {
    bool any = false;
    for (int i = 0; i < s->n_fixtures; i++) {
        const vfixture *f = &s->fixtures[i];
        any |= f->ready && vu_is_hf_dir(f->reference_path[0] ? f->reference_path : f->path);
    }
    if (!any) {
        snprintf(r->tf_reason, sizeof r->tf_reason,
                 "not needed: no Hugging Face directory among the fixtures");
        return true;
    }
    const char *py = o->tf_python ? o->tf_python : getenv("BITNET_TRANSFORMERS_PYTHON");
    const char *from = o->tf_python ? "--transformers-python" : "BITNET_TRANSFORMERS_PYTHON";
    bool named = py && *py;
    char def[4200], pkg[4200], probe[4300];
    if (!named) {
        snprintf(def, sizeof def, "%s/build/venv-hf/bin/python", src);
        py = def;
    }
    snprintf(pkg, sizeof pkg, "%s/baseline/transformers", src);
    snprintf(probe, sizeof probe, "%s/tf_runner.py", pkg);
    if (!vu_file_exists(py) && !named) {
        snprintf(r->tf_reason, sizeof r->tf_reason,
                 "skipped, because the transformers environment %s is absent (make it with "
                 "ci/install-transformers.sh, or give --transformers-python PATH)",
                 py);
        return true;
    }
    verr e = {{0}};
    if (!vu_file_exists(probe))
        verr_set(&e, "%s is absent", probe);
    else
        r->tf = vb_transformers_new(py, pkg, o->quick ? 300 : 900, &e);
    if (r->tf) return true;
    if (named) {
        fprintf(stderr, "bitnet-validate: %s %s: transformers cannot run: %s\n", from, py, e.msg);
        return false;
    }
    r->tf_error = true;
    snprintf(r->tf_reason, sizeof r->tf_reason, "error: transformers (%s) cannot run: %.900s", py,
             e.msg);
    return true;
}

static cJSON *impl_json(const vbackend *b) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", b->name);
    cJSON_AddStringToObject(o, "kind", b->kind);
    cJSON_AddStringToObject(o, "version", b->version);
    cJSON_AddStringToObject(o, "status", "available");
    return o;
}

static cJSON *impl_missing(const char *name, const char *kind, const char *reason) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddStringToObject(o, "status", "unavailable");
    cJSON_AddStringToObject(o, "reason", reason);
    return o;
}

int main(int argc, char **argv) {
    opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.models);
        return rc;
    }
    const char *src = getenv("BITNET_SOURCE_DIR");
    if (!src || !*src) src = BV_SOURCE_DIR;
    char exe_dir[4096], bitnet_bin[4200], fixture_dir[4200], suite_default[4200];
    if (!vu_exe_dir(exe_dir, sizeof exe_dir)) snprintf(exe_dir, sizeof exe_dir, ".");
    snprintf(bitnet_bin, sizeof bitnet_bin, "%s/bitnet", exe_dir);
    if (o.fixtures)
        snprintf(fixture_dir, sizeof fixture_dir, "%s", o.fixtures);
    else
        snprintf(fixture_dir, sizeof fixture_dir, "%s/../fixtures", exe_dir);
    snprintf(suite_default, sizeof suite_default, "%s/fixtures/suite-default.json", src);

    vsuite suite;
    verr e = {{0}};
    bool ok = o.n_models ? suite_from_models(o.models, o.n_models, &suite, &e)
                         : suite_load(o.suite ? o.suite : suite_default, &suite, &e);
    if (!ok) {
        fprintf(stderr, "bitnet-validate: %s\n", e.msg);
        free(o.models);
        return GATE_USAGE;
    }
    vrun r;
    memset(&r, 0, sizeof r);
    int exit_code = GATE_USAGE;
    r.threads = o.threads;
    r.reps = o.reps;
    r.quick = o.quick;
    r.threshold = o.threshold;
    r.alpha = 0.05;
    r.out_dir = o.out;
    snprintf(r.bitnet_bin, sizeof r.bitnet_bin, "%s", bitnet_bin);
    /* exact mode compares F32 with float64: on random fixtures the int8
     * activation quantization turns that into greedy divergences with margins
     * well above the near-tie epsilon, so greedy is reported there, not gated
     * (peaked fixtures still demand identical tokens) */
    for (int i = 0; o.exact && i < suite.n_fixtures; i++)
        if (suite.fixtures[i].tol.greedy == GREEDY_NEAR_TIE)
            suite.fixtures[i].tol.greedy = GREEDY_INFO;
    if (o.quick) {
        for (int i = 0; i < suite.n_fixtures; i++) {
            vfixture *f = &suite.fixtures[i];
            while (f->n_prompts > 2) { /* freed, not just forgotten */
                free(f->prompts[--f->n_prompts]);
                f->prompts[f->n_prompts] = NULL;
            }
        }
    }
    if (!make_libs(&r, o.isa, o.exact)) goto done;
    if (!strncmp(o.against, "report:", 7)) {
        snprintf(r.against_path, sizeof r.against_path, "%s", o.against + 7);
        /* an earlier report is input like any other: bounded, strictly parsed */
        size_t len = 0;
        verr rerr = {0};
        char *text = vu_read_file_max(r.against_path, AGAINST_MAX_BYTES, &len, &rerr);
        char err[256];
        snprintf(err, sizeof err, "%s", rerr.msg);
        bn_json_limits lim = {.max_bytes = AGAINST_MAX_BYTES, .max_depth = 32};
        r.against = text ? bn_json_parse(text, len, &lim, err, sizeof err) : NULL;
        free(text);
        const char *schema = cJSON_GetStringValue(cJSON_GetObjectItem(r.against, "schema"));
        if (!r.against || !schema || strcmp(schema, REPORT_SCHEMA)) {
            fprintf(stderr, "bitnet-validate: %s is not a readable %s report (%s)\n",
                    r.against_path, REPORT_SCHEMA, r.against ? "no matching schema" : err);
            goto done;
        }
    }
    /* where the results go is checked before any work: a run whose report
     * cannot be written is not a run */
    if (!vu_dir_writable(o.out, &e)) {
        fprintf(stderr, "bitnet-validate: --out: %s\n", e.msg);
        goto done;
    }
    if (!vu_dir_writable(fixture_dir, &e)) {
        fprintf(stderr, "bitnet-validate: %s%s\n",
                o.fixtures ? "--fixtures: " : "fixture cache: ", e.msg);
        goto done;
    }
    if (!setup_bitnetcpp(&r, &o)) goto done;
    setup_python(&r, &o);

    r.root =
        report_new(suite.name, o.suite ? o.suite : (o.n_models ? "--models" : suite_default), src);
    cJSON *opts_j = cJSON_AddObjectToObject(r.root, "options");
    cJSON_AddStringToObject(opts_j, "against", o.against);
    cJSON_AddNumberToObject(opts_j, "threads", o.threads);
    cJSON_AddNumberToObject(opts_j, "reps", o.reps);
    cJSON_AddBoolToObject(opts_j, "quick", o.quick);
    cJSON_AddStringToObject(opts_j, "numerics", o.exact ? "exact" : "compat");
    cJSON_AddNumberToObject(opts_j, "slowdown_threshold", o.threshold);
    cJSON_AddNumberToObject(opts_j, "alpha", r.alpha);
    cJSON_AddStringToObject(opts_j, "gate_test", "one-sided Mann-Whitney U on repetition samples");
    cJSON *impls = cJSON_AddArrayToObject(r.root, "implementations");
    for (int i = 0; i < r.n_libs; i++) cJSON_AddItemToArray(impls, impl_json(r.libs[i]));
    if (r.python)
        cJSON_AddItemToArray(impls, impl_json(r.python));
    else
        cJSON_AddItemToArray(
            impls, impl_missing("python-ref", "python",
                                r.python_wanted ? r.python_reason : "skipped: --no-python"));
    if (r.bitnetcpp)
        cJSON_AddItemToArray(impls, impl_json(r.bitnetcpp));
    else
        cJSON_AddItemToArray(impls, impl_missing("bitnet.cpp", "bitnet.cpp", r.bitnetcpp_reason));
    cJSON_AddArrayToObject(r.root, "fixtures");
    r.checks = cJSON_AddArrayToObject(r.root, "checks");
    cJSON *speed = cJSON_AddObjectToObject(r.root, "speed");
    r.speed_entries = cJSON_AddArrayToObject(speed, "entries");

    fprintf(stderr, "bitnet-validate: suite %s, %d fixtures; libbitnet ISAs:", suite.name,
            suite.n_fixtures);
    for (int i = 0; i < r.n_libs; i++) fprintf(stderr, " %s", r.libs[i]->name + 10);
    fprintf(stderr, "; python reference: %s; bitnet.cpp: %s\n",
            r.python          ? "yes"
            : r.python_wanted ? r.python_reason
                              : "off (--no-python)",
            r.bitnetcpp ? "yes" : r.bitnetcpp_reason);
    double t0 = vu_now_s();
    suite_prepare(&suite, bitnet_bin, fixture_dir, o.quick);
    if (!setup_transformers(&r, &o, &suite, src)) goto done;
    if (r.tf)
        cJSON_AddItemToArray(impls, impl_json(r.tf));
    else
        cJSON_AddItemToArray(impls, impl_missing("transformers", "transformers", r.tf_reason));
    fprintf(stderr, "bitnet-validate: transformers: %s\n", r.tf ? r.tf->version : r.tf_reason);
    for (int i = 0; i < suite.n_fixtures; i++) run_fixture(&r, &suite.fixtures[i]);
    if (!o.no_speed) run_speed(&r, &suite);
    if (r.against) run_against_report(&r);
    /* baselines that never ran are listed, never passed */
    if (!r.bitnetcpp)
        run_add_check(&r, "baseline", "-", "bitnet.cpp", NULL, "skipped", "%s", r.bitnetcpp_reason);
    if (r.python_wanted && !r.python)
        run_add_check(&r, "baseline", "-", "python-ref", NULL, "error", "%s", r.python_reason);
    cJSON_AddNumberToObject(r.root, "duration_s", vu_now_s() - t0);
    exit_code = report_finish(r.root);
    if (!report_write_all(r.root, o.out)) {
        fprintf(stderr,
                "bitnet-validate: ERROR: the report in %s could not be written (the checks "
                "said %s)\n",
                o.out,
                exit_code == 0   ? "pass"
                : exit_code == 1 ? "fail"
                                 : "error");
        exit_code = GATE_USAGE;
        goto done;
    }
    fprintf(stderr, "bitnet-validate: %s; report in %s/report.md\n",
            exit_code == 0   ? "PASS"
            : exit_code == 1 ? "FAIL"
                             : "ERROR",
            o.out);

done:
    for (int i = 0; i < r.n_libs; i++) r.libs[i]->destroy(r.libs[i]);
    if (r.python) r.python->destroy(r.python);
    if (r.bitnetcpp) r.bitnetcpp->destroy(r.bitnetcpp);
    if (r.tf) r.tf->destroy(r.tf);
    cJSON_Delete(r.root);
    cJSON_Delete(r.against);
    suite_free(&suite);
    free(o.models);
    return exit_code;
}
