/* Speed: every implementation on the same file, thread count and lengths,
 * interleaved repetition by repetition (the starting implementation rotates)
 * so that a machine that gets busier during the run slows all of them alike;
 * then, with --against report:FILE, the slowdown gate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "bitnetcpp_parse.h"
#include "gate.h"
#include "run.h"
#include "subproc.h"

#define MAX_SPEED_IMPLS (BV_MAX_IMPLS + 1)

static cJSON *samples_json(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static void add_entry(vrun *r, const vfixture *f, const char *impl, const char *isa,
                      const char *test, int n_tokens, const double *samples, int n,
                      double model_bytes) {
    bench_summary s;
    bench_summarize(samples, n, &s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "fixture", f->name);
    cJSON_AddStringToObject(o, "model_sha256", f->sha256);
    cJSON_AddStringToObject(o, "impl", impl);
    if (isa) cJSON_AddStringToObject(o, "isa", isa);
    cJSON_AddStringToObject(o, "test", test);
    cJSON_AddNumberToObject(o, "n_tokens", n_tokens);
    cJSON_AddNumberToObject(o, "threads", r->threads);
    cJSON_AddItemToObject(o, "samples_ts", samples_json(samples, n));
    cJSON_AddNumberToObject(o, "median_ts", s.median);
    cJSON_AddNumberToObject(o, "min_ts", s.min);
    cJSON_AddNumberToObject(o, "max_ts", s.max);
    cJSON_AddNumberToObject(o, "stddev_ts", s.stddev);
    cJSON_AddNumberToObject(o, "iqr_ts", s.iqr);
    cJSON_AddNumberToObject(o, "rel_spread", s.rel_spread);
    if (test[0] == 't' && r->bandwidth_gbs > 0 && model_bytes > 0) {
        /* every weight is read once per generated token */
        cJSON_AddNumberToObject(o, "bytes_per_token", model_bytes);
        cJSON_AddNumberToObject(o, "bandwidth_fraction",
                                model_bytes * s.median / (r->bandwidth_gbs * 1e9));
    }
    cJSON_AddItemToArray(r->speed_entries, o);
}

/* The same measurement through `bitnet bench -o json`, read with the parser
 * that reads llama-bench's JSON: keeps the CLI's output compatible with
 * llama-bench tools and cross-checks the in-process numbers (reported, not
 * gated: a separate process sees a different cache and scheduler state). */
static void cli_bench_check(vrun *r, const vfixture *f, const char *isa, double pp_in,
                            double tg_in) {
    if (access(r->bitnet_bin, X_OK) != 0) return;
    char p[16], n[16], t[16], reps[16];
    snprintf(p, sizeof p, "%d", f->pp > 0 ? f->pp : 0);
    snprintf(n, sizeof n, "%d", f->tg > 0 ? f->tg : 0);
    snprintf(t, sizeof t, "%d", r->threads);
    snprintf(reps, sizeof reps, "%d", r->reps < 3 ? 3 : r->reps);
    char *argv[] = {r->bitnet_bin,
                    "bench",
                    "-m",
                    (char *)f->path,
                    "-p",
                    p,
                    "-n",
                    n,
                    "-t",
                    t,
                    "-r",
                    reps,
                    "-o",
                    "json",
                    "--no-bandwidth",
                    "--isa",
                    (char *)isa,
                    NULL};
    vstr out = {0}, err = {0};
    int rc = sp_run(argv, NULL, 300, NULL, &out, &err);
    double pp_cli = 0, tg_cli = 0;
    if (rc != 0 || bcpp_parse_bench_json(out.s ? out.s : "", &pp_cli, &tg_cli) != 0)
        run_add_check(r, "speed-cli", f->name, "bitnet bench", NULL, "error",
                      "`bitnet bench -o json` failed or its JSON does not read as llama-bench's "
                      "(exit %d)",
                      rc);
    else
        run_add_check(r, "speed-cli", f->name, "bitnet bench", NULL, "pass",
                      "bitnet bench -o json (read with the llama-bench parser): pp%d %.1f t/s, "
                      "tg%d %.1f t/s; in-process medians %.1f / %.1f",
                      f->pp, pp_cli, f->tg, tg_cli, pp_in, tg_in);
    vs_free(&out);
    vs_free(&err);
}

