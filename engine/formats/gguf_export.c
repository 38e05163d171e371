/* The model exporter (gguf_export.h). Planning (every shape and type
 * checked, the metadata and the tensor table built) happens before the file
 * is opened; each output tensor is then produced by a fill callback while
 * the writer streams the file, so a 2B model never needs its converted
 * weights in memory at once. */
#include "gguf_export.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc.h"
#include "error.h"
#include "f16.h"
#include "quantize.h"
#include "tl_export.h"
#include "types.h"
#include "vocab_export.h"

/* ---------------------------------------------------------------------------
 * Output types
 * ------------------------------------------------------------------------- */

static bitnet_status encode_ternary(uint32_t type, const int8_t *codes, float scale, int64_t M,
                                    int64_t K, uint8_t *dst, size_t dst_size) {
    const int64_t n = M * K;
    if (bn_ternary_nbytes(type, n) != dst_size)
        return bn_fail(BITNET_ERR_INTERNAL, "%s: %zu bytes for %" PRId64 " values",
                       bn_type_name(type), dst_size, n);
    return bn_quantize_ternary(codes, n, scale, type, dst);
}
static bitnet_status encode_i2s(const int8_t *c, float s, int64_t M, int64_t K, uint8_t *d,
                                size_t n) {
    return encode_ternary(BN_TYPE_I2_S, c, s, M, K, d, n);
}
static bitnet_status encode_tq1(const int8_t *c, float s, int64_t M, int64_t K, uint8_t *d,
                                size_t n) {
    return encode_ternary(BN_TYPE_TQ1_0, c, s, M, K, d, n);
}
static bitnet_status encode_tq2(const int8_t *c, float s, int64_t M, int64_t K, uint8_t *d,
                                size_t n) {
    return encode_ternary(BN_TYPE_TQ2_0, c, s, M, K, d, n);
}

/* TL1/TL2: the parameters are a function of the shape (bn_tl_writer_params),
 * so the encoder derives them again here; planning derived the same ones,
 * refused shapes without any, and wrote them into the metadata. */
static bitnet_status encode_tl(uint32_t type, const int8_t *c, float s, int64_t M, int64_t K,
                               uint8_t *d, size_t n) {
    bn_tl_params p;
    bitnet_status st = bn_tl_writer_params(type, M, K, &p);
    return st ? st : bn_tl_encode(type, c, s, M, K, &p, d, n);
}
static bitnet_status encode_tl1(const int8_t *c, float s, int64_t M, int64_t K, uint8_t *d,
                                size_t n) {
    return encode_tl(BN_TYPE_TL1, c, s, M, K, d, n);
}
static bitnet_status encode_tl2(const int8_t *c, float s, int64_t M, int64_t K, uint8_t *d,
                                size_t n) {
    return encode_tl(BN_TYPE_TL2, c, s, M, K, d, n);
}

/* file types: llama.cpp's LLAMA_FTYPE_ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7,
 * MOSTLY_Q6_K 18, MOSTLY_TQ1_0 36, MOSTLY_TQ2_0 37; the fork's TL1 38, TL2 39
 * and I2_S 40 (spec 2.1). TL shapes are checked by their own rules
 * (check_tl_shape), hence k_multiple 1. */
static const bn_export_type export_types[] = {
    {"i2_s", BN_TYPE_I2_S, 40, true, false, BN_I2S_BLOCK, encode_i2s},
    {"tq1_0", BN_TYPE_TQ1_0, 36, true, false, BN_QK_K, encode_tq1},
    {"tq2_0", BN_TYPE_TQ2_0, 37, true, false, BN_QK_K, encode_tq2},
    {"tl1", BN_TYPE_TL1, 38, true, false, 1, encode_tl1},
    {"tl2", BN_TYPE_TL2, 39, true, false, 1, encode_tl2},
    {"f16", BN_TYPE_F16, 1, true, true, 1, NULL},
    {"f32", BN_TYPE_F32, 0, true, true, 1, NULL},
    {"q8_0", BN_TYPE_Q8_0, 7, false, true, BN_QK8_0, NULL},
    {"q6_k", BN_TYPE_Q6_K, 18, false, true, BN_QK_K, NULL},
};
#define N_EXPORT_TYPES (sizeof export_types / sizeof export_types[0])

