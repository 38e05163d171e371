/* Builds small but complete model GGUFs for tests, with switches that break
 * one thing at a time (a missing key, a key of the wrong type, an inconsistent
 * hyper-parameter, a missing or misshapen tensor, a bad I2_S payload). */
#ifndef BN_MODEL_BUILDER_H
#define BN_MODEL_BUILDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "f16.h"
#include "gguf.h"
#include "types.h"

typedef struct model_spec {
    const char *arch; /* general.architecture */
    size_t arch_len;  /* its length in bytes when it holds a NUL (0: strlen) */
    int n_embd, n_ff, n_layer, n_head, n_head_kv, n_ctx, n_rot;
    float rope_base, eps;
    int n_extra_tokens; /* normal tokens after <unk> <s> </s> and the 256 byte tokens */
    unsigned seed;
    /* breakage switches (NULL / 0: off) */
    const char *omit_key;       /* "<arch>.block_count" etc. */
    const char *key_as_string;  /* write this integer key as a string */
    const char *drop_tensor;    /* leave this tensor out */
    const char *reshape_tensor; /* give this tensor one extra row */
    int vocab_size_key;         /* write <arch>.vocab_size = this when non-zero */
    float i2s_scale;            /* scale of every I2_S tensor (0: 0.5) */
    bool i2s_code3;             /* put the invalid code 3 into blk.0.attn_q */
    bool with_output;           /* add output.weight (F16) */
    bool f32_weights;           /* projections as F32 instead of I2_S */
    const char *chat_template;  /* tokenizer.chat_template text */
    /* adds a <|eot_id|> control token and makes the head always pick EOS or
     * <|eot_id|> (needs with_output): for end-of-generation tests */
    bool eog_head;
} model_spec;

static inline model_spec model_spec_default(const char *arch) {
    model_spec s;
    memset(&s, 0, sizeof s);
    s.arch = arch;
    s.n_embd = 128;
    s.n_ff = 256;
    s.n_layer = 2;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_ctx = 128;
    s.n_rot = 32;
    s.rope_base = 10000.0f;
    s.eps = 1e-5f;
    s.n_extra_tokens = 61;
    s.seed = 1;
    return s;
}

static inline uint32_t mb_rand(uint64_t *state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*state >> 33);
}

/* Adds one tensor through the writer (copying the data). */
static inline bool mb_tensor(bn_gguf_writer *w, const model_spec *s, const char *name, uint32_t type,
                             int64_t ne0, int64_t ne1, uint64_t *rng) {
    if (s->drop_tensor && !strcmp(s->drop_tensor, name)) return true;
    if (s->reshape_tensor && !strcmp(s->reshape_tensor, name)) ne1 += 1;
    int64_t ne[2] = {ne0, ne1};
    uint32_t nd = ne1 > 1 || type == BN_TYPE_I2_S ? 2 : 1;
    if (nd == 1) ne[1] = 1;
    uint64_t nbytes;
    if (!bn_type_nbytes(type, ne, (int)nd, &nbytes)) return false;
    uint8_t *d = calloc(1, (size_t)nbytes);
    if (!d) return false;
    const uint64_t n = (uint64_t)ne0 * (uint64_t)ne[1];
    if (s->eog_head && !strcmp(name, "output_norm.weight")) {
        ((float *)d)[0] = 1.0f; /* the head sees only the first hidden value */
    } else if (s->eog_head && !strcmp(name, "output.weight")) {
        /* row 2 (EOS) = +8 e0, the last row (<|eot_id|>) = -8 e0: whatever the
         * sign of the hidden value, an end-of-generation token wins */
        ((uint16_t *)d)[2 * ne0] = bn_f32_to_f16(8.0f);
        ((uint16_t *)d)[(ne[1] - 1) * ne0] = bn_f32_to_f16(-8.0f);
    } else if (type == BN_TYPE_F32) {
        float *f = (float *)d;
        bool is_norm = strstr(name, "norm") != NULL;
        for (uint64_t i = 0; i < n; i++)
            f[i] = is_norm ? 1.0f + (float)((int)(mb_rand(rng) % 17) - 8) / 64.0f
                           : 0.05f * (float)((int)(mb_rand(rng) % 3) - 1);
    } else if (type == BN_TYPE_F16) {
        uint16_t *h = (uint16_t *)d;
        for (uint64_t i = 0; i < n; i++) h[i] = bn_f32_to_f16((float)((int)(mb_rand(rng) % 65) - 32) / 32.0f);
    } else if (type == BN_TYPE_I2_S) {
        for (uint64_t i = 0; i < n / 4; i++) {
            uint8_t b = 0;
            for (int k = 0; k < 4; k++) b = (uint8_t)(b << 2 | (mb_rand(rng) % 3));
            d[i] = b;
        }
        if (s->i2s_code3 && !strcmp(name, "blk.0.attn_q.weight")) d[7] |= 0x30;
        float scale = s->i2s_scale != 0.0f ? s->i2s_scale : 0.5f;
        memcpy(d + n / 4, &scale, 4);
    }
    bitnet_status st = bn_gguf_add_tensor(w, name, type, nd, ne, d, nbytes, true);
    free(d);
    return st == BITNET_OK;
}

static inline void mb_key_u32(bn_gguf_writer *w, const model_spec *s, const char *suffix, uint32_t v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", s->arch, suffix);
    if (s->omit_key && !strcmp(s->omit_key, key)) return;
    if (s->key_as_string && !strcmp(s->key_as_string, key)) {
        char text[32];
        snprintf(text, sizeof text, "%u", v);
        bn_gguf_set_str(w, key, text);
        return;
    }
    bn_gguf_set_u32(w, key, v);
}

