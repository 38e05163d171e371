/* junit.xml: one testcase per check, grouped by kind, so CI systems show the
 * failures without reading our formats. Skipped baselines are <skipped/>. */
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "report.h"
#include "vutil.h"

static void xml(FILE *f, const char *s) { rj_xml(f, s); }

bool report_write_junit(const cJSON *root, const char *path) {
    bn_atomic_file af; /* renamed into place when complete */
    if (bn_atomic_open(&af, path) != BITNET_OK) return false;
    FILE *f = af.f;
    const cJSON *checks = cJSON_GetObjectItem(root, "checks");
    const cJSON *sum = cJSON_GetObjectItem(root, "summary");
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"bitnet-validate\" tests=\"%d\" failures=\"%g\" errors=\"%g\" "
            "skipped=\"%g\" time=\"%.3f\">\n",
            cJSON_GetArraySize(checks), rj_num(sum, "fail"), rj_num(sum, "error"),
            rj_num(sum, "skipped"), rj_num(root, "duration_s"));
    /* kinds in first-seen order */
    const char *kinds[32];
    int nk = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, checks) {
        const char *k = rj_str(c, "kind");
        bool seen = false;
        for (int i = 0; i < nk; i++) seen |= !strcmp(kinds[i], k);
        if (!seen && nk < 32) kinds[nk++] = k;
    }
    for (int i = 0; i < nk; i++) {
        int n = 0, nf = 0, ne = 0, ns = 0;
        cJSON_ArrayForEach(c, checks) {
            if (strcmp(rj_str(c, "kind"), kinds[i])) continue;
            n++;
            const char *st = rj_str(c, "status");
            nf += !strcmp(st, "fail");
            ne += !strcmp(st, "error");
            ns += !strcmp(st, "skipped");
        }
        fputs("  <testsuite name=\"", f);
        xml(f, kinds[i]);
        fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\">\n", n, nf, ne,
                ns);
        cJSON_ArrayForEach(c, checks) {
            if (strcmp(rj_str(c, "kind"), kinds[i])) continue;
            fputs("    <testcase classname=\"bitnet-validate.", f);
            xml(f, kinds[i]);
            fputs("\" name=\"", f);
            xml(f, rj_str(c, "id"));
            fprintf(f, "\">");
            const char *st = rj_str(c, "status");
            const char *tag = !strcmp(st, "fail")      ? "failure"
                              : !strcmp(st, "error")   ? "error"
                              : !strcmp(st, "skipped") ? "skipped"
                                                       : NULL;
            if (tag) {
                fprintf(f, "<%s message=\"", tag);
                xml(f, rj_str(c, "reason"));
                fprintf(f, "\"/>");
            } else {
                fprintf(f, "<system-out>");
                xml(f, rj_str(c, "reason"));
                fprintf(f, "</system-out>");
            }
            fprintf(f, "</testcase>\n");
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    return bn_atomic_close(&af, true) == BITNET_OK;
}
