/* The checks of one fixture and the interleaved speed runs. Every outcome,
 * including a backend that failed, becomes a check entry in the report. */
#include "run.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bitnet.h"
#include "compare.h"
#include "gate.h"

cJSON *run_add_check(vrun *r, const char *kind, const char *fixture, const char *impl,
                     const char *reference, const char *status, const char *reason_fmt, ...) {
    char reason[1024];
    va_list ap;
    va_start(ap, reason_fmt);
    vsnprintf(reason, sizeof reason, reason_fmt, ap);
    va_end(ap);
    char id[512];
    snprintf(id, sizeof id, "%s/%s/%s%s%s", kind, fixture, impl, reference ? " vs " : "",
             reference ? reference : "");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "id", id);
    cJSON_AddStringToObject(c, "kind", kind);
    cJSON_AddStringToObject(c, "fixture", fixture);
    cJSON_AddStringToObject(c, "impl", impl);
    if (reference) cJSON_AddStringToObject(c, "reference", reference);
    cJSON_AddStringToObject(c, "status", status);
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddItemToArray(r->checks, c);
    const char *mark = strcmp(status, "pass") == 0    ? "ok  "
                       : strcmp(status, "fail") == 0  ? "FAIL"
                       : strcmp(status, "error") == 0 ? "ERR "
                                                      : "skip";
    fprintf(stderr, "  [%s] %-58s %s\n", mark, id, reason);
    return c;
}

static cJSON *tol_json(const vtol *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "class", t->name);
    cJSON_AddNumberToObject(o, "kld_mean_max", t->kld_mean_max);
    cJSON_AddNumberToObject(o, "kld_p99_max", t->kld_p99_max);
    cJSON_AddNumberToObject(o, "top1_min", t->top1_min);
    cJSON_AddNumberToObject(o, "nmse_max", t->nmse_max);
    cJSON_AddNumberToObject(o, "ppl_rel_max", t->ppl_rel_max);
    cJSON_AddStringToObject(o, "greedy",
                            t->greedy == GREEDY_EXACT      ? "exact"
                            : t->greedy == GREEDY_NEAR_TIE ? "near-tie"
                                                           : "info");
    cJSON_AddNumberToObject(o, "near_tie_eps", t->near_tie_eps);
    return o;
}

