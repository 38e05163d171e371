/* Shared by the tokenizer and vocabulary-importer fuzz targets: loads a
 * vocabulary from tokenizer.* arrays through an in-memory GGUF (the loader's
 * real path, no file written), and drives tokenize / detokenize /
 * token-to-piece on it, checking the contracts of bitnet.h. */
#ifndef BN_FUZZ_VOCAB_CHECK_H
#define BN_FUZZ_VOCAB_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "vocab.h"

/* tokenizer.* keys; NULL / -1 leaves a key out. */
typedef struct fuzz_vocab_keys {
    const char *model; /* "llama" or "gpt2" */
    const char *pre;
    size_t n;
    const char *const *text;
    const uint64_t *len; /* NULL: texts are NUL-terminated */
    const float *score;
    const int32_t *type;
    size_t n_merges;
    const char *const *merge;
    const uint64_t *merge_len; /* NULL: NUL-terminated */
    int64_t bos, eos, unk;
    int add_bos; /* -1: absent */
} fuzz_vocab_keys;

typedef struct fuzz_vocab {
    uint8_t *file; /* the GGUF bytes the vocabulary points into */
    bn_gguf *g;
    bn_vocab *v;
} fuzz_vocab;

/* Returns the loader's status; on success fv->v is the vocabulary. */
bitnet_status fuzz_vocab_load(const fuzz_vocab_keys *k, fuzz_vocab *fv);
void fuzz_vocab_free(fuzz_vocab *fv);

enum {
    FUZZ_TOK_ADD_SPECIAL = 1,
    FUZZ_TOK_PARSE_SPECIAL = 2,
    FUZZ_TOK_REMOVE_SPECIAL = 4,
    FUZZ_TOK_UNPARSE_SPECIAL = 8,
    FUZZ_TOK_NEGATIVE_ID = 16,  /* the bad id tried is -1 (else n_tokens) */
    FUZZ_TOK_NO_ROUNDTRIP = 32, /* a vocabulary that promises none (imported) */
};

/* Tokenizes text with the flags, checks the size query, the id range, the
 * pieces and (where the tokenizer promises it) the round trip, then
 * detokenizes ids made from the text bytes. Aborts on a broken contract. */
void fuzz_vocab_exercise(const bn_vocab *v, const char *text, size_t len, unsigned flags);

#endif
