/* history.jsonl: one line per run (time, commit, result, the median speed of
 * every entry) so trends survive after the reports are overwritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "report.h"
#include "vutil.h"

bool report_history_append(const cJSON *root, const char *path) {
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "schema", REPORT_SCHEMA);
    cJSON_AddStringToObject(h, "created", rj_str(root, "created"));
    const cJSON *build = cJSON_GetObjectItem(root, "build");
    cJSON_AddStringToObject(h, "git_commit", rj_str(build, "git_commit"));
    cJSON_AddStringToObject(h, "suite", rj_str(cJSON_GetObjectItem(root, "suite"), "name"));
    cJSON_AddStringToObject(h, "result", rj_str(cJSON_GetObjectItem(root, "summary"), "result"));
    cJSON_AddStringToObject(h, "cpu", rj_str(cJSON_GetObjectItem(root, "machine"), "cpu"));
    cJSON *sp = cJSON_AddArrayToObject(h, "speed");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "speed"), "entries")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "fixture", rj_str(e, "fixture"));
        cJSON_AddStringToObject(o, "impl", rj_str(e, "impl"));
        cJSON_AddStringToObject(o, "test", rj_str(e, "test"));
        cJSON_AddNumberToObject(o, "median_ts", rj_num(e, "median_ts"));
        cJSON_AddItemToArray(sp, o);
    }
    char *line = rj_sanitize(h) ? cJSON_PrintUnformatted(h) : NULL;
    cJSON_Delete(h);
    if (!line) return false;
    /* the old lines and the new one under a temporary name, then renamed:
     * a failed write never leaves a history with a half line */
    size_t old_len = 0;
    char *old = vu_file_exists(path) ? vu_read_file(path, &old_len) : NULL;
    bool ok = old || !vu_file_exists(path);
    bn_atomic_file af;
    if (ok && bn_atomic_open(&af, path) == BITNET_OK) {
        if (old_len) fwrite(old, 1, old_len, af.f);
        if (old_len && old[old_len - 1] != '\n') fputc('\n', af.f);
        fprintf(af.f, "%s\n", line);
        ok = bn_atomic_close(&af, true) == BITNET_OK;
    } else {
        ok = false;
    }
    free(old);
    free(line);
    return ok;
}
