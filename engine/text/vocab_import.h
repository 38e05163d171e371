/* Importing vocabularies from other formats into GGUF tokenizer.* keys
 * (internal API, used by `bitnet vocab`, the fuzz targets, and any later
 * loader of Hugging Face model directories):
 *
 *   - a Hugging Face tokenizer.json with a byte-level BPE model
 *     (vocab_import_json.c);
 *   - a tiktoken ranks file, "base64-bytes rank" per line, e.g. LLaMA-3's
 *     tokenizer.model, with the merge list derived from the ranks
 *     (vocab_import_tiktoken.c).
 *
 * Both parse from memory and never trust the input: every limit below is
 * checked before the work or memory it bounds, and a refused input gets
 * BITNET_ERR_FORMAT with a message naming the file, the token and the value.
 * An import that succeeds gives a vocabulary bn_vocab_load accepts. */
#ifndef BN_VOCAB_IMPORT_H
#define BN_VOCAB_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"
#include "gguf.h"

/* Untrusted-input limits (docs/limits.md). */
/* Input file size: the largest real tokenizer.json files (Gemma 3, 262k
 * tokens) are about 33 MB; LLaMA-3's tiktoken file is 2.2 MB. */
#define BN_VOCAB_IMPORT_MAX_FILE (64u << 20)
/* Token ids are below this (the largest real vocabularies have ~262k). */
#define BN_VOCAB_IMPORT_MAX_ID (1u << 24)
/* Ids that no token uses are filled with [PADn] tokens, as llama.cpp's
 * converter does, but the id space may be at most this many times the number
 * of tokens (or BN_VOCAB_IMPORT_MIN_IDS, for small vocabularies). */
#define BN_VOCAB_IMPORT_IDS_PER_TOKEN 4
#define BN_VOCAB_IMPORT_MIN_IDS 1024
/* The merges derived from a tiktoken file: LLaMA-3's 128,000 ranks give
 * 280,147 merges of about 3 MB. Their count is bounded by the loader's
 * BN_VOCAB_MAX_MERGES. */
#define BN_VOCAB_IMPORT_MAX_MERGE_BYTES (64u << 20)

typedef enum bn_vocab_format {
    BN_VOCAB_FORMAT_UNKNOWN = 0,
    BN_VOCAB_FORMAT_GGUF,
    BN_VOCAB_FORMAT_JSON,     /* Hugging Face tokenizer.json */
    BN_VOCAB_FORMAT_TIKTOKEN, /* "BASE64 RANK" lines */
} bn_vocab_format;

/* A byte-level BPE vocabulary being built: token texts in GPT-2's byte
 * alphabet, merges as "left right". */
typedef struct bn_vocab_build {
    size_t n;
    char **text; /* [n] NUL-terminated, no NUL inside */
    uint64_t *len;
    float *score;
    int32_t *type; /* bn_token_type */

    size_t n_merges;
    char *merge_text;    /* all merges, each NUL-terminated */
    uint64_t *merge_off; /* merge i starts at merge_text + merge_off[i] */
    uint64_t *merge_len; /* without the NUL */
    size_t merge_cap;    /* entries allocated in merge_off / merge_len */
    size_t merge_text_len, merge_text_cap;

    int64_t bos, eos; /* -1: none */
    /* The pre-tokenizer the input names ("llama-bpe", "gpt2") or NULL: a static
     * string. */
    const char *pre;
} bn_vocab_build;

/* What `data` looks like: the GGUF magic, a JSON object (after optional
 * whitespace and a UTF-8 byte-order mark), or a first non-blank line of the
 * form "BASE64 INTEGER". Anything else is UNKNOWN. */
bn_vocab_format bn_vocab_format_detect(const char *data, size_t size);
const char *bn_vocab_format_name(bn_vocab_format f); /* "gguf", "json", "tiktoken" */
bool bn_vocab_format_parse(const char *name, bn_vocab_format *out);

/* Reads a whole file of at most BN_VOCAB_IMPORT_MAX_FILE bytes (checked while
 * reading, so a pipe or /dev/zero cannot exhaust memory). The buffer has a
 * NUL after the data; free it with free(). */
bitnet_status bn_vocab_import_read(const char *path, char **data, size_t *size);

/* Imports from memory (data need not be NUL-terminated). `name` is used in
 * messages. On failure *out is left empty (and may be freed either way). */
bitnet_status bn_vocab_import_json(const char *name, const char *data, size_t size,
                                   bn_vocab_build *out);
/* n_special LLaMA-3 special tokens (<|begin_of_text|> first) are appended
 * after the ranks; with 2 or more, the first two are BOS and EOS. */
bitnet_status bn_vocab_import_tiktoken(const char *name, const char *data, size_t size,
                                       size_t n_special, bn_vocab_build *out);

void bn_vocab_build_init(bn_vocab_build *b);
void bn_vocab_build_free(bn_vocab_build *b);

/* Adds the tokenizer.* keys of a build (tokenizer.ggml.model "gpt2", pre if
 * not NULL, tokens, scores, types, merges, bos/eos, add_bos_token). */
bitnet_status bn_vocab_build_write(const bn_vocab_build *b, const char *pre, bn_gguf_writer *w);

/* Helpers shared by the two importers (vocab_import.c). */
bitnet_status bn_vocab_build_alloc(bn_vocab_build *b, size_t n);
/* Appends "left right" (lengths given, no NUL inside). */
bitnet_status bn_vocab_build_add_merge(bn_vocab_build *b, const char *name, const char *l,
                                       size_t ll, const char *r, size_t rl);
/* A token text for messages: at most ~60 bytes, control and non-ASCII bytes
 * as \xHH, so that a hostile token cannot garble a terminal. */
const char *bn_vocab_show(const char *s, size_t len, char buf[static 96]);

#endif
