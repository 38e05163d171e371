#include "hf_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "hparams.h"
#include "json_util.h"

/* A value for messages: 3.5, "relu", true, null, an object, an array. */
static const char *describe(const cJSON *v, char buf[96]) {
    if (!v) return "nothing";
    if (cJSON_IsNumber(v))
        snprintf(buf, 96, "%.17g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(buf, 96, "\"%.60s%s\"", v->valuestring, strlen(v->valuestring) > 60 ? "..." : "");
    else if (cJSON_IsBool(v))
        snprintf(buf, 96, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(buf, 96, "null");
    else
        snprintf(buf, 96, "%s", cJSON_IsArray(v) ? "an array" : "an object");
    return buf;
}

static bitnet_status bad_value(const char *file, const char *key, const char *want,
                               const cJSON *v) {
    char b[96];
    return bn_fail(BITNET_ERR_FORMAT, "%s: key '%s' must be %s, found %s", file, key, want,
                   describe(v, b));
}

static bitnet_status unsupported(const char *file, const char *key, const cJSON *v,
                                 const char *why) {
    char b[96];
    return bn_fail(BITNET_ERR_UNSUPPORTED, "%s: key '%s' = %s is not supported (%s)", file, key,
                   describe(v, b), why);
}

/* An integer key; absent (or null when null_ok) gives def, or an error when
 * required. */
static bitnet_status get_int(const char *file, const cJSON *obj, const char *key, bool required,
                             int64_t min, int64_t max, int64_t def, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = def;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return bn_fail(BITNET_ERR_FORMAT, "%s: required key '%s' is missing", file, key);
        return BITNET_OK;
    }
    if (!bn_json_int(v, min, max, out)) {
        char want[96];
        snprintf(want, sizeof want, "an integer in [%lld, %lld]", (long long)min, (long long)max);
        return bad_value(file, key, want, v);
    }
    return BITNET_OK;
}

static bitnet_status get_i32(const char *file, const cJSON *obj, const char *key, bool required,
                             int32_t max, int32_t def, int32_t *out) {
    int64_t v;
    bitnet_status st = get_int(file, obj, key, required, 1, max, def, &v);
    *out = (int32_t)v;
    return st;
}

/* A positive finite number. */
static bitnet_status get_pos(const char *file, const cJSON *obj, const char *key, double def,
                             float *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = (float)def;
    if (!v || cJSON_IsNull(v)) return BITNET_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0 ||
        !isfinite((float)v->valuedouble))
        return bad_value(file, key, "a positive finite number", v);
    *out = (float)v->valuedouble;
    return BITNET_OK;
}

static bitnet_status get_bool(const char *file, const cJSON *obj, const char *key, int def,
                              int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = def;
    if (!v || cJSON_IsNull(v)) return BITNET_OK;
    if (!cJSON_IsBool(v)) return bad_value(file, key, "true or false", v);
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return BITNET_OK;
}

/* A string key equal to one of `allowed` (NULL-terminated); absent gives
 * allowed[0]. Returns the index in *which. */
static bitnet_status get_choice(const char *file, const cJSON *obj, const char *key,
                                const char *const *allowed, int *which) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *which = 0;
    if (!v || cJSON_IsNull(v)) return BITNET_OK;
    if (!cJSON_IsString(v)) return bad_value(file, key, "a string", v);
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(v->valuestring, allowed[i])) {
            *which = i;
            return BITNET_OK;
        }
    char list[160] = "";
    for (int i = 0; allowed[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "",
                 allowed[i]);
    return unsupported(file, key, v, list);
}

