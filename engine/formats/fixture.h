/* Deterministic synthetic GGUF models ("fixtures") of any shape, for tests,
 * cross-validation against the Python reference and bitnet.cpp, and
 * benchmarks (`bitnet fixture`, docs/fixtures.md).
 *
 * Every value comes from a counter-based PRNG (splitmix64 of seed, tensor
 * name and element index) through integer arithmetic and exactly
 * representable floats (small integers times powers of two), so the same
 * parameters give a byte-identical file on every machine.
 *
 * Kinds:
 *   random  ternary projections with one random scale per matrix (within a
 *           factor 2 of 1/sqrt(2K/3), so each output is O(1)); norms
 *           1 ± k/64; embedding k·2^-p with k in [-4, 4] (logit spread ~3).
 *   peaked  an embedding and FFN built so that greedy decoding follows a
 *           fixed permutation cycle of the vocabulary's pieces by a margin of
 *           several logits, with random attention adding a bounded,
 *           position-dependent part (see fixture.c for the construction). */
#ifndef BN_FIXTURE_H
#define BN_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"
#include "vocab.h"

#define BN_FIXTURE_GENERATOR "bitnet fixture 1"

typedef enum bn_fixture_kind {
    BN_FIXTURE_RANDOM = 0,
    BN_FIXTURE_PEAKED = 1,
} bn_fixture_kind;

typedef struct bn_fixture_params {
    const char *arch; /* "bitnet", "bitnet-b1.58" (alias "bitnet-25"), "llama" */
    bn_fixture_kind kind;
    int32_t n_embd, n_ff, n_layer, n_head, n_head_kv;
    int32_t n_vocab; /* synthetic vocabulary size (ignored with vocab_from) */
    int32_t n_ctx;
    float rope_base;
    float rms_eps;
    uint64_t seed;
    uint32_t quant;         /* projections: I2_S, TQ1_0, TQ2_0, TL1, TL2, F16, F32 */
    bn_vocab_kind vocab;    /* synthetic vocabulary: SPM or BPE */
    const char *vocab_from; /* copy every tokenizer.* key of this GGUF (NULL: synthetic) */
    const char *name;       /* general.name (NULL: "fixture-<arch>-<kind>") */
    /* Testing aids: zero the attention output projection / the FFN down
     * projection of one layer (-1: none), to measure what it contributes. */
    int32_t ablate_attn;
    int32_t ablate_ffn;
    /* Testing aid: scale every 256-value block of a projection by its own
     * factor (8 + k)/8 (not i2_s, which has one scale per tensor), so that
     * TQ files take the block-scaled path; the f32 file of the same
     * parameters holds the same weights exactly. */
    bool block_scales;
    /* Testing aid: round every projection scale down to a power of two, so
     * that 1/scale and bf16(scale) are exact (--format hf writes its
     * bitlinear and bf16-online variants from such scales; the GGUF of the
     * same parameters then holds the same model bit for bit). */
    bool pow2_scales;
    /* Peaked: greedy tokens over which the margin is measured with the
     * engine after writing (0: skip; the key is then absent). */
    int32_t margin_tokens;
    int32_t n_threads; /* for the margin run; 0: default */
    /* I2_S layout: 0 or 128 (default), or 64, bitnet.cpp's ARM layout
     * (i2s_blocks.h; the file then says so in bitnet.i2s.block_size). TL1/TL2
     * use bitnet.cpp's BM/BK/bm for shapes it has presets for, else
     * bn_tl_default_params, and record them in bitnet.tl.<M>x<K>.* keys. */
    int32_t i2s_block;
    /* Testing aid: leave those layout keys out, as bitnet.cpp's writers do. */
    bool no_layout_keys;
} bn_fixture_params;

typedef struct bn_fixture_result {
    int32_t n_vocab;
    uint64_t file_bytes;
    /* Peaked with margin_tokens > 0: the smallest top-1 minus top-2 logit
     * over the greedy run, the step where it occurred, and how many steps
     * chose the token the permutation predicts. */
    bool measured;
    float min_margin;
    int32_t min_margin_step;
    int32_t n_follow;
    int32_t n_steps;
} bn_fixture_result;

/* Defaults: preset tiny, arch bitnet, random, seed 0, i2_s, SPM vocabulary,
 * rms eps 1e-5, margin over 64 tokens. */
void bn_fixture_default_params(bn_fixture_params *p);

/* Applies a preset's shape (tiny, small, 700m, 2b4t). 2b4t also sets arch
 * bitnet-b1.58 and a BPE vocabulary. False for an unknown name. */
bool bn_fixture_apply_preset(const char *name, bn_fixture_params *p);
/* "tiny, small, 700m, 2b4t" */
const char *bn_fixture_preset_list(void);

/* Checks the combination; the error message names the offending CLI flag
 * ("--n-embd 100 is not a multiple of 128, required by --quant i2_s"). */
bitnet_status bn_fixture_check(const bn_fixture_params *p);

/* The normalized argument string stored in bitnet.fixture.args: every value,
 * in a fixed order (snprintf semantics). */
int bn_fixture_args(const bn_fixture_params *p, char *buf, size_t size);

/* Generates the model and writes it to `path` (result may be NULL). */
bitnet_status bn_fixture_write(const bn_fixture_params *p, const char *path,
                               bn_fixture_result *result);

/* Greedy run with the engine (compat numerics) from `prompt`: n_gen steps,
 * each feeding back the argmax. tokens_out[n_gen] and margins_out[n_gen]
 * (top-1 minus top-2 logit) may be NULL. */
bitnet_status bn_fixture_greedy(const char *path, const bitnet_token *prompt, int32_t n_prompt,
                                int32_t n_gen, int32_t n_threads, bitnet_token *tokens_out,
                                float *margins_out);

/* The fixed prompt the margin is measured from: BOS (if the vocabulary has
 * one) and three pieces of the permutation's domain. Returns the count. */
int32_t bn_fixture_margin_prompt(const char *path, bitnet_token *prompt, int32_t cap);

/* ---------------------------------------------------------------------------
 * Hugging Face directories of the same synthetic models (fixture_hf.c):
 * config.json, model.safetensors (or shards and model.safetensors.index.json),
 * tokenizer.json, tokenizer_config.json, generation_config.json, in the
 * layout transformers' BitNetForCausalLM (arch bitnet-b1.58) or
 * LlamaForCausalLM (arch llama) loads. The ternary codes and scales are the
 * I2_S fixture's of the same parameters, so both load to the same weights.
 * ------------------------------------------------------------------------- */

typedef enum bn_hf_variant {
    BN_HF_PACKED_AUTOBITLINEAR = 0, /* U8 codes + weight_scale = scale */
    BN_HF_PACKED_BITLINEAR = 1,     /* U8 codes + weight_scale = 1 / scale */
    BN_HF_BF16_ONLINE = 2,          /* BF16 masters whose absmean ternarization is codes, scale */
} bn_hf_variant;

bool bn_hf_variant_parse(const char *name, bn_hf_variant *out);
const char *bn_hf_variant_name(bn_hf_variant v);
/* "packed-autobitlinear, packed-bitlinear, bf16-online" */
const char *bn_hf_variant_list(void);

/* Writes the directory `dir` (created if missing; files in it replaced).
 * p->quant must be i2_s and the vocabulary byte-level BPE; n_shards >= 1
 * (more than one: the tensors are dealt round-robin, so a weight and its
 * weight_scale land in different shards). */
bitnet_status bn_fixture_write_hf(const bn_fixture_params *p, bn_hf_variant variant,
                                  int32_t n_shards, const char *dir, bn_fixture_result *result);

#endif
