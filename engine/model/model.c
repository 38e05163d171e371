/* Model loading: architecture, hyper-parameters and weights, each validated
 * against the others before anything runs (catalogue G10, G11, G20, G21). */
#include "model.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"
#include "error.h"
#include "hf_load.h"
#include "hparams.h"
#include "i2s_blocks.h"
#include "kernel_config.h"
#include "tl_load.h"
#include "tq_load.h"
#include "types.h"

enum { KEY_MAX = 160 };

/* "<arch>.<suffix>" with the architecture name as written in the file. */
static const char *arch_key(char *buf, const char *arch, const char *suffix) {
    snprintf(buf, KEY_MAX, "%s.%s", arch, suffix);
    return buf;
}

static bitnet_status get_i32_key(const bn_gguf *g, const char *arch, const char *suffix,
                                 int32_t min, int32_t max, int32_t *out) {
    char key[KEY_MAX];
    int64_t v = 0;
    bitnet_status st = bn_gguf_get_i64(g, arch_key(key, arch, suffix), &v);
    if (st) return st;
    if (v < min || v > max)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: metadata key '%s' = %" PRId64 " is out of range [%d, %d]", g->path, key,
                       v, min, max);
    *out = (int32_t)v;
    return BITNET_OK;
}

static bitnet_status read_hparams(bitnet_model *m, const char *arch) {
    const bn_gguf *g = m->file;
    bn_hparams *hp = &m->hp;
    char key[KEY_MAX];
    bitnet_status st;
    if ((st = get_i32_key(g, arch, "embedding_length", 1, BN_HP_MAX_EMBD, &hp->n_embd)) ||
        (st = get_i32_key(g, arch, "block_count", 1, BN_HP_MAX_LAYER, &hp->n_layer)) ||
        (st = get_i32_key(g, arch, "feed_forward_length", 1, BN_HP_MAX_FF, &hp->n_ff)) ||
        (st = get_i32_key(g, arch, "attention.head_count", 1, BN_HP_MAX_HEAD, &hp->n_head)) ||
        (st = get_i32_key(g, arch, "context_length", 1, BN_HP_MAX_CTX, &hp->n_ctx_train)))
        return st;
    hp->n_head_kv = hp->n_head;
    if (bn_gguf_find(g, arch_key(key, arch, "attention.head_count_kv")) &&
        (st = get_i32_key(g, arch, "attention.head_count_kv", 1, hp->n_head, &hp->n_head_kv)))
        return st;
    char k_embd[KEY_MAX], k_head[KEY_MAX], k_head_kv[KEY_MAX], k_rot[KEY_MAX], k_eps[KEY_MAX],
        k_base[KEY_MAX];
    const bn_hparam_names names = {
        .path = g->path,
        .arch = arch,
        .n_embd = arch_key(k_embd, arch, "embedding_length"),
        .n_head = arch_key(k_head, arch, "attention.head_count"),
        .n_head_kv = arch_key(k_head_kv, arch, "attention.head_count_kv"),
        .n_rot = arch_key(k_rot, arch, "rope.dimension_count"),
        .rms_eps = arch_key(k_eps, arch, "attention.layer_norm_rms_epsilon"),
        .rope_base = arch_key(k_base, arch, "rope.freq_base"),
    };
    if ((st = bn_hparams_check_heads(hp, &names))) return st;
    if (bn_gguf_find(g, arch_key(key, arch, "attention.key_length"))) {
        int32_t kl = 0, vl = hp->head_dim;
        if ((st = get_i32_key(g, arch, "attention.key_length", 1, 1 << 16, &kl))) return st;
        if (bn_gguf_find(g, arch_key(key, arch, "attention.value_length")) &&
            (st = get_i32_key(g, arch, "attention.value_length", 1, 1 << 16, &vl)))
            return st;
        if (kl != hp->head_dim || vl != hp->head_dim)
            return bn_fail(BITNET_ERR_UNSUPPORTED,
                           "%s: %s.attention.key_length/value_length %d/%d differ from the head "
                           "dimension %d (embedding_length / head_count): not supported",
                           g->path, arch, kl, vl, hp->head_dim);
    }
    hp->n_rot = hp->head_dim;
    if (bn_gguf_find(g, arch_key(key, arch, "rope.dimension_count")) &&
        (st = get_i32_key(g, arch, "rope.dimension_count", 2, hp->head_dim, &hp->n_rot)))
        return st;
    if ((st = bn_gguf_get_f32(g, arch_key(key, arch, "attention.layer_norm_rms_epsilon"),
                              &hp->rms_eps)))
        return st;
    hp->rope_base = 10000.0f;
    if (bn_gguf_find(g, arch_key(key, arch, "rope.freq_base"))) {
        if ((st = bn_gguf_get_f32(g, key, &hp->rope_base))) return st;
    }
    if ((st = bn_hparams_check_rest(hp, m->arch, &names))) return st;
    /* linear scaling with factor 1 is what the 2024 converter writes: harmless */
    if (bn_gguf_find(g, arch_key(key, arch, "rope.scaling.factor"))) {
        float f;
        if ((st = bn_gguf_get_f32(g, key, &f))) return st;
        if (f != 1.0f && f != 0.0f)
            return bn_fail(BITNET_ERR_UNSUPPORTED, "%s: %s = %g: RoPE scaling is not supported",
                           g->path, key, (double)f);
    }
    return BITNET_OK;
}

