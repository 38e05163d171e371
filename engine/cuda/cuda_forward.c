/* bn_forward (engine/model/forward.c) for one token, step by step on the
 * device; the comments name the CPU step each launch stands for. All
 * launches go to the default stream in order, so no synchronization is
 * needed until the logits are downloaded. */
#include "cuda_forward.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cuda_kernels.h"
#include "cuda_layout.h"
#include "cuda_weights.h"
#include "error.h"
#include "ops.h"
#include "types.h"

typedef struct dev_group {
    const uint32_t *w; /* K16 words of the group */
    int64_t K, rows;
    int n_parts;
    bn_cuda_out_part out[BN_CUDA_MAX_PARTS];
} dev_group;

struct bn_cuda_model {
    const bitnet_model *m;
    int n_ctx, n_batch;
    void *allocs[32 + 64 * 12]; /* every device allocation (≤ 64 layers), freed together */
    int n_allocs;
    dev_group *groups; /* [n_layer * BN_CUDA_GROUPS_PER_LAYER] */
    float **norms;     /* [n_layer][4]: attn, attn_sub, ffn, ffn_sub (NULL when absent) */
    float *output_norm;
    uint16_t *head; /* [n_vocab][n_embd] F16 */
    uint16_t *kt;   /* [n_layer][KV][n_ctx] keys transposed */
    uint16_t *vc;   /* [n_layer][n_ctx][KV] */
    /* activations, for T <= n_batch tokens */
    float *in;  /* [T][E] embedding rows, then [T][n_rot] RoPE tables: one upload; x = in */
    float *xn;  /* [T][max(E, F, Q)] */
    int8_t *q8; /* [T][max(E, F, Q)] */
    float *sx;
    int32_t *sum;           /* [T] */
    int32_t *raw;           /* [T][max group rows] */
    float *q, *k, *v, *att; /* [T][Q], [T][KV], [T][KV], [T][Q] */
    float *gate, *up, *mm;  /* [T][F], [T][F], [T][E] */
    float *scores, *logits; /* [n_head][n_ctx], [n_vocab] */
    void *work;             /* attention split */
    float *h_in;            /* host staging, as `in` */
};

static bool cu_ok(int err, const char *what) {
    if (!err) return true;
    bn_fail(BITNET_ERR_UNSUPPORTED, "device cuda: %s: %s", what, bn_cuda_error_string(err));
    return false;
}

static void *dev_alloc(bn_cuda_model *cm, size_t bytes) {
    if (cm->n_allocs == (int)(sizeof cm->allocs / sizeof cm->allocs[0])) {
        bn_fail(BITNET_ERR_INTERNAL, "device cuda: too many device buffers");
        return NULL;
    }
    void *d = NULL;
    if (!cu_ok(bn_cuda_malloc(&d, bytes), "cudaMalloc")) return NULL;
    cm->allocs[cm->n_allocs++] = d;
    return d;
}

static void *dev_upload(bn_cuda_model *cm, const void *src, size_t bytes) {
    void *d = dev_alloc(cm, bytes);
    if (d && !cu_ok(bn_cuda_upload(d, src, bytes), "upload")) return NULL;
    return d;
}

void bn_cuda_model_free(bn_cuda_model *cm) {
    if (!cm) return;
    for (int i = 0; i < cm->n_allocs; i++) bn_cuda_free(cm->allocs[i]);
    bn_free(cm->groups);
    bn_free(cm->norms);
    bn_free(cm->h_in);
    bn_free(cm);
}

static bool upload_weights(bn_cuda_model *cm, const bn_cuda_plan *plan) {
    uint32_t *all = dev_alloc(cm, (size_t)plan->total_words * 4);
    if (!all) return false;
    for (int g = 0; g < plan->n_groups; g++) {
        const bn_cuda_group *pg = &plan->groups[g];
        dev_group *dg = &cm->groups[g];
        const size_t words = (size_t)pg->rows * (size_t)bn_k16_row_words(pg->K);
        uint32_t *stage = bn_malloc_array(words, sizeof *stage); /* one group at a time */
        if (!stage) return false;
        bn_cuda_plan_pack(plan, g, stage);
        const bool ok = cu_ok(bn_cuda_upload(all + pg->word_offset, stage, words * 4), "upload");
        bn_free(stage);
        if (!ok) return false;
        dg->w = all + pg->word_offset;
        dg->K = pg->K;
        dg->rows = pg->rows;
        dg->n_parts = pg->n_parts;
        for (int i = 0; i < pg->n_parts; i++) {
            const bn_weight *w = pg->part[i].w;
            bn_cuda_out_part *o = &dg->out[i];
            memset(o, 0, sizeof *o);
            o->row0 = pg->part[i].row0;
            o->n = w->n_out;
            o->s_w = w->scale;
            o->post_scale = w->post_scale;
            o->has_post = w->has_post_scale;
            if (w->bias && !(o->d_bias = dev_upload(cm, w->bias, (size_t)w->n_out * 4)))
                return false;
        }
    }
    return true;
}

