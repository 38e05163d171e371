/* report.md: the tables a reviewer reads in a pull request. Failures first,
 * then logit agreement, greedy agreement and speed with ratios. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static const char *icon(const char *status) {
    if (!strcmp(status, "pass")) return "✅ pass";
    if (!strcmp(status, "fail")) return "❌ **FAIL**";
    if (!strcmp(status, "skipped")) return "⏭ skipped";
    return "⚠️ error";
}

/* Table cells must not contain '|' or newlines. */
static void cell(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
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
    FILE *f = fopen(path, "w");
    if (!f) return false;
    const cJSON *sum = cJSON_GetObjectItem(root, "summary");
    const cJSON *mach = cJSON_GetObjectItem(root, "machine");
    const cJSON *build = cJSON_GetObjectItem(root, "build");
    const char *result = rj_str(sum, "result");
    fprintf(f, "# bitnet-validate: %s\n\n",
            !strcmp(result, "pass")   ? "✅ PASS"
            : !strcmp(result, "fail") ? "❌ FAIL"
                                      : "⚠️ ERROR");
    fprintf(f, "%g passed, %g failed, %g skipped, %g errors (exit %g). Suite `%s`, %s.\n\n",
            rj_num(sum, "pass"), rj_num(sum, "fail"), rj_num(sum, "skipped"), rj_num(sum, "error"),
            rj_num(sum, "exit_code"), rj_str(cJSON_GetObjectItem(root, "suite"), "name"),
            rj_str(root, "created"));
    fprintf(f, "- Machine: %s, %g CPUs, governor %s; flags:", rj_str(mach, "cpu"),
            rj_num(mach, "online_cpus"), rj_str(mach, "governor"));
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(mach, "cpu_flags"))
        fprintf(f, " %s", it->valuestring);
    fprintf(f, "\n- Build: commit %s%s; %s; %s\n",
            rj_str(build, "git_commit")[0] ? rj_str(build, "git_commit") : "unknown",
            cJSON_IsTrue(cJSON_GetObjectItem(build, "git_dirty")) ? " (dirty)" : "",
            rj_str(build, "system_info"), rj_str(build, "compiler"));
    fprintf(f, "- Schema `%s`; full data in `report.json`.\n\n", rj_str(root, "schema"));

    fprintf(f, "## Implementations\n\n| implementation | status | details |\n|---|---|---|\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "implementations")) {
        fprintf(f, "| %s | %s | ", rj_str(it, "name"), rj_str(it, "status"));
        cell(f, rj_str(it, "status")[0] == 'a' ? rj_str(it, "version") : rj_str(it, "reason"));
        fprintf(f, " |\n");
    }

    fprintf(f, "\n## Fixtures\n\n| fixture | arch | sha256 | bytes | tolerance | notes "
               "|\n|---|---|---|---|---|---|\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "fixtures")) {
        fprintf(f, "| %s | %s | `%.12s` | ", rj_str(it, "name"), rj_str(it, "arch"),
                rj_str(it, "sha256"));
        RJ_NUM(f, rj_num(it, "bytes"), "%.0f");
        fprintf(f, " | %s | ", rj_str(cJSON_GetObjectItem(it, "tolerance"), "class"));
        if (!strcmp(rj_str(it, "status"), "skipped")) cell(f, rj_str(it, "reason"));
        if (rj_str(it, "reference")[0])
            fprintf(f, "baselines run `%s` (negative test)", rj_str(it, "reference"));
        fprintf(f, " |\n");
    }

    /* every check, the ones needing attention first */
    static const char *order[] = {"fail", "error", "skipped", "pass"};
    fprintf(f, "\n## Checks\n\n| status | check | detail |\n|---|---|---|\n");
    for (int k = 0; k < 4; k++) {
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
            if (strcmp(rj_str(it, "status"), order[k])) continue;
            fprintf(f, "| %s | `%s` | ", icon(order[k]), rj_str(it, "id"));
            cell(f, rj_str(it, "reason"));
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
        fprintf(f, "| %s | %s | %s | %g | ", rj_str(it, "fixture"), rj_str(it, "impl"),
                rj_str(it, "reference"), rj_num(m, "n_positions"));
        rj_logit_cells(f, m, " | ");
        fprintf(f, " | %s |\n", icon(rj_str(it, "status")));
    }

    fprintf(
        f, "\n## Greedy agreement\n\n| fixture | implementation | reference | identical | near-tie "
           "| diverged | first divergence | status |\n|---|---|---|---|---|---|---|---|\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
        const cJSON *m = cJSON_GetObjectItem(it, "metrics");
        if (strcmp(rj_str(it, "kind"), "greedy") || !m) continue;
        fprintf(f, "| %s | %s | %s | %g | %g | %g | ", rj_str(it, "fixture"), rj_str(it, "impl"),
                rj_str(it, "reference"), rj_num(m, "identical"), rj_num(m, "near_tie"),
                rj_num(m, "diverged"));
        const char *semi = strstr(rj_str(it, "reason"), "; ");
        cell(f, semi ? semi + 2 : "–");
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
            fprintf(f, "| %s | %s | %s | %.1f | %.1f%% | %.1f–%.1f | ", rj_str(it, "fixture"),
                    rj_str(it, "test"), rj_str(it, "impl"), rj_num(it, "median_ts"),
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
        if (rj_str(plots, "note")[0]) fprintf(f, "%s\n\n", rj_str(plots, "note"));
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(plots, "files"))
            fprintf(f, "- %s: [%s](%s), [%s](%s)\n", rj_str(it, "title"), rj_str(it, "png"),
                    rj_str(it, "png"), rj_str(it, "svg"), rj_str(it, "svg"));
    }
    return fclose(f) == 0;
}