/* An id, a list of ids (the first is kept) or null. */
static bitnet_status get_ids(const char *file, const cJSON *obj, const char *key, int64_t *ids,
                             int max, int *n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *n = 0;
    if (!v || cJSON_IsNull(v)) return BITNET_OK;
    const char *want = "a token id (an integer >= 0), a list of them, or null";
    if (cJSON_IsNumber(v)) {
        if (!bn_json_int(v, 0, INT32_MAX, &ids[0])) return bad_value(file, key, want, v);
        *n = 1;
        return BITNET_OK;
    }
    if (!cJSON_IsArray(v)) return bad_value(file, key, want, v);
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        int64_t id;
        if (!bn_json_int(it, 0, INT32_MAX, &id)) return bad_value(file, key, want, it);
        if (*n == max)
            return bn_fail(BITNET_ERR_FORMAT, "%s: key '%s' lists more than %d ids", file, key,
                           max);
        ids[(*n)++] = id;
    }
    return BITNET_OK;
}

static cJSON *parse_object(const char *file, const char *json, size_t len, bitnet_status *st) {
    char err[256];
    const bn_json_limits lim = {.max_bytes = BN_HF_JSON_MAX_BYTES, .max_depth = 16};
    cJSON *root = NULL;
    const bitnet_status jst = bn_json_parse_status(json, len, &lim, &root, err, sizeof err);
    *st = BITNET_OK;
    if (!root) {
        *st = bn_fail(jst, "%s: %s", file, err);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        *st = bn_fail(BITNET_ERR_FORMAT, "%s: the JSON is not an object", file);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---------------------------------------------------------------------------
 * config.json
 * ------------------------------------------------------------------------- */

/* transformers' BitNet integration leaves these three unconverted; naming
 * anything else would leave projections dense. */
static bool default_unconverted(const char *s) {
    return !strcmp(s, "lm_head") || !strcmp(s, "model.embed_tokens") || !strcmp(s, "model.norm");
}

static bitnet_status parse_quant(const char *file, const cJSON *root, bn_hf_config *c) {
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "quantization_config");
    if (!q || cJSON_IsNull(q))
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: key 'quantization_config' is missing: without it transformers runs "
                       "the weights dense (no ternarization), which libbitnet does not",
                       file);
    if (!cJSON_IsObject(q)) return bad_value(file, "quantization_config", "an object", q);
    static const char *const keys[] = {"quant_method", "linear_class", "quantization_mode",
                                       "use_rms_norm", "rms_norm_eps", "modules_to_not_convert"};
    for (const cJSON *k = q->child; k; k = k->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            known |= !strcmp(k->string, keys[i]);
        if (!known)
            return bn_fail(BITNET_ERR_UNSUPPORTED,
                           "%s: key 'quantization_config.%.80s' is not a key libbitnet knows "
                           "(it may change the computation)",
                           file, k->string);
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(q, "quant_method");
    if (!cJSON_IsString(m) || strcmp(m->valuestring, "bitnet") != 0)
        return m ? unsupported(file, "quantization_config.quant_method", m, "only \"bitnet\"")
                 : bn_fail(BITNET_ERR_FORMAT,
                           "%s: required key 'quantization_config.quant_method' is missing", file);
    static const char *const classes[] = {"bitlinear", "autobitlinear", NULL};
    static const char *const modes[] = {"offline", "online", NULL};
    int lc = 0, mode = 0, rms = 0;
    bitnet_status st;
    if ((st = get_choice(file, q, "linear_class", classes, &lc)) ||
        (st = get_choice(file, q, "quantization_mode", modes, &mode)) ||
        (st = get_bool(file, q, "use_rms_norm", 0, &rms)))
        return st;
    if (rms)
        return unsupported(file, "quantization_config.use_rms_norm",
                           cJSON_GetObjectItemCaseSensitive(q, "use_rms_norm"),
                           "an extra RMSNorm before every BitLinear");
    if (mode == 1 && lc != 1)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: key 'quantization_config.quantization_mode' = \"online\" needs "
                       "linear_class \"autobitlinear\" (transformers has no online BitLinear)",
                       file);
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(q, "modules_to_not_convert");
    if (mods && !cJSON_IsNull(mods)) {
        if (!cJSON_IsArray(mods))
            return bad_value(file, "quantization_config.modules_to_not_convert",
                             "a list of module names or null", mods);
        const cJSON *it;
        cJSON_ArrayForEach(it, mods) {
            if (!cJSON_IsString(it))
                return bad_value(file, "quantization_config.modules_to_not_convert",
                                 "a list of module names", it);
            if (!default_unconverted(it->valuestring))
                return unsupported(file, "quantization_config.modules_to_not_convert", it,
                                   "only lm_head, model.embed_tokens and model.norm may stay "
                                   "unquantized");
        }
    }
    c->linear_class = lc ? BN_HF_AUTOBITLINEAR : BN_HF_BITLINEAR;
    c->online = mode == 1;
    return BITNET_OK;
}

