/* libFuzzer target: llama-perplexity's KL-divergence base file reader
 * (tools/kld.c) from memory. Invariants of an accepted file: its shape
 * matches its size, every token id is in the vocabulary and every record's
 * scale and minimum are finite with scale >= 0, minimum <= 0; comparing a
 * record with flat logits then gives a KL divergence that is not NaN. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "kld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kld_file f;
    if (kld_file_parse("fuzz.kld", data, size, &f, NULL) != 0) {
        FUZZ_ASSERT(f.data == NULL);
        return 0;
    }
    FUZZ_ASSERT(f.n_scored > 0 && f.nv >= f.n_vocab + 4);
    FUZZ_ASSERT(size == 20 + (size_t)f.n_ctx * (size_t)f.n_chunk * 4 +
                            (size_t)f.n_chunk * (size_t)f.n_scored * (size_t)f.nv * 2);
    for (size_t i = 0; i < (size_t)f.n_ctx * (size_t)f.n_chunk; i++)
        FUZZ_ASSERT(f.tokens[i] >= 0 && f.tokens[i] < f.n_vocab);
    /* a bounded amount of arithmetic per input: the first record of each chunk */
    float *logits = calloc((size_t)f.n_vocab, sizeof *logits);
    FUZZ_ASSERT(logits != NULL);
    kld_stats s;
    memset(&s, 0, sizeof s);
    for (int32_t c = 0; c < f.n_chunk && c < 4; c++) {
        const uint16_t *r = kld_record(&f, c, 0);
        float scale, min;
        memcpy(&scale, r, 4);
        memcpy(&min, r + 2, 4);
        FUZZ_ASSERT(isfinite(scale) && scale >= 0 && isfinite(min) && min <= 1e-3f);
        double kld =
            kld_add(&s, logits, f.n_vocab, r, f.tokens[(size_t)c * f.n_ctx + f.n_ctx / 2 + 1]);
        FUZZ_ASSERT(!isnan(kld));
    }
    kld_stats_free(&s);
    free(logits);
    kld_file_free(&f);
    return 0;
}