const bn_export_type *bn_export_type_find(const char *name) {
    for (size_t i = 0; name && i < N_EXPORT_TYPES; i++)
        if (!strcasecmp(export_types[i].name, name)) return &export_types[i];
    return NULL;
}

static const bn_export_type *type_row(uint32_t type) {
    for (size_t i = 0; i < N_EXPORT_TYPES; i++)
        if (export_types[i].type == type) return &export_types[i];
    return NULL;
}

const char *bn_export_type_list(bool projection) {
    return projection ? "i2_s, tq1_0, tq2_0, tl1, tl2, f16, f32" : "f32, f16, q8_0, q6_k";
}

uint32_t bn_export_ftype(uint32_t type) {
    const bn_export_type *t = type_row(type);
    return t ? t->ftype : 0u;
}

void bn_export_default_params(bn_export_params *p) {
    memset(p, 0, sizeof *p);
    p->type = BN_TYPE_I2_S;
    p->embd_type = BN_EXPORT_KEEP;
    p->output_type = BN_EXPORT_KEEP;
    p->ternarize = BN_TERNARIZE_AUTO;
}

/* ---------------------------------------------------------------------------
 * Metadata
 * ------------------------------------------------------------------------- */

bitnet_status bn_export_hparams(bn_gguf_writer *w, const char *arch, const char *name,
                                const bn_hparams *hp, uint32_t ftype) {
    char key[128];
    bitnet_status st;
#define K(s) (snprintf(key, sizeof key, "%s.%s", arch, s), key)
    if ((st = bn_gguf_set_str(w, "general.architecture", arch)) ||
        (st = bn_gguf_set_str(w, "general.name", name)) ||
        (st = bn_gguf_set_u32(w, K("context_length"), (uint32_t)hp->n_ctx_train)) ||
        (st = bn_gguf_set_u32(w, K("embedding_length"), (uint32_t)hp->n_embd)) ||
        (st = bn_gguf_set_u32(w, K("block_count"), (uint32_t)hp->n_layer)) ||
        (st = bn_gguf_set_u32(w, K("feed_forward_length"), (uint32_t)hp->n_ff)) ||
        (st = bn_gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)hp->n_rot)) ||
        (st = bn_gguf_set_u32(w, K("attention.head_count"), (uint32_t)hp->n_head)) ||
        (st = bn_gguf_set_u32(w, K("attention.head_count_kv"), (uint32_t)hp->n_head_kv)) ||
        (st = bn_gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), hp->rms_eps)) ||
        (st = bn_gguf_set_f32(w, K("rope.freq_base"), hp->rope_base)) ||
        (st = bn_gguf_set_u32(w, "general.file_type", ftype)) ||
        (st = bn_gguf_set_u32(w, K("vocab_size"), (uint32_t)hp->n_vocab)))
        return st;
#undef K
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * Tensor production
 * ------------------------------------------------------------------------- */

static const char *src_path(const bitnet_model *m) { return m->file ? m->file->path : "model"; }

typedef struct exporter exporter;

/* One tensor produced at write time. */
typedef struct export_item {
    exporter *ex;
    char name[BN_GGUF_MAX_NAME];
    const bn_weight *w;
    uint32_t type; /* output type */
    bool projection;
    int32_t index; /* for progress */
} export_item;

struct exporter {
    const bitnet_model *m;
    const bn_export_params *p;
    bn_export_result *r;
    export_item *items;
    int32_t n_items, cap_items;
    int32_t n_vectors; /* tensors copied as they are (norms, biases, multipliers) */
    uint64_t bytes_done, bytes_total;
};