/* Looks up a tensor and checks its shape (ne0, ne1; ne1 = 0 for 1-D). */
static bitnet_status find_tensor(const bitnet_model *m, const char *name, int64_t ne0, int64_t ne1,
                                 bool required, const bn_gguf_tensor **out) {
    const bn_gguf *g = m->file;
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, name);
    *out = t;
    if (!t) {
        if (!required) return BITNET_OK;
        return bn_fail(BITNET_ERR_FORMAT, "%s: required tensor '%s' is missing", g->path, name);
    }
    bool ok = t->ne[0] == ne0 && t->ne[1] == (ne1 ? ne1 : 1) && t->ne[2] == 1 && t->ne[3] == 1;
    if (!ok)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor '%s' has shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                       "], expected [%" PRId64 ", %" PRId64 "] from the hyper-parameters",
                       g->path, name, t->ne[0], t->ne[1], t->ne[2], t->ne[3], ne0, ne1 ? ne1 : 1);
    return BITNET_OK;
}

/* A 1-D float32 vector of length n (norm weights, biases). */
static bitnet_status load_vector(const bitnet_model *m, const char *name, int64_t n, bool required,
                                 const float **out) {
    const bn_gguf_tensor *t;
    *out = NULL;
    bitnet_status st = find_tensor(m, name, n, 0, required, &t);
    if (st || !t) return st;
    if (t->type != 0)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has type %s; norms and biases must be f32", m->file->path,
                       name, bn_type_name(t->type));
    if ((uintptr_t)t->data % sizeof(float) != 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' data is not 4-byte aligned",
                       m->file->path, name);
    *out = (const float *)t->data;
    return BITNET_OK;
}

/* Checks every code and the scale of an I2_S tensor (catalogue G21). */
static bitnet_status check_i2s(const bitnet_model *m, const bn_weight *w, bool scan_codes) {
    if (!isfinite(w->scale) || w->scale <= 0.0f)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: I2_S tensor '%s' has scale %g (must be finite and > 0)", m->file->path,
                       w->name, (double)w->scale);
    if (!scan_codes) return BITNET_OK;
    uint64_t n_bytes = (uint64_t)w->n_in * (uint64_t)w->n_out / 4;
    for (uint64_t i = 0; i < n_bytes; i++) {
        uint8_t b = w->data[i];
        /* a code is 3 when both bits of a pair are set */
        if (b & (b >> 1) & 0x55)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: I2_S tensor '%s' has the invalid 2-bit code 3 at byte %" PRIu64,
                           m->file->path, w->name, i);
    }
    return BITNET_OK;
}

static bool matmul_type_supported(uint32_t type) {
    return type == BN_TYPE_I2_S || type == BN_TYPE_F32 || type == BN_TYPE_F16 ||
           type == BN_TYPE_BF16 || type == BN_TYPE_TQ1_0 || type == BN_TYPE_TQ2_0 ||
           type == BN_TYPE_TL1 || type == BN_TYPE_TL2;
}

/* BF16 projections (a bf16 GGUF before `bitnet quantize`) are widened to F32
 * once at load: exact, and the float matmul then reads them as any F32. */