static bitnet_status parse_family(const char *file, const cJSON *root, bn_hf_config *c) {
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (mt && !cJSON_IsString(mt)) return bad_value(file, "model_type", "a string", mt);
    const char *name = NULL;
    if (archs && !cJSON_IsNull(archs)) {
        if (!cJSON_IsArray(archs) || cJSON_GetArraySize(archs) != 1 ||
            !cJSON_IsString(cJSON_GetArrayItem(archs, 0)))
            return bad_value(file, "architectures", "a list of one class name", archs);
        name = cJSON_GetArrayItem(archs, 0)->valuestring;
    }
    if (!name && !mt)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: neither key 'architectures' nor key 'model_type' is present", file);
    const char *type = mt ? mt->valuestring : NULL;
    if (name && (!strcmp(name, "BitNetForCausalLM") || !strcmp(name, "BitnetForCausalLM")))
        c->family = BN_HF_BITNET;
    else if (name && !strcmp(name, "LlamaForCausalLM"))
        c->family = BN_HF_LLAMA;
    else if (name)
        return unsupported(file, "architectures", cJSON_GetArrayItem(archs, 0),
                           "BitNetForCausalLM, BitnetForCausalLM, LlamaForCausalLM");
    else if (!strcmp(type, "bitnet"))
        c->family = BN_HF_BITNET;
    else if (!strcmp(type, "llama"))
        c->family = BN_HF_LLAMA;
    else
        return unsupported(file, "model_type", mt, "\"bitnet\", \"llama\"");
    const char *want_type = c->family == BN_HF_BITNET ? "bitnet" : "llama";
    if (type && strcmp(type, want_type) != 0)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: key 'model_type' = \"%.40s\" does not match "
                       "architectures [\"%s\"] (expected \"%s\")",
                       file, type, name, want_type);
    snprintf(c->architecture, sizeof c->architecture, "%s", name ? name : type);
    c->arch = c->family == BN_HF_BITNET ? "bitnet-b1.58" : "llama-hf";
    return BITNET_OK;
}

/* rope_theta at the top level (transformers 4) or rope_parameters (5). */
static bitnet_status parse_rope(const char *file, const cJSON *root, double def, float *base) {
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (sc && !cJSON_IsNull(sc)) return unsupported(file, "rope_scaling", sc, "only null");
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) return get_pos(file, root, "rope_theta", def, base);
    if (!cJSON_IsObject(rp)) return bad_value(file, "rope_parameters", "an object", rp);
    for (const cJSON *k = rp->child; k; k = k->next)
        if (strcmp(k->string, "rope_type") && strcmp(k->string, "rope_theta"))
            return unsupported(file, "rope_parameters", k, "only rope_type and rope_theta");
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
    if (ty && !(cJSON_IsString(ty) && !strcmp(ty->valuestring, "default")))
        return unsupported(file, "rope_parameters.rope_type", ty, "only \"default\"");
    bitnet_status st = get_pos(file, root, "rope_theta", def, base);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rp, "rope_theta");
    if (st || !t) return st;
    if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble <= 0 ||
        !isfinite((float)t->valuedouble))
        return bad_value(file, "rope_parameters.rope_theta", "a positive finite number", t);
    *base = (float)t->valuedouble;
    return BITNET_OK;
}

