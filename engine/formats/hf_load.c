#include "hf_load.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "chat.h"
#include "error.h"
#include "f16.h"
#include "hf_config.h"
#include "model.h"
#include "quantize.h"
#include "st_index.h"
#include "types.h"
#include "vocab_import.h"

struct bn_hf_state {
    bn_st_set *set;
    void **bufs; /* norms and embeddings made at load */
    size_t n_bufs, cap_bufs;
    uint8_t *meta; /* the in-memory GGUF behind m->file */
    size_t meta_len;
};

/* a directory path, and a file in it */
enum { DIR_MAX_HF = 4096, PATH_MAX_HF = DIR_MAX_HF + 64, NAME_MAX_HF = 160 };

bool bn_hf_dir_of(const char *path, char *buf, size_t size) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        int n = snprintf(buf, size, "%s", path);
        return n >= 0 && (size_t)n < size;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strcmp(base, "config.json") != 0) return false;
    int n =
        slash ? snprintf(buf, size, "%.*s", (int)(slash - path), path) : snprintf(buf, size, ".");
    if (slash == path) n = snprintf(buf, size, "/");
    return n >= 0 && (size_t)n < size;
}

bool bn_hf_is_model_path(const char *path) {
    char dir[DIR_MAX_HF];
    return path && bn_hf_dir_of(path, dir, sizeof dir);
}

void bn_hf_free(bn_hf_state *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_bufs; i++) bn_free(s->bufs[i]);
    bn_free(s->bufs);
    bn_free(s->meta);
    bn_st_set_close(s->set);
    bn_free(s);
}

static void *keep_alloc(bn_hf_state *s, size_t bytes) {
    if (s->n_bufs == s->cap_bufs) {
        size_t cap = s->cap_bufs ? 2 * s->cap_bufs : 64;
        void **b = bn_realloc(s->bufs, cap * sizeof *b);
        if (!b) return NULL;
        s->bufs = b;
        s->cap_bufs = cap;
    }
    void *p = bn_malloc(bytes ? bytes : 1);
    if (p) s->bufs[s->n_bufs++] = p;
    return p;
}

/* "dir/file" into buf. */
static const char *in_dir(char *buf, const char *dir, const char *file) {
    snprintf(buf, PATH_MAX_HF, "%s/%s", dir, file);
    return buf;
}

/* An optional JSON file: *data NULL when it does not exist. */
static bitnet_status read_optional(const char *path, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    if (access(path, F_OK) != 0) return BITNET_OK;
    return bn_read_small_file(path, BN_HF_JSON_MAX_BYTES, data, size);
}

/* ---------------------------------------------------------------------------
 * Tokenizer and metadata
 * ------------------------------------------------------------------------- */

static int64_t find_token(const bn_vocab_build *b, const char *text) {
    size_t n = strlen(text);
    for (size_t i = 0; i < b->n; i++)
        if (b->len[i] == n && !memcmp(b->text[i], text, n)) return (int64_t)i;
    return -1;
}

static bitnet_status check_id(const char *file, const char *key, int64_t id, size_t n) {
    if (id >= (int64_t)n)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: key '%s' = %" PRId64 " is not a token id (tokenizer.json has %zu)",
                       file, key, id, n);
    return BITNET_OK;
}

typedef struct tok_files {
    bn_vocab_build b;
    bn_hf_tok_config tc;
    bn_hf_gen_config gc;
    int64_t bos, eos, eot;
    bool add_bos, add_eos;
    char tc_path[PATH_MAX_HF], gc_path[PATH_MAX_HF];
} tok_files;