static bitnet_status widen_bf16(const char *path, bn_weight *w) {
    const size_t n = (size_t)w->n_in * (size_t)w->n_out;
    float *f = bn_malloc_array(n, sizeof *f); /* [n_out][n_in] */
    if (!f)
        return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory widening bf16 tensor '%s'", path,
                       w->name);
    bn_type_get(BN_TYPE_BF16)->to_float(w->data, f, (int64_t)n);
    w->owned = f;
    w->data = (const uint8_t *)f;
    w->type = BN_TYPE_F32;
    w->row_bytes = (size_t)w->n_in * sizeof(float);
    return BITNET_OK;
}

static bitnet_status load_weight(const bitnet_model *m, const char *name, int64_t n_in,
                                 int64_t n_out, bool required, bool check, bn_weight *w) {
    const bn_gguf_tensor *t;
    memset(w, 0, sizeof *w);
    w->scale = 1.0f;
    w->post_scale = 1.0f;
    bitnet_status st = find_tensor(m, name, n_in, n_out, required, &t);
    if (st || !t) return st;
    w->name = t->name;
    w->type = t->type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->data = t->data;
    if (!matmul_type_supported(t->type))
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has type %s, which libbitnet cannot multiply yet "
                       "(supported: i2_s, tq1_0, tq2_0, tl1, tl2, f16, bf16, f32)",
                       m->file->path, name, bn_type_name(t->type));
    if (t->type == BN_TYPE_I2_S) {
        const uint64_t code_bytes = (uint64_t)n_in * (uint64_t)n_out / 4;
        w->row_bytes = (size_t)n_in / 4;
        memcpy(&w->scale, t->data + code_bytes, sizeof(float));
        if (m->i2s_block == 64) { /* bitnet.cpp ARM layout: repacked (i2s_blocks.h) */
            uint8_t *mem = bn_aligned_alloc((size_t)code_bytes); /* freed by bn_free: free() */
            if (!mem) return BITNET_ERR_NOMEM;
            bn_i2s64_to_i2s128(t->data, n_in * n_out, mem);
            w->owned = mem;
            w->data = mem;
        }
        return check_i2s(m, w, check);
    }
    if (t->type == BN_TYPE_TL1 || t->type == BN_TYPE_TL2) {
        /* decoded in full (so every code is checked) and repacked to i2_s */
        const bn_tl_source src = {m->file, m->kernel_config, &m->log};
        bitnet_status st2 = bn_tl_load(&src, t->nbytes, w);
        return st2 ? st2 : check_i2s(m, w, false);
    }
    if (t->type == BN_TYPE_TQ1_0 || t->type == BN_TYPE_TQ2_0) {
        /* always decoded (and so checked) in full: it is repacked */
        bool block_scaled = false;
        bitnet_status st2 = bn_tq_load(m->file->path, w, &block_scaled);
        if (!st2)
            BN_LOG_DEBUG(&m->log, "%s: %s tensor '%s': %s", m->file->path, bn_type_name(t->type),
                         name,
                         block_scaled ? "block scales differ, block-scaled kernels"
                                      : "one scale, repacked to i2_s");
        return st2;
    }
    w->row_bytes = bn_type_row_size(t->type, n_in);
    if ((uintptr_t)t->data % (t->type == BN_TYPE_F32 ? 4 : 2) != 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' data is misaligned", m->file->path,
                       name);
    if (t->type == BN_TYPE_BF16) return widen_bf16(m->file->path, w);
    return BITNET_OK;
}

/* The optional scalar multiplier blk.N.<proj>.scale of the 2024 graph. */
static bitnet_status load_post_scale(const bitnet_model *m, const char *weight_name, bn_weight *w) {
    char name[BN_GGUF_MAX_NAME + 16];
    size_t len = strlen(weight_name);
    if (len < 7 || strcmp(weight_name + len - 7, ".weight") != 0) return BITNET_OK;
    snprintf(name, sizeof name, "%.*s.scale", (int)(len - 7), weight_name);
    const bn_gguf_tensor *t = bn_gguf_find_tensor(m->file, name);
    if (!t) return BITNET_OK;
    if (t->type != BN_TYPE_F32 || t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3] != 1)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' must be a single f32 value",
                       m->file->path, name);
    memcpy(&w->post_scale, t->data, sizeof(float));
    w->has_post_scale = true;
    if (!isfinite(w->post_scale))
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' is not finite", m->file->path, name);
    return BITNET_OK;
}

