/* bn_vocab_write_gguf (vocab_export.h). */
#include "vocab_export.h"

#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "tokenizer_internal.h"

typedef struct ranked_merge {
    int64_t rank;
    const char *text;
    size_t len;
} ranked_merge;

static int cmp_rank(const void *a, const void *b) {
    const ranked_merge *x = a, *y = b;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* The merges map holds "left right" -> rank (the index in the source list,
 * a repeated merge keeping its first): written back in rank order. */
static bitnet_status write_merges(const bn_vocab *v, bn_gguf_writer *w) {
    const size_t n = v->merges.count;
    ranked_merge *m = bn_malloc_array(n ? n : 1, sizeof *m);
    const char **strs = bn_malloc_array(n ? n : 1, sizeof *strs);
    uint64_t *lens = bn_malloc_array(n ? n : 1, sizeof *lens);
    bitnet_status st = BITNET_OK;
    if (!m || !strs || !lens) {
        st = bn_fail(BITNET_ERR_NOMEM, "vocabulary export: out of memory for %zu merges", n);
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < v->merges.capacity && k < n; i++) {
        const bn_strmap_slot *s = &v->merges.slots[i];
        if (s->key) m[k++] = (ranked_merge){s->value, s->key, s->len};
    }
    qsort(m, k, sizeof *m, cmp_rank);
    for (size_t i = 0; i < k; i++) {
        strs[i] = m[i].text;
        lens[i] = m[i].len;
    }
    st = bn_gguf_set_arr_str(w, "tokenizer.ggml.merges", strs, lens, k);
done:
    bn_free(m);
    bn_free(strs);
    bn_free(lens);
    return st;
}

static bitnet_status write_tokens(const bn_vocab *v, bn_gguf_writer *w) {
    const size_t n = (size_t)v->n_tokens;
    const char **strs = bn_malloc_array(n, sizeof *strs);
    uint64_t *lens = bn_malloc_array(n, sizeof *lens);
    float *scores = bn_malloc_array(n, sizeof *scores);
    int32_t *types = bn_malloc_array(n, sizeof *types);
    bitnet_status st = BITNET_OK;
    if (!strs || !lens || !scores || !types) {
        st = bn_fail(BITNET_ERR_NOMEM, "vocabulary export: out of memory for %zu tokens", n);
    } else {
        for (size_t i = 0; i < n; i++) {
            strs[i] = v->tokens[i].text;
            lens[i] = v->tokens[i].len;
            scores[i] = v->tokens[i].score;
            types[i] = v->tokens[i].type;
        }
        if (!(st = bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", strs, lens, n)) &&
            !(st = bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, scores, n)))
            st = bn_gguf_set_arr(w, "tokenizer.ggml.token_type", BN_GGUF_INT32, types, n);
    }
    bn_free(strs);
    bn_free(lens);
    bn_free(scores);
    bn_free(types);
    return st;
}

static bitnet_status write_id(bn_gguf_writer *w, const char *key, bitnet_token id) {
    return id >= 0 ? bn_gguf_set_u32(w, key, (uint32_t)id) : BITNET_OK;
}

bitnet_status bn_vocab_write_gguf(const bn_vocab *v, bn_gguf_writer *w) {
    if (!v || v->n_tokens <= 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "vocabulary export: no vocabulary");
    const bool spm = v->kind == BN_VOCAB_SPM;
    bitnet_status st;
    if ((st = bn_gguf_set_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2"))) return st;
    if (!spm && v->pre != BN_PRETOK_DEFAULT &&
        (st = bn_gguf_set_str(w, "tokenizer.ggml.pre", bn_pretok_name(v->pre))))
        return st;
    if ((st = write_tokens(v, w))) return st;
    if (!spm && (st = write_merges(v, w))) return st;
    if ((st = write_id(w, "tokenizer.ggml.bos_token_id", v->bos)) ||
        (st = write_id(w, "tokenizer.ggml.eos_token_id", v->eos)) ||
        (st = write_id(w, "tokenizer.ggml.eot_token_id", v->eot)) ||
        (st = write_id(w, "tokenizer.ggml.eom_token_id", v->eom)) ||
        (st = write_id(w, "tokenizer.ggml.unknown_token_id", v->unk)) ||
        (st = write_id(w, "tokenizer.ggml.padding_token_id", v->pad)) ||
        (st = bn_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos)) ||
        (st = bn_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", v->add_eos)))
        return st;
    /* the loader's default is true for SentencePiece, false for BPE */
    if (v->add_space_prefix != spm &&
        (st = bn_gguf_set_bool(w, "tokenizer.ggml.add_space_prefix", v->add_space_prefix)))
        return st;
    if (v->chat_template && *v->chat_template &&
        (st = bn_gguf_set_str(w, "tokenizer.chat_template", v->chat_template)))
        return st;
    return BITNET_OK;
}