static bitnet_status read_tokenizer(const char *dir, const bn_hf_config *cfg, tok_files *t) {
    char path[PATH_MAX_HF];
    char *data = NULL;
    size_t size = 0;
    bitnet_status st = bn_vocab_import_read(in_dir(path, dir, "tokenizer.json"), &data, &size);
    if (st) return st;
    st = bn_vocab_import_json(path, data, size, &t->b);
    free(data);
    if (st) return st;
    if ((st = read_optional(in_dir(t->tc_path, dir, "tokenizer_config.json"), &data, &size)))
        return st;
    if (data) st = bn_hf_tok_config_parse(t->tc_path, data, size, &t->tc);
    bn_free(data);
    if (st) return st;
    if (!t->tc.chat_template) {
        /* transformers 4.43+ may keep the template in a file of its own */
        if ((st = read_optional(in_dir(path, dir, "chat_template.jinja"), &data, &size))) return st;
        t->tc.chat_template = data;
    }
    t->gc.bos_id = -1;
    if ((st = read_optional(in_dir(t->gc_path, dir, "generation_config.json"), &data, &size)))
        return st;
    if (data) st = bn_hf_gen_config_parse(t->gc_path, data, size, &t->gc);
    bn_free(data);
    if (st) return st;

    /* BOS/EOS: the tokenizer's own texts first, then the ids of the configs,
     * then what the importer recognised (<|begin_of_text|>, <s>, ...) */
    const size_t n = t->b.n;
    t->bos = t->b.bos;
    t->eos = t->b.eos;
    t->eot = -1;
    if (cfg->bos_id >= 0) {
        if ((st = check_id("config.json", "bos_token_id", cfg->bos_id, n))) return st;
        t->bos = cfg->bos_id;
    }
    if (t->gc.bos_id >= 0) {
        if ((st = check_id(t->gc_path, "bos_token_id", t->gc.bos_id, n))) return st;
        t->bos = t->gc.bos_id;
    }
    if (cfg->eos_id >= 0) {
        if ((st = check_id("config.json", "eos_token_id", cfg->eos_id, n))) return st;
        t->eos = cfg->eos_id;
    }
    for (int i = 0; i < t->gc.n_eos; i++)
        if ((st = check_id(t->gc_path, "eos_token_id", t->gc.eos_ids[i], n))) return st;
    if (t->gc.n_eos) t->eos = t->gc.eos_ids[0];
    const char *names[2] = {"bos_token", "eos_token"};
    const char *texts[2] = {t->tc.bos_token, t->tc.eos_token};
    int64_t *ids[2] = {&t->bos, &t->eos};
    for (int k = 0; k < 2; k++) {
        if (!texts[k]) continue;
        int64_t id = find_token(&t->b, texts[k]);
        if (id < 0) {
            char show[96];
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: key '%s' = \"%s\" is not a token of tokenizer.json", t->tc_path,
                           names[k], bn_vocab_show(texts[k], strlen(texts[k]), show));
        }
        *ids[k] = id;
    }
    /* a second end-of-generation id (LLaMA-3: <|end_of_text|>, <|eot_id|>) */
    for (int i = 0; i < t->gc.n_eos && t->eot < 0; i++)
        if (t->gc.eos_ids[i] != t->eos) t->eot = t->gc.eos_ids[i];
    t->add_bos = t->tc.add_bos_token >= 0 ? t->tc.add_bos_token == 1 : t->bos >= 0;
    t->add_eos = t->tc.add_eos_token == 1;
    if (t->add_bos && t->bos < 0)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: key 'add_bos_token' is true but no BOS token is known", t->tc_path);
    return BITNET_OK;
}

