/* The device weight plan (engine/model/cuda_weights.h) on fixture models:
 * four fused groups per layer with contiguous word offsets; packing a group
 * gives back every I2_S code of each of its projections at its row offset,
 * and the raw sums over the fused rows are the reference's per projection;
 * projections the kernels do not take are refused naming the tensor. */
#include "cuda_weights.h"

#include "bitnet.h"
#include "cuda/cuda_layout.h"
#include "fixture.h"
#include "ref/kernels_ref.h"
#include "testutil.h"
#include "types.h"

static bitnet_model *fixture(const char *name, uint32_t quant) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s.gguf", test_tmpdir("cuda_weights"), name);
    bn_fixture_params fp;
    bn_fixture_default_params(&fp);
    fp.quant = quant;
    CHECK(bn_fixture_write(&fp, path, NULL) == BITNET_OK);
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s: %s", path, bitnet_get_last_error());
    return m;
}

static void test_i2s_plan(void) {
    bitnet_model *m = fixture("i2s", BN_TYPE_I2_S);
    if (!m) return;
    bn_cuda_plan plan;
    CHECKF(bn_cuda_plan_make(m, &plan) == BITNET_OK, "%s", bitnet_get_last_error());
    CHECK(plan.n_groups == m->hp.n_layer * BN_CUDA_GROUPS_PER_LAYER);
    uint64_t next = 0;
    int64_t bad_codes = 0, bad_sums = 0;
    for (int g = 0; g < plan.n_groups; g++) {
        const bn_cuda_group *grp = &plan.groups[g];
        static const int parts[BN_CUDA_GROUPS_PER_LAYER] = {3, 1, 2, 1};
        CHECK(grp->n_parts == parts[g % BN_CUDA_GROUPS_PER_LAYER]);
        CHECK(grp->word_offset == next);
        const int64_t K = grp->K, words = bn_k16_row_words(K);
        next += (uint64_t)(grp->rows * words);
        uint32_t *buf = malloc((size_t)(grp->rows * words) * sizeof *buf);
        int8_t *q = malloc((size_t)K);
        for (int64_t k = 0; k < K; k++) q[k] = (int8_t)((k * 89 + g) % 256 - 128);
        bn_cuda_plan_pack(&plan, g, buf);
        int64_t rows = 0;
        for (int i = 0; i < grp->n_parts; i++) {
            const bn_cuda_part *p = &grp->part[i];
            CHECK(p->row0 == rows && p->w->n_in == K);
            rows += p->w->n_out;
            int32_t *want = malloc((size_t)p->w->n_out * sizeof *want);
            bn_i2s_gemv_ref(p->w->data, K, p->w->n_out, q, want);
            for (int64_t r = 0; r < p->w->n_out; r++) {
                const uint32_t *row = buf + (p->row0 + r) * words;
                int32_t sum = 0;
                for (int64_t k = 0; k < K; k++) {
                    const int c = bn_k16_code(row, k);
                    bad_codes += c != bn_i2s_code(p->w->data + r * (K / 4), k);
                    sum += c * q[k];
                }
                bad_sums += sum != want[r];
            }
            free(want);
        }
        CHECK(rows == grp->rows);
        free(buf);
        free(q);
    }
    CHECK(next == plan.total_words);
    CHECKF(bad_codes == 0 && bad_sums == 0, "%lld codes, %lld sums differ", (long long)bad_codes,
           (long long)bad_sums);
    printf("  i2s fixture: %d groups, %llu words\n", plan.n_groups,
           (unsigned long long)plan.total_words);
    bn_cuda_plan_free(&plan);
    bn_cuda_plan_free(&plan); /* twice: a freed plan is empty */
    bitnet_model_free(m);
}

static void test_refused(void) {
    bitnet_model *m = fixture("f16", BN_TYPE_F16);
    if (!m) return;
    bn_cuda_plan plan;
    CHECK(bn_cuda_plan_make(m, &plan) == BITNET_ERR_UNSUPPORTED);
    const char *msg = bitnet_get_last_error();
    CHECKF(strstr(msg, "blk.0.attn_q") && strstr(msg, "f16") && strstr(msg, "I2_S"), "%s", msg);
    CHECK(plan.groups == NULL && plan.n_groups == 0);
    printf("  f16 fixture refused: %s\n", msg);
    bitnet_model_free(m);
}

int main(void) {
    test_i2s_plan();
    test_refused();
    TEST_END();
}