bn_cuda_model *bn_cuda_model_new(const bitnet_model *m, int n_ctx, int n_batch) {
    const bn_hparams *hp = &m->hp;
    if (n_ctx < 1 || n_ctx > (1 << 20) || n_batch < 1 || n_batch > 4096) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "device cuda: n_ctx %d / n_batch %d out of range",
                n_ctx, n_batch);
        return NULL;
    }
    if (m->output.type != BN_TYPE_F16) {
        bn_fail(BITNET_ERR_UNSUPPORTED,
                "device cuda: the output head %s is %s; the CUDA head takes F16",
                m->output.name ? m->output.name : "", bn_type_name(m->output.type));
        return NULL;
    }
    const int64_t E = hp->n_embd, F = hp->n_ff, hd = hp->head_dim;
    const int64_t Q = (int64_t)hp->n_head * hd, KV = (int64_t)hp->n_head_kv * hd;
    if (E > BN_CUDA_NORM_MAX || F > BN_CUDA_NORM_MAX || Q > BN_CUDA_NORM_MAX) {
        bn_fail(BITNET_ERR_UNSUPPORTED, "device cuda: rows above %d values", BN_CUDA_NORM_MAX);
        return NULL;
    }
    if (hp->n_layer > 64) {
        bn_fail(BITNET_ERR_UNSUPPORTED, "device cuda: %d layers (at most 64 here)", hp->n_layer);
        return NULL;
    }
    char name[256];
    const int n_dev = bn_cuda_init(name, sizeof name);
    if (n_dev <= 0) {
        bn_fail(BITNET_ERR_UNSUPPORTED, "device cuda: no CUDA device: %s",
                n_dev < 0 ? bn_cuda_error_string(-n_dev) : "none found");
        return NULL;
    }
    bn_cuda_plan plan;
    if (bn_cuda_plan_make(m, &plan) != BITNET_OK) return NULL;

    bn_cuda_model *cm = bn_calloc(1, sizeof *cm);
    if (!cm) goto fail_plan;
    cm->m = m;
    cm->n_ctx = n_ctx;
    cm->n_batch = n_batch;
    const size_t B = (size_t)n_batch;
    cm->groups = bn_calloc((size_t)plan.n_groups, sizeof *cm->groups);
    cm->norms = bn_calloc((size_t)hp->n_layer * 4, sizeof *cm->norms);
    cm->h_in = bn_malloc_array(B * (size_t)(E + hp->n_rot), sizeof *cm->h_in);
    if (!cm->groups || !cm->norms || !cm->h_in || !upload_weights(cm, &plan)) goto fail;

    for (int il = 0; il < hp->n_layer; il++) {
        const bn_layer *L = &m->layers[il];
        const float *src[4] = {L->attn_norm, L->attn_sub_norm, L->ffn_norm, L->ffn_sub_norm};
        const int64_t len[4] = {E, Q, E, F};
        for (int i = 0; i < 4; i++)
            if (src[i] && !(cm->norms[il * 4 + i] = dev_upload(cm, src[i], (size_t)len[i] * 4)))
                goto fail;
    }
    const int64_t wide = E > F ? (E > Q ? E : Q) : (F > Q ? F : Q);
    int64_t max_rows = 0;
    for (int g = 0; g < plan.n_groups; g++)
        if (plan.groups[g].rows > max_rows) max_rows = plan.groups[g].rows;
    const size_t cache = (size_t)hp->n_layer * (size_t)KV * (size_t)n_ctx * 2;
    if (!(cm->output_norm = dev_upload(cm, m->output_norm, (size_t)E * 4)) ||
        !(cm->head = dev_upload(cm, m->output.data, (size_t)hp->n_vocab * (size_t)E * 2)) ||
        !(cm->kt = dev_alloc(cm, cache)) || !(cm->vc = dev_alloc(cm, cache)) ||
        !(cm->in = dev_alloc(cm, B * (size_t)(E + hp->n_rot) * 4)) ||
        !(cm->xn = dev_alloc(cm, B * (size_t)wide * 4)) ||
        !(cm->q8 = dev_alloc(cm, B * (size_t)wide)) || !(cm->sx = dev_alloc(cm, B * 4)) ||
        !(cm->sum = dev_alloc(cm, B * 4)) || !(cm->raw = dev_alloc(cm, B * (size_t)max_rows * 4)) ||
        !(cm->q = dev_alloc(cm, B * (size_t)Q * 4)) ||
        !(cm->k = dev_alloc(cm, B * (size_t)KV * 4)) ||
        !(cm->v = dev_alloc(cm, B * (size_t)KV * 4)) ||
        !(cm->att = dev_alloc(cm, B * (size_t)Q * 4)) ||
        !(cm->gate = dev_alloc(cm, B * (size_t)F * 4)) ||
        !(cm->up = dev_alloc(cm, B * (size_t)F * 4)) ||
        !(cm->mm = dev_alloc(cm, B * (size_t)E * 4)) ||
        !(cm->scores = dev_alloc(cm, (size_t)hp->n_head * (size_t)n_ctx * 4)) ||
        !(cm->logits = dev_alloc(cm, (size_t)hp->n_vocab * 4)) ||
        !(cm->work = dev_alloc(cm, bn_cuda_attn_work_bytes(hp->n_head, (int)hd, n_ctx))))
        goto fail;
    /* the group outputs of every layer land in the same activation buffers */
    for (int il = 0; il < hp->n_layer; il++) {
        dev_group *g = &cm->groups[il * BN_CUDA_GROUPS_PER_LAYER];
        g[0].out[0].d_y = cm->q, g[0].out[1].d_y = cm->k, g[0].out[2].d_y = cm->v;
        g[1].out[0].d_y = cm->mm;
        g[2].out[0].d_y = cm->gate, g[2].out[1].d_y = cm->up;
        g[3].out[0].d_y = cm->mm;
    }
    bn_cuda_plan_free(&plan);
    return cm;
