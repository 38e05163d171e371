/* The invariants of a successful vocabulary import (fuzz_vocab_json.c,
 * fuzz_vocab_tiktoken.c): a well-formed build within the documented limits,
 * which the loader accepts and the tokenizers can use. */
#ifndef BN_FUZZ_IMPORT_CHECK_H
#define BN_FUZZ_IMPORT_CHECK_H

#include <string.h>

#include "fuzz.h"
#include "tokenizer_internal.h"
#include "vocab_check.h"
#include "vocab_import.h"

static inline void fuzz_check_import(bn_vocab_build *b, const char *text, size_t len) {
    FUZZ_ASSERT(b->n >= 1 && b->n <= BN_VOCAB_IMPORT_MAX_ID);
    for (size_t i = 0; i < b->n; i++) {
        FUZZ_ASSERT(b->text[i] != NULL);
        FUZZ_ASSERT(b->len[i] >= 1 && b->len[i] <= BN_TOKEN_MAX_LEN);
        FUZZ_ASSERT(strlen(b->text[i]) == b->len[i]);
        FUZZ_ASSERT(b->type[i] >= BN_TOKEN_NORMAL && b->type[i] <= BN_TOKEN_UNUSED);
    }
    FUZZ_ASSERT(b->bos < (int64_t)b->n && b->eos < (int64_t)b->n);
    FUZZ_ASSERT(b->n_merges <= BN_VOCAB_MAX_MERGES);
    FUZZ_ASSERT(b->merge_text_len <= BN_VOCAB_IMPORT_MAX_MERGE_BYTES);
    const char **merges = malloc((b->n_merges + 1) * sizeof *merges);
    FUZZ_ASSERT(merges != NULL);
    for (size_t i = 0; i < b->n_merges; i++) {
        merges[i] = b->merge_text + b->merge_off[i];
        FUZZ_ASSERT(strlen(merges[i]) == b->merge_len[i] && strchr(merges[i], ' '));
    }
    fuzz_vocab_keys k = {
        .model = "gpt2",
        .pre = b->pre,
        .n = b->n,
        .text = (const char *const *)b->text,
        .len = b->len,
        .score = b->score,
        .type = b->type,
        .n_merges = b->n_merges,
        .merge = merges,
        .merge_len = b->merge_len,
        .bos = b->bos,
        .eos = b->eos,
        .unk = -1,
        .add_bos = b->bos >= 0,
    };
    fuzz_vocab fv;
    bitnet_status st = fuzz_vocab_load(&k, &fv);
    if (st)
        fprintf(stderr, "fuzz: an accepted import does not load: %s\n", bitnet_get_last_error());
    FUZZ_ASSERT(st == BITNET_OK); /* the importer refuses what the loader refuses */
    free(merges);
    /* a short run of the tokenizer (fuzz_tokenizer goes deep): the input's
     * first bytes, with special tokens parsed or added and rendered */
    size_t n = len < 48 ? len : 48;
    fuzz_vocab_exercise(
        fv.v, text, n,
        FUZZ_TOK_NO_ROUNDTRIP |
            (len & 1 ? FUZZ_TOK_PARSE_SPECIAL
                     : FUZZ_TOK_ADD_SPECIAL | FUZZ_TOK_REMOVE_SPECIAL | FUZZ_TOK_UNPARSE_SPECIAL));
    fuzz_vocab_free(&fv);
}

#endif
