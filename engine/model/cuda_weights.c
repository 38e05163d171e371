/* Planning is separate from packing so that a caller can size and allocate
 * the device buffer once, then pack and upload one group at a time through
 * a small host staging buffer instead of a second copy of the model. */
#include "cuda_weights.h"

#include <string.h>

#include "alloc.h"
#include "cuda/cuda_layout.h"
#include "error.h"
#include "types.h"

static bitnet_status check_part(const bn_weight *w, int64_t K) {
    if (w->type != BN_TYPE_I2_S || w->blk_scale)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "device cuda: %s is %s%s; the CUDA kernels take I2_S ternary weights only "
                       "(docs/cuda.md)",
                       w->name ? w->name : "a projection", bn_type_name(w->type),
                       w->blk_scale ? " with block scales" : "");
    if (w->n_in != K || K % BN_I2S_BLOCK != 0)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "device cuda: %s has %lld inputs, expected %lld (a multiple of %d)",
                       w->name ? w->name : "a projection", (long long)w->n_in, (long long)K,
                       BN_I2S_BLOCK);
    return BITNET_OK;
}

static bitnet_status add_group(bn_cuda_plan *plan, const bn_weight *const *ws, int n,
                               uint64_t *words) {
    bn_cuda_group *g = &plan->groups[plan->n_groups];
    memset(g, 0, sizeof *g);
    g->K = ws[0]->n_in;
    for (int i = 0; i < n; i++) {
        const bitnet_status st = check_part(ws[i], g->K);
        if (st != BITNET_OK) return st;
        g->part[i] = (bn_cuda_part){ws[i], g->rows};
        g->rows += ws[i]->n_out;
    }
    g->n_parts = n;
    g->word_offset = *words;
    *words += (uint64_t)g->rows * (uint64_t)bn_k16_row_words(g->K);
    plan->n_groups++;
    return BITNET_OK;
}

bitnet_status bn_cuda_plan_make(const bitnet_model *model, bn_cuda_plan *plan) {
    memset(plan, 0, sizeof *plan);
    const int n_layer = model->hp.n_layer;
    plan->groups = bn_calloc((size_t)n_layer * BN_CUDA_GROUPS_PER_LAYER, sizeof *plan->groups);
    if (!plan->groups) return BITNET_ERR_NOMEM;
    uint64_t words = 0;
    for (int il = 0; il < n_layer; il++) {
        const bn_layer *L = &model->layers[il];
        const bn_weight *qkv[] = {&L->wq, &L->wk, &L->wv}, *o[] = {&L->wo};
        const bn_weight *gate_up[] = {&L->ffn_gate, &L->ffn_up}, *down[] = {&L->ffn_down};
        bitnet_status st = add_group(plan, qkv, 3, &words);
        if (st == BITNET_OK) st = add_group(plan, o, 1, &words);
        if (st == BITNET_OK) st = add_group(plan, gate_up, 2, &words);
        if (st == BITNET_OK) st = add_group(plan, down, 1, &words);
        if (st != BITNET_OK) {
            bn_cuda_plan_free(plan);
            return st;
        }
    }
    plan->total_words = words;
    return BITNET_OK;
}

void bn_cuda_plan_free(bn_cuda_plan *plan) {
    if (!plan) return;
    bn_free(plan->groups);
    memset(plan, 0, sizeof *plan);
}

void bn_cuda_plan_pack(const bn_cuda_plan *plan, int g, uint32_t *dst) {
    const bn_cuda_group *grp = &plan->groups[g];
    const int64_t words = bn_k16_row_words(grp->K);
    for (int i = 0; i < grp->n_parts; i++) {
        const bn_cuda_part *p = &grp->part[i];
        /* K was checked by the plan, so the repack cannot refuse */
        (void)bn_k16_repack_i2s(p->w->data, grp->K, p->w->n_out, dst + p->row0 * words);
    }
}
