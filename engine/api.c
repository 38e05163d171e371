/* Thin public wrappers: versions, system info, model queries, tokenizer. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "model.h"
#include "vocab.h"

#ifndef BITNET_COMPILER
#define BITNET_COMPILER "unknown compiler"
#endif

int bitnet_abi_version(void) { return BITNET_ABI_VERSION; }
const char *bitnet_version(void) { return BITNET_VERSION_STRING; }

const char *bitnet_system_info(void) {
    static _Thread_local char buf[512];
    const char *def = bitnet_isa_default();
    snprintf(buf, sizeof buf, "isa=%s (best %s; cpu: %s) openmp=%s compiler=%s",
             def ? def : "none", bn_isa_best(), bn_cpu_features(),
#ifdef _OPENMP
             "yes",
#else
             "no",
#endif
             BITNET_COMPILER);
    return buf;
}

bool bitnet_isa_supported(const char *isa) { return bn_isa_supported(isa); }

const char *bitnet_isa_default(void) {
    const bn_kernels *k = bn_kernels_get(NULL);
    return k ? k->isa : NULL;
}

const char *bitnet_model_arch(const bitnet_model *m) {
    return m && m->arch ? m->arch->display : "";
}
int32_t bitnet_model_n_vocab(const bitnet_model *m) { return m ? m->hp.n_vocab : 0; }
int32_t bitnet_model_n_ctx_train(const bitnet_model *m) { return m ? m->hp.n_ctx_train : 0; }
int32_t bitnet_model_n_embd(const bitnet_model *m) { return m ? m->hp.n_embd : 0; }
int32_t bitnet_model_n_layer(const bitnet_model *m) { return m ? m->hp.n_layer : 0; }
int32_t bitnet_model_n_head(const bitnet_model *m) { return m ? m->hp.n_head : 0; }
int32_t bitnet_model_n_head_kv(const bitnet_model *m) { return m ? m->hp.n_head_kv : 0; }
uint64_t bitnet_model_size(const bitnet_model *m) { return m ? m->n_bytes : 0; }
uint64_t bitnet_model_n_params(const bitnet_model *m) { return m ? m->n_params : 0; }

int32_t bitnet_model_meta_str(const bitnet_model *m, const char *key, char *buf, size_t buf_size) {
    if (!m || !key) return -1;
    const bn_gguf_kv *kv = bn_gguf_find(m->file, key);
    if (!kv) {
        if (buf && buf_size) buf[0] = '\0';
        return -1;
    }
    return bn_gguf_format_value(kv, buf, buf_size);
}

bitnet_token bitnet_token_bos(const bitnet_model *m) { return m ? bn_vocab_bos(m->vocab) : -1; }
bitnet_token bitnet_token_eos(const bitnet_model *m) { return m ? bn_vocab_eos(m->vocab) : -1; }
bool bitnet_token_is_eog(const bitnet_model *m, bitnet_token t) {
    return m && bn_vocab_is_eog(m->vocab, t);
}
bool bitnet_add_bos(const bitnet_model *m) { return m && bn_vocab_add_bos(m->vocab); }

int32_t bitnet_tokenize(const bitnet_model *m, const char *text, int32_t text_len,
                        bitnet_token *tokens, int32_t n_tokens_max, bool add_special,
                        bool parse_special) {
    if (!m || !text || (n_tokens_max > 0 && !tokens) || n_tokens_max < 0) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_tokenize: invalid arguments");
        return INT32_MIN;
    }
    if (text_len < 0) {
        size_t n = strlen(text);
        if (n > INT32_MAX) {
            bn_fail(BITNET_ERR_INPUT, "bitnet_tokenize: text of %zu bytes is too long", n);
            return INT32_MIN;
        }
        text_len = (int32_t)n;
    }
    return bn_vocab_tokenize(m->vocab, text, text_len, tokens, n_tokens_max, add_special,
                             parse_special);
}

int32_t bitnet_token_to_piece(const bitnet_model *m, bitnet_token token, char *buf,
                              int32_t buf_len, bool special) {
    if (!m || buf_len < 0 || (buf_len > 0 && !buf)) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_token_to_piece: invalid arguments");
        return INT32_MIN;
    }
    return bn_vocab_token_to_piece(m->vocab, token, buf, buf_len, special);
}

int32_t bitnet_detokenize(const bitnet_model *m, const bitnet_token *tokens, int32_t n_tokens,
                          char *text, int32_t text_len_max, bool remove_special,
                          bool unparse_special) {
    if (!m || n_tokens < 0 || (n_tokens > 0 && !tokens) || text_len_max < 0 ||
        (text_len_max > 0 && !text)) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_detokenize: invalid arguments");
        return INT32_MIN;
    }
    return bn_vocab_detokenize(m->vocab, tokens, n_tokens, text, text_len_max, remove_special,
                               unparse_special);
}