static bitnet_status refuse_true(const char *file, const cJSON *root, const char *key,
                                 const char *why) {
    int v = 0;
    bitnet_status st = get_bool(file, root, key, 0, &v);
    if (st) return st;
    if (v) return unsupported(file, key, cJSON_GetObjectItemCaseSensitive(root, key), why);
    return BITNET_OK;
}

static bitnet_status parse_config(const char *file, const cJSON *root, bn_hf_config *c) {
    bn_hparams *hp = &c->hp;
    bitnet_status st;
    if ((st = parse_family(file, root, c))) return st;
    const bool bitnet = c->family == BN_HF_BITNET;
    if ((st = get_i32(file, root, "hidden_size", true, BN_HP_MAX_EMBD, 0, &hp->n_embd)) ||
        (st = get_i32(file, root, "intermediate_size", true, BN_HP_MAX_FF, 0, &hp->n_ff)) ||
        (st = get_i32(file, root, "num_hidden_layers", true, BN_HP_MAX_LAYER, 0, &hp->n_layer)) ||
        (st = get_i32(file, root, "num_attention_heads", true, BN_HP_MAX_HEAD, 0, &hp->n_head)) ||
        (st = get_i32(file, root, "num_key_value_heads", false, BN_HP_MAX_HEAD, hp->n_head,
                      &hp->n_head_kv)) ||
        (st = get_i32(file, root, "max_position_embeddings", false, BN_HP_MAX_CTX, 2048,
                      &hp->n_ctx_train)) ||
        (st = get_i32(file, root, "vocab_size", true, INT32_MAX, 0, &hp->n_vocab)))
        return st;
    /* the defaults of BitNetConfig / LlamaConfig */
    if ((st = get_pos(file, root, "rms_norm_eps", bitnet ? 1e-5 : 1e-6, &hp->rms_eps)) ||
        (st = parse_rope(file, root, bitnet ? 500000.0 : 10000.0, &hp->rope_base)))
        return st;
    static const char *const relu2[] = {"relu2", NULL}, *const silu[] = {"silu", NULL};
    int act = 0, tie = 0;
    if ((st = get_choice(file, root, "hidden_act", bitnet ? relu2 : silu, &act)) ||
        (st = refuse_true(file, root, "attention_bias", "biases on q/k/v/o")) ||
        (st = refuse_true(file, root, "mlp_bias", "biases on the MLP")) ||
        (st = get_bool(file, root, "tie_word_embeddings", 0, &tie)))
        return st;
    c->tie_word_embeddings = tie;
    const bn_hparam_names names = {.path = file,
                                   .arch = c->architecture,
                                   .n_embd = "hidden_size",
                                   .n_head = "num_attention_heads",
                                   .n_head_kv = "num_key_value_heads",
                                   .n_rot = "head_dim",
                                   .rms_eps = "rms_norm_eps",
                                   .rope_base = "rope_theta"};
    if ((st = bn_hparams_check_heads(hp, &names))) return st;
    int64_t head_dim = 0;
    if ((st = get_int(file, root, "head_dim", false, 1, 1 << 16, hp->head_dim, &head_dim)))
        return st;
    if (head_dim != hp->head_dim)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: key 'head_dim' = %lld differs from hidden_size / num_attention_heads "
                       "= %d: not supported",
                       file, (long long)head_dim, hp->head_dim);
    hp->n_rot = hp->head_dim; /* partial rotary is not in these configs */
    const bn_arch *arch = bn_arch_find(c->arch);
    if (!arch) return bn_fail(BITNET_ERR_INTERNAL, "architecture row %s is missing", c->arch);
    if ((st = bn_hparams_check_rest(hp, arch, &names))) return st;
    int64_t ids[BN_HF_MAX_EOS];
    int n = 0;
    c->bos_id = c->eos_id = -1;
    if ((st = get_ids(file, root, "bos_token_id", ids, BN_HF_MAX_EOS, &n))) return st;
    if (n) c->bos_id = ids[0];
    if ((st = get_ids(file, root, "eos_token_id", ids, BN_HF_MAX_EOS, &n))) return st;
    if (n) c->eos_id = ids[0];
    return parse_quant(file, root, c);
}

