/* JSON output of the CLI, built with cJSON so that every document is valid:
 * strings are valid UTF-8 (invalid bytes become U+FFFD; where the exact bytes
 * matter, as for token pieces, they are given beside it as a number array)
 * and non-finite numbers are written as null (the command that produced one
 * also fails; see docs/cli.md). */
#ifndef BN_CLI_JSON_H
#define BN_CLI_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* A copy of s[0..n) that is valid UTF-8 without NUL: each byte that does
 * not start a well-formed sequence, and each NUL, becomes U+FFFD. *was_valid (may be NULL) says
 * whether nothing was replaced. NULL when out of memory. */
char *cli_utf8_sanitize(const char *s, size_t n, bool *was_valid);

/* A JSON string of s[0..n) (sanitized as above). */
cJSON *cli_json_string(const char *s, size_t n);
/* A number, or null when not finite. */
cJSON *cli_json_number(double v);
/* Adds to an object (cJSON_Add* with the rules above); false when out of memory. */
bool cli_json_add_string(cJSON *obj, const char *key, const char *s);
bool cli_json_add_number(cJSON *obj, const char *key, double v);

/* Prints the document and a newline to stdout and frees it; 0, or CLI_RUNTIME
 * with a message when it could not be built (root NULL or out of memory). */
int cli_json_emit(const char *cmd, cJSON *root, bool formatted);

#endif