static bitnet_status load_layer(bitnet_model *m, int il, bool check) {
    const bn_hparams *hp = &m->hp;
    bn_layer *L = &m->layers[il];
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const int64_t Q = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KV = (int64_t)hp->n_head_kv * hp->head_dim;
    char n[BN_GGUF_MAX_NAME + 16];
    bitnet_status st;
#define NAME(suffix) (snprintf(n, sizeof n, "blk.%d.%s", il, suffix), n)
    if ((st = load_vector(m, NAME("attn_norm.weight"), E, true, &L->attn_norm)) ||
        (st = load_weight(m, NAME("attn_q.weight"), E, Q, true, check, &L->wq)) ||
        (st = load_weight(m, NAME("attn_k.weight"), E, KV, true, check, &L->wk)) ||
        (st = load_weight(m, NAME("attn_v.weight"), E, KV, true, check, &L->wv)) ||
        (st = load_weight(m, NAME("attn_output.weight"), Q, E, true, check, &L->wo)) ||
        (st = load_vector(m, NAME("ffn_norm.weight"), E, true, &L->ffn_norm)) ||
        (st = load_weight(m, NAME("ffn_gate.weight"), E, F, true, check, &L->ffn_gate)) ||
        (st = load_weight(m, NAME("ffn_up.weight"), E, F, true, check, &L->ffn_up)) ||
        (st = load_weight(m, NAME("ffn_down.weight"), F, E, true, check, &L->ffn_down)))
        return st;
    if (m->arch->sub_norms &&
        ((st = load_vector(m, NAME("attn_sub_norm.weight"), Q, true, &L->attn_sub_norm)) ||
         (st = load_vector(m, NAME("ffn_sub_norm.weight"), F, true, &L->ffn_sub_norm))))
        return st;
    /* optional biases (accepted by the 2025 loader; none in published files) */
    if ((st = load_vector(m, NAME("attn_q.bias"), Q, false, &L->wq.bias)) ||
        (st = load_vector(m, NAME("attn_k.bias"), KV, false, &L->wk.bias)) ||
        (st = load_vector(m, NAME("attn_v.bias"), KV, false, &L->wv.bias)) ||
        (st = load_vector(m, NAME("attn_output.bias"), E, false, &L->wo.bias)))
        return st;
#undef NAME
    if (m->arch->proj_scales) {
        bn_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            if ((st = load_post_scale(m, ws[i]->name, ws[i]))) return st;
    }
    return BITNET_OK;
}

static bool lookup_type_supported(uint32_t type) {
    const bn_type_traits *t = bn_type_get(type);
    return t && t->to_float && !t->ternary; /* ternary tables are projections */
}

