/* Helpers for the tests that run bitnet-validate and read its report.json. */
#ifndef BN_VALIDATE_TESTUTIL_H
#define BN_VALIDATE_TESTUTIL_H

#include <cjson/cJSON.h>

#include "testutil.h"

static inline void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECKF(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static inline cJSON *read_report(const char *out_dir) {
    char p[1500];
    snprintf(p, sizeof p, "%s/report.json", out_dir);
    char *text = test_read_file(p, NULL);
    cJSON *r = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECKF(r != NULL, "no readable %s", p);
    return r;
}

static inline const cJSON *find_check(const cJSON *report, const char *id) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(report, "checks")) {
        const char *i = cJSON_GetStringValue(cJSON_GetObjectItem(c, "id"));
        if (i && !strcmp(i, id)) return c;
    }
    return NULL;
}

static inline const char *status_of(const cJSON *c) {
    return c ? cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")) : "(absent)";
}

#endif