static bitnet_status put_hparams(bn_gguf_writer *w, const bn_hf_config *c) {
    char k[NAME_MAX_HF];
    const bn_hparams *hp = &c->hp;
    bitnet_status st;
#define K(s) (snprintf(k, sizeof k, "%s.%s", c->arch, s), k)
    if ((st = bn_gguf_set_str(w, "general.architecture", c->arch)) ||
        (st = bn_gguf_set_str(w, "hf.architecture", c->architecture)) ||
        (st = bn_gguf_set_str(w, "hf.quantization_config.linear_class",
                              c->linear_class == BN_HF_AUTOBITLINEAR ? "autobitlinear"
                                                                     : "bitlinear")) ||
        (st = bn_gguf_set_str(w, "hf.quantization_config.quantization_mode",
                              c->online ? "online" : "offline")) ||
        (st = bn_gguf_set_bool(w, "hf.tie_word_embeddings", c->tie_word_embeddings)) ||
        (st = bn_gguf_set_u32(w, K("context_length"), (uint32_t)hp->n_ctx_train)) ||
        (st = bn_gguf_set_u32(w, K("embedding_length"), (uint32_t)hp->n_embd)) ||
        (st = bn_gguf_set_u32(w, K("block_count"), (uint32_t)hp->n_layer)) ||
        (st = bn_gguf_set_u32(w, K("feed_forward_length"), (uint32_t)hp->n_ff)) ||
        (st = bn_gguf_set_u32(w, K("attention.head_count"), (uint32_t)hp->n_head)) ||
        (st = bn_gguf_set_u32(w, K("attention.head_count_kv"), (uint32_t)hp->n_head_kv)) ||
        (st = bn_gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)hp->n_rot)) ||
        (st = bn_gguf_set_f32(w, K("rope.freq_base"), hp->rope_base)) ||
        (st = bn_gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), hp->rms_eps)) ||
        (st = bn_gguf_set_u32(w, K("vocab_size"), (uint32_t)hp->n_vocab)))
        return st;
#undef K
    return BITNET_OK;
}

static bitnet_status put_tokenizer(bn_gguf_writer *w, tok_files *t, const char *chat_format) {
    const int64_t bos = t->b.bos;
    t->b.bos = t->add_bos ? t->bos : -1; /* the writer stores add_bos = (bos >= 0) */
    t->b.eos = t->eos;
    bitnet_status st = bn_vocab_build_write(&t->b, t->b.pre, w);
    t->b.bos = bos;
    if (!st && !t->add_bos && t->bos >= 0)
        st = bn_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos);
    if (!st && t->add_eos) st = bn_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", true);
    if (!st && t->eot >= 0)
        st = bn_gguf_set_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)t->eot);
    if (!st && t->tc.chat_template)
        st = bn_gguf_set_str(w, "tokenizer.chat_template", t->tc.chat_template);
    if (!st) st = bn_gguf_set_str(w, "hf.chat_format", chat_format);
    return st;
}

/* config + tokenizer -> the in-memory GGUF -> m->file, m->vocab. */
static bitnet_status load_meta(bitnet_model *m, const char *dir, const bn_hf_config *cfg,
                               const bitnet_model_params *params) {
    tok_files t;
    memset(&t, 0, sizeof t);
    bn_vocab_build_init(&t.b);
    bitnet_status st = read_tokenizer(dir, cfg, &t);
    const char *chat = "none";
    bn_chat_format f;
    if (!st && t.tc.chat_template && t.tc.chat_template[0]) {
        if (bn_chat_template_match(t.tc.chat_template, &f)) {
            chat = bn_chat_format_name(f);
        } else {
            chat = "unrecognised";
            BN_LOG_WARN(&m->log,
                        "%s: chat_template matches none of the built-in chat formats (bitnet, "
                        "llama3, falcon3, chatml) and is never executed: pick one with "
                        "--chat-template",
                        t.tc_path);
        }
    }
    bn_gguf_writer *w = st ? NULL : bn_gguf_writer_new();
    if (!st && !w) st = BITNET_ERR_NOMEM;
    if (!st) st = put_hparams(w, cfg);
    if (!st) st = put_tokenizer(w, &t, chat);
    if (!st) st = bn_gguf_write_memory(w, &m->hf->meta, &m->hf->meta_len);
    bn_gguf_writer_free(w);
    const size_t n_tokens = t.b.n;
    bn_vocab_build_free(&t.b);
    bn_hf_tok_config_free(&t.tc);
    if (st) return st;
    char name[PATH_MAX_HF];
    snprintf(name, sizeof name, "%s (config.json, tokenizer files)", dir);
    if ((st = bn_gguf_open_memory(m->hf->meta, m->hf->meta_len, name, &m->file))) return st;
    if ((st = bn_vocab_load(m->file, params, &m->vocab))) return st;
    if ((size_t)cfg->hp.n_vocab != n_tokens)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s/config.json: key 'vocab_size' = %d but %s/tokenizer.json has %zu tokens",
                       dir, cfg->hp.n_vocab, dir, n_tokens);
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------- */

