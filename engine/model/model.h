/* The loaded model: hyper-parameters, architecture row, tokenizer, and
 * pointers to the weights inside the (mapped) GGUF file. */
#ifndef BN_MODEL_H
#define BN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "bitnet.h"
#include "gguf.h"
#include "log.h"
#include "vocab.h"

typedef struct bn_hparams {
    int32_t n_vocab;
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_ff;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim; /* n_embd / n_head */
    int32_t n_rot;    /* rotated dimensions per head */
    float rope_base;
    float rms_eps;
} bn_hparams;

/* A 2-D weight W used as y = W·x: n_out rows of n_in values. */
typedef struct bn_weight {
    const char *name;
    uint32_t type;       /* bn_type */
    int64_t n_in;        /* K, GGUF ne0 */
    int64_t n_out;       /* M, GGUF ne1 */
    const uint8_t *data; /* in the file */
    size_t row_bytes;    /* bytes per row (not for whole-tensor types) */
    float scale;         /* I2_S per-tensor scale (spec 2.2); 1 otherwise */
    /* TQ1_0/TQ2_0 with differing block scales: data holds I2_S codes and
     * blk_scale[n_out][n_in / 256] the block scales (tq_load.h); NULL else. */
    const float *blk_scale;
    void *owned;      /* memory of data / blk_scale made at load (freed with the model) */
    float post_scale; /* optional blk.N.<proj>.scale multiplier; 1 if absent */
    bool has_post_scale;
    const float *bias; /* [n_out] or NULL */
} bn_weight;

typedef struct bn_layer {
    const float *attn_norm;     /* [n_embd] */
    bn_weight wq;               /* [n_embd] -> [n_head * head_dim] */
    bn_weight wk;               /* [n_embd] -> [n_head_kv * head_dim] */
    bn_weight wv;               /* [n_embd] -> [n_head_kv * head_dim] */
    const float *attn_sub_norm; /* [n_head * head_dim], when arch->sub_norms */
    bn_weight wo;               /* [n_head * head_dim] -> [n_embd] */
    const float *ffn_norm;      /* [n_embd] */
    bn_weight ffn_gate;         /* [n_embd] -> [n_ff] */
    bn_weight ffn_up;           /* [n_embd] -> [n_ff] */
    const float *ffn_sub_norm;  /* [n_ff], when arch->sub_norms */
    bn_weight ffn_down;         /* [n_ff] -> [n_embd] */
} bn_layer;

struct bitnet_model {
    bn_gguf *file;          /* for a Hugging Face directory: its metadata, in memory (hf_load.h) */
    struct bn_hf_state *hf; /* NULL for GGUF files */
    const bn_arch *arch;
    bn_hparams hp;
    bn_vocab *vocab;
    bn_logger log;
    bool vocab_only;
    bn_weight tok_embd;       /* [n_vocab] rows of [n_embd]: lookup table */
    const float *output_norm; /* [n_embd] */
    bn_weight output;         /* the head: [n_embd] -> [n_vocab] */
    bn_layer *layers;         /* [n_layer] */
    uint64_t n_params;
    uint64_t n_bytes;
    /* during load only: I2_S block layout of the file (64 or 128) and the
     * user's kernel_config.ini (NULL: none) */
    int i2s_block;
    struct bn_kernel_config *kernel_config;
};

/* Dequantizes row `row` of a weight (any type with to_float, or I2_S) into dst[n_in]. */
void bn_weight_row_to_float(const bn_weight *w, int64_t row, float *dst);

#endif