static bitnet_status load_weights(bitnet_model *m, const bitnet_model_params *params) {
    const bn_hparams *hp = &m->hp;
    const bn_gguf *g = m->file;
    bitnet_status st;

    const bn_gguf_tensor *emb;
    if ((st = find_tensor(m, "token_embd.weight", hp->n_embd, hp->n_vocab, true, &emb))) {
        const bn_gguf_tensor *t = bn_gguf_find_tensor(g, "token_embd.weight");
        if (t && t->ne[0] == hp->n_embd && t->ne[1] != hp->n_vocab)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: token_embd.weight has %" PRId64
                           " rows but the vocabulary has %d tokens",
                           g->path, t->ne[1], hp->n_vocab);
        return st;
    }
    if (!lookup_type_supported(emb->type))
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: token_embd.weight has type %s (supported: f32, f16, bf16, q8_0, q6_K)",
                       g->path, bn_type_name(emb->type));
    m->tok_embd = (bn_weight){.name = emb->name,
                              .type = emb->type,
                              .n_in = hp->n_embd,
                              .n_out = hp->n_vocab,
                              .data = emb->data,
                              .row_bytes = bn_type_row_size(emb->type, hp->n_embd),
                              .scale = 1.0f,
                              .post_scale = 1.0f};
    if ((st = load_vector(m, "output_norm.weight", hp->n_embd, true, &m->output_norm))) return st;

    m->output = m->tok_embd;
    const bn_gguf_tensor *out = bn_gguf_find_tensor(g, "output.weight");
    if (out && m->arch->head == BN_HEAD_OUTPUT_OR_TIED) {
        const bn_gguf_tensor *t;
        if ((st = find_tensor(m, "output.weight", hp->n_embd, hp->n_vocab, true, &t))) return st;
        if (!lookup_type_supported(t->type))
            return bn_fail(BITNET_ERR_UNSUPPORTED, "%s: output.weight has unsupported type %s",
                           g->path, bn_type_name(t->type));
        m->output = (bn_weight){.name = t->name,
                                .type = t->type,
                                .n_in = hp->n_embd,
                                .n_out = hp->n_vocab,
                                .data = t->data,
                                .row_bytes = bn_type_row_size(t->type, hp->n_embd),
                                .scale = 1.0f,
                                .post_scale = 1.0f};
    } else if (out) {
        BN_LOG_INFO(&m->log, "%s: output.weight ignored: architecture %s uses the tied embedding",
                    g->path, m->arch->name);
    }

    bool has_i2s = false;
    for (uint64_t i = 0; i < g->n_tensors; i++) has_i2s |= g->tensors[i].type == BN_TYPE_I2_S;
    if ((st = bn_i2s_block_resolve(g, params->i2s_block, has_i2s, &m->log, &m->i2s_block)))
        return st;
    if (params->kernel_config) {
        m->kernel_config = bn_calloc(1, sizeof *m->kernel_config);
        if (!m->kernel_config) return BITNET_ERR_NOMEM;
        if ((st = bn_kernel_config_load(params->kernel_config, m->kernel_config))) return st;
    }
    m->layers = bn_calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return BITNET_ERR_NOMEM;
    for (int il = 0; il < hp->n_layer; il++)
        if ((st = load_layer(m, il, params->check_tensors))) return st;
    bn_kernel_config_free(m->kernel_config); /* only the load reads it */
    bn_free(m->kernel_config);
    m->kernel_config = NULL;

    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const bn_gguf_tensor *t = &g->tensors[i];
        uint64_t n =
            (uint64_t)t->ne[0] * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3];
        m->n_params += n;
        m->n_bytes += t->nbytes;
    }
    return BITNET_OK;
}

/* use_mlock: keeps the weights from being paged out. Failing (RLIMIT_MEMLOCK
 * is often 8 MiB) only costs speed, so it is a warning. The lock needs no
 * undoing: unmapping the file or freeing the (mmap-backed) buffer drops it. */
static void lock_in_memory(bitnet_model *m, const char *path) {
    if (mlock(m->file->base, (size_t)m->file->size) != 0)
        BN_LOG_WARN(&m->log,
                    "%s: cannot lock %.1f MiB in memory (mlock: %s); raise the limit with "
                    "`ulimit -l` or run without --mlock",
                    path, (double)m->file->size / 1048576.0, strerror(errno));
}

bitnet_model_params bitnet_model_default_params(void) {
    bitnet_model_params p = {0};
    p.use_mmap = true;
    return p;
}

/* Everything after the GGUF is open (m->file): the same validation whether it
 * came from a file or from the caller's memory; `path` names it in messages. */
static bitnet_status load_gguf_model(bitnet_model *m, const char *path,
                                     const bitnet_model_params *params) {
    bitnet_status st;
    char arch[64];
    if ((st = bn_gguf_get_cstr(m->file, "general.architecture", arch, sizeof arch))) return st;

    if ((st = bn_vocab_load(m->file, params, &m->vocab))) return st;
    m->hp.n_vocab = bn_vocab_n_tokens(m->vocab);
    if (params->vocab_only) {
        m->arch = bn_arch_find(arch); /* may be NULL: vocab files carry any name */
        return BITNET_OK;
    }

    m->arch = bn_arch_find(arch);
    if (!m->arch)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: general.architecture '%s' is not supported (supported: %s)", path, arch,
                       bn_arch_list());
    if ((st = read_hparams(m, arch))) return st;
    char key[KEY_MAX];
    if (bn_gguf_find(m->file, arch_key(key, arch, "vocab_size"))) {
        int32_t vs = 0;
        if ((st = get_i32_key(m->file, arch, "vocab_size", 1, INT32_MAX, &vs))) return st;
        if (vs != m->hp.n_vocab)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: %s = %d but tokenizer.ggml.tokens has %d entries", path, key, vs,
                           m->hp.n_vocab);
    }
    if ((st = load_weights(m, params))) return st;
    if (params->use_mlock) lock_in_memory(m, path);
    BN_LOG_INFO(&m->log,
                "%s: %s, %d layers, %d embd, %d ff, %d heads (%d kv), head dim %d, vocab %d, "
                "%.1f MiB",
                path, m->arch->display, m->hp.n_layer, m->hp.n_embd, m->hp.n_ff, m->hp.n_head,
                m->hp.n_head_kv, m->hp.head_dim, m->hp.n_vocab, (double)m->n_bytes / 1048576.0);
    return BITNET_OK;
}