static void report(exporter *ex, const export_item *it, uint64_t nbytes) {
    ex->bytes_done += nbytes;
    if (ex->p->progress)
        ex->p->progress(ex->p->progress_user, ex->bytes_done, ex->bytes_total, it->index + 1,
                        ex->n_items, it->name);
}

/* The first byte of an I2_S code run holding a code 3 (both bits of a pair
 * set), or -1. */
static int64_t find_code3(const uint8_t *data, int64_t n_bytes) {
    for (int64_t i = 0; i < n_bytes; i++)
        if (data[i] & (data[i] >> 1) & 0x55) return i;
    return -1;
}

static bitnet_status code3_error(const export_item *it, int64_t byte) {
    return bn_fail(BITNET_ERR_FORMAT,
                   "%s: tensor '%s' has the invalid 2-bit code 3 at byte %" PRId64
                   " of its codes (run with --check-tensors to find such files at load)",
                   src_path(it->ex->m), it->name, byte);
}

/* Codes of a weight held as I2_S codes (an I2_S file, a repacked TQ file),
 * block-scaled ones included: value j of 128-block b is in byte 32·b + j % 32
 * at bits 6 - 2·(j / 32). Code 3 is refused (the loader checks codes only
 * with --check-tensors). */
static bitnet_status codes_of(const export_item *it, int8_t *codes) {
    const bn_weight *w = it->w;
    const int64_t n = w->n_in * w->n_out;
    const int64_t bad = find_code3(w->data, n / 4);
    if (bad >= 0) return code3_error(it, bad);
    for (int64_t b = 0; b < n / BN_I2S_BLOCK; b++) {
        const uint8_t *src = w->data + b * 32;
        int8_t *c = codes + b * BN_I2S_BLOCK;
        for (int i = 0; i < 32; i++) {
            c[i] = (int8_t)((src[i] >> 6 & 3) - 1);
            c[32 + i] = (int8_t)((src[i] >> 4 & 3) - 1);
            c[64 + i] = (int8_t)((src[i] >> 2 & 3) - 1);
            c[96 + i] = (int8_t)((src[i] & 3) - 1);
        }
    }
    return BITNET_OK;
}

/* All rows of a weight as floats: out[n_out][n_in]. */
static void rows_to_float(const bn_weight *w, float *out) {
    for (int64_t r = 0; r < w->n_out; r++) bn_weight_row_to_float(w, r, out + r * w->n_in);
}

/* True when every non-zero value has one magnitude (already ternary). */
static bool is_presigned(const float *x, int64_t n) {
    float a = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        const float v = fabsf(x[i]);
        if (v == 0.0f) continue;
        if (a == 0.0f) a = v;
        if (v != a) return false;
    }
    return true;
}

static bitnet_status ternarize_floats(export_item *it, int8_t *codes, float *scale) {
    const bn_weight *w = it->w;
    const int64_t n = w->n_in * w->n_out;
    float *x = bn_malloc_array((size_t)n, sizeof *x); /* [n_out][n_in] */
    if (!x)
        return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory for %" PRId64 " floats", it->name, n);
    rows_to_float(w, x);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            bn_free(x);
            return bn_fail(BITNET_ERR_FORMAT, "tensor '%s': value %" PRId64 " is %g (not finite)",
                           it->name, i, (double)x[i]);
        }
    bn_ternarize_mode mode = it->ex->p->ternarize;
    if (mode == BN_TERNARIZE_AUTO)
        mode = is_presigned(x, n) ? BN_TERNARIZE_PRESIGNED : BN_TERNARIZE_ABSMEAN;
    if (mode == BN_TERNARIZE_PRESIGNED) {
        bn_ternarize_presigned(x, n, codes, scale);
        it->ex->r->n_presigned++;
    } else {
        bn_ternarize_absmean(x, n, codes, scale);
        it->ex->r->n_absmean++;
    }
    bn_free(x);
    return BITNET_OK;
}