void run_speed(vrun *r, vsuite *s) {
    cJSON *speed = cJSON_GetObjectItem(r->root, "speed");
    size_t bw_bytes = (size_t)(r->quick ? 128 : 256) << 20;
    r->bandwidth_gbs = bench_read_bandwidth(bw_bytes, 5);
    cJSON_AddNumberToObject(speed, "read_bandwidth_gbs", r->bandwidth_gbs);
    cJSON_AddNumberToObject(speed, "bandwidth_buffer_bytes", (double)bw_bytes);
    cJSON_AddNumberToObject(speed, "threads", r->threads);
    cJSON_AddNumberToObject(speed, "reps", r->reps);
    cJSON_AddNumberToObject(speed, "warmup", 1);
    fprintf(stderr, "[speed] read bandwidth %.1f GB/s (1 thread, %zu MiB buffer)\n",
            r->bandwidth_gbs, bw_bytes >> 20);
    for (int fi = 0; fi < s->n_fixtures; fi++) {
        vfixture *f = &s->fixtures[fi];
        if (!f->ready || (f->pp <= 0 && f->tg <= 0) || f->reference[0]) continue;
        vbackend *impls[MAX_SPEED_IMPLS];
        int n = 0;
        for (int i = 0; i < r->n_libs; i++) impls[n++] = r->libs[i];
        if (r->bitnetcpp) impls[n++] = r->bitnetcpp;
        bool ok[MAX_SPEED_IMPLS] = {0};
        verr e = {{0}};
        for (int i = 0; i < n; i++) {
            if (!impls[i]->bench) continue;
            if (impls[i] == r->bitnetcpp && f->bitnetcpp_skip[0]) {
                /* the correctness step found that this build cannot load the
                 * file: the same reason, not a failed measurement */
                run_add_check(r, "speed", f->name, impls[i]->name, NULL, "skipped", "%s",
                              f->bitnetcpp_skip);
                continue;
            }
            ok[i] = impls[i]->load(impls[i], f->path, &e) == 0;
            if (!ok[i])
                run_add_check(r, "speed", f->name, impls[i]->name, NULL, "error", "%s", e.msg);
        }
        double *pp = calloc((size_t)n * (size_t)r->reps, sizeof *pp);
        double *tg = calloc((size_t)n * (size_t)r->reps, sizeof *tg);
        vb_bench_req req = {.n_prompt = f->pp, .n_gen = f->tg, .threads = r->threads};
        fprintf(stderr, "[speed] %s: pp%d tg%d, %d threads, %d reps + 1 warm-up\n", f->name, f->pp,
                f->tg, r->threads, r->reps);
        for (int rep = -1; rep < r->reps && pp && tg; rep++) {
            for (int k = 0; k < n; k++) {
                int i = (k + (rep < 0 ? 0 : rep)) % n; /* rotate who goes first */
                if (!ok[i]) continue;
                vb_speed sp;
                if (impls[i]->bench(impls[i], &req, &sp, &e) != 0) {
                    bool baseline_limit = impls[i] == r->bitnetcpp && bcpp_cannot_load(e.msg);
                    run_add_check(r, "speed", f->name, impls[i]->name, NULL,
                                  baseline_limit ? "skipped" : "error", "%s%s",
                                  baseline_limit ? "skipped: this bitnet.cpp build cannot load "
                                                   "the file: "
                                                 : "",
                                  e.msg);
                    ok[i] = false;
                    continue;
                }
                if (rep < 0) continue; /* warm-up: caches, page faults, frequency */
                pp[i * r->reps + rep] = sp.pp_tps;
                tg[i * r->reps + rep] = sp.tg_tps;
            }
            if (isatty(2)) fprintf(stderr, "\r[speed]   rep %d/%d", rep + 1, r->reps);
        }
        if (isatty(2)) fprintf(stderr, "\n");
        struct stat st;
        double bytes = stat(f->path, &st) == 0 ? (double)st.st_size : 0;
        char test[32];
        for (int i = 0; i < n && pp && tg; i++) {
            if (!ok[i]) continue;
            const char *isa = strcmp(impls[i]->kind, "libbitnet") == 0 ? impls[i]->name + 10 : NULL;
            bench_summary sp_pp, sp_tg;
            bench_summarize(pp + i * r->reps, r->reps, &sp_pp);
            bench_summarize(tg + i * r->reps, r->reps, &sp_tg);
            run_add_check(r, "speed", f->name, impls[i]->name, NULL, "pass",
                          "measured: pp%d %.1f t/s (spread %.0f%%), tg%d %.1f t/s (spread %.0f%%)",
                          f->pp, sp_pp.median, 100 * sp_pp.rel_spread, f->tg, sp_tg.median,
                          100 * sp_tg.rel_spread);
            for (int alias = 0; alias < (i == 0 ? 2 : 1); alias++) {
                /* the primary ISA is also recorded as plain "libbitnet", so a
                 * report from one ISA can gate a run forced to another */
                const char *name = alias ? "libbitnet" : impls[i]->name;
                if (f->pp > 0) {
                    snprintf(test, sizeof test, "pp%d", f->pp);
                    add_entry(r, f, name, isa, test, f->pp, pp + i * r->reps, r->reps, bytes);
                }
                if (f->tg > 0) {
                    snprintf(test, sizeof test, "tg%d", f->tg);
                    add_entry(r, f, name, isa, test, f->tg, tg + i * r->reps, r->reps, bytes);
                }
            }
        }
        if (ok[0] && pp && tg) {
            bench_summary in_pp, in_tg;
            bench_summarize(pp, r->reps, &in_pp);
            bench_summarize(tg, r->reps, &in_tg);
            cli_bench_check(r, f, impls[0]->name + 10, in_pp.median, in_tg.median);
        }
        free(pp);
        free(tg);
        for (int i = 0; i < n; i++) impls[i]->unload(impls[i]);
    }
}

