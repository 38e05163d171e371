/* Shared between the vocabulary loader (vocab.c), the tokenize/detokenize
 * driver (tokenize.c) and the two tokenizers (tokenizer_spm.c,
 * tokenizer_bpe.c). Not part of the library's interface. */
#ifndef BN_TOKENIZER_INTERNAL_H
#define BN_TOKENIZER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "pretokenize.h"
#include "vocab.h"

/* Tokens longer than this are rejected at load (catalogue T6): no real
 * vocabulary comes near it, and it bounds every per-token buffer. */
#define BN_TOKEN_MAX_LEN 4096

/* Bounds the merge table (catalogue T5); LLaMA-3 has 280,147 merges. */
#define BN_VOCAB_MAX_MERGES (1u << 23)

struct bn_vocab {
    bn_vocab_kind kind;
    int32_t n_tokens;
    bn_token_data *tokens; /* texts point into the GGUF file */
    bn_strmap index;       /* token text -> id */

    bitnet_token bos, eos, eot, eom, unk, pad;
    bool add_bos, add_eos;
    bool add_space_prefix; /* SPM: prefix " " before text that follows a special token */
    bool clean_spaces;     /* detokenize: drop " " before ?!., and the like */
    bool ignore_merges;    /* BPE: a whole pre-token that is a token is taken as is */
    bn_pretok_kind pre;    /* BPE pre-tokenizer */

    uint8_t *eog; /* n_tokens flags: end-of-generation */

    /* Control, user-defined and unknown tokens, longest text first: what the
     * special-token partition looks for in the text. */
    int32_t *specials;
    int32_t n_specials;

    /* The text each token renders to (special=true form), precomputed at load
     * as llama.cpp does: piece of token i = pieces[piece_off[i] ..
     * piece_off[i+1]). */
    char *pieces;
    uint32_t *piece_off;

    /* SPM byte fallback: the id of <0xXX> (or of the one-byte token), or -1. */
    int32_t byte_token[256];

    /* BPE merges: "left right" (pointing into the file) -> rank. */
    bn_strmap merges;

    char *chat_template; /* NUL-terminated copy, "" if none */
};

/* A growable array of token ids. */
typedef struct bn_tokbuf {
    bitnet_token *ids;
    size_t n, cap;
} bn_tokbuf;

/* Returns false (error set: NOMEM) when it cannot grow. */
bool bn_tokbuf_push(bn_tokbuf *b, bitnet_token id);

/* Tokenizes one fragment of plain text (no special tokens in it) and appends
 * the ids. Return false only on allocation failure. */
bool bn_spm_tokenize(const bn_vocab *v, const char *text, size_t len, bool space_prefix,
                     bn_tokbuf *out);
bool bn_bpe_tokenize(const bn_vocab *v, const char *text, size_t len, bn_tokbuf *out);

/* GPT-2 byte-level mapping: each byte is shown as one printable code point. */
uint32_t bn_bpe_byte_to_cpt(uint8_t byte);
/* The byte a code point stands for, or -1 if it is not one of the 256. */
int bn_bpe_cpt_to_byte(uint32_t cpt);

/* Decodes one UTF-8 sequence the way llama.cpp's tokenizers step through text:
 * the length comes from the lead byte alone (clamped to what is left). */
size_t bn_utf8_len(uint8_t lead);
/* Strict decode of the code point at s[0..len): returns the number of bytes
 * (1..4) and sets *cpt, or returns 0 for an invalid sequence. */
size_t bn_utf8_decode(const unsigned char *s, size_t len, uint32_t *cpt);
/* Encodes a code point (<= 0x10FFFF), returns the byte count (1..4). */
size_t bn_utf8_encode(uint32_t cpt, char *out);

#endif