static bitnet_status fill_float_projection(export_item *it, void *dst) {
    const bn_weight *w = it->w;
    float *row = bn_malloc_array((size_t)w->n_in, sizeof *row); /* [n_in] */
    if (!row) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", it->name);
    bool rounded = false;
    const size_t row_bytes = bn_type_row_size(it->type, w->n_in);
    for (int64_t r = 0; r < w->n_out; r++) {
        bn_weight_row_to_float(w, r, row);
        uint8_t *d = (uint8_t *)dst + (size_t)r * row_bytes;
        bn_quantize_row_float(it->type, row, d, w->n_in);
        if (it->type == BN_TYPE_F16)
            for (int64_t i = 0; i < w->n_in && !rounded; i++)
                rounded = bn_f16_to_f32(((const uint16_t *)d)[i]) != row[i];
    }
    bn_free(row);
    it->ex->r->n_float++;
    if (rounded) it->ex->r->n_scale_rounded++;
    return BITNET_OK;
}

static bitnet_status fill_ternary_projection(export_item *it, void *dst, uint64_t nbytes) {
    const bn_weight *w = it->w;
    const int64_t n = w->n_in * w->n_out;
    if (w->type == BN_TYPE_I2_S && !w->blk_scale && it->type == BN_TYPE_I2_S) {
        /* the same layout: the codes as they are, the tail rewritten */
        const int64_t bad = find_code3(w->data, n / 4);
        if (bad >= 0) return code3_error(it, bad);
        memcpy(dst, w->data, (size_t)(n / 4));
        memcpy((uint8_t *)dst + n / 4, &w->scale, sizeof(float));
        memset((uint8_t *)dst + n / 4 + 4, 0, BN_I2S_TAIL - 4);
        it->ex->r->n_codes++;
        return BITNET_OK;
    }
    int8_t *codes = bn_malloc((size_t)n); /* [n_out][n_in] */
    if (!codes)
        return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory for %" PRId64 " codes", it->name, n);
    float scale = 1.0f;
    bitnet_status st;
    if (w->blk_scale) {
        /* block-scaled TQ: the per-block scales are kept (planning refused
         * i2_s); block b of the flat tensor is block b % nb of row b / nb */
        st = codes_of(it, codes);
        if (!st) st = bn_quantize_ternary_blocks(codes, n, 1.0f, w->blk_scale, it->type, dst);
        if (!st) it->ex->r->n_codes++;
        for (int64_t b = 0; !st && b < n / BN_QK_K; b++)
            if (bn_round_f16(w->blk_scale[b]) != w->blk_scale[b]) {
                it->ex->r->n_scale_rounded++;
                break;
            }
        bn_free(codes);
        return st;
    }
    if (w->type == BN_TYPE_I2_S) {
        st = codes_of(it, codes);
        scale = w->scale;
        if (!st) it->ex->r->n_codes++;
    } else {
        st = ternarize_floats(it, codes, &scale);
    }
    if (!st) st = type_row(it->type)->encode(codes, scale, w->n_out, w->n_in, dst, (size_t)nbytes);
    /* only the TQ types store the scale as f16 */
    if (!st && (it->type == BN_TYPE_TQ1_0 || it->type == BN_TYPE_TQ2_0) &&
        bn_round_f16(scale) != scale)
        it->ex->r->n_scale_rounded++;
    bn_free(codes);
    return st;
}