fail:
    bn_cuda_model_free(cm);
fail_plan:
    bn_cuda_plan_free(&plan);
    return NULL;
}

/* bn_quantize_activations' result in q8 times group g for T tokens: the
 * dp4a GEMV for one token, the tensor-core GEMM for more (the same integers),
 * then the parts' outputs. */
static int linear(bn_cuda_model *cm, const dev_group *g, int T) {
    int err = T == 1 ? bn_cuda_i2s_gemv(g->w, g->K, g->rows, cm->q8, cm->raw)
                     : bn_cuda_i2s_gemm(g->w, g->K, g->rows, cm->q8, g->K, T, cm->raw, g->rows);
    if (!err) err = bn_cuda_bitlinear_out(cm->raw, g->rows, T, cm->sum, cm->sx, g->out, g->n_parts);
    return err;
}

/* norm_rows of T rows (or nothing when w is NULL) then their quantization, into q8 */
static int norm_quant(bn_cuda_model *cm, const float *x, const float *w, int64_t n, int T) {
    const float eps = cm->m->hp.rms_eps;
    if (w) return bn_cuda_rmsnorm_quant(x, w, n, T, eps, cm->xn, cm->q8, cm->sx, cm->sum);
    return bn_cuda_quantize_i8(x, n, T, cm->q8, cm->sx, cm->sum);
}

