#include "arch.h"

#include <string.h>

static const bn_arch arch_table[] = {
    /* 2024 graph of the 1bitLLM models (spec 1.5) */
    {.name = "bitnet", .display = "bitnet", .ffn_act = BN_FFN_SILU, .rope = BN_ROPE_NEOX,
     .head = BN_HEAD_TIED, .sub_norms = true, .proj_scales = true, .rot_equals_head = false},
    /* BitNet-b1.58-2B-4T (spec 1.4); `bitnet-25` is the name before 2025-04-22 */
    {.name = "bitnet-b1.58", .display = "bitnet-b1.58", .ffn_act = BN_FFN_RELU2,
     .rope = BN_ROPE_NEOX, .head = BN_HEAD_TIED, .sub_norms = true, .proj_scales = false,
     .rot_equals_head = true},
    {.name = "bitnet-25", .display = "bitnet-b1.58", .ffn_act = BN_FFN_RELU2,
     .rope = BN_ROPE_NEOX, .head = BN_HEAD_TIED, .sub_norms = true, .proj_scales = false,
     .rot_equals_head = true},
    /* Llama-family 1.58-bit models (Llama3-8B-1.58, Falcon3-1.58bit; spec 1.6) */
    {.name = "llama", .display = "llama", .ffn_act = BN_FFN_SILU, .rope = BN_ROPE_NORM,
     .head = BN_HEAD_OUTPUT_OR_TIED, .sub_norms = false, .proj_scales = false,
     .rot_equals_head = false},
    /* Llama-family 1.58-bit models loaded from a Hugging Face directory: the
     * weights keep the HF layout (q/k not permuted), so RoPE rotates the
     * pairs (i, i + d/2) as transformers' rotate_half does */
    {.name = "llama-hf", .display = "llama", .ffn_act = BN_FFN_SILU, .rope = BN_ROPE_NEOX,
     .head = BN_HEAD_OUTPUT_OR_TIED, .sub_norms = false, .proj_scales = false,
     .rot_equals_head = true},
};

const bn_arch *bn_arch_find(const char *name) {
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i].name, name) == 0) return &arch_table[i];
    return NULL;
}

const char *bn_arch_list(void) { return "bitnet, bitnet-b1.58 (alias bitnet-25), llama, llama-hf"; }
