/* Hugging Face directories of the synthetic fixtures (fixture.h). The model
 * is made by the GGUF generator (same parameters, same bytes), read back, and
 * re-laid out as transformers stores it:
 *
 *   token_embd -> model.embed_tokens, output_norm -> model.norm,
 *   output -> lm_head (llama only; BitNet ties the head),
 *   blk.N.attn_norm / ffn_norm -> model.layers.N.input_layernorm /
 *   post_attention_layernorm, attn_sub_norm -> self_attn.attn_sub_norm,
 *   ffn_sub_norm -> mlp.ffn_sub_norm, attn_q/k/v/output -> self_attn.q/k/v/o_proj,
 *   ffn_gate/up/down -> mlp.gate/up/down_proj.
 *
 * Floats are stored BF16 where they convert exactly (all norms and random
 * embeddings do), F16 otherwise. GGUF llama q/k rows are in llama.cpp's
 * permuted order (adjacent RoPE pairs); HF keeps pairs (j, j + d/2), so row j
 * of a head comes from GGUF row 2j (j < d/2) or 2(j - d/2) + 1.
 *
 * bf16-online masters: with u = scale/4, a zero code becomes +-u or 0 and a
 * nonzero code sign * m * u with 3 <= m <= 15, the m chosen so that the
 * values sum to exactly N * scale: the absmean is then scale, every |w| / scale
 * is below 0.5 (zeros) or at least 0.75 (the rest), and transformers'
 * WeightQuant gives back the codes and the scale. Each tensor is checked
 * with bn_ternarize_absmean before it is written. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "arch.h"
#include "atomic_file.h"
#include "error.h"
#include "f16.h"
#include "fixture.h"
#include "gguf.h"
#include "quantize.h"
#include "safetensors_writer.h"
#include "st_index.h"
#include "types.h"

static const char *const variant_names[] = {"packed-autobitlinear", "packed-bitlinear",
                                            "bf16-online"};

bool bn_hf_variant_parse(const char *name, bn_hf_variant *out) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, variant_names[i])) {
            *out = (bn_hf_variant)i;
            return true;
        }
    return false;
}
const char *bn_hf_variant_name(bn_hf_variant v) { return (unsigned)v < 3 ? variant_names[v] : "?"; }
const char *bn_hf_variant_list(void) {
    return "packed-autobitlinear, packed-bitlinear, bf16-online";
}

enum { MAX_SHARDS = 64, DIR_MAX = 4096, FILE_MAX = DIR_MAX + 64 };

typedef struct hf_gen {
    const bn_fixture_params *p;
    bn_hf_variant variant;
    bool llama;
    const bn_gguf *g;
    bn_st_writer *w[MAX_SHARDS];
    int32_t n_shards;
    size_t n_added;
    void **bufs;
    size_t n_bufs, cap_bufs;
    cJSON *weight_map; /* name -> shard file */
    char shard_name[MAX_SHARDS][64];
} hf_gen;

static void *hg_alloc(hf_gen *h, size_t bytes) {
    if (h->n_bufs == h->cap_bufs) {
        size_t cap = h->cap_bufs ? 2 * h->cap_bufs : 64;
        void **b = bn_realloc(h->bufs, cap * sizeof *b);
        if (!b) return NULL;
        h->bufs = b;
        h->cap_bufs = cap;
    }
    void *q = bn_malloc(bytes ? bytes : 1);
    if (q) h->bufs[h->n_bufs++] = q;
    return q;
}

static bitnet_status hg_add(hf_gen *h, const char *name, bn_st_dtype dt, int n_dims,
                            const int64_t *shape, const void *data, uint64_t nbytes) {
    const int32_t s = (int32_t)(h->n_added++ % (size_t)h->n_shards);
    bitnet_status st = bn_st_writer_add(h->w[s], name, dt, n_dims, shape, data, nbytes);
    if (!st && h->n_shards > 1 &&
        !cJSON_AddItemToObject(h->weight_map, name, cJSON_CreateString(h->shard_name[s])))
        st = BITNET_ERR_NOMEM;
    return st;
}

