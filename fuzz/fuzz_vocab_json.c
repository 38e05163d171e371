/* libFuzzer target for the tokenizer.json importer (vocab_import_json.c):
 * bytes -> bn_vocab_import_json; an accepted file must give a well-formed
 * vocabulary that the loader accepts and the BPE tokenizer can run on
 * (import_check.h). Refusals must free everything (LeakSanitizer). */
#include "import_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_vocab_build b;
    if (bn_vocab_import_json("fuzz.json", (const char *)data, size, &b) == BITNET_OK)
        fuzz_check_import(&b, (const char *)data, size);
    bn_vocab_build_free(&b);
    return 0;
}