typedef struct loader {
    bitnet_model *m;
    const bn_hf_config *cfg;
    const char *dir;
    size_t n_used;
} loader;

static bool is_float(bn_st_dtype d) { return d == BN_ST_F32 || d == BN_ST_F16 || d == BN_ST_BF16; }

static void shape_text(const bn_st_tensor *t, char buf[96]) {
    int off = snprintf(buf, 96, "[");
    for (int d = 0; d < t->n_dims && off < 80; d++)
        off += snprintf(buf + off, (size_t)(96 - off), "%s%" PRId64, d ? ", " : "", t->shape[d]);
    snprintf(buf + off, (size_t)(96 - off), "]");
}

/* A tensor of shape [d0] (d1 = 0) or [d0, d1]; missing is an error when
 * required. */
static bitnet_status find(loader *L, const char *name, int64_t d0, int64_t d1, bool required,
                          const bn_st_tensor **out, const char **file) {
    *out = bn_st_set_find(L->m->hf->set, name, file);
    if (!*out) {
        if (!required) return BITNET_OK;
        return bn_fail(BITNET_ERR_FORMAT, "%s: required tensor '%s' is missing", L->dir, name);
    }
    const bn_st_tensor *t = *out;
    bool ok = d1 ? t->n_dims == 2 && t->shape[0] == d0 && t->shape[1] == d1
                 : t->n_dims == 1 && t->shape[0] == d0;
    if (!ok) {
        char s[96];
        shape_text(t, s);
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor '%s' has shape %s, expected [%" PRId64 "%s%.0" PRId64
                       "] from config.json",
                       *file, name, s, d0, d1 ? ", " : "", d1);
    }
    L->n_used++;
    return BITNET_OK;
}

static bitnet_status need_float(const char *file, const bn_st_tensor *t) {
    if (is_float(t->dtype)) return BITNET_OK;
    return bn_fail(BITNET_ERR_UNSUPPORTED,
                   "%s: tensor '%s' has dtype %s (expected BF16, F16 or F32)", file, t->name,
                   bn_st_dtype_name(t->dtype));
}

/* A norm weight [n] as F32. */
static bitnet_status load_norm(loader *L, const char *name, int64_t n, const float **out) {
    const bn_st_tensor *t;
    const char *file;
    bitnet_status st = find(L, name, n, 0, true, &t, &file);
    if (st || (st = need_float(file, t))) return st;
    float *v = keep_alloc(L->m->hf, (size_t)n * sizeof *v); /* [n] */
    if (!v) return BITNET_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) v[i] = bn_st_read_f32(t, (uint64_t)i);
    *out = v;
    L->m->n_params += (uint64_t)n;
    L->m->n_bytes += (uint64_t)n * sizeof *v;
    return BITNET_OK;
}

/* An embedding or head [rows][E]: F16 when every value converts exactly. */
static bitnet_status load_table(loader *L, const char *name, int64_t rows, bool required,
                                bn_weight *w) {
    const bn_st_tensor *t;
    const char *file;
    const int64_t E = L->m->hp.n_embd;
    bitnet_status st = find(L, name, rows, E, required, &t, &file);
    if (st || !t || (st = need_float(file, t))) return st;
    const uint64_t n = (uint64_t)rows * (uint64_t)E;
    bool f16 = t->dtype == BN_ST_F16;
    for (uint64_t i = 0; !f16 && t->dtype == BN_ST_BF16 && i <= n; i++) {
        if (i == n) {
            f16 = true;
            break;
        }
        const float x = bn_st_read_f32(t, i);
        if (bn_f16_to_f32(bn_f32_to_f16(x)) != x) break;
    }
    void *data = keep_alloc(L->m->hf, (size_t)n * (f16 ? 2 : 4)); /* [rows][E] */
    if (!data) return BITNET_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        const float x = bn_st_read_f32(t, i);
        if (f16)
            ((uint16_t *)data)[i] = bn_f32_to_f16(x);
        else
            ((float *)data)[i] = x;
    }
    *w = (bn_weight){.name = t->name,
                     .type = f16 ? BN_TYPE_F16 : BN_TYPE_F32,
                     .n_in = E,
                     .n_out = rows,
                     .data = data,
                     .row_bytes = (size_t)E * (f16 ? 2 : 4),
                     .scale = 1.0f,
                     .post_scale = 1.0f};
    L->m->n_params += n;
    L->m->n_bytes += n * (f16 ? 2 : 4);
    return BITNET_OK;
}

