#include "json_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "utf8.h"

enum { DEFAULT_MAX_DEPTH = 64 };

/* Line and column (1-based) of byte offset `at`, for messages. */
static void where(const char *text, size_t at, char *buf, size_t size) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(buf, size, "line %zu, column %zu (byte %zu)", line, col, at);
}

/* One pass over the raw text: nesting of [ and { outside strings beyond
 * max_depth, or a \u0000 escape in a string (cJSON would end the string
 * there, so "a\u0000b" would read as "a"). */
typedef enum scan_result { SCAN_OK, SCAN_TOO_DEEP, SCAN_NUL_ESCAPE } scan_result;

static scan_result scan(const char *text, size_t len, int max_depth, size_t *at) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                if (i + 5 < len && text[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4)) {
                    *at = i;
                    return SCAN_NUL_ESCAPE;
                }
                i++;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                *at = i;
                return SCAN_TOO_DEEP;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return SCAN_OK;
}

/* The first repeated key of any object, or NULL; *path gets where that
 * object is ("model.vocab", "fixtures[2]"; empty for the root). */
/* Finds the first object (depth first) that repeats a key: returns 1 and sets
 * *dup (path names the object), 0 when there is none, -1 when the hash map for
 * the check cannot be allocated: the caller must then refuse the text, since
 * accepting it unchecked would let a repeated key through. */
static int repeated_key(const cJSON *obj, char *path, size_t size, const cJSON **dup) {
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next) n++;
    if (cJSON_IsObject(obj) && n > 1) {
        bn_strmap seen;
        if (bn_strmap_init(&seen, n) != 0) return -1;
        int put = 1;
        for (const cJSON *c = obj->child; c && put == 1; c = c->next) {
            if (!c->string) continue;
            put = bn_strmap_put(&seen, c->string, strlen(c->string), 0, NULL);
            if (put == 0) *dup = c;
        }
        bn_strmap_free(&seen);
        if (put == 0) return 1;
        if (put < 0) return -1;
    }
    const size_t len = strlen(path);
    int i = 0;
    for (const cJSON *c = obj->child; c; c = c->next, i++) {
        if (!c->child) continue;
        if (cJSON_IsObject(obj))
            snprintf(path + len, size - len, "%s%.64s", len ? "." : "", c->string);
        else
            snprintf(path + len, size - len, "[%d]", i);
        const int r = repeated_key(c, path, size, dup);
        if (r != 0) return r;
        path[len] = '\0';
    }
    return 0;
}

cJSON *bn_json_parse(const char *text, size_t len, const bn_json_limits *lim, char *err,
                     size_t err_size) {
    cJSON *root = NULL;
    bn_json_parse_status(text, len, lim, &root, err, err_size);
    return root;
}

bitnet_status bn_json_parse_status(const char *text, size_t len, const bn_json_limits *lim,
                                   cJSON **out, char *err, size_t err_size) {
    *out = NULL;
    const size_t max_bytes = lim ? lim->max_bytes : 0;
    const int max_depth = lim && lim->max_depth > 0 ? lim->max_depth : DEFAULT_MAX_DEPTH;
    char pos[96];
    if (max_bytes && len > max_bytes) {
        snprintf(err, err_size, "%zu bytes is more than the limit of %zu", len, max_bytes);
        return BITNET_ERR_FORMAT;
    }
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        where(text, (size_t)(nul - text), pos, sizeof pos);
        snprintf(err, err_size, "%s: a NUL byte (JSON is UTF-8 text)", pos);
        return BITNET_ERR_FORMAT;
    }
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        snprintf(err, err_size, "byte 0: a byte-order mark (JSON text must not start with one)");
        return BITNET_ERR_FORMAT;
    }
    size_t bad = 0;
    if (!bn_utf8_valid(text, len, &bad)) {
        where(text, bad, pos, sizeof pos);
        snprintf(err, err_size, "%s: not valid UTF-8 (byte 0x%02x)", pos, (unsigned char)text[bad]);
        return BITNET_ERR_FORMAT;
    }
    const scan_result problem = scan(text, len, max_depth, &bad);
    if (problem != SCAN_OK) {
        where(text, bad, pos, sizeof pos);
        if (problem == SCAN_TOO_DEEP)
            snprintf(err, err_size, "%s: nested deeper than %d arrays/objects", pos, max_depth);
        else
            snprintf(err, err_size, "%s: \\u0000 in a string (NUL is not allowed)", pos);
        return BITNET_ERR_FORMAT;
    }
    /* With the terminating NUL inside the length and require_null_terminated,
     * cJSON's error position is exact: at `len` when the text ends early, at
     * the first byte of anything after the value. */
    char *z = malloc(len + 1);
    if (!z) {
        snprintf(err, err_size, "out of memory copying %zu bytes of JSON", len);
        return BITNET_ERR_NOMEM;
    }
    memcpy(z, text, len);
    z[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(z, len + 1, &end, true);
    if (!root) {
        /* `end` is this call's own error position (cJSON_GetErrorPtr is global) */
        size_t at = end && end >= z && end <= z + len ? (size_t)(end - z) : len;
        where(text, at, pos, sizeof pos);
        char near[32];
        size_t w = 0;
        for (size_t i = at; i < len && w < 24; i++)
            near[w++] = (z[i] >= 0x20 && z[i] < 0x7f) ? z[i] : '?';
        near[w] = '\0';
        if (at >= len)
            snprintf(err, err_size, "%s: not valid JSON: the text ends early (truncated?)", pos);
        else
            snprintf(err, err_size, "%s: not valid JSON near '%s'", pos, near);
        free(z);
        return BITNET_ERR_FORMAT;
    }
    free(z);
    char path[256] = "";
    const cJSON *dup = NULL;
    const int r = repeated_key(root, path, sizeof path, &dup);
    if (r < 0) {
        snprintf(err, err_size, "out of memory checking %s for repeated keys",
                 path[0] ? path : "the top-level object");
        cJSON_Delete(root);
        return BITNET_ERR_NOMEM;
    }
    if (r > 0) {
        snprintf(err, err_size, "duplicate key \"%.64s\" in %s", dup->string,
                 path[0] ? path : "the top-level object");
        cJSON_Delete(root);
        return BITNET_ERR_FORMAT;
    }
    *out = root;
    return BITNET_OK;
}

bool bn_json_int(const cJSON *item, int64_t min, int64_t max, int64_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    const double d = item->valuedouble;
    /* 2^53: from there on a double no longer holds every integer */
    if (!isfinite(d) || d != floor(d) || fabs(d) >= 9007199254740992.0) return false;
    if (d < (double)min || d > (double)max) return false;
    *out = (int64_t)d;
    return true;
}
