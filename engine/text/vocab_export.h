/* Writing a loaded vocabulary back as GGUF tokenizer.* keys (converters:
 * gguf_export.c), whatever it was loaded from. What is written is what the
 * engine uses, so the written file tokenizes the same way: tokens, scores
 * and types (including the control marks the loader adds to end-of-turn
 * tokens), merges in rank order, special ids, the add-BOS/EOS flags, the
 * pre-tokenizer and the chat template. */
#ifndef BN_VOCAB_EXPORT_H
#define BN_VOCAB_EXPORT_H

#include "gguf.h"
#include "vocab.h"

/* tokenizer.ggml.pre is written as "llama-bpe" for the LLaMA-3 splitter and
 * left out for the default one, as in the published BitNet-b1.58-2B-4T file
 * (llama.cpp then uses 'default'); add_space_prefix only when it differs
 * from the model type's default. */
bitnet_status bn_vocab_write_gguf(const bn_vocab *v, bn_gguf_writer *w);

#endif
