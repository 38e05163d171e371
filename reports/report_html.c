/* report.html: the Markdown report's content as one self-contained page
 * (inline CSS, SVG plots embedded inline: no external resource at all). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "report.h"
#include "vutil.h"

static void h(FILE *f, const char *s) { rj_html(f, s); }

static void status_cell(FILE *f, const char *st) {
    fputs("<td class=\"", f);
    h(f, st);
    fputs("\">", f);
    h(f, st);
    fputs("</td>", f);
}

/* "<td>a</td><td>b</td>..." for the named members of o. */
static void cells(FILE *f, const cJSON *o, const char *const *keys, int n) {
    for (int i = 0; i < n; i++) {
        fputs("<td>", f);
        h(f, rj_str(o, keys[i]));
        fputs("</td>", f);
    }
}

/* Inline an SVG file: drop the XML prolog and DOCTYPE, which are not allowed
 * inside HTML. */
static void inline_svg(FILE *f, const char *dir, const char *name) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *svg = vu_read_file(p, NULL);
    if (!svg) return;
    char *start = strstr(svg, "<svg");
    if (start) fputs(start, f);
    free(svg);
}

bool report_write_html(const cJSON *root, const char *dir, const char *path) {
    bn_atomic_file af; /* renamed into place when complete */
    if (bn_atomic_open(&af, path) != BITNET_OK) return false;
    FILE *f = af.f;
    const cJSON *sum = cJSON_GetObjectItem(root, "summary");
    const cJSON *mach = cJSON_GetObjectItem(root, "machine");
    const cJSON *build = cJSON_GetObjectItem(root, "build");
    const char *result = rj_str(sum, "result");
    /* the result is one of pass, fail, error: it doubles as a CSS class */
    if (strcmp(result, "pass") && strcmp(result, "fail")) result = "error";
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
            "charset=\"utf-8\"><title>bitnet-validate: %s</title>\n"
            "<style>body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:"
            "collapse;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:3px 8px;font-size:90%%}th{background:#eee}"
            ".pass{background:#dfd}.fail{background:#fbb;font-weight:bold}.skipped{background:#eee}"
            ".error{background:#fd9}"
            "h1.pass,h1.fail,h1.error{padding:.3em}code{font-size:90%%}svg{max-width:100%%;height:"
            "auto}</style></head><body>\n",
            result);
    fprintf(f, "<h1 class=\"%s\">bitnet-validate: %s</h1>\n", result, result);
    fprintf(f, "<p>%g passed, %g failed, %g skipped, %g errors (exit %g). Suite <code>",
            rj_num(sum, "pass"), rj_num(sum, "fail"), rj_num(sum, "skipped"), rj_num(sum, "error"),
            rj_num(sum, "exit_code"));
    h(f, rj_str(cJSON_GetObjectItem(root, "suite"), "name"));
    fputs("</code>, ", f);
    h(f, rj_str(root, "created"));
    fputs(".</p>\n<ul><li>Machine: ", f);
    h(f, rj_str(mach, "cpu"));
    fprintf(f, ", %g CPUs, governor ", rj_num(mach, "online_cpus"));
    h(f, rj_str(mach, "governor"));
    fputs("</li><li>Build: commit ", f);
    h(f, rj_str(build, "git_commit"));
    fputs("; ", f);
    h(f, rj_str(build, "system_info"));
    fputs("</li></ul>\n", f);

    const cJSON *it;
    static const char *const fir[] = {"fixture", "impl", "reference"};
    fputs("<h2>Implementations</h2><table><tr><th>implementation</th><th>status</th><th>details</"
          "th></tr>\n",
          f);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "implementations")) {
        fputs("<tr><td>", f);
        h(f, rj_str(it, "name"));
        fputs("</td><td>", f);
        h(f, rj_str(it, "status"));
        fputs("</td><td>", f);
        h(f, rj_str(it, "status")[0] == 'a' ? rj_str(it, "version") : rj_str(it, "reason"));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<h2>Checks</h2><table><tr><th>status</th><th>check</th><th>detail</th></tr>\n",
          f);
    static const char *order[] = {"fail", "error", "skipped", "pass"};
    for (int k = 0; k < 4; k++) {
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
            if (strcmp(rj_str(it, "status"), order[k])) continue;
            fputs("<tr>", f);
            status_cell(f, order[k]);
            fputs("<td><code>", f);
            h(f, rj_str(it, "id"));
            fputs("</code></td><td>", f);
            h(f, rj_str(it, "reason"));
            fputs("</td></tr>\n", f);
        }
    }
    fputs("</table>\n<h2>Logit "
          "agreement</h2><table><tr><th>fixture</th><th>implementation</th><th>reference</th>"
          "<th>KLD mean</th><th>KLD p99</th><th>KLD max</th><th>top-1</th><th>NMSE</th><th>max abs "
          "err</th><th>PPL Δ</th><th>status</th></tr>\n",
          f);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
        const cJSON *m = cJSON_GetObjectItem(it, "metrics");
        if (strcmp(rj_str(it, "kind"), "logits") || !m) continue;
        fputs("<tr>", f);
        cells(f, it, fir, 3);
        fputs("<td>", f);
        rj_logit_cells(f, m, "</td><td>");
        fputs("</td>", f);
        status_cell(f, rj_str(it, "status"));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h2>Greedy "
          "agreement</h2><table><tr><th>fixture</th><th>implementation</th><th>reference</th>"
          "<th>identical</th><th>near-tie</th><th>diverged</th><th>status</th></tr>\n",
          f);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "checks")) {
        const cJSON *m = cJSON_GetObjectItem(it, "metrics");
        if (strcmp(rj_str(it, "kind"), "greedy") || !m) continue;
        fputs("<tr>", f);
        cells(f, it, fir, 3);
        fprintf(f, "<td>%g</td><td>%g</td><td>%g</td>", rj_num(m, "identical"),
                rj_num(m, "near_tie"), rj_num(m, "diverged"));
        status_cell(f, rj_str(it, "status"));
        fputs("</tr>\n", f);
    }
    const cJSON *speed = cJSON_GetObjectItem(root, "speed");
    fprintf(f,
            "</table>\n<h2>Speed</h2><p>Median tokens/s of %g repetitions after a warm-up, "
            "interleaved; %g thread(s); "
            "read bandwidth %.1f GB/s measured in this run.</p>\n"
            "<table><tr><th>fixture</th><th>test</th><th>implementation</th><th>median "
            "t/s</th><th>spread</th><th>min–max</th><th>of BW</th></tr>\n",
            rj_num(speed, "reps"), rj_num(speed, "threads"), rj_num(speed, "read_bandwidth_gbs"));
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(speed, "entries")) {
        if (!strcmp(rj_str(it, "impl"), "libbitnet")) continue;
        static const char *const fti[] = {"fixture", "test", "impl"};
        fputs("<tr>", f);
        cells(f, it, fti, 3);
        fprintf(f, "<td>%.1f</td><td>%.1f%%</td><td>%.1f–%.1f</td><td>", rj_num(it, "median_ts"),
                100 * rj_num(it, "rel_spread"), rj_num(it, "min_ts"), rj_num(it, "max_ts"));
        RJ_NUM(f, 100 * rj_num(it, "bandwidth_fraction"), "%.0f%%");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<h2>Plots</h2>\n", f);
    const cJSON *plots = cJSON_GetObjectItem(root, "plots");
    if (rj_str(plots, "note")[0]) {
        fputs("<p>", f);
        h(f, rj_str(plots, "note"));
        fputs("</p>\n", f);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(plots, "files")) {
        fputs("<h3>", f);
        h(f, rj_str(it, "title"));
        fputs("</h3>\n", f);
        inline_svg(f, dir, rj_str(it, "svg"));
        fputs("\n", f);
    }
    fputs("</body></html>\n", f);
    return bn_atomic_close(&af, true) == BITNET_OK;
}