static bool bf16_exact(float x) { return bn_bf16_to_f32(bn_f32_to_bf16(x)) == x; }

/* n floats -> BF16 if every value converts exactly, else F16 (the GGUF
 * fixture's floats are exact in F16). */
static bitnet_status add_floats(hf_gen *h, const char *name, int n_dims, const int64_t *shape,
                                const bn_gguf_tensor *t) {
    const uint64_t n = (uint64_t)t->ne[0] * (uint64_t)t->ne[1];
    float *f = bn_malloc_array((size_t)n, sizeof *f);
    if (!f) return BITNET_ERR_NOMEM;
    bool bf = true;
    for (uint64_t i = 0; i < n; i++) {
        float x;
        if (t->type == BN_TYPE_F32)
            memcpy(&x, t->data + 4 * i, 4);
        else {
            uint16_t hv;
            memcpy(&hv, t->data + 2 * i, 2);
            x = bn_f16_to_f32(hv);
        }
        f[i] = x;
        bf = bf && bf16_exact(x);
    }
    uint16_t *out = hg_alloc(h, (size_t)n * 2);
    bitnet_status st = out ? BITNET_OK : BITNET_ERR_NOMEM;
    for (uint64_t i = 0; !st && i < n; i++)
        out[i] = bf ? bn_f32_to_bf16(f[i]) : bn_f32_to_f16(f[i]);
    bn_free(f);
    if (!st) st = hg_add(h, name, bf ? BN_ST_BF16 : BN_ST_F16, n_dims, shape, out, n * 2);
    return st;
}

static bitnet_status add_vector(hf_gen *h, const char *gguf_name, const char *hf_name) {
    const bn_gguf_tensor *t = bn_gguf_find_tensor(h->g, gguf_name);
    if (!t) return bn_fail(BITNET_ERR_INTERNAL, "fixture: tensor %s missing", gguf_name);
    const int64_t shape[2] = {t->ne[0], t->ne[1]};
    if (t->n_dims == 1) return add_floats(h, hf_name, 1, shape, t);
    const int64_t rm[2] = {t->ne[1], t->ne[0]}; /* [rows][cols] */
    return add_floats(h, hf_name, 2, rm, t);
}

/* bf16-online masters for codes[n] and scale (see the top of the file). */
static bitnet_status make_masters(const char *name, const int8_t *codes, uint64_t n, float scale,
                                  uint16_t *out) {
    uint64_t nnz = 0;
    for (uint64_t i = 0; i < n; i++) nnz += codes[i] != 0;
    const uint64_t z = n - nnz;
    /* units of scale/4: zeros 1 unit each, nonzeros 4 + extra, total 4n */
    uint64_t extra = 3 * z;
    if (nnz == 0 || extra > 11 * nnz)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "--hf-variant bf16-online: projection %s has %" PRIu64
                       " nonzero codes of %" PRIu64
                       "; masters with the same absmean ternarization need at least 3/14 of them "
                       "nonzero (try --kind random)",
                       name, nnz, n);
    const float u = scale / 4.0f;
    for (uint64_t i = 0; i < n; i++) {
        float x;
        if (codes[i] == 0) {
            x = (i & 1) ? -u : u;
        } else {
            const uint64_t add = extra < 11 ? extra : 11;
            extra -= add;
            x = (float)codes[i] * (float)(4 + add) * u;
        }
        if (!bf16_exact(x))
            return bn_fail(BITNET_ERR_INTERNAL, "fixture: %s: master %g is not exact in bf16", name,
                           (double)x);
        out[i] = bn_f32_to_bf16(x);
    }
    /* what the loader (and transformers) will compute */
    float *f = bn_malloc_array((size_t)n, sizeof *f);
    int8_t *back = bn_malloc((size_t)n);
    bitnet_status st = f && back ? BITNET_OK : BITNET_ERR_NOMEM;
    if (!st) {
        for (uint64_t i = 0; i < n; i++) f[i] = bn_bf16_to_f32(out[i]);
        float s2 = 0.0f;
        bn_ternarize_absmean(f, (int64_t)n, back, &s2);
        if (s2 != scale || memcmp(back, codes, (size_t)n) != 0)
            st = bn_fail(BITNET_ERR_INTERNAL,
                         "fixture: %s: the bf16 masters ternarize to scale %.9g, not %.9g", name,
                         (double)s2, (double)scale);
    }
    bn_free(f);
    bn_free(back);
    return st;
}

