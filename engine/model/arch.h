/* The architecture table: what distinguishes one graph from another. The
 * forward pass is written once and reads these flags; adding an architecture
 * is adding a row to arch.c. */
#ifndef BN_ARCH_H
#define BN_ARCH_H

#include <stdbool.h>

typedef enum bn_ffn_act {
    BN_FFN_SILU = 0,  /* silu(gate) * up: 2024 `bitnet`, `llama` */
    BN_FFN_RELU2 = 1, /* relu(gate)^2 * up: BitNet-b1.58-2B-4T */
} bn_ffn_act;

typedef enum bn_rope_kind {
    BN_ROPE_NEOX = 0, /* pairs (i, i + d/2) */
    BN_ROPE_NORM = 1, /* adjacent pairs (2i, 2i+1): LLaMA-permuted q/k */
} bn_rope_kind;

typedef enum bn_head_kind {
    BN_HEAD_TIED = 0,          /* logits = token_embd · h; any output.weight is ignored */
    BN_HEAD_OUTPUT_OR_TIED = 1, /* output.weight if present, else token_embd */
} bn_head_kind;

typedef struct bn_arch {
    const char *name;    /* general.architecture value */
    const char *display; /* canonical name when `name` is an alias */
    bn_ffn_act ffn_act;
    bn_rope_kind rope;
    bn_head_kind head;
    bool sub_norms;        /* attn_sub_norm before wo, ffn_sub_norm before down */
    bool proj_scales;      /* optional blk.N.<proj>.scale multipliers (2024 bitnet) */
    bool rot_equals_head;  /* rope.dimension_count must equal the head dimension */
} bn_arch;

/* NULL if the architecture name is not known. */
const bn_arch *bn_arch_find(const char *name);
/* "bitnet, bitnet-b1.58, ..." for error messages. */
const char *bn_arch_list(void);

#endif
