/* Parsing JSON that comes from a user or an attacker (suite files,
 * tokenizer.json, config.json, safetensors headers, HTTP bodies): cJSON
 * behind the checks it does not make itself (catalogue J1-J5). Before cJSON
 * sees the text: a size cap, a nesting-depth cap (cJSON recurses once per
 * level), valid UTF-8 and no NUL byte; cJSON must consume everything but
 * trailing white space; and after parsing, no object may repeat a key (cJSON
 * keeps both and finds the first, while other parsers take the last). */
#ifndef BN_JSON_UTIL_H
#define BN_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "bitnet.h"

typedef struct bn_json_limits {
    size_t max_bytes; /* 0: no cap */
    int max_depth;    /* arrays and objects nested (0: 64) */
} bn_json_limits;

/* Parses text[0..len). On failure returns NULL and writes a message to err
 * ("line 3, column 14 (byte 40): nesting deeper than 64 levels"); the caller
 * prefixes the file name. Free the result with cJSON_Delete. */
cJSON *bn_json_parse(const char *text, size_t len, const bn_json_limits *lim, char *err,
                     size_t err_size);

/* The same, and says why: BITNET_ERR_FORMAT for bad text, BITNET_ERR_NOMEM
 * when memory ran out (also while checking for repeated keys: such text is
 * refused, never accepted unchecked). *out is NULL on failure. */
bitnet_status bn_json_parse_status(const char *text, size_t len, const bn_json_limits *lim,
                                   cJSON **out, char *err, size_t err_size);

/* An integral number in [min, max] (cJSON stores doubles: 3.5, 1e300 and
 * 2^53 + 1 are refused rather than truncated or wrapped). */
bool bn_json_int(const cJSON *item, int64_t min, int64_t max, int64_t *out);

#endif