/* GGUF row order -> HF row order for llama q/k (see the top of the file). */
static void unpermute(const int8_t *src, int64_t M, int64_t K, int64_t head_dim, int8_t *dst) {
    const int64_t half = head_dim / 2;
    for (int64_t r = 0; r < M; r++) {
        const int64_t h = r / head_dim, j = r % head_dim;
        const int64_t from = h * head_dim + (j < half ? 2 * j : 2 * (j - half) + 1);
        memcpy(dst + r * K, src + from * K, (size_t)K);
    }
}

static bitnet_status add_projection(hf_gen *h, const char *gguf_name, const char *hf_name,
                                    bool rope_rows) {
    const bn_gguf_tensor *t = bn_gguf_find_tensor(h->g, gguf_name);
    if (!t || t->type != BN_TYPE_I2_S)
        return bn_fail(BITNET_ERR_INTERNAL, "fixture: i2_s tensor %s missing", gguf_name);
    const int64_t K = t->ne[0], M = t->ne[1];
    const uint64_t n = (uint64_t)K * (uint64_t)M;
    float scale;
    memcpy(&scale, t->data + n / 4, sizeof scale);
    int8_t *codes = bn_malloc((size_t)n), *tmp = bn_malloc((size_t)n); /* [M][K] */
    bitnet_status st = codes && tmp ? BITNET_OK : BITNET_ERR_NOMEM;
    for (uint64_t e = 0; !st && e < n; e++)
        codes[e] = (int8_t)(bn_i2s_code(t->data, (int64_t)e) - 1);
    if (!st && rope_rows && h->llama) {
        unpermute(codes, M, K, h->p->n_embd / h->p->n_head, tmp);
        memcpy(codes, tmp, (size_t)n);
    }
    char sname[160];
    snprintf(sname, sizeof sname, "%s_scale", hf_name);
    if (!st && h->variant == BN_HF_BF16_ONLINE) {
        uint16_t *m = hg_alloc(h, (size_t)n * 2);
        if (!m) st = BITNET_ERR_NOMEM;
        if (!st) st = make_masters(hf_name, codes, n, scale, m);
        const int64_t shape[2] = {M, K};
        if (!st) st = hg_add(h, hf_name, BN_ST_BF16, 2, shape, m, n * 2);
    } else if (!st) {
        const int64_t R = M / 4;
        uint8_t *pk = hg_alloc(h, (size_t)n / 4); /* [M/4][K] */
        float *ws = hg_alloc(h, sizeof *ws);
        if (!pk || !ws) st = BITNET_ERR_NOMEM;
        for (int64_t r = 0; !st && r < R; r++)
            for (int64_t c = 0; c < K; c++) {
                uint8_t b = 0;
                for (int i = 0; i < 4; i++)
                    b |= (uint8_t)((codes[(i * R + r) * K + c] + 1) << (2 * i));
                pk[r * K + c] = b;
            }
        if (!st) {
            /* bitlinear stores the reciprocal; it must come back exactly */
            *ws = h->variant == BN_HF_PACKED_AUTOBITLINEAR ? scale : 1.0f / scale;
            if (1.0f / *ws != scale && h->variant == BN_HF_PACKED_BITLINEAR)
                st = bn_fail(BITNET_ERR_INTERNAL, "fixture: %s: 1/(1/scale) != scale", hf_name);
        }
        const int64_t shape[2] = {R, K}, one[1] = {1};
        if (!st) st = hg_add(h, hf_name, BN_ST_U8, 2, shape, pk, n / 4);
        if (!st) {
            /* BF16 like the published checkpoint when exact, F32 otherwise */
            if (bf16_exact(*ws)) {
                uint16_t *b16 = hg_alloc(h, 2);
                if (!b16)
                    st = BITNET_ERR_NOMEM;
                else {
                    *b16 = bn_f32_to_bf16(*ws);
                    st = hg_add(h, sname, BN_ST_BF16, 1, one, b16, 2);
                }
            } else {
                st = hg_add(h, sname, BN_ST_F32, 1, one, ws, 4);
            }
        }
    }
    bn_free(codes);
    bn_free(tmp);
    return st;
}

