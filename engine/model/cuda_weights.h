/* The device layout of a model's ternary projections, planned and packed on
 * the host (docs/cuda.md): per layer four groups, each one K16 buffer
 * (kernels/cuda/cuda_layout.h) whose rows are its projections' rows one
 * after the other, so that one GEMV launch computes them all:
 *   {Q, K, V} over n_embd, {O} over n_head·head_dim, {gate, up} over
 *   n_embd, {down} over n_ff.
 * Each part keeps its own scale, post-scale and bias (applied per part
 * after the fused launch). The plan is plain host data; engine/cuda's
 * forward pass uploads it. */
#ifndef BN_CUDA_WEIGHTS_H
#define BN_CUDA_WEIGHTS_H

#include <stdint.h>

#include "model.h"

#define BN_CUDA_GROUPS_PER_LAYER 4
#define BN_CUDA_MAX_PARTS 3

typedef struct bn_cuda_part {
    const bn_weight *w;
    int64_t row0; /* first row of this weight in the group */
} bn_cuda_part;

typedef struct bn_cuda_group {
    int n_parts;
    bn_cuda_part part[BN_CUDA_MAX_PARTS];
    int64_t K;            /* shared input width */
    int64_t rows;         /* Σ n_out of the parts */
    uint64_t word_offset; /* first word of the group in the model's K16 buffer */
} bn_cuda_group;

typedef struct bn_cuda_plan {
    int n_groups; /* n_layer · BN_CUDA_GROUPS_PER_LAYER, group 4·il + {0 qkv, 1 o, 2 gate_up, 3
                     down} */
    bn_cuda_group *groups;
    uint64_t total_words; /* 32-bit words of all groups (4 bytes each) */
} bn_cuda_plan;

/* Plans every projection of `model`. Fails with BITNET_ERR_UNSUPPORTED
 * naming the tensor when one is not I2_S (block-scaled TQ, float or TL
 * weights the device kernels do not take yet); *plan is then empty. */
bitnet_status bn_cuda_plan_make(const bitnet_model *model, bn_cuda_plan *plan);
void bn_cuda_plan_free(bn_cuda_plan *plan);

/* Writes group g's K16 words ([rows][K/16]) to dst. */
void bn_cuda_plan_pack(const bn_cuda_plan *plan, int g, uint32_t *dst);

#endif