bitnet_status bn_cuda_eval(bn_cuda_model *cm, const bitnet_token *tokens, int T, int pos0,
                           float *logits) {
    const bitnet_model *m = cm->m;
    const bn_hparams *hp = &m->hp;
    if (T < 1 || T > cm->n_batch || pos0 < 0 || pos0 > cm->n_ctx - T)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "device cuda: %d tokens at position %d (n_batch %d, n_ctx %d)", T, pos0,
                       cm->n_batch, cm->n_ctx);
    for (int t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= hp->n_vocab)
            return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "device cuda: token %d out of range",
                           tokens[t]);
    const int64_t E = hp->n_embd, F = hp->n_ff, hd = hp->head_dim;
    const int64_t Q = (int64_t)hp->n_head * hd, KV = (int64_t)hp->n_head_kv * hd;
    const int neox = m->arch->rope == BN_ROPE_NEOX;
    const int silu = m->arch->ffn_act == BN_FFN_SILU;
    float *x = cm->in, *cs = cm->in + (int64_t)T * E; /* [T][E], [T][n_rot] */

    /* embed + bn_rope_table of each position: the step's one upload */
    for (int t = 0; t < T; t++) {
        bn_weight_row_to_float(&m->tok_embd, tokens[t], cm->h_in + (int64_t)t * E);
        bn_rope_table(cm->h_in + (int64_t)T * E + (int64_t)t * hp->n_rot, pos0 + t, hp->n_rot,
                      hp->rope_base, false);
    }
    int err = bn_cuda_upload(cm->in, cm->h_in, (size_t)T * (size_t)(E + hp->n_rot) * 4);

    for (int il = 0; il < hp->n_layer && !err; il++) {
        const dev_group *g = &cm->groups[il * BN_CUDA_GROUPS_PER_LAYER];
        float *const *nw = &cm->norms[il * 4];
        uint16_t *kt = cm->kt + (size_t)il * (size_t)KV * (size_t)cm->n_ctx;
        uint16_t *vc = cm->vc + (size_t)il * (size_t)KV * (size_t)cm->n_ctx;
        /* attention block */
        err = norm_quant(cm, x, nw[0], E, T);
        if (!err) err = linear(cm, &g[0], T);
        if (!err) err = bn_cuda_rope(cm->q, T, hp->n_head, (int)hd, hp->n_rot, cs, neox);
        if (!err) err = bn_cuda_rope(cm->k, T, hp->n_head_kv, (int)hd, hp->n_rot, cs, neox);
        /* compat: several tokens of one sequence see Q through F16 (attention.c) */
        if (!err && T > 1) err = bn_cuda_round_f16(cm->q, (int64_t)T * Q);
        for (int t = 0; t < T && !err; t++)
            err = bn_cuda_kv_store(cm->k + t * KV, cm->v + t * KV, KV, pos0 + t, kt, cm->n_ctx, vc);
        /* causal: token t attends to cells 0..pos0+t, one split launch each */
        for (int t = 0; t < T && !err; t++)
            err = bn_cuda_attn_decode(cm->q + t * Q, kt, cm->n_ctx, vc, hp->n_head, hp->n_head_kv,
                                      (int)hd, pos0 + t + 1, cm->scores, cm->work, cm->att + t * Q);
        if (!err) err = norm_quant(cm, cm->att, m->arch->sub_norms ? nw[1] : NULL, Q, T);
        if (!err) err = linear(cm, &g[1], T);
        if (!err) err = bn_cuda_add(x, cm->mm, (int64_t)T * E);
        /* feed-forward block */
        if (!err) err = norm_quant(cm, x, nw[2], E, T);
        if (!err) err = linear(cm, &g[2], T);
        if (!err) err = bn_cuda_ffn_act(cm->gate, cm->up, (int64_t)T * F, silu);
        if (!err) err = norm_quant(cm, cm->gate, m->arch->sub_norms ? nw[3] : NULL, F, T);
        if (!err) err = linear(cm, &g[3], T);
        if (!err) err = bn_cuda_add(x, cm->mm, (int64_t)T * E);
    }
    /* the last token's output norm, then the F16 head; compat rounds the
     * hidden state to F16 first only where bitnet.cpp does (matmul.c's
     * linear_float: K % 16 != 0) */
    const float *last = x + (int64_t)(T - 1) * E;
    if (!err)
        err = bn_cuda_rmsnorm_quant(last, cm->output_norm, E, 1, hp->rms_eps, cm->xn, NULL, NULL,
                                    NULL);
    if (!err && E % 16 != 0) err = bn_cuda_round_f16(cm->xn, E);
    if (!err) err = bn_cuda_head_f16(cm->head, E, hp->n_vocab, cm->xn, cm->logits);
    if (!err) err = bn_cuda_download(logits, cm->logits, (size_t)hp->n_vocab * 4);
    if (err)
        return bn_fail(BITNET_ERR_UNSUPPORTED, "device cuda: forward: %s",
                       bn_cuda_error_string(err));
    return BITNET_OK;
}

bitnet_status bn_cuda_decode(bn_cuda_model *cm, bitnet_token token, int pos, float *logits) {
    return bn_cuda_eval(cm, &token, 1, pos, logits);
}