static bitnet_status add_tensors(hf_gen *h) {
    bitnet_status st;
    if ((st = add_vector(h, "token_embd.weight", "model.embed_tokens.weight")) ||
        (st = add_vector(h, "output_norm.weight", "model.norm.weight")))
        return st;
    if (h->llama && (st = add_vector(h, "output.weight", "lm_head.weight"))) return st;
    const bool sub = bn_arch_find(h->p->arch)->sub_norms;
    static const struct {
        const char *gguf, *hf;
        bool proj, rope, sub_norm;
    } map[] = {
        {"attn_norm", "input_layernorm", false, false, false},
        {"attn_q", "self_attn.q_proj", true, true, false},
        {"attn_k", "self_attn.k_proj", true, true, false},
        {"attn_v", "self_attn.v_proj", true, false, false},
        {"attn_output", "self_attn.o_proj", true, false, false},
        {"attn_sub_norm", "self_attn.attn_sub_norm", false, false, true},
        {"ffn_norm", "post_attention_layernorm", false, false, false},
        {"ffn_gate", "mlp.gate_proj", true, false, false},
        {"ffn_up", "mlp.up_proj", true, false, false},
        {"ffn_down", "mlp.down_proj", true, false, false},
        {"ffn_sub_norm", "mlp.ffn_sub_norm", false, false, true},
    };
    for (int il = 0; il < h->p->n_layer; il++)
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
            if (map[k].sub_norm && !sub) continue;
            char gn[BN_GGUF_MAX_NAME], hn[128];
            snprintf(gn, sizeof gn, "blk.%d.%s.weight", il, map[k].gguf);
            snprintf(hn, sizeof hn, "model.layers.%d.%s.weight", il, map[k].hf);
            st = map[k].proj ? add_projection(h, gn, hn, map[k].rope) : add_vector(h, gn, hn);
            if (st) return st;
        }
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * JSON files
 * ------------------------------------------------------------------------- */

static bitnet_status write_json(const char *dir, const char *file, cJSON *root) {
    char path[FILE_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", path);
    bn_atomic_file af;
    bitnet_status st = bn_atomic_open(&af, path);
    if (!st) {
        bool ok = fputs(text, af.f) >= 0 && fputc('\n', af.f) != EOF;
        st = bn_atomic_close(&af, ok);
    }
    cJSON_free(text);
    return st;
}

/* A token text from the GGUF as a C string (no NUL inside: the loader
 * checked). */
static char *token_text(const bn_gguf_kv *toks, uint64_t i) {
    return bn_strndup(toks->strings[i].ptr, (size_t)toks->strings[i].len);
}

/* LLaMA-3's split pattern: the importer recognises it (pre "llama-bpe"). */
static const char llama3_regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static cJSON *byte_level(bool add_prefix_space, bool use_regex) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "ByteLevel");
    cJSON_AddBoolToObject(o, "add_prefix_space", add_prefix_space);
    cJSON_AddBoolToObject(o, "trim_offsets", true);
    cJSON_AddBoolToObject(o, "use_regex", use_regex);
    return o;
}

static cJSON *special_piece(const char *bos) {
    cJSON *o = cJSON_CreateObject(), *s = cJSON_AddObjectToObject(o, "SpecialToken");
    cJSON_AddStringToObject(s, "id", bos);
    cJSON_AddNumberToObject(s, "type_id", 0);
    return o;
}