static inline void mb_key_f32(bn_gguf_writer *w, const model_spec *s, const char *suffix, float v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", s->arch, suffix);
    if (s->omit_key && !strcmp(s->omit_key, key)) return;
    bn_gguf_set_f32(w, key, v);
}

/* Writes the model; returns false if the writer refused (a test bug). */
static inline bool build_model(const char *path, const model_spec *s) {
    bn_gguf_writer *w = bn_gguf_writer_new();
    if (!w) return false;
    uint64_t rng = s->seed * 0x9E3779B97F4A7C15ULL + 1;
    const int n_vocab = 3 + 256 + s->n_extra_tokens + (s->eog_head ? 1 : 0);

    bn_gguf_set_str_n(w, "general.architecture", s->arch,
                      s->arch_len ? s->arch_len : strlen(s->arch));
    bn_gguf_set_str(w, "general.name", "test-model");
    mb_key_u32(w, s, "context_length", (uint32_t)s->n_ctx);
    mb_key_u32(w, s, "embedding_length", (uint32_t)s->n_embd);
    mb_key_u32(w, s, "block_count", (uint32_t)s->n_layer);
    mb_key_u32(w, s, "feed_forward_length", (uint32_t)s->n_ff);
    mb_key_u32(w, s, "rope.dimension_count", (uint32_t)s->n_rot);
    mb_key_u32(w, s, "attention.head_count", (uint32_t)s->n_head);
    mb_key_u32(w, s, "attention.head_count_kv", (uint32_t)s->n_head_kv);
    mb_key_f32(w, s, "attention.layer_norm_rms_epsilon", s->eps);
    mb_key_f32(w, s, "rope.freq_base", s->rope_base);
    if (s->vocab_size_key) mb_key_u32(w, s, "vocab_size", (uint32_t)s->vocab_size_key);

    /* SentencePiece-style vocabulary: specials, 256 byte tokens, "▁wN" words */
    char **texts = calloc((size_t)n_vocab, sizeof *texts);
    float *scores = calloc((size_t)n_vocab, sizeof *scores);
    int32_t *types = calloc((size_t)n_vocab, sizeof *types);
    const char *specials[3] = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < n_vocab; i++) {
        char buf[32];
        if (i < 3) snprintf(buf, sizeof buf, "%s", specials[i]);
        else if (i < 259) snprintf(buf, sizeof buf, "<0x%02X>", i - 3);
        else if (s->eog_head && i == n_vocab - 1) snprintf(buf, sizeof buf, "<|eot_id|>");
        else snprintf(buf, sizeof buf, "\xe2\x96\x81w%d", i - 259);
        texts[i] = strdup(buf);
        types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : (s->eog_head && i == n_vocab - 1) ? 3 : 1;
        scores[i] = i < 259 ? 0.0f : -(float)(i - 259);
    }
    bn_gguf_set_str(w, "tokenizer.ggml.model", "llama");
    bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)texts, NULL, (uint64_t)n_vocab);
    bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, scores, (uint64_t)n_vocab);
    bn_gguf_set_arr(w, "tokenizer.ggml.token_type", BN_GGUF_INT32, types, (uint64_t)n_vocab);
    bn_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    bn_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    bn_gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    bn_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    if (s->chat_template) bn_gguf_set_str(w, "tokenizer.chat_template", s->chat_template);
    for (int i = 0; i < n_vocab; i++) free(texts[i]);
    free(texts);
    free(scores);
    free(types);

    const int E = s->n_embd, F = s->n_ff, HD = s->n_head > 0 ? s->n_embd / s->n_head : s->n_embd;
    const int KV = s->n_head_kv * HD;
    const uint32_t wt = s->f32_weights ? BN_TYPE_F32 : BN_TYPE_I2_S;
    const bool sub = strncmp(s->arch, "bitnet", 6) == 0;
    bool ok = mb_tensor(w, s, "token_embd.weight", BN_TYPE_F16, E, n_vocab, &rng) &&
              mb_tensor(w, s, "output_norm.weight", BN_TYPE_F32, E, 1, &rng);
    if (s->with_output) ok = ok && mb_tensor(w, s, "output.weight", BN_TYPE_F16, E, n_vocab, &rng);
    for (int l = 0; ok && l < s->n_layer; l++) {
        char n[64];
#define T(suffix, type, a, b) (snprintf(n, sizeof n, "blk.%d." suffix, l), mb_tensor(w, s, n, type, a, b, &rng))
        ok = T("attn_norm.weight", BN_TYPE_F32, E, 1) && T("attn_q.weight", wt, E, E) &&
             T("attn_k.weight", wt, E, KV) && T("attn_v.weight", wt, E, KV) &&
             T("attn_output.weight", wt, E, E) && T("ffn_norm.weight", BN_TYPE_F32, E, 1) &&
             T("ffn_gate.weight", wt, E, F) && T("ffn_up.weight", wt, E, F) &&
             T("ffn_down.weight", wt, F, E);
        if (ok && sub) ok = T("attn_sub_norm.weight", BN_TYPE_F32, E, 1) && T("ffn_sub_norm.weight", BN_TYPE_F32, F, 1);
#undef T
    }
    ok = ok && bn_gguf_write(w, path) == BITNET_OK;
    bn_gguf_writer_free(w);
    return ok;
}

#endif
