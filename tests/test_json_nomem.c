/* bn_json_parse under memory pressure: when the hash map that detects
 * repeated keys cannot be allocated, the text must be refused with
 * BITNET_ERR_NOMEM, never accepted unchecked (a repeated key would then slip
 * through, and cJSON keeps the first while other parsers take the last). */
#include "alloc.h"
#include "json_util.h"
#include "testutil.h"

static void expect_nomem(const char *label, const char *text, long fail_at) {
    char err[256] = "";
    cJSON *root = NULL;
    bn_alloc_fail_after(fail_at, 0);
    const bitnet_status st = bn_json_parse_status(text, strlen(text), NULL, &root, err, sizeof err);
    bn_alloc_fail_after(-1, 0);
    CHECKF(root == NULL, "%s: accepted under an allocation failure", label);
    if (root) cJSON_Delete(root);
    CHECKF(st == BITNET_ERR_NOMEM, "%s: status %d, want BITNET_ERR_NOMEM (%s)", label, st, err);
    CHECKF(strstr(err, "out of memory") != NULL, "%s: message '%s'", label, err);
    /* the plain entry point refuses it too */
    bn_alloc_fail_after(fail_at, 0);
    root = bn_json_parse(text, strlen(text), NULL, err, sizeof err);
    bn_alloc_fail_after(-1, 0);
    CHECKF(root == NULL, "%s: bn_json_parse accepted it", label);
    if (root) cJSON_Delete(root);
}

int main(void) {
    /* repeated key at the top level: the first allocation is its map */
    expect_nomem("top", "{\"a\": 1, \"a\": 2}", 0);
    /* a clean object whose inner object's map fails: the message names it */
    const char *nested = "{\"x\": 1, \"inner\": {\"k\": 1, \"k\": 2}}";
    expect_nomem("nested", nested, 1);
    {
        char err[256] = "";
        cJSON *root = NULL;
        bn_alloc_fail_after(1, 0);
        bn_json_parse_status(nested, strlen(nested), NULL, &root, err, sizeof err);
        bn_alloc_fail_after(-1, 0);
        CHECKF(strstr(err, "inner") != NULL, "nested: message '%s' does not name \"inner\"", err);
        if (root) cJSON_Delete(root);
    }
    /* every allocation point up to success: never accepted with a repeat */
    const char *deep = "{\"o\": {\"p\": {\"q\": 1, \"q\": 2}}, \"z\": 0}";
    bitnet_status st = BITNET_ERR_NOMEM;
    long k = 0;
    for (; st == BITNET_ERR_NOMEM && k < 100; k++) {
        char e[256] = "";
        cJSON *r = NULL;
        bn_alloc_fail_after(k, 0);
        st = bn_json_parse_status(deep, strlen(deep), NULL, &r, e, sizeof e);
        bn_alloc_fail_after(-1, 0);
        CHECKF(r == NULL, "sweep %ld: accepted (status %d)", k, st);
        if (r) cJSON_Delete(r);
    }
    /* two objects with two keys each: two maps, then the repeat is found */
    CHECKF(k == 3 && st == BITNET_ERR_FORMAT, "sweep: ended at %ld with status %d", k, st);

    /* without injected failures: repeats are a format error, clean text parses */
    char err[256] = "";
    cJSON *root = NULL;
    const char *dup = "{\"a\": 1, \"a\": 2}";
    CHECK(bn_json_parse_status(dup, strlen(dup), NULL, &root, err, sizeof err) ==
          BITNET_ERR_FORMAT);
    CHECK(root == NULL && strstr(err, "duplicate key") != NULL);
    const char *ok = "{\"a\": 1, \"b\": {\"c\": [1, 2]}}";
    CHECK(bn_json_parse_status(ok, strlen(ok), NULL, &root, err, sizeof err) == BITNET_OK);
    CHECK(root != NULL);
    cJSON_Delete(root);
    /* a failure with nothing to check (no object with two keys) allocates nothing */
    bn_alloc_fail_after(0, 1);
    root = bn_json_parse("[1, 2]", 6, NULL, err, sizeof err);
    bn_alloc_fail_after(-1, 0);
    CHECK(root != NULL);
    cJSON_Delete(root);
    TEST_END();
}