static cJSON *sequence_piece(const char *id) {
    cJSON *o = cJSON_CreateObject(), *s = cJSON_AddObjectToObject(o, "Sequence");
    cJSON_AddStringToObject(s, "id", id);
    cJSON_AddNumberToObject(s, "type_id", 0);
    return o;
}

/* Adds a JSON object of n entries in O(n): cJSON_AddItemToObject walks the
 * list each time, so the children are linked by hand. */
static void append(cJSON *parent, cJSON **last, cJSON *item) {
    if (!*last)
        parent->child = item;
    else {
        (*last)->next = item;
        item->prev = *last;
    }
    parent->child->prev = item;
    *last = item;
}

static bitnet_status tokenizer_files(const hf_gen *h, const char *dir, int64_t *bos_out,
                                     int64_t *eos_out, int64_t *eot_out) {
    const bn_gguf *g = h->g;
    const bn_gguf_kv *toks, *merges, *types;
    bitnet_status st;
    if ((st = bn_gguf_get_arr(g, "tokenizer.ggml.tokens", BN_GGUF_STRING, &toks)) ||
        (st = bn_gguf_get_arr(g, "tokenizer.ggml.token_type", BN_GGUF_INT32, &types)))
        return st;
    bn_gguf_str model;
    if ((st = bn_gguf_get_str(g, "tokenizer.ggml.model", &model))) return st;
    if (model.len != 4 || memcmp(model.ptr, "gpt2", 4) != 0 ||
        (st = bn_gguf_get_arr(g, "tokenizer.ggml.merges", BN_GGUF_STRING, &merges)))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "--format hf needs a byte-level BPE vocabulary (--vocab bpe)");
    uint32_t bos = 0, eos = 0;
    if ((st = bn_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos)) ||
        (st = bn_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos)))
        return st;
    int64_t eot = -1;
    for (uint64_t i = 0; i < toks->n; i++)
        if (toks->strings[i].len == 10 && !memcmp(toks->strings[i].ptr, "<|eot_id|>", 10))
            eot = (int64_t)i;
    char *bos_text = token_text(toks, bos), *eos_text = token_text(toks, eos);
    cJSON *root = cJSON_CreateObject();
    if (!bos_text || !eos_text || !root) {
        bn_free(bos_text);
        bn_free(eos_text);
        cJSON_Delete(root);
        return BITNET_ERR_NOMEM;
    }
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    cJSON *last_added = NULL;
    for (uint64_t i = 0; i < toks->n; i++) {
        if (bn_gguf_arr_i64(types, i) != 3) continue; /* control tokens */
        char *tx = token_text(toks, i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)i);
        cJSON_AddStringToObject(o, "content", tx ? tx : "");
        cJSON_AddBoolToObject(o, "single_word", false);
        cJSON_AddBoolToObject(o, "lstrip", false);
        cJSON_AddBoolToObject(o, "rstrip", false);
        cJSON_AddBoolToObject(o, "normalized", false);
        cJSON_AddBoolToObject(o, "special", true);
        bn_free(tx);
        append(added, &last_added, o);
    }
    cJSON_AddNullToObject(root, "normalizer");
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *pres = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex", llama3_regex);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", false);
    cJSON_AddItemToArray(pres, split);
    cJSON_AddItemToArray(pres, byte_level(false, false));
    cJSON *post = cJSON_AddObjectToObject(root, "post_processor");
    cJSON_AddStringToObject(post, "type", "TemplateProcessing");
    cJSON *single = cJSON_AddArrayToObject(post, "single");
    cJSON_AddItemToArray(single, special_piece(bos_text));
    cJSON_AddItemToArray(single, sequence_piece("A"));
    cJSON *pair = cJSON_AddArrayToObject(post, "pair");
    cJSON_AddItemToArray(pair, special_piece(bos_text));
    cJSON_AddItemToArray(pair, sequence_piece("A"));
    cJSON_AddItemToArray(pair, special_piece(bos_text));
    cJSON_AddItemToArray(pair, sequence_piece("B"));
    cJSON *sp = cJSON_AddObjectToObject(cJSON_AddObjectToObject(post, "special_tokens"), bos_text);
    cJSON_AddStringToObject(sp, "id", bos_text);
    cJSON_AddItemToObject(sp, "ids", cJSON_CreateIntArray((const int[]){(int)bos}, 1));
    cJSON *tl = cJSON_AddArrayToObject(sp, "tokens");
    cJSON_AddItemToArray(tl, cJSON_CreateString(bos_text));
    cJSON_AddItemToObject(root, "decoder", byte_level(true, true));
    cJSON *m = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddNullToObject(m, "dropout");
    cJSON_AddNullToObject(m, "unk_token");
    cJSON_AddNullToObject(m, "continuing_subword_prefix");
    cJSON_AddNullToObject(m, "end_of_word_suffix");
    cJSON_AddBoolToObject(m, "fuse_unk", false);
    cJSON_AddBoolToObject(m, "byte_fallback", false);
    cJSON_AddBoolToObject(m, "ignore_merges", true);
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab");
    cJSON *last = NULL;
    for (uint64_t i = 0; i < toks->n && !st; i++) {
        if (bn_gguf_arr_i64(types, i) == 3) continue;
        char *tx = token_text(toks, i);
        cJSON *num = cJSON_CreateNumber((double)i);
        if (!tx || !num)
            st = BITNET_ERR_NOMEM;
        else {
            num->string = tx; /* cJSON frees it with the item */
            append(vocab, &last, num);
            continue;
        }
        bn_free(tx);
        cJSON_Delete(num);
    }
    cJSON *ml = cJSON_AddArrayToObject(m, "merges");
    last = NULL;
    for (uint64_t i = 0; i < merges->n && !st; i++) {
        char *tx = token_text(merges, i);
        cJSON *s = tx ? cJSON_CreateString(tx) : NULL;
        bn_free(tx);
        if (!s)
            st = BITNET_ERR_NOMEM;
        else
            append(ml, &last, s);
    }
    if (!st)
        st = write_json(dir, "tokenizer.json", root);
    else
        cJSON_Delete(root);

    /* tokenizer_config.json: the bitnet chat format as a template */
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddBoolToObject(tc, "add_bos_token", true);
    cJSON_AddBoolToObject(tc, "add_eos_token", false);
    cJSON_AddStringToObject(tc, "bos_token", bos_text);
    cJSON_AddStringToObject(tc, "eos_token", eos_text);
    cJSON_AddBoolToObject(tc, "clean_up_tokenization_spaces", false);
    cJSON_AddNumberToObject(tc, "model_max_length", h->p->n_ctx);
    cJSON_AddStringToObject(tc, "tokenizer_class", "PreTrainedTokenizerFast");
    cJSON_AddStringToObject(
        tc, "chat_template",
        "{% for message in messages %}{% if message['role'] == 'system' %}{{ 'System: ' + "
        "message['content'] }}{% elif message['role'] == 'user' %}{{ 'User: ' + "
        "message['content'] + '<|eot_id|>Assistant: ' }}{% else %}{{ message['content'] }}"
        "{% endif %}{% endfor %}");
    if (!st)
        st = write_json(dir, "tokenizer_config.json", tc);
    else
        cJSON_Delete(tc);
    bn_free(bos_text);
    bn_free(eos_text);
    *bos_out = bos;
    *eos_out = eos;
    *eot_out = eot;
    return st;
}

