/* libFuzzer target for the tiktoken importer (vocab_import_tiktoken.c),
 * merge derivation included: bytes -> bn_vocab_import_tiktoken, with 0, 1, 2
 * or 10 LLaMA-3 special tokens appended (chosen by the input length, so that
 * the file itself is the input); an accepted file must give a well-formed
 * vocabulary that the loader accepts (import_check.h). */
#include "import_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const size_t n_special[] = {0, 1, 2, 10};
    bn_vocab_build b;
    if (bn_vocab_import_tiktoken("fuzz.tiktoken", (const char *)data, size, n_special[size & 3],
                                 &b) == BITNET_OK) {
        FUZZ_ASSERT(bn_vocab_format_detect((const char *)data, size) == BN_VOCAB_FORMAT_TIKTOKEN);
        fuzz_check_import(&b, (const char *)data, size);
    }
    bn_vocab_build_free(&b);
    return 0;
}
