#include "cli_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

char *cli_utf8_sanitize(const char *s, size_t n, bool *was_valid) {
    /* worst case: every byte becomes the 3-byte U+FFFD */
    char *out = malloc(n * 3 + 1);
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    bool valid = true;
    for (size_t i = 0; i < n;) {
        /* NUL is valid UTF-8, but cJSON takes C strings: it would cut there */
        size_t len = u[i] ? utf8_seq_len(u + i, n - i) : 0;
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