static bitnet_model *model_new(const bitnet_model_params *params) {
    bitnet_model *m = bn_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->log = (bn_logger){params->log_callback, params->log_user_data};
    m->vocab_only = params->vocab_only;
    return m;
}

bitnet_model *bitnet_model_load(const char *path, const bitnet_model_params *params) {
    bn_clear_error();
    bitnet_model_params defaults = bitnet_model_default_params();
    if (!params) params = &defaults;
    bitnet_model *m = model_new(params);
    if (!m) return NULL;

    if (bn_hf_is_model_path(path)) {
        if (bn_hf_load(m, path, params)) goto fail;
        if (params->use_mlock)
            BN_LOG_WARN(&m->log, "%s: --mlock is not applied to Hugging Face directories", path);
        return m;
    }
    if (bn_gguf_open(path, params->use_mmap, &m->file)) goto fail;
    if (load_gguf_model(m, path, params)) goto fail;
    return m;

fail:
    bitnet_model_free(m);
    return NULL;
}

bitnet_model *bitnet_model_load_from_buffer(const void *data, size_t size, const char *name,
                                            const bitnet_model_params *params) {
    bn_clear_error();
    bitnet_model_params defaults = bitnet_model_default_params();
    if (!params) params = &defaults;
    if (!name) name = "<memory>";
    if (!data) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s: model buffer is NULL", name);
        return NULL;
    }
    /* the GGUF header's magic, version and two counts */
    if (size < 4 + 4 + 8 + 8) {
        bn_fail(BITNET_ERR_TRUNCATED, "%s: %zu bytes is shorter than a GGUF header (24 bytes)",
                name, size);
        return NULL;
    }
    bitnet_model_params p = *params;
    p.use_mlock = false; /* the caller owns that memory */
    params = &p;
    bitnet_model *m = model_new(params);
    if (!m) return NULL;
    if (bn_gguf_open_memory(data, size, name, &m->file)) goto fail;
    if (load_gguf_model(m, name, params)) goto fail;
    return m;

fail:
    bitnet_model_free(m);
    return NULL;
}

void bitnet_model_free(bitnet_model *m) {
    if (!m) return;
    for (int il = 0; m->layers && il < m->hp.n_layer; il++) {
        bn_layer *L = &m->layers[il];
        bn_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) bn_free(ws[i]->owned);
    }
    bn_free(m->layers);
    bn_kernel_config_free(m->kernel_config);
    bn_free(m->kernel_config);
    bn_vocab_free(m->vocab);
    bn_gguf_close(m->file);
    bn_hf_free(m->hf);
    bn_free(m);
}

void bn_weight_row_to_float(const bn_weight *w, int64_t row, float *dst) {
    if (w->blk_scale) { /* repacked TQ: I2_S codes, one scale per 256 values */
        const int64_t nb = w->n_in / BN_QK_K;
        for (int64_t b = 0; b < nb; b++)
            bn_i2s_to_float(w->data, w->blk_scale[row * nb + b], row * w->n_in + b * BN_QK_K,
                            BN_QK_K, dst + b * BN_QK_K);
        return;
    }
    if (w->type == BN_TYPE_I2_S) {
        bn_i2s_to_float(w->data, w->scale, row * w->n_in, w->n_in, dst);
        return;
    }
    bn_type_get(w->type)->to_float(w->data + (size_t)row * w->row_bytes, dst, w->n_in);
}