/* Embedding / head: the stored bytes, or re-quantized row by row. */
static bitnet_status fill_table(export_item *it, void *dst) {
    const bn_weight *w = it->w;
    if (it->type == w->type) {
        memcpy(dst, w->data, w->row_bytes * (size_t)w->n_out);
        return BITNET_OK;
    }
    float *row = bn_malloc_array((size_t)w->n_in, sizeof *row); /* [n_in] */
    if (!row) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", it->name);
    const size_t out_row = bn_type_row_size(it->type, w->n_in);
    for (int64_t r = 0; r < w->n_out; r++) {
        bn_weight_row_to_float(w, r, row);
        bn_quantize_row_float(it->type, row, (uint8_t *)dst + (size_t)r * out_row, w->n_in);
    }
    bn_free(row);
    return BITNET_OK;
}

static bitnet_status fill_item(void *ctx, void *dst, uint64_t nbytes) {
    export_item *it = ctx;
    bitnet_status st;
    if (!it->projection)
        st = fill_table(it, dst);
    else if (type_row(it->type)->encode)
        st = fill_ternary_projection(it, dst, nbytes);
    else
        st = fill_float_projection(it, dst);
    if (!st) report(it->ex, it, nbytes);
    return st;
}

/* ---------------------------------------------------------------------------
 * Planning
 * ------------------------------------------------------------------------- */

static bitnet_status add_item(exporter *ex, bn_gguf_writer *w, const char *name,
                              const bn_weight *wt, uint32_t type, bool projection) {
    if (ex->n_items == ex->cap_items) {
        /* items are referenced by the writer: allocated once, never moved */
        return bn_fail(BITNET_ERR_INTERNAL, "exporter: more than %d tensors planned",
                       ex->cap_items);
    }
    export_item *it = &ex->items[ex->n_items];
    memset(it, 0, sizeof *it);
    it->ex = ex;
    snprintf(it->name, sizeof it->name, "%s", name);
    it->w = wt;
    it->type = type;
    it->projection = projection;
    it->index = ex->n_items;
    const int64_t ne[2] = {wt->n_in, wt->n_out};
    uint64_t nbytes = 0;
    if (!bn_type_nbytes(type, ne, 2, &nbytes))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "%s: tensor '%s' [%" PRId64 ", %" PRId64 "] cannot be written as %s",
                       src_path(ex->m), name, wt->n_in, wt->n_out, bn_type_name(type));
    bitnet_status st = bn_gguf_add_tensor_fill(w, it->name, type, 2, ne, nbytes, fill_item, it);
    if (st) return st;
    ex->n_items++;
    ex->bytes_total += nbytes;
    return BITNET_OK;
}

static bitnet_status add_vector(exporter *ex, bn_gguf_writer *w, const char *name, const float *v,
                                int64_t n) {
    if (!v) return BITNET_OK;
    const int64_t ne[1] = {n};
    ex->n_vectors++;
    return bn_gguf_add_tensor(w, name, BN_TYPE_F32, 1, ne, v, (uint64_t)n * sizeof(float), false);
}

static bitnet_status check_projection(const exporter *ex, const char *name, const bn_weight *w) {
    const bn_export_type *t = type_row(ex->p->type);
    if (w->n_in % t->k_multiple != 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "%s: tensor '%s' has %" PRId64 " inputs, not a multiple of %" PRId64
                       ", which --type %s needs",
                       src_path(ex->m), name, w->n_in, t->k_multiple, t->name);
    if (w->blk_scale && ex->p->type == BN_TYPE_I2_S)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has a different scale per 256-value block; i2_s holds one "
                       "scale per tensor (use --type tq1_0, tq2_0 or f32, which keep them)",
                       src_path(ex->m), name);
    if (!w->blk_scale && w->type != BN_TYPE_I2_S && !bn_type_get(w->type)->to_float)
        return bn_fail(BITNET_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which cannot be read",
                       src_path(ex->m), name, bn_type_name(w->type));
    return BITNET_OK;
}

/* A TL output: parameters for the shape or a refusal naming the tensor, and
 * the bitnet.tl.<M>x<K>.* keys the first time a shape is seen, so the file
 * loads without a kernel_config.ini. Called before the tensor is planned. */