static cJSON *float_array(const float *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *int_array(const int32_t *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* JSON has no NaN or infinity: write them as null */
static void add_num(cJSON *o, const char *k, double v) {
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

void run_judge_logits(vrun *r, const vfixture *f, const char *impl, const char *ref,
                      const cmp_logit_stats *s) {
    const vtol *t = &f->tol;
    char why[512] = "";
    size_t w = 0;
#define BAD(cond, ...)                                                                             \
    if (cond) w += (size_t)snprintf(why + w, w < sizeof why ? sizeof why - w : 0, __VA_ARGS__)
    BAD(!(s->kld_mean <= t->kld_mean_max), "KLD mean %.4g > %.4g; ", s->kld_mean, t->kld_mean_max);
    BAD(!(s->kld_p99 <= t->kld_p99_max), "KLD p99 %.4g > %.4g; ", s->kld_p99, t->kld_p99_max);
    BAD(!(s->top1 >= t->top1_min), "top-1 %.1f%% < %.1f%%; ", 100 * s->top1, 100 * t->top1_min);
    BAD(!(s->nmse <= t->nmse_max), "NMSE %.3g > %.3g; ", s->nmse, t->nmse_max);
    BAD(!(fabs(s->ppl_delta_rel) <= t->ppl_rel_max), "PPL delta %+.2f%% beyond %.1f%%; ",
        100 * s->ppl_delta_rel, 100 * t->ppl_rel_max);
#undef BAD
    cJSON *c;
    if (w)
        c = run_add_check(r, "logits", f->name, impl, ref, "fail", "%s", why);
    else
        c = run_add_check(r, "logits", f->name, impl, ref, "pass",
                          "KLD mean %.2g max %.2g, top-1 %.1f%%, NMSE %.2g", s->kld_mean,
                          s->kld_max, 100 * s->top1, s->nmse);
    cJSON *m = cJSON_AddObjectToObject(c, "metrics");
    cJSON_AddNumberToObject(m, "n_positions", s->n_pos);
    add_num(m, "kld_mean", s->kld_mean);
    add_num(m, "kld_max", s->kld_max);
    add_num(m, "kld_p50", s->kld_p50);
    add_num(m, "kld_p90", s->kld_p90);
    add_num(m, "kld_p99", s->kld_p99);
    add_num(m, "top1", s->top1);
    add_num(m, "nmse", s->nmse);
    add_num(m, "max_abs_err", s->max_abs_err);
    add_num(m, "ppl_ref", s->ppl_ref);
    add_num(m, "ppl_test", s->ppl_test);
    add_num(m, "ppl_delta_rel", s->ppl_delta_rel);
    cJSON_AddBoolToObject(m, "bit_exact", s->max_abs_err == 0.0);
    cJSON *pp = cJSON_AddObjectToObject(c, "per_position");
    cJSON_AddItemToObject(pp, "kld", float_array(s->kld_pos, s->n_pos));
    cJSON_AddItemToObject(pp, "max_abs_err", float_array(s->max_err_pos, s->n_pos));
    cJSON_AddItemToObject(c, "tolerance", tol_json(t));
}

void run_random_tokens(int32_t *t, int32_t n, int32_t n_vocab, int32_t bos, uint64_t seed) {
    uint64_t st = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int32_t i = 0; i < n; i++) t[i] = (int32_t)(vu_splitmix(&st) % (uint64_t)n_vocab);
    if (bos >= 0 && n > 0) t[0] = bos;
}

static void logits_checks(vrun *r, vfixture *f, const bool *lib_ok, bool py_ok, const char *py_err,
                          bitnet_model *meta) {
    int32_t n = f->logits_n, nv = bitnet_model_n_vocab(meta);
    int32_t *tokens = malloc(sizeof(int32_t) * (size_t)n);
    if (!tokens) return;
    run_random_tokens(tokens, n, nv, bitnet_add_bos(meta) ? bitnet_token_bos(meta) : -1,
                      (uint64_t)f->logits_seed);
    vb_logits py = {0}, lib[BV_MAX_IMPLS] = {{0}};
    verr e = {{0}};
    char py_reason[1100];
    snprintf(py_reason, sizeof py_reason, "%s", py_err);
    if (py_ok && r->python->logits(r->python, tokens, n, &py, &e) != 0) {
        py_ok = false;
        snprintf(py_reason, sizeof py_reason, "%s", e.msg);
    }
    for (int i = 0; i < r->n_libs; i++) {
        if (!lib_ok[i]) continue;
        if (r->libs[i]->logits(r->libs[i], tokens, n, &lib[i], &e) != 0) {
            run_add_check(r, "logits", f->name, r->libs[i]->name, NULL, "error", "%s", e.msg);
            continue;
        }
        if (!r->python_wanted) continue;
        if (!py_ok) {
            run_add_check(r, "logits", f->name, r->libs[i]->name, "python-ref",
                          r->python && !r->python_skip_fixture ? "error" : "skipped",
                          "python reference: %s", py_reason);
            continue;
        }
        cmp_logit_stats s;
        if (cmp_logits(&py, &lib[i], tokens, &s) != 0) {
            run_add_check(r, "logits", f->name, r->libs[i]->name, "python-ref", "error",
                          "shapes differ: %d x %d vs %d x %d", py.n_pos, py.n_vocab, lib[i].n_pos,
                          lib[i].n_vocab);
        } else {
            run_judge_logits(r, f, r->libs[i]->name, "python-ref", &s);
        }
        cmp_logit_stats_free(&s);
    }
    /* kernel variants against the scalar reference kernels of the same engine */
    int ri = r->ref_isa_index;
    for (int i = 0; ri >= 0 && i < r->n_libs; i++) {
        if (i == ri || !lib[i].data || !lib[ri].data) continue;
        cmp_logit_stats s;
        if (cmp_logits(&lib[ri], &lib[i], tokens, &s) == 0)
            run_judge_logits(r, f, r->libs[i]->name, r->libs[ri]->name, &s);
        cmp_logit_stats_free(&s);
    }
    for (int i = 0; i < r->n_libs; i++) vb_logits_free(&lib[i]);
    vb_logits_free(&py);
    free(tokens);
}

void run_greedy_add(greedy_acc *a, const char *prompt, const vb_gen *ref, const vb_gen *test,
                    float eps) {
    cmp_greedy_result g;
    cmp_greedy(ref, test, eps, &g);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prompt", prompt);
    cJSON_AddStringToObject(o, "class", cmp_greedy_class_str(g.cls));
    cJSON_AddNumberToObject(o, "n_compared", g.n_compared);
    cJSON_AddNumberToObject(o, "first_divergence", g.first_diff);
    if (g.first_diff >= 0) {
        cJSON_AddNumberToObject(o, "ref_token", g.ref_token);
        cJSON_AddNumberToObject(o, "test_token", g.test_token);
        add_num(o, "ref_margin", g.ref_margin);
        add_num(o, "test_margin", g.test_margin);
    }
    cJSON_AddItemToObject(o, "tokens", int_array(test->tokens, test->n));
    cJSON_AddItemToObject(o, "ref_tokens", int_array(ref->tokens, ref->n));
    cJSON_AddItemToArray(a->results, o);
    if (g.cls == CMP_IDENTICAL)
        a->n_identical++;
    else if (g.cls == CMP_NEAR_TIE)
        a->n_near_tie++;
    else
        a->n_diverged++;
    if (g.cls != CMP_IDENTICAL && (g.cls == CMP_DIVERGED || !a->worst[0]))
        snprintf(a->worst, sizeof a->worst,
                 "\"%.24s\": %s at token %d (ref %d margin %.3g, got %d margin %.3g)", prompt,
                 cmp_greedy_class_str(g.cls), g.first_diff, g.ref_token, g.ref_margin, g.test_token,
                 g.test_margin);
}

void run_greedy_finish(vrun *r, const vfixture *f, const char *impl, const char *ref,
                       greedy_acc *a) {
    int n = a->n_identical + a->n_near_tie + a->n_diverged;
    const vtol *t = &f->tol;
    bool fail = (t->greedy == GREEDY_EXACT && a->n_identical < n) ||
                (t->greedy == GREEDY_NEAR_TIE && a->n_diverged > 0);
    const char *policy = t->greedy == GREEDY_EXACT      ? "exact"
                         : t->greedy == GREEDY_NEAR_TIE ? "near-tie allowed"
                                                        : "info only";
    cJSON *c =
        run_add_check(r, "greedy", f->name, impl, ref, fail ? "fail" : "pass",
                      "%d/%d identical, %d near-tie, %d diverged (%s)%s%s", a->n_identical, n,
                      a->n_near_tie, a->n_diverged, policy, a->worst[0] ? "; " : "", a->worst);
    cJSON *m = cJSON_AddObjectToObject(c, "metrics");
    cJSON_AddNumberToObject(m, "identical", a->n_identical);
    cJSON_AddNumberToObject(m, "near_tie", a->n_near_tie);
    cJSON_AddNumberToObject(m, "diverged", a->n_diverged);
    cJSON_AddItemToObject(c, "prompts", a->results);
    cJSON_AddItemToObject(c, "tolerance", tol_json(t));
    a->results = NULL;
}

static void greedy_checks(vrun *r, vfixture *f, const bool *lib_ok, bool py_ok,
                          const char *py_err) {
    int primary = -1;
    for (int i = 0; i < r->n_libs && primary < 0; i++)
        if (lib_ok[i]) primary = i;
    if (primary < 0) return;
    greedy_acc vs_py[BV_MAX_IMPLS], vs_ref[BV_MAX_IMPLS];
    memset(vs_py, 0, sizeof vs_py);
    memset(vs_ref, 0, sizeof vs_ref);
    for (int i = 0; i < r->n_libs; i++) {
        vs_py[i].results = cJSON_CreateArray();
        vs_ref[i].results = cJSON_CreateArray();
    }
    char py_reason[1100];
    snprintf(py_reason, sizeof py_reason, "%s", py_err);
    bool lib_failed[BV_MAX_IMPLS] = {0};
    for (int p = 0; p < f->n_prompts; p++) {
        int32_t *toks = NULL, nt = 0;
        verr e = {{0}};
        vbackend *pb = r->libs[primary];
        if (pb->tokenize(pb, f->prompts[p], &toks, &nt, &e) != 0 || nt == 0) {
            run_add_check(r, "greedy", f->name, pb->name, NULL, "error",
                          "cannot tokenize prompt %d: %s", p, e.msg);
            free(toks);
            continue;
        }
        vb_gen py = {0}, lib[BV_MAX_IMPLS];
        memset(lib, 0, sizeof lib);
        if (py_ok && r->python->generate(r->python, toks, nt, f->n_predict, &py, &e) != 0) {
            py_ok = false;
            snprintf(py_reason, sizeof py_reason, "%s", e.msg);
        }
        for (int i = 0; i < r->n_libs; i++) {
            if (!lib_ok[i] || lib_failed[i]) continue;
            if (r->libs[i]->generate(r->libs[i], toks, nt, f->n_predict, &lib[i], &e) != 0) {
                run_add_check(r, "greedy", f->name, r->libs[i]->name, NULL, "error", "%s", e.msg);
                lib_failed[i] = true;
                continue;
            }
            if (py_ok)
                run_greedy_add(&vs_py[i], f->prompts[p], &py, &lib[i], (float)f->tol.near_tie_eps);
        }
        int ri = r->ref_isa_index;
        for (int i = 0; ri >= 0 && i < r->n_libs; i++)
            if (i != ri && lib[i].tokens && lib[ri].tokens)
                run_greedy_add(&vs_ref[i], f->prompts[p], &lib[ri], &lib[i],
                               (float)f->tol.near_tie_eps);
        for (int i = 0; i < r->n_libs; i++) vb_gen_free(&lib[i]);
        vb_gen_free(&py);
        free(toks);
    }
    for (int i = 0; i < r->n_libs; i++) {
        if (!lib_ok[i] || lib_failed[i]) continue;
        if (r->python_wanted) {
            if (py_ok)
                run_greedy_finish(r, f, r->libs[i]->name, "python-ref", &vs_py[i]);
            else
                run_add_check(r, "greedy", f->name, r->libs[i]->name, "python-ref",
                              r->python && !r->python_skip_fixture ? "error" : "skipped",
                              "python reference: %s", py_reason);
        }
        if (r->ref_isa_index >= 0 && i != r->ref_isa_index)
            run_greedy_finish(r, f, r->libs[i]->name, r->libs[r->ref_isa_index]->name, &vs_ref[i]);
    }
    for (int i = 0; i < r->n_libs; i++) {
        cJSON_Delete(vs_py[i].results);
        cJSON_Delete(vs_ref[i].results);
    }
}

static cJSON *fixture_json(const vfixture *f) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", f->name);
    cJSON_AddStringToObject(o, "status", f->ready ? "ready" : "skipped");
    if (!f->ready) cJSON_AddStringToObject(o, "reason", f->skip_reason);
    if (f->ready) {
        cJSON_AddStringToObject(o, "path", f->path);
        cJSON_AddStringToObject(o, "sha256", f->sha256);
        struct stat st;
        if (stat(f->path, &st) == 0) cJSON_AddNumberToObject(o, "bytes", (double)st.st_size);
    }
    if (f->gen_args) {
        cJSON *a = cJSON_AddArrayToObject(o, "generate");
        for (int i = 0; i < f->n_gen_args; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(f->gen_args[i]));
    }
    if (f->derive_from[0]) {
        cJSON *d = cJSON_AddObjectToObject(o, "derive");
        cJSON_AddStringToObject(d, "from", f->derive_from);
        if (f->shuffle_tensor[0]) cJSON_AddStringToObject(d, "shuffle_tensor", f->shuffle_tensor);
        if (f->relabel_arch[0]) cJSON_AddStringToObject(d, "relabel_arch", f->relabel_arch);
    }
    if (f->reference[0]) cJSON_AddStringToObject(o, "reference", f->reference);
    cJSON_AddItemToObject(o, "tolerance", tol_json(&f->tol));
    return o;
}

void run_fixture(vrun *r, vfixture *f) {
    cJSON *fixtures = cJSON_GetObjectItem(r->root, "fixtures");
    cJSON *fj = fixture_json(f);
    cJSON_AddItemToArray(fixtures, fj);
    fprintf(stderr, "[%s]\n", f->name);
    if (!f->ready) {
        run_add_check(r, "fixture", f->name, "-", NULL, "skipped", "%s", f->skip_reason);
        return;
    }
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_model *meta = bitnet_model_load(f->path, &mp);
    if (!meta) {
        run_add_check(r, "fixture", f->name, "libbitnet", NULL, "error", "cannot load: %s",
                      bitnet_get_last_error());
        return;
    }
    cJSON_AddStringToObject(fj, "arch", bitnet_model_arch(meta));
    cJSON_AddNumberToObject(fj, "n_vocab", bitnet_model_n_vocab(meta));
    cJSON_AddNumberToObject(fj, "n_layer", bitnet_model_n_layer(meta));
    cJSON_AddNumberToObject(fj, "n_embd", bitnet_model_n_embd(meta));
    cJSON_AddNumberToObject(fj, "n_params", (double)bitnet_model_n_params(meta));
    cJSON_AddNumberToObject(fj, "tensor_bytes", (double)bitnet_model_size(meta));
    bool lib_ok[BV_MAX_IMPLS] = {0};
    verr e = {{0}};
    for (int i = 0; i < r->n_libs; i++) {
        lib_ok[i] = r->libs[i]->load(r->libs[i], f->path, &e) == 0;
        if (!lib_ok[i])
            run_add_check(r, "load", f->name, r->libs[i]->name, NULL, "error", "%s", e.msg);
    }
    bool py_ok = false;
    char py_err[1100];
    snprintf(py_err, sizeof py_err, "%s", r->python_reason);
    r->python_skip_fixture = false;
    if (r->python) {
        const char *rp = f->reference_path[0] ? f->reference_path : f->path;
        py_ok = r->python->load(r->python, rp, &e) == 0;
        if (!py_ok) snprintf(py_err, sizeof py_err, "%s", e.msg);
        /* a reference that does not read Hugging Face directories leaves them to
         * transformers: a limit of that baseline, reported as skipped */
        if (!py_ok && vu_is_hf_dir(rp)) {
            r->python_skip_fixture = true;
            snprintf(py_err, sizeof py_err,
                     "skipped, because it cannot load this Hugging Face directory (%.900s)", e.msg);
        }
    }
    if (f->logits_n > 1) logits_checks(r, f, lib_ok, py_ok, py_err, meta);
    if (f->n_prompts > 0 && f->n_predict > 0) greedy_checks(r, f, lib_ok, py_ok, py_err);
    run_bitnetcpp_checks(r, f, meta);
    run_transformers_checks(r, f, lib_ok, meta);
    for (int i = 0; i < r->n_libs; i++) r->libs[i]->unload(r->libs[i]);
    bitnet_model_free(meta);
}
