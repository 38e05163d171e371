/* Vocabulary and tokenizers, loaded from GGUF `tokenizer.*` metadata.
 *
 *   tokenizer.ggml.model = "llama": SentencePiece-style (scores, byte-fallback
 *                                   tokens <0xXX>, "▁" for spaces)
 *   tokenizer.ggml.model = "gpt2":  byte-level BPE (merges, pre-tokenizer
 *                                   regexes chosen by tokenizer.ggml.pre)
 *
 * Everything read from the file is validated at load (catalogue T1-T6): array
 * lengths and element types, special ids in range, byte tokens well formed,
 * merges naming known tokens. Tokenization itself never fails on any input
 * bytes (invalid UTF-8 is tokenized byte by byte). */
#ifndef BN_VOCAB_H
#define BN_VOCAB_H

#include <stdbool.h>
#include <stdint.h>

#include "bitnet.h"
#include "gguf.h"
#include "strmap.h"

typedef enum bn_vocab_kind {
    BN_VOCAB_SPM = 1, /* "llama" */
    BN_VOCAB_BPE = 2, /* "gpt2" */
} bn_vocab_kind;

/* tokenizer.ggml.token_type values */
typedef enum bn_token_type {
    BN_TOKEN_UNDEFINED = 0,
    BN_TOKEN_NORMAL = 1,
    BN_TOKEN_UNKNOWN = 2,
    BN_TOKEN_CONTROL = 3,
    BN_TOKEN_USER_DEFINED = 4,
    BN_TOKEN_UNUSED = 5,
    BN_TOKEN_BYTE = 6,
} bn_token_type;

typedef struct bn_token_data {
    const char *text; /* points into the GGUF file, not NUL-terminated */
    uint32_t len;
    float score;
    int32_t type; /* bn_token_type */
} bn_token_data;

typedef struct bn_vocab bn_vocab; /* defined in vocab.c */

/* Loads and validates the vocabulary of an open GGUF file (which must outlive
 * the vocabulary: token texts point into it). */
bitnet_status bn_vocab_load(const bn_gguf *g, const bitnet_model_params *params, bn_vocab **out);
void bn_vocab_free(bn_vocab *v);

bn_vocab_kind bn_vocab_kind_of(const bn_vocab *v);
int32_t bn_vocab_n_tokens(const bn_vocab *v);
const bn_token_data *bn_vocab_token(const bn_vocab *v, int32_t id); /* NULL if out of range */
bitnet_token bn_vocab_bos(const bn_vocab *v);                       /* -1: none */
bitnet_token bn_vocab_eos(const bn_vocab *v);
bitnet_token bn_vocab_eot(const bn_vocab *v);
bool bn_vocab_add_bos(const bn_vocab *v);
bool bn_vocab_add_eos(const bn_vocab *v);
bool bn_vocab_is_eog(const bn_vocab *v, bitnet_token id);
bool bn_vocab_is_control(const bn_vocab *v, bitnet_token id);
/* The chat template text stored in the file ("" if none). */
const char *bn_vocab_chat_template(const bn_vocab *v);
/* The token id of an exact text, or -1. */
bitnet_token bn_vocab_find(const bn_vocab *v, const char *text, size_t len);

/* Same contracts as bitnet_tokenize / bitnet_token_to_piece / bitnet_detokenize. */
int32_t bn_vocab_tokenize(const bn_vocab *v, const char *text, int32_t text_len,
                          bitnet_token *tokens, int32_t n_tokens_max, bool add_special,
                          bool parse_special);
int32_t bn_vocab_token_to_piece(const bn_vocab *v, bitnet_token token, char *buf, int32_t buf_len,
                                bool special);
int32_t bn_vocab_detokenize(const bn_vocab *v, const bitnet_token *tokens, int32_t n_tokens,
                            char *text, int32_t text_len_max, bool remove_special,
                            bool unparse_special);

#endif