/* weight_scale: one finite positive value; the effective I2_S scale. */
static bitnet_status read_scale(loader *L, const char *wname, float *scale) {
    char name[NAME_MAX_HF + 16];
    size_t len = strlen(wname);
    snprintf(name, sizeof name, "%.*s_scale", (int)len, wname); /* x.weight -> x.weight_scale */
    const char *file;
    const bn_st_tensor *t = bn_st_set_find(L->m->hf->set, name, &file);
    if (!t)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor '%s' is missing (offline quantization needs the scale of '%s')",
                       L->dir, name, wname);
    if (!is_float(t->dtype) || t->n_elements != 1 || t->n_dims > 1)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' must be one BF16, F16 or F32 value",
                       file, name);
    L->n_used++;
    const float ws = bn_st_read_f32(t, 0);
    const bool auto_ = L->cfg->linear_class == BN_HF_AUTOBITLINEAR;
    *scale = auto_ ? ws : 1.0f / ws;
    if (!isfinite(ws) || ws <= 0.0f || !isfinite(*scale) || *scale <= 0.0f)
        return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' = %g (must be finite and > 0)", file,
                       name, (double)ws);
    return BITNET_OK;
}

/* packed [M/4][K] -> codes [M][K]: row i*R + r from bits 2i of packed[r]. */
static bitnet_status unpack(const char *file, const bn_st_tensor *t, int64_t M, int64_t K,
                            int8_t *codes) {
    const int64_t R = M / 4;
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < K; c++) {
            const uint8_t b = t->data[r * K + c];
            for (int i = 0; i < 4; i++) {
                const int v = (b >> (2 * i)) & 3;
                if (v == 3)
                    return bn_fail(BITNET_ERR_FORMAT,
                                   "%s: tensor '%s' byte [%" PRId64 ", %" PRId64
                                   "] holds the 2-bit value 3 (ternary values are 0, 1, 2)",
                                   file, t->name, r, c);
                codes[(i * R + r) * K + c] = (int8_t)(v - 1);
            }
        }
    return BITNET_OK;
}

/* float [M][K] that already holds codes (-1, 0, +1). */
static bitnet_status float_codes(const char *file, const bn_st_tensor *t, uint64_t n,
                                 int8_t *codes) {
    for (uint64_t i = 0; i < n; i++) {
        const float x = bn_st_read_f32(t, i);
        if (x != -1.0f && x != 0.0f && x != 1.0f)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: tensor '%s' element %" PRIu64 " = %g: offline float weights must "
                           "be ternary codes -1, 0, 1",
                           file, t->name, i, (double)x);
        codes[i] = (int8_t)x;
    }
    return BITNET_OK;
}

