/* Loading a Hugging Face model directory (config.json, safetensors, single or
 * sharded, tokenizer.json, tokenizer_config.json, generation_config.json)
 * into a bitnet_model: docs/formats.md "Hugging Face directories".
 *
 * Ternary projections end up as I2_S codes with one scale per tensor (the
 * kernels the GGUF path uses), in memory the model owns:
 *   packed U8 [out/4, in] + weight_scale: row i*R + r (R = out/4) from bits
 *     2i..2i+1 of packed[r] (value - 1); scale = weight_scale for
 *     autobitlinear, 1 / weight_scale for bitlinear;
 *   float masters [out, in] with quantization_mode online: ternarized as
 *     transformers' WeightQuant (absmean per tensor, round half to even).
 * Norms become F32; embeddings and an untied head F16 when every value
 * converts exactly (what bitnet.cpp's converter writes), F32 otherwise. The
 * metadata (hyper-parameters, tokenizer) is kept as an in-memory GGUF, so
 * bitnet_model_meta_str and the vocabulary code work unchanged. */
#ifndef BN_HF_LOAD_H
#define BN_HF_LOAD_H

#include <stdbool.h>

#include "bitnet.h"

struct bitnet_model;
typedef struct bn_hf_state bn_hf_state;

/* A directory, or a path whose last component is config.json. */
bool bn_hf_is_model_path(const char *path);
/* Fills m (allocated, log set) from the directory; on failure the caller
 * frees m with bitnet_model_free. */
bitnet_status bn_hf_load(struct bitnet_model *m, const char *path,
                         const bitnet_model_params *params);
void bn_hf_free(bn_hf_state *s);

/* The directory of a model path (path itself, or its config.json's
 * directory) into buf; false if it does not fit. */
bool bn_hf_dir_of(const char *path, char *buf, size_t size);

#endif