static bitnet_status check_tl_shape(exporter *ex, bn_gguf_writer *w, const char *name,
                                    const bn_weight *wt) {
    const uint32_t type = ex->p->type;
    if (type != BN_TYPE_TL1 && type != BN_TYPE_TL2) return BITNET_OK;
    const int64_t M = wt->n_out, K = wt->n_in;
    bn_tl_params tp;
    bitnet_status st = bn_tl_writer_params(type, M, K, &tp);
    if (st) {
        bn_error_prefix("%s: tensor '%s' (M = %" PRId64 ", K = %" PRId64
                        ") cannot be written as %s",
                        src_path(ex->m), name, M, K, bn_type_name(type));
        return st;
    }
    for (int32_t i = 0; i < ex->n_items; i++) {
        const export_item *it = &ex->items[i];
        if (it->projection && it->w->n_out == M && it->w->n_in == K) return BITNET_OK;
    }
    return bn_tl_write_meta(w, M, K, &tp);
}

static bitnet_status add_projection(exporter *ex, bn_gguf_writer *w, int il, const char *suffix,
                                    const bn_weight *wt) {
    char name[BN_GGUF_MAX_NAME];
    snprintf(name, sizeof name, "blk.%d.%s.weight", il, suffix);
    bitnet_status st = check_projection(ex, name, wt);
    if (!st) st = check_tl_shape(ex, w, name, wt);
    if (!st) st = add_item(ex, w, name, wt, ex->p->type, true);
    if (!st && wt->bias) {
        snprintf(name, sizeof name, "blk.%d.%s.bias", il, suffix);
        st = add_vector(ex, w, name, wt->bias, wt->n_out);
    }
    if (!st && wt->has_post_scale) {
        snprintf(name, sizeof name, "blk.%d.%s.scale", il, suffix);
        st = add_vector(ex, w, name, &wt->post_scale, 1);
    }
    return st;
}

static bitnet_status add_layer(exporter *ex, bn_gguf_writer *w, int il) {
    const bn_layer *L = &ex->m->layers[il];
    const bn_hparams *hp = &ex->m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff, Q = (int64_t)hp->n_head * hp->head_dim;
    char n[BN_GGUF_MAX_NAME];
    bitnet_status st;
    /* the fixture generator's order, so that equal weights give equal bytes */
#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s", il, s), n)
    if ((st = add_vector(ex, w, NAME("attn_norm.weight"), L->attn_norm, E)) ||
        (st = add_vector(ex, w, NAME("attn_sub_norm.weight"), L->attn_sub_norm, Q)) ||
        (st = add_vector(ex, w, NAME("ffn_norm.weight"), L->ffn_norm, E)) ||
        (st = add_vector(ex, w, NAME("ffn_sub_norm.weight"), L->ffn_sub_norm, F)))
        return st;
#undef NAME
    if ((st = add_projection(ex, w, il, "attn_q", &L->wq)) ||
        (st = add_projection(ex, w, il, "attn_k", &L->wk)) ||
        (st = add_projection(ex, w, il, "attn_v", &L->wv)) ||
        (st = add_projection(ex, w, il, "attn_output", &L->wo)) ||
        (st = add_projection(ex, w, il, "ffn_gate", &L->ffn_gate)) ||
        (st = add_projection(ex, w, il, "ffn_up", &L->ffn_up)) ||
        (st = add_projection(ex, w, il, "ffn_down", &L->ffn_down)))
        return st;
    return BITNET_OK;
}

static bitnet_status check_table_type(const bitnet_model *m, const char *flag, uint32_t type,
                                      const bn_weight *w) {
    if (type == BN_EXPORT_KEEP || type == w->type) return BITNET_OK;
    const bn_export_type *t = type_row(type);
    if (!t || !t->embedding)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s %s: not one of %s", flag,
                       bn_type_name(type), bn_export_type_list(false));
    if (w->n_in % t->k_multiple != 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "%s %s: %s has rows of %" PRId64 " values, not a multiple of the %" PRId64
                       "-value block",
                       flag, t->name, src_path(m), w->n_in, t->k_multiple);
    return BITNET_OK;
}

