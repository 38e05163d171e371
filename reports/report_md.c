/* report.md: the tables a reviewer reads in a pull request. Failures first,
 * then logit agreement, greedy agreement and speed with ratios. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "report.h"
#include "vutil.h"

static const char *icon(const char *status) {
    if (!strcmp(status, "pass")) return "✅ pass";
    if (!strcmp(status, "fail")) return "❌ **FAIL**";
    if (!strcmp(status, "skipped")) return "⏭ skipped";
    return "⚠️ error";
}

/* The first three cells of a logits or greedy row. */
static void fixture_impl_ref(FILE *f, const cJSON *check) {
    fputs("| ", f);
    rj_md(f, rj_str(check, "fixture"));
    fputs(" | ", f);
    rj_md(f, rj_str(check, "impl"));
    fputs(" | ", f);
    rj_md(f, rj_str(check, "reference"));
    fputs(" | ", f);
}

/* Median t/s of the primary ("libbitnet") entry for the same fixture/test. */
static double primary_median(const cJSON *entries, const cJSON *e) {
    const cJSON *o;
    cJSON_ArrayForEach(o, entries) {
        if (!strcmp(rj_str(o, "impl"), "libbitnet") &&
            !strcmp(rj_str(o, "fixture"), rj_str(e, "fixture")) &&
            !strcmp(rj_str(o, "test"), rj_str(e, "test")))
            return rj_num(o, "median_ts");
    }
    return NAN;
}