static bitnet_status config_files(const hf_gen *h, const char *dir, int64_t bos, int64_t eos,
                                  int64_t eot) {
    const bn_fixture_params *p = h->p;
    cJSON *c = cJSON_CreateObject();
    cJSON *archs = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(archs,
                         cJSON_CreateString(h->llama ? "LlamaForCausalLM" : "BitNetForCausalLM"));
    cJSON_AddStringToObject(c, "model_type", h->llama ? "llama" : "bitnet");
    cJSON_AddStringToObject(c, "hidden_act", h->llama ? "silu" : "relu2");
    cJSON_AddNumberToObject(c, "hidden_size", p->n_embd);
    cJSON_AddNumberToObject(c, "intermediate_size", p->n_ff);
    cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layer);
    cJSON_AddNumberToObject(c, "num_attention_heads", p->n_head);
    cJSON_AddNumberToObject(c, "num_key_value_heads", p->n_head_kv);
    cJSON_AddNumberToObject(c, "max_position_embeddings", p->n_ctx);
    cJSON_AddNumberToObject(c, "rms_norm_eps", (double)p->rms_eps);
    cJSON_AddNumberToObject(c, "rope_theta", (double)p->rope_base);
    cJSON_AddNumberToObject(c, "vocab_size",
                            (double)bn_gguf_find(h->g, "tokenizer.ggml.tokens")->n);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", !h->llama);
    cJSON_AddBoolToObject(c, "attention_bias", false);
    cJSON_AddNumberToObject(c, "attention_dropout", 0.0);
    if (h->llama) cJSON_AddBoolToObject(c, "mlp_bias", false);
    cJSON_AddNumberToObject(c, "bos_token_id", (double)bos);
    cJSON_AddNumberToObject(c, "eos_token_id", (double)eos);
    cJSON_AddNumberToObject(c, "initializer_range", 0.02);
    cJSON_AddBoolToObject(c, "use_cache", true);
    cJSON_AddStringToObject(c, "torch_dtype", "bfloat16");
    cJSON *q = cJSON_AddObjectToObject(c, "quantization_config");
    cJSON_AddStringToObject(q, "quant_method", "bitnet");
    cJSON_AddStringToObject(q, "linear_class",
                            h->variant == BN_HF_PACKED_BITLINEAR ? "bitlinear" : "autobitlinear");
    cJSON_AddStringToObject(q, "quantization_mode",
                            h->variant == BN_HF_BF16_ONLINE ? "online" : "offline");
    bitnet_status st = write_json(dir, "config.json", c);
    if (st) return st;
    cJSON *gc = cJSON_CreateObject();
    cJSON_AddNumberToObject(gc, "bos_token_id", (double)bos);
    cJSON *ids = cJSON_AddArrayToObject(gc, "eos_token_id");
    cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)eos));
    if (eot >= 0 && eot != eos) cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)eot));
    cJSON_AddBoolToObject(gc, "do_sample", false);
    return write_json(dir, "generation_config.json", gc);
}