bitnet_status bn_hf_config_parse(const char *name, const char *json, size_t len,
                                 bn_hf_config *out) {
    memset(out, 0, sizeof *out);
    bitnet_status st;
    cJSON *root = parse_object(name, json, len, &st);
    if (!root) return st;
    st = parse_config(name, root, out);
    cJSON_Delete(root);
    return st;
}

/* ---------------------------------------------------------------------------
 * tokenizer_config.json, generation_config.json
 * ------------------------------------------------------------------------- */

void bn_hf_tok_config_free(bn_hf_tok_config *c) {
    if (!c) return;
    bn_free(c->bos_token);
    bn_free(c->eos_token);
    bn_free(c->chat_template);
    memset(c, 0, sizeof *c);
}

/* "text", {"content": "text", ...} (an AddedToken) or null. */
static bitnet_status get_token(const char *file, const cJSON *root, const char *key, char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return BITNET_OK;
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return bad_value(file, key, "a non-empty token text, {\"content\": text} or null", v);
    return (*out = bn_strdup(v->valuestring)) ? BITNET_OK : BITNET_ERR_NOMEM;
}

/* A template string, or a list of {"name", "template"} (the "default" one). */
static bitnet_status get_template(const char *file, const cJSON *root, char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    if (!v || cJSON_IsNull(v)) return BITNET_OK;
    if (cJSON_IsArray(v)) {
        const cJSON *it, *pick = NULL;
        cJSON_ArrayForEach(it, v) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "template");
            if (!cJSON_IsString(n) || !cJSON_IsString(t))
                return bad_value(file, "chat_template",
                                 "a string or a list of {\"name\", \"template\"} strings", it);
            if (!strcmp(n->valuestring, "default")) pick = t;
        }
        if (!pick)
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: key 'chat_template' lists no \"default\" template", file);
        v = pick;
    }
    if (!cJSON_IsString(v)) return bad_value(file, "chat_template", "a string", v);
    return (*out = bn_strdup(v->valuestring)) ? BITNET_OK : BITNET_ERR_NOMEM;
}

bitnet_status bn_hf_tok_config_parse(const char *name, const char *json, size_t len,
                                     bn_hf_tok_config *out) {
    memset(out, 0, sizeof *out);
    bitnet_status st;
    cJSON *root = parse_object(name, json, len, &st);
    if (!root) return st;
    if (!st) st = get_token(name, root, "bos_token", &out->bos_token);
    if (!st) st = get_token(name, root, "eos_token", &out->eos_token);
    if (!st) st = get_bool(name, root, "add_bos_token", -1, &out->add_bos_token);
    if (!st) st = get_bool(name, root, "add_eos_token", -1, &out->add_eos_token);
    if (!st) st = get_template(name, root, &out->chat_template);
    cJSON_Delete(root);
    if (st) bn_hf_tok_config_free(out);
    return st;
}

bitnet_status bn_hf_gen_config_parse(const char *name, const char *json, size_t len,
                                     bn_hf_gen_config *out) {
    memset(out, 0, sizeof *out);
    out->bos_id = -1;
    bitnet_status st;
    cJSON *root = parse_object(name, json, len, &st);
    if (!root) return st;
    int64_t ids[BN_HF_MAX_EOS];
    int n = 0;
    st = get_ids(name, root, "bos_token_id", ids, BN_HF_MAX_EOS, &n);
    if (!st && n) out->bos_id = ids[0];
    if (!st) st = get_ids(name, root, "eos_token_id", out->eos_ids, BN_HF_MAX_EOS, &out->n_eos);
    cJSON_Delete(root);
    return st;
}
