/* Helpers for the Hugging Face directory tests: fixtures of the same model
 * as GGUF and as HF directories, logits of a fixed token sequence, JSON and
 * byte edits of a copied directory. */
#ifndef BN_HF_TESTUTIL_H
#define BN_HF_TESTUTIL_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet.h"
#include "fixture.h"
#include "testutil.h"

static inline void hf_params(bn_fixture_params *p, const char *arch) {
    bn_fixture_default_params(p);
    bn_fixture_apply_preset("tiny", p);
    p->arch = arch;
    p->vocab = BN_VOCAB_BPE;
    p->seed = 7;
    p->pow2_scales = true; /* what --format hf writes */
}

enum { HF_T = 12 };

/* Logits [HF_T][n_vocab] of a fixed sequence (malloc'd), NULL if the model
 * does not load. */
static inline float *hf_logits(bitnet_model *m, bitnet_numerics num) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 1;
    cp.numerics = num;
    bitnet_context *c = bitnet_context_new(m, &cp);
    if (!c) return NULL;
    const int32_t V = bitnet_model_n_vocab(m);
    bitnet_token toks[HF_T];
    for (int i = 0; i < HF_T; i++) toks[i] = (bitnet_token)((i * 37 + 5) % V);
    float *out = NULL;
    if (bitnet_decode(c, toks, HF_T, true) == BITNET_OK) {
        out = malloc(sizeof(float) * (size_t)V * HF_T);
        if (out) memcpy(out, bitnet_get_logits(c), sizeof(float) * (size_t)V * HF_T);
    }
    bitnet_context_free(c);
    return out;
}

static inline float *hf_logits_path(const char *path, bitnet_numerics num) {
    bitnet_model *m = bitnet_model_load(path, NULL);
    if (!m) {
        fprintf(stderr, "load %s: %s\n", path, bitnet_get_last_error());
        return NULL;
    }
    float *l = hf_logits(m, num);
    bitnet_model_free(m);
    return l;
}

static inline cJSON *hf_json_read(const char *path) {
    size_t n = 0;
    char *t = test_read_file(path, &n);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    return j;
}

static inline int hf_json_write(const char *path, cJSON *j) {
    char *t = cJSON_Print(j);
    FILE *f = fopen(path, "wb");
    int ok = t && f && fputs(t, f) >= 0;
    if (f) fclose(f);
    cJSON_free(t);
    return ok;
}

static inline int hf_copy_dir(const char *from, const char *to) {
    char cmd[16000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
    return system(cmd) == 0;
}

#endif