static bitnet_status write_shards(hf_gen *h, const char *dir) {
    char path[FILE_MAX];
    bitnet_status st = BITNET_OK;
    if (h->n_shards == 1) {
        snprintf(path, sizeof path, "%s/%s", dir, BN_ST_SINGLE_NAME);
        return bn_st_writer_write(h->w[0], path);
    }
    uint64_t total = 0;
    for (int32_t s = 0; s < h->n_shards && !st; s++) {
        snprintf(path, sizeof path, "%s/%s", dir, h->shard_name[s]);
        st = bn_st_writer_write(h->w[s], path);
        total += bn_st_writer_data_bytes(h->w[s]);
    }
    if (st) return st;
    cJSON *ix = cJSON_CreateObject();
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(ix, "metadata"), "total_size", (double)total);
    cJSON_AddItemToObject(ix, "weight_map", h->weight_map);
    h->weight_map = NULL;
    return write_json(dir, BN_ST_INDEX_NAME, ix);
}

#define BAD(...) bn_fail(BITNET_ERR_INVALID_ARGUMENT, __VA_ARGS__)

static bitnet_status make_dir(const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return BITNET_OK;
        return bn_fail(BITNET_ERR_IO, "%s: exists and is not a directory", dir);
    }
    if (mkdir(dir, 0777) != 0)
        return bn_fail(BITNET_ERR_IO, "%s: cannot create the directory: %s", dir, strerror(errno));
    return BITNET_OK;
}

