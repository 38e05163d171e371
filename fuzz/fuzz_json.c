/* libFuzzer target for the strict JSON layer every untrusted-JSON parser
 * uses (engine/util/json_util.c). Accepted text must re-serialize (cJSON) to JSON
 * that the same layer accepts again, with no repeated keys and within the
 * depth limit; bn_json_int must agree with the double it reads. The first
 * byte picks the depth limit, so that shallow and deep limits are both hit. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "json_util.h"

static void check_ints(const cJSON *node) {
    for (; node; node = node->next) {
        int64_t v;
        if (cJSON_IsNumber(node) && bn_json_int(node, INT64_MIN, INT64_MAX, &v))
            FUZZ_ASSERT((double)v == node->valuedouble &&
                        fabs(node->valuedouble) < 9007199254740992.0);
        check_ints(node->child);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bn_json_limits lim = {.max_bytes = 1 << 20, .max_depth = 1 + data[0] % 80};
    char err[256];
    cJSON *root = bn_json_parse((const char *)data + 1, size - 1, &lim, err, sizeof err);
    if (!root) {
        FUZZ_ASSERT(err[0] != '\0');
        return 0;
    }
    check_ints(root);
    char *text = cJSON_PrintUnformatted(root);
    if (text) {
        cJSON *again = bn_json_parse(text, strlen(text), &lim, err, sizeof err);
        /* cJSON prints non-finite numbers as null; everything else must survive */
        FUZZ_ASSERT(again != NULL);
        cJSON_Delete(again);
        cJSON_free(text);
    }
    cJSON_Delete(root);
    return 0;
}