bool report_write_md(const cJSON *root, const char *path) {
    bn_atomic_file af; /* renamed into place when complete */
    if (bn_atomic_open(&af, path) != BITNET_OK) return false;
    FILE *f = af.f;
    const cJSON *sum = cJSON_GetObjectItem(root, "summary");
    const cJSON *mach = cJSON_GetObjectItem(root, "machine");
    const cJSON *build = cJSON_GetObjectItem(root, "build");
    const char *result = rj_str(sum, "result");
    fprintf(f, "# bitnet-validate: %s\n\n",
            !strcmp(result, "pass")   ? "✅ PASS"
            : !strcmp(result, "fail") ? "❌ FAIL"
                                      : "⚠️ ERROR");
    fprintf(f, "%g passed, %g failed, %g skipped, %g errors (exit %g). Suite ", rj_num(sum, "pass"),
            rj_num(sum, "fail"), rj_num(sum, "skipped"), rj_num(sum, "error"),
            rj_num(sum, "exit_code"));
    rj_md_code(f, rj_str(cJSON_GetObjectItem(root, "suite"), "name"));
    fputs(", ", f);
    rj_md(f, rj_str(root, "created"));
    fputs(".\n\n- Machine: ", f);
    rj_md(f, rj_str(mach, "cpu"));
    fprintf(f, ", %g CPUs, governor ", rj_num(mach, "online_cpus"));
    rj_md(f, rj_str(mach, "governor"));
    fputs("; flags:", f);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(mach, "cpu_flags")) {
        fputc(' ', f);
        rj_md(f, cJSON_IsString(it) ? it->valuestring : "");
    }
    fputs("\n- Build: commit ", f);
    rj_md(f, rj_str(build, "git_commit")[0] ? rj_str(build, "git_commit") : "unknown");
    fputs(cJSON_IsTrue(cJSON_GetObjectItem(build, "git_dirty")) ? " (dirty); " : "; ", f);
    rj_md(f, rj_str(build, "system_info"));
    fputs("; ", f);
    rj_md(f, rj_str(build, "compiler"));
    fputs("\n- Schema ", f);
    rj_md_code(f, rj_str(root, "schema"));
    fputs("; full data in `report.json`.\n\n", f);

    fprintf(f, "## Implementations\n\n| implementation | status | details |\n|---|---|---|\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "implementations")) {
        fputs("| ", f);
        rj_md(f, rj_str(it, "name"));
        fputs(" | ", f);
        rj_md(f, rj_str(it, "status"));
        fputs(" | ", f);
        rj_md(f, rj_str(it, "status")[0] == 'a' ? rj_str(it, "version") : rj_str(it, "reason"));
        fprintf(f, " |\n");
    }

    fprintf(f, "\n## Fixtures\n\n| fixture | arch | sha256 | bytes | tolerance | notes "
               "|\n|---|---|---|---|---|---|\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "fixtures")) {
        char sha[13];
        snprintf(sha, sizeof sha, "%s", rj_str(it, "sha256"));
        fputs("| ", f);
        rj_md(f, rj_str(it, "name"));
        fputs(" | ", f);
        rj_md(f, rj_str(it, "arch"));
        fputs(" | ", f);
        rj_md_code(f, sha);
        fputs(" | ", f);
        RJ_NUM(f, rj_num(it, "bytes"), "%.0f");
        fputs(" | ", f);
        rj_md(f, rj_str(cJSON_GetObjectItem(it, "tolerance"), "class"));
        fputs(" | ", f);
        if (!strcmp(rj_str(it, "status"), "skipped")) rj_md(f, rj_str(it, "reason"));
        if (rj_str(it, "reference")[0]) {
            fputs("baselines run ", f);
            rj_md_code(f, rj_str(it, "reference"));
            fputs(" (negative test)", f);
        }
        fprintf(f, " |\n");
    }

    /* every check, the ones needing attention first */
    static const char *order[] = {"fail", "error", "skipped", "pass"};
    fprintf(f, "\n## Checks\n\n| status | check | detail |\n|---|---|---|\n");
    for (int k = 0; k < 4; k++) {
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
            if (strcmp(rj_str(it, "status"), order[k])) continue;
            fprintf(f, "| %s | ", icon(order[k]));
            rj_md_code(f, rj_str(it, "id"));
            fputs(" | ", f);
            rj_md(f, rj_str(it, "reason"));
            fprintf(f, " |\n");
        }
    }

    fprintf(f, "\n## Logit agreement (teacher-forced)\n\nKL(reference ‖ implementation) in nats "
               "per position.\n\n"
               "| fixture | implementation | reference | positions | KLD mean | KLD p99 | KLD max "
               "| top-1 | NMSE | max abs err | PPL Δ | status |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
        const cJSON *m = cJSON_GetObjectItem(it, "metrics");
        if (strcmp(rj_str(it, "kind"), "logits") || !m) continue;
        fixture_impl_ref(f, it);
        fprintf(f, "%g | ", rj_num(m, "n_positions"));
        rj_logit_cells(f, m, " | ");
        fprintf(f, " | %s |\n", icon(rj_str(it, "status")));
    }

    fprintf(
        f, "\n## Greedy agreement\n\n| fixture | implementation | reference | identical | near-tie "
           "| diverged | first divergence | status |\n|---|---|---|---|---|---|---|---|\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
        const cJSON *m = cJSON_GetObjectItem(it, "metrics");
        if (strcmp(rj_str(it, "kind"), "greedy") || !m) continue;
        fixture_impl_ref(f, it);
        fprintf(f, "%g | %g | %g | ", rj_num(m, "identical"), rj_num(m, "near_tie"),
                rj_num(m, "diverged"));
        const char *semi = strstr(rj_str(it, "reason"), "; ");
        rj_md(f, semi ? semi + 2 : "–");
        fprintf(f, " | %s |\n", icon(rj_str(it, "status")));
    }

    const cJSON *speed = cJSON_GetObjectItem(root, "speed");
    const cJSON *entries = cJSON_GetObjectItem(speed, "entries");
    if (cJSON_GetArraySize(entries) > 0) {
        fprintf(f,
                "\n## Speed\n\nTokens per second: median of %g repetitions after a warm-up, "
                "implementations interleaved; "
                "%g thread(s). Spread = interquartile range / median. Ratio = median / primary "
                "libbitnet. "
                "Read bandwidth measured in this run: %.1f GB/s (1 thread); \"of BW\" = model "
                "bytes × t/s ÷ bandwidth "
                "(above 100%% means the model sits in cache).\n\n",
                rj_num(speed, "reps"), rj_num(speed, "threads"),
                rj_num(speed, "read_bandwidth_gbs"));
        fprintf(f, "| fixture | test | implementation | median t/s | spread | min–max | ratio | of "
                   "BW |\n|---|---|---|---|---|---|---|---|\n");
        cJSON_ArrayForEach(it, entries) {
            if (!strcmp(rj_str(it, "impl"), "libbitnet")) continue; /* alias of the primary */
            fputs("| ", f);
            rj_md(f, rj_str(it, "fixture"));
            fputs(" | ", f);
            rj_md(f, rj_str(it, "test"));
            fputs(" | ", f);
            rj_md(f, rj_str(it, "impl"));
            fprintf(f, " | %.1f | %.1f%% | %.1f–%.1f | ", rj_num(it, "median_ts"),
                    100 * rj_num(it, "rel_spread"), rj_num(it, "min_ts"), rj_num(it, "max_ts"));
            RJ_NUM(f, rj_num(it, "median_ts") / primary_median(entries, it), "%.2f×");
            fputs(" | ", f);
            RJ_NUM(f, 100 * rj_num(it, "bandwidth_fraction"), "%.0f%%");
            fputs(" |\n", f);
        }
    }
    const cJSON *plots = cJSON_GetObjectItem(root, "plots");
    if (plots) {
        fprintf(f, "\n## Plots\n\n");
        if (rj_str(plots, "note")[0]) {
            rj_md(f, rj_str(plots, "note"));
            fputs("\n\n", f);
        }
        /* file names are the harness's own (throughput.png, ...) */
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(plots, "files")) {
            fputs("- ", f);
            rj_md(f, rj_str(it, "title"));
            fprintf(f, ": [%s](%s), [%s](%s)\n", rj_str(it, "png"), rj_str(it, "png"),
                    rj_str(it, "svg"), rj_str(it, "svg"));
        }
    }
    return bn_atomic_close(&af, true) == BITNET_OK;
}
