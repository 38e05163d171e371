/* Pre-tokenizers of byte-level BPE vocabularies: they cut text into pieces
 * ("words") that BPE merges never cross.
 *
 * The splits reproduce llama.cpp's unicode_regex_split() as used by the
 * bitnet.cpp fork, which is not a plain regex engine: the GPT-2 and LLaMA-3
 * patterns run through hand-written matchers whose edge cases (characters
 * that match no branch, where a space before a symbol goes, digit groups)
 * differ from what the regex says, and the other patterns run on a text where every non-ASCII
 * code point is collapsed to a category marker. Reproducing that, rather than
 * the regexes' textbook meaning, is what gives bitnet.cpp's token ids.
 *
 * Unicode categories (letter, number, punctuation) come from PCRE2's Unicode
 * tables, so no Unicode data is vendored here. */
#ifndef BN_PRETOKENIZE_H
#define BN_PRETOKENIZE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum bn_pretok_kind {
    /* tokenizer.ggml.pre absent or "default": four passes (punctuation runs,
     * the GPT-2 matcher, number runs, three-digit groups). */
    BN_PRETOK_DEFAULT = 0,
    /* "llama-bpe", "llama3", "llama-v3": the LLaMA-3 matcher. */
    BN_PRETOK_LLAMA3 = 1,
    /* "gpt2": the GPT-2 matcher alone, which is what a Hugging Face
     * tokenizer.json with a bare ByteLevel pre-tokenizer (use_regex true, as
     * transformers and `tokenizers` write by default) does: numbers are not
     * cut into three-digit groups, punctuation is not split first. */
    BN_PRETOK_GPT2 = 2,
} bn_pretok_kind;

/* Splits text[0..len) into consecutive pieces. On success *lens holds *n
 * piece lengths in bytes (summing to len; free with bn_free). Bytes that are
 * not valid UTF-8 become one-byte pieces of their own. Returns false only on
 * allocation failure (error set). */
bool bn_pretokenize(bn_pretok_kind kind, const char *text, size_t len, size_t **lens, size_t *n);

/* "default" / "llama-bpe" / "gpt2" (for messages). */
const char *bn_pretok_name(bn_pretok_kind kind);

#endif
