/* libFuzzer target for the tokenizers: SentencePiece and byte-level BPE
 * (both pre-tokenizers) on fuzzed text. The vocabularies are the synthetic
 * ones of engine/text/synth_vocab.c, built once and loaded through an in-memory
 * GGUF, so the target needs no file.
 *
 * Input: byte 0 picks the vocabulary (bits 0-1: SPM, BPE default, BPE
 * llama-bpe) and the flags (bits 2-6: add_special, parse_special,
 * remove_special, unparse_special, which bad id); the rest is the text, any
 * bytes. fuzz_vocab_exercise checks the contracts (vocab_check.c). */
#include <string.h>

#include "fuzz.h"
#include "synth_vocab.h"
#include "vocab_check.h"

enum { N_VOCABS = 3 };

/* Built once; libFuzzer runs the target in one thread. */
static fuzz_vocab vocabs[N_VOCABS];
static bool ready;

static void load(int i, bn_vocab_kind kind, const char *pre) {
    bn_synth_vocab s;
    FUZZ_ASSERT(bn_synth_vocab_build(kind, 2000, &s) == BITNET_OK);
    fuzz_vocab_keys k = {
        .model = kind == BN_VOCAB_SPM ? "llama" : "gpt2",
        .pre = pre,
        .n = (size_t)s.n_tokens,
        .text = (const char *const *)s.text,
        .score = s.scores,
        .type = s.types,
        .n_merges = kind == BN_VOCAB_BPE ? (size_t)s.n_merges : 0,
        .merge = kind == BN_VOCAB_BPE ? (const char *const *)s.merges : NULL,
        .bos = s.bos,
        .eos = s.eos,
        .unk = s.unk,
        .add_bos = 1,
    };
    if (fuzz_vocab_load(&k, &vocabs[i]) != BITNET_OK) {
        fprintf(stderr, "fuzz_tokenizer: the synthetic vocabulary does not load: %s\n",
                bitnet_get_last_error());
        abort();
    }
    bn_synth_vocab_free(&s);
}

static void free_vocabs(void) {
    for (int i = 0; i < N_VOCABS; i++) fuzz_vocab_free(&vocabs[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (ready) return 0;
    /* bn_vocab texts point into the synthetic vocabulary's GGUF copy, so the
     * builder's arrays can go at once */
    load(0, BN_VOCAB_SPM, NULL);
    load(1, BN_VOCAB_BPE, "default");
    load(2, BN_VOCAB_BPE, "llama-bpe");
    ready = true;
    atexit(free_vocabs); /* so LeakSanitizer sees only real leaks */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) LLVMFuzzerInitialize(NULL, NULL);
    if (size < 1) return 0;
    int which = data[0] & 3;
    if (which == 3) which = 1;
    fuzz_vocab_exercise(vocabs[which].v, (const char *)data + 1, size - 1, data[0] >> 2);
    return 0;
}
