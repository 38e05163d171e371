/* Built-in synthetic vocabularies for generated fixtures: valid for the
 * loader (unique texts, well-formed byte tokens, ids in range) and for
 * bitnet.cpp, with no external file. They do not depend on the seed, so every
 * fixture of a given vocabulary kind and size tokenizes text the same way.
 *
 *   SPM ("llama"): <unk> <s> </s>, <0x00>..<0xFF>, then pieces in priority
 *     order (score = -rank): "▁", letters, "▁"+letter, common English words
 *     with their "▁"-prefix chains (so SentencePiece merging can reach them),
 *     the other printable ASCII characters, then letter n-grams, plain and
 *     "▁"-prefixed, until the size is reached.
 *   BPE ("gpt2"): the 256 byte symbols in GPT-2's byte-to-unicode order (so
 *     id 220 is "Ġ", the space, as in GPT-2), then one token per merge
 *     (rank order), built as prefix chains of the same strings, then three
 *     control tokens <|begin_of_text|> <|end_of_text|> <|eot_id|>. */
#ifndef BN_SYNTH_VOCAB_H
#define BN_SYNTH_VOCAB_H

#include <stdint.h>

#include "bitnet.h"
#include "gguf.h"
#include "vocab.h"

/* Smallest size accepted: the fixed tokens plus room for some pieces. */
#define BN_SYNTH_VOCAB_MIN 320
#define BN_SYNTH_VOCAB_MAX (1 << 22)

typedef struct bn_synth_vocab {
    bn_vocab_kind kind;
    int32_t n_tokens;
    char **text; /* [n_tokens] NUL-terminated (no token contains NUL) */
    float *scores;
    int32_t *types; /* bn_token_type */
    char **merges;  /* BPE only: "left right", [n_merges] */
    int64_t n_merges;
    int32_t bos, eos, eot, unk; /* -1: none */
} bn_synth_vocab;

/* Builds a vocabulary of exactly n_tokens tokens (BN_SYNTH_VOCAB_MIN ..
 * BN_SYNTH_VOCAB_MAX). On failure returns an error and leaves *out empty. */
bitnet_status bn_synth_vocab_build(bn_vocab_kind kind, int32_t n_tokens, bn_synth_vocab *out);
void bn_synth_vocab_free(bn_synth_vocab *v);

/* Adds the tokenizer.* keys in the order bitnet.cpp's converters write them. */
bitnet_status bn_synth_vocab_write(const bn_synth_vocab *v, bn_gguf_writer *w);

/* Whether a token may appear in generated text of a peaked fixture: a piece
 * (type NORMAL), not a byte, control or unknown token. */
static inline int bn_synth_vocab_is_piece(const bn_synth_vocab *v, int32_t id) {
    return v->types[id] == BN_TOKEN_NORMAL;
}

#endif
