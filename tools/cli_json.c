#include "cli_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "utf8.h"

char *cli_utf8_sanitize(const char *s, size_t n, bool *was_valid) {
    /* worst case: every byte becomes the 3-byte U+FFFD */
    char *out = malloc(n * 3 + 1);
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    bool valid = true;
    for (size_t i = 0; i < n;) {
        /* NUL is valid UTF-8, but cJSON takes C strings: it would cut there */
        size_t len = u[i] ? bn_utf8_valid_seq(u + i, n - i) : 0;
        if (len == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += 1;
            valid = false;
        } else {
            memcpy(out + o, u + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    if (was_valid) *was_valid = valid;
    return out;
}

cJSON *cli_json_string(const char *s, size_t n) {
    char *clean = cli_utf8_sanitize(s, n, NULL);
    if (!clean) return NULL;
    cJSON *j = cJSON_CreateString(clean);
    free(clean);
    return j;
}

cJSON *cli_json_number(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

bool cli_json_add_string(cJSON *obj, const char *key, const char *s) {
    cJSON *j = cli_json_string(s, strlen(s));
    return j && cJSON_AddItemToObject(obj, key, j);
}

bool cli_json_add_number(cJSON *obj, const char *key, double v) {
    cJSON *j = cli_json_number(v);
    return j && cJSON_AddItemToObject(obj, key, j);
}

int cli_json_emit(const char *cmd, cJSON *root, bool formatted) {
    char *text = root ? (formatted ? cJSON_Print(root) : cJSON_PrintUnformatted(root)) : NULL;
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "bitnet %s: out of memory building the JSON output\n", cmd);
        return CLI_RUNTIME;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    cJSON_free(text);
    return 0;
}
