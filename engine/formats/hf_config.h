/* The JSON files of a Hugging Face model directory, parsed strictly
 * (catalogue J1-J7; docs/formats.md "Hugging Face directories"):
 *
 *   config.json             architecture, hyper-parameters, quantization_config
 *   tokenizer_config.json   bos/eos tokens, add_bos_token, chat_template
 *   generation_config.json  eos_token_id (an id or a list), bos_token_id
 *
 * Values that would change the computation in a way libbitnet does not
 * implement (another activation, rope_scaling, biases, an unknown
 * quantization_config key or value, layers left dense) are refused naming the
 * file, the key and the value. Keys that do not change it (initializer_range,
 * use_cache, torch_dtype, ...) are ignored. */
#ifndef BN_HF_CONFIG_H
#define BN_HF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"
#include "model.h"

enum { BN_HF_JSON_MAX_BYTES = 16 << 20, BN_HF_MAX_EOS = 8 };

typedef enum bn_hf_family {
    BN_HF_BITNET = 0, /* BitNetForCausalLM / BitnetForCausalLM, model_type bitnet */
    BN_HF_LLAMA = 1,  /* LlamaForCausalLM with a bitnet quantization_config */
} bn_hf_family;

/* quantization_config.linear_class: what weight_scale means. */
typedef enum bn_hf_linear {
    BN_HF_BITLINEAR = 0,     /* W = codes / weight_scale (the default) */
    BN_HF_AUTOBITLINEAR = 1, /* W = codes * weight_scale */
} bn_hf_linear;

typedef struct bn_hf_config {
    bn_hf_family family;
    char architecture[64]; /* architectures[0] (or model_type) as written */
    const char *arch;      /* the arch.c row: "bitnet-b1.58" or "llama-hf" */
    bn_hparams hp;         /* n_vocab is vocab_size; head_dim and n_rot set */
    bool tie_word_embeddings;
    bn_hf_linear linear_class;
    bool online;            /* quantization_mode "online": float masters, ternarized at load */
    int64_t bos_id, eos_id; /* -1: not given (first of a list for eos) */
} bn_hf_config;

/* config.json from memory; `name` (the path) is used in messages. */
bitnet_status bn_hf_config_parse(const char *name, const char *json, size_t len, bn_hf_config *out);

typedef struct bn_hf_tok_config {
    char *bos_token, *eos_token;      /* NULL: not given */
    int add_bos_token, add_eos_token; /* -1: not given, else 0 / 1 */
    char *chat_template;              /* NULL: not given */
} bn_hf_tok_config;

bitnet_status bn_hf_tok_config_parse(const char *name, const char *json, size_t len,
                                     bn_hf_tok_config *out);
void bn_hf_tok_config_free(bn_hf_tok_config *c);

typedef struct bn_hf_gen_config {
    int64_t bos_id; /* -1: not given */
    int64_t eos_ids[BN_HF_MAX_EOS];
    int n_eos;
} bn_hf_gen_config;

bitnet_status bn_hf_gen_config_parse(const char *name, const char *json, size_t len,
                                     bn_hf_gen_config *out);

#endif