static bitnet_status load_projection(loader *L, const char *name, int64_t K, int64_t M,
                                     bn_weight *w) {
    memset(w, 0, sizeof *w);
    w->post_scale = 1.0f;
    const char *file;
    const bn_st_tensor *t = bn_st_set_find(L->m->hf->set, name, &file);
    if (!t) return bn_fail(BITNET_ERR_FORMAT, "%s: required tensor '%s' is missing", L->dir, name);
    const bool packed = t->dtype == BN_ST_U8;
    if (packed && M % 4 != 0)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: tensor '%s': %" PRId64
                       " output features are not a multiple of 4 (packed rows)",
                       file, name, M);
    bitnet_status st = find(L, name, packed ? M / 4 : M, K, true, &t, &file);
    if (st) return st;
    if (!packed && (st = need_float(file, t))) return st;
    if (K % 128 != 0)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has %" PRId64 " input features, not a multiple of 128 "
                       "(the I2_S kernels' block)",
                       file, name, K);
    if (packed && L->cfg->online)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: tensor '%s' is packed (U8) but config.json says quantization_mode "
                       "\"online\" (float master weights)",
                       file, name);
    const uint64_t n = (uint64_t)M * (uint64_t)K;
    int8_t *codes = bn_malloc((size_t)n); /* [M][K] */
    if (!codes) return BITNET_ERR_NOMEM;
    float scale = 1.0f;
    if (packed) {
        st = read_scale(L, name, &scale);
        if (!st) st = unpack(file, t, M, K, codes);
    } else if (L->cfg->online) {
        float *f = bn_malloc_array((size_t)n, sizeof *f); /* [M][K] */
        if (!f) st = BITNET_ERR_NOMEM;
        for (uint64_t i = 0; !st && i < n; i++) {
            f[i] = bn_st_read_f32(t, i);
            if (!isfinite(f[i]))
                st = bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' element %" PRIu64 " is %g", file,
                             name, i, (double)f[i]);
        }
        if (!st) bn_ternarize_absmean(f, (int64_t)n, codes, &scale);
        bn_free(f);
    } else {
        st = read_scale(L, name, &scale);
        if (!st) st = float_codes(file, t, n, codes);
    }
    uint8_t *out = st ? NULL : bn_malloc((size_t)bn_i2s_nbytes((int64_t)n));
    if (!st && !out) st = BITNET_ERR_NOMEM;
    if (!st) {
        bn_i2s_pack(codes, (int64_t)n, scale, out);
        *w = (bn_weight){.name = t->name,
                         .type = BN_TYPE_I2_S,
                         .n_in = K,
                         .n_out = M,
                         .data = out,
                         .row_bytes = (size_t)K / 4,
                         .scale = scale,
                         .owned = out,
                         .post_scale = 1.0f};
        L->m->n_params += n;
        L->m->n_bytes += bn_i2s_nbytes((int64_t)n);
    }
    bn_free(codes);
    return st;
}

static bitnet_status load_layer(loader *L, int il) {
    const bn_hparams *hp = &L->m->hp;
    bn_layer *ly = &L->m->layers[il];
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const int64_t Q = (int64_t)hp->n_head * hp->head_dim,
                  KV = (int64_t)hp->n_head_kv * hp->head_dim;
    char n[NAME_MAX_HF];
    bitnet_status st;
#define NAME(s) (snprintf(n, sizeof n, "model.layers.%d.%s", il, s), n)
    if ((st = load_norm(L, NAME("input_layernorm.weight"), E, &ly->attn_norm)) ||
        (st = load_projection(L, NAME("self_attn.q_proj.weight"), E, Q, &ly->wq)) ||
        (st = load_projection(L, NAME("self_attn.k_proj.weight"), E, KV, &ly->wk)) ||
        (st = load_projection(L, NAME("self_attn.v_proj.weight"), E, KV, &ly->wv)) ||
        (st = load_projection(L, NAME("self_attn.o_proj.weight"), Q, E, &ly->wo)) ||
        (st = load_norm(L, NAME("post_attention_layernorm.weight"), E, &ly->ffn_norm)) ||
        (st = load_projection(L, NAME("mlp.gate_proj.weight"), E, F, &ly->ffn_gate)) ||
        (st = load_projection(L, NAME("mlp.up_proj.weight"), E, F, &ly->ffn_up)) ||
        (st = load_projection(L, NAME("mlp.down_proj.weight"), F, E, &ly->ffn_down)))
        return st;
    if (L->m->arch->sub_norms &&
        ((st = load_norm(L, NAME("self_attn.attn_sub_norm.weight"), Q, &ly->attn_sub_norm)) ||
         (st = load_norm(L, NAME("mlp.ffn_sub_norm.weight"), F, &ly->ffn_sub_norm))))
        return st;
#undef NAME
    return BITNET_OK;
}

