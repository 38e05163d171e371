/* libFuzzer target for the sharded-checkpoint index parser
 * (engine/formats/st_index.c). An accepted index lists each tensor once,
 * each shard name once, every shard name a plain file name (no '/', '\\',
 * not "." or "..") and every entry pointing at a listed shard. */
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "st_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_st_index ix;
    if (bn_st_index_parse("model.safetensors.index.json", (const char *)data, size, &ix)) {
        FUZZ_ASSERT(ix.n_entries == 0 && ix.n_shards == 0);
        FUZZ_ASSERT(bitnet_get_last_error()[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(ix.n_entries > 0 && ix.n_shards > 0 && ix.n_shards <= BN_ST_INDEX_MAX_SHARDS);
    for (size_t i = 0; i < ix.n_shards; i++) {
        const char *s = ix.shards[i];
        FUZZ_ASSERT(s[0] && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") &&
                    strcmp(s, ".."));
        for (size_t j = 0; j < i; j++) FUZZ_ASSERT(strcmp(s, ix.shards[j]) != 0);
    }
    for (size_t i = 0; i < ix.n_entries; i++)
        FUZZ_ASSERT(ix.shard[i] < ix.n_shards && ix.tensor[i][0]);
    bn_st_index_free(&ix);
    return 0;
}