static bitnet_status check_hf(const bn_fixture_params *p, bn_hf_variant variant, int32_t n_shards,
                              const char *dir) {
    const bn_arch *arch = p->arch ? bn_arch_find(p->arch) : NULL;
    if (!dir || strlen(dir) >= DIR_MAX) return BAD("--format hf: the output path is too long");
    if ((unsigned)variant > BN_HF_BF16_ONLINE)
        return BAD("--hf-variant: must be one of %s", bn_hf_variant_list());
    if (n_shards < 1 || n_shards > MAX_SHARDS)
        return BAD("--shards %d: must be in [1, %d]", n_shards, MAX_SHARDS);
    if (!arch || (strcmp(arch->name, "llama") != 0 && strcmp(arch->display, "bitnet-b1.58") != 0))
        return BAD("--format hf: --arch must be bitnet-b1.58 (BitNetForCausalLM) or llama "
                   "(LlamaForCausalLM), not %s",
                   p->arch ? p->arch : "(none)");
    if (p->quant != BN_TYPE_I2_S)
        return BAD(
            "--format hf stores ternary codes and one scale per tensor: --quant must be i2_s");
    return BITNET_OK;
}

bitnet_status bn_fixture_write_hf(const bn_fixture_params *p, bn_hf_variant variant,
                                  int32_t n_shards, const char *dir, bn_fixture_result *result) {
    bn_clear_error();
    bitnet_status st = check_hf(p, variant, n_shards, dir);
    if (!st) st = bn_fixture_check(p);
    if (!st) st = make_dir(dir);
    if (st) return st;
    char tmp[FILE_MAX], stale[FILE_MAX];
    snprintf(tmp, sizeof tmp, "%s/.fixture-source.gguf", dir);
    bn_gguf *g = NULL;
    bn_fixture_params p2 = *p;
    p2.pow2_scales = true; /* every variant exact: see fixture.h */
    p2.i2s_block = 0;      /* read back below in the 128-value layout */
    p = &p2;
    st = bn_fixture_write(p, tmp, result);
    if (!st) st = bn_gguf_open(tmp, false, &g);
    unlink(tmp);
    if (st) return st;
    hf_gen h = {.p = p,
                .variant = variant,
                .llama = !strcmp(p->arch, "llama"),
                .g = g,
                .n_shards = n_shards};
    h.weight_map = cJSON_CreateObject();
    if (!h.weight_map) st = BITNET_ERR_NOMEM;
    for (int32_t s = 0; !st && s < n_shards; s++) {
        snprintf(h.shard_name[s], sizeof h.shard_name[s], "model-%05d-of-%05d.safetensors", s + 1,
                 n_shards);
        if (!(h.w[s] = bn_st_writer_new())) st = BITNET_ERR_NOMEM;
    }
    if (!st) st = add_tensors(&h);
    if (!st && h.n_added < (size_t)n_shards)
        st = BAD("--shards %d: the model has only %zu tensors", n_shards, h.n_added);
    int64_t bos = -1, eos = -1, eot = -1;
    if (!st) st = tokenizer_files(&h, dir, &bos, &eos, &eot);
    if (!st) st = config_files(&h, dir, bos, eos, eot);
    if (!st) {
        /* the other layout's entry point would win over or shadow this one */
        snprintf(stale, sizeof stale, "%s/%s", dir,
                 n_shards == 1 ? BN_ST_INDEX_NAME : BN_ST_SINGLE_NAME);
        unlink(stale);
        st = write_shards(&h, dir);
    }
    for (int32_t s = 0; s < n_shards; s++) bn_st_writer_free(h.w[s]);
    for (size_t i = 0; i < h.n_bufs; i++) bn_free(h.bufs[i]);
    bn_free(h.bufs);
    cJSON_Delete(h.weight_map);
    bn_gguf_close(g);
    return st;
}