static bitnet_status load_tensors(loader *L) {
    bitnet_model *m = L->m;
    const bn_hparams *hp = &m->hp;
    bitnet_status st;
    if ((st = load_table(L, "model.embed_tokens.weight", hp->n_vocab, true, &m->tok_embd)) ||
        (st = load_norm(L, "model.norm.weight", hp->n_embd, &m->output_norm)))
        return st;
    m->output = m->tok_embd;
    const bool has_head = bn_st_set_find(m->hf->set, "lm_head.weight", NULL) != NULL;
    if (L->cfg->tie_word_embeddings) {
        if (has_head) {
            L->n_used++;
            BN_LOG_INFO(&m->log, "%s: lm_head.weight ignored: tie_word_embeddings is true", L->dir);
        }
    } else if (!has_head) {
        return bn_fail(
            BITNET_ERR_FORMAT,
            "%s: tensor 'lm_head.weight' is missing and config.json key "
            "'tie_word_embeddings' is false (transformers would initialize it at random)",
            L->dir);
    } else if ((st = load_table(L, "lm_head.weight", hp->n_vocab, true, &m->output))) {
        return st;
    }
    m->layers = bn_calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return BITNET_ERR_NOMEM;
    for (int il = 0; il < hp->n_layer; il++)
        if ((st = load_layer(L, il))) return st;
    if (L->n_used != m->hf->set->n_tensors)
        BN_LOG_WARN(&m->log, "%s: %zu of the checkpoint's %zu tensors are not used by %s", L->dir,
                    m->hf->set->n_tensors - L->n_used, m->hf->set->n_tensors, L->cfg->architecture);
    return BITNET_OK;
}

bitnet_status bn_hf_load(bitnet_model *m, const char *path, const bitnet_model_params *params) {
    char dir[DIR_MAX_HF], file[PATH_MAX_HF];
    if (!bn_hf_dir_of(path, dir, sizeof dir))
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s: not a model directory", path);
    if (access(in_dir(file, dir, "config.json"), F_OK) != 0)
        return bn_fail(BITNET_ERR_IO,
                       "%s: is a directory, not a regular file, and not a Hugging Face model "
                       "directory (it has no config.json)",
                       path);
    if (!(m->hf = bn_calloc(1, sizeof *m->hf))) return BITNET_ERR_NOMEM;
    char *json = NULL;
    size_t len = 0;
    bn_hf_config cfg;
    bitnet_status st =
        bn_read_small_file(in_dir(file, dir, "config.json"), BN_HF_JSON_MAX_BYTES, &json, &len);
    if (!st) st = bn_hf_config_parse(file, json, len, &cfg);
    bn_free(json);
    if (st) return st;
    if ((st = load_meta(m, dir, &cfg, params))) return st;
    m->arch = bn_arch_find(cfg.arch);
    m->hp = cfg.hp;
    if (params->vocab_only) return BITNET_OK;
    if ((st = bn_st_set_open(dir, params->use_mmap, &m->hf->set))) return st;
    loader L = {.m = m, .cfg = &cfg, .dir = dir};
    if ((st = load_tensors(&L))) return st;
    /* the tensors were converted: the files are no longer needed */
    bn_st_set_close(m->hf->set);
    m->hf->set = NULL;
    BN_LOG_INFO(&m->log,
                "%s: %s (%s, %s%s), %d layers, %d embd, %d ff, %d heads (%d kv), vocab %d, "
                "%.1f MiB in memory",
                dir, cfg.architecture, m->arch->display,
                cfg.linear_class == BN_HF_AUTOBITLINEAR ? "autobitlinear" : "bitlinear",
                cfg.online ? ", online" : "", m->hp.n_layer, m->hp.n_embd, m->hp.n_ff, m->hp.n_head,
                m->hp.n_head_kv, m->hp.n_vocab, (double)m->n_bytes / 1048576.0);
    return BITNET_OK;
}