static const char *sget(const cJSON *o, const char *k) {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    return v ? v : "";
}

static int samples(const cJSON *o, double *out, int max) {
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "samples_ts")) {
        if (n < max && cJSON_IsNumber(it)) out[n++] = it->valuedouble;
    }
    return n;
}

void run_against_report(vrun *r) {
    const cJSON *old_entries =
        cJSON_GetObjectItem(cJSON_GetObjectItem(r->against, "speed"), "entries");
    int matched = 0;
    /* busy: the 1-minute load average exceeded the CPU count in either run */
    double cpus = (double)sysconf(_SC_NPROCESSORS_ONLN), load[3] = {0, 0, 0};
    getloadavg(load, 3);
    const cJSON *om = cJSON_GetObjectItem(r->against, "machine");
    double old_load =
        fmax(cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItem(om, "loadavg_start"), 0)),
             cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItem(om, "loadavg_end"), 0)));
    double new_load = fmax(
        load[0],
        cJSON_GetNumberValue(cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(r->root, "machine"), "loadavg_start"), 0)));
    bool busy = old_load > cpus || new_load > cpus;
    const cJSON *ne;
    cJSON_ArrayForEach(ne, r->speed_entries) {
        const cJSON *oe, *match = NULL;
        cJSON_ArrayForEach(oe, old_entries) {
            if (strcmp(sget(oe, "model_sha256"), sget(ne, "model_sha256")) == 0 &&
                strcmp(sget(oe, "impl"), sget(ne, "impl")) == 0 &&
                strcmp(sget(oe, "test"), sget(ne, "test")) == 0 &&
                cJSON_GetNumberValue(cJSON_GetObjectItem(oe, "threads")) ==
                    cJSON_GetNumberValue(cJSON_GetObjectItem(ne, "threads")))
                match = oe;
        }
        if (!match) continue;
        matched++;
        double a[256], b[256];
        int na = samples(match, a, 256), nb = samples(ne, b, 256);
        gate_speed_verdict v;
        gate_speed(a, na, b, nb, r->threshold, r->alpha, busy, &v);
        char impl[160];
        snprintf(impl, sizeof impl, "%s %s", sget(ne, "impl"), sget(ne, "test"));
        cJSON *c = run_add_check(r, "speed-regression", sget(ne, "fixture"), impl, "report",
                                 v.regression ? "fail" : "pass", "%s", v.reason);
        cJSON *m = cJSON_AddObjectToObject(c, "metrics");
        cJSON_AddNumberToObject(m, "old_median_ts", v.old_median);
        cJSON_AddNumberToObject(m, "new_median_ts", v.new_median);
        cJSON_AddNumberToObject(m, "slowdown", v.slowdown);
        cJSON_AddNumberToObject(m, "p_value", v.p);
        cJSON_AddNumberToObject(m, "noise", v.noise);
        cJSON_AddNumberToObject(m, "threshold", r->threshold);
        cJSON_AddNumberToObject(m, "alpha", r->alpha);
        cJSON_AddBoolToObject(m, "machine_busy", busy);
        cJSON_AddNumberToObject(m, "load_old", old_load);
        cJSON_AddNumberToObject(m, "load_new", new_load);
        if (strcmp(sget(ne, "isa"), sget(match, "isa")) != 0) {
            cJSON_AddStringToObject(m, "old_isa", sget(match, "isa"));
            cJSON_AddStringToObject(m, "new_isa", sget(ne, "isa"));
        }
    }
    if (matched == 0)
        run_add_check(r, "speed-regression", "-", "-", "report", "skipped",
                      "no speed entry of %s matches this run (model hash, impl, test, threads)",
                      r->against_path);
}
