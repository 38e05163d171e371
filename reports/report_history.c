/* history.jsonl: one line per run (time, commit, result, the median speed of
 * every entry) so trends survive after the reports are overwritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

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
    char *line = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!line) return false;
    FILE *f = fopen(path, "a");
    bool ok = f && fprintf(f, "%s\n", line) > 0;
    if (f) ok = (fclose(f) == 0) && ok;
    free(line);
    return ok;
}