static bitnet_status plan(exporter *ex, bn_gguf_writer *w) {
    const bitnet_model *m = ex->m;
    const bn_export_params *p = ex->p;
    const bn_export_type *t = type_row(p->type);
    if (!t || !t->projection)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "--type %s: not one of %s",
                       bn_type_name(p->type), bn_export_type_list(true));
    const bool own_head = m->output.data && m->output.data != m->tok_embd.data;
    bitnet_status st;
    if ((st = check_table_type(m, "--token-embedding-type", p->embd_type, &m->tok_embd)) ||
        (own_head &&
         (st = check_table_type(m, "--output-tensor-type", p->output_type, &m->output))))
        return st;

    char name[256] = "bitnet";
    if (p->name) {
        snprintf(name, sizeof name, "%s", p->name);
    } else if (m->file && bn_gguf_find(m->file, "general.name")) {
        if (bn_gguf_get_cstr(m->file, "general.name", name, sizeof name))
            snprintf(name, sizeof name, "bitnet"); /* unusable name: the default */
        bn_clear_error();
    }
    /* the canonical name: bitnet.cpp since 2025-04 loads 2B-4T-type files as
     * bitnet-b1.58 (the alias bitnet-25 was the earlier upload's, spec 2.6) */
    if ((st = bn_export_hparams(w, m->arch->display, name, &m->hp, t->ftype)) ||
        (st = bn_gguf_set_u32(w, "general.quantization_version", 2)) ||
        (st = bn_vocab_write_gguf(m->vocab, w)))
        return st;

    const uint32_t embd = p->embd_type == BN_EXPORT_KEEP ? m->tok_embd.type : p->embd_type;
    if ((st = add_item(ex, w, "token_embd.weight", &m->tok_embd, embd, false)) ||
        (st = add_vector(ex, w, "output_norm.weight", m->output_norm, m->hp.n_embd)))
        return st;
    if (own_head) {
        const uint32_t out = p->output_type == BN_EXPORT_KEEP ? m->output.type : p->output_type;
        if ((st = add_item(ex, w, "output.weight", &m->output, out, false))) return st;
    }
    for (int il = 0; il < m->hp.n_layer; il++)
        if ((st = add_layer(ex, w, il))) return st;
    return BITNET_OK;
}

bitnet_status bn_export_gguf(const bitnet_model *m, const bn_export_params *p, const char *path,
                             bn_export_result *result) {
    bn_clear_error();
    bn_export_result local;
    bn_export_result *r = result ? result : &local;
    memset(r, 0, sizeof *r);
    if (!m || !p || !path)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bn_export_gguf: NULL argument");
    if (m->vocab_only || !m->layers || !m->arch)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "%s: loaded without weights (vocab_only): nothing to convert", src_path(m));
    exporter ex = {.m = m, .p = p, .r = r};
    ex.cap_items = 2 + 7 * m->hp.n_layer;
    ex.items = bn_calloc((size_t)ex.cap_items, sizeof *ex.items);
    bn_gguf_writer *w = bn_gguf_writer_new();
    bitnet_status st = ex.items && w ? BITNET_OK : BITNET_ERR_NOMEM;
    if (st) bn_fail(st, "%s: out of memory", path);
    if (!st) st = plan(&ex, w);
    if (!st) st = bn_gguf_write(w, path);
    if (!st) {
        struct stat sb;
        r->n_tensors = ex.n_items + ex.n_vectors;
        if (stat(path, &sb) == 0) r->file_bytes = (uint64_t)sb.st_size;
    }
    bn_gguf_writer_free(w);
    bn_free(ex.items);
    return st;
}
