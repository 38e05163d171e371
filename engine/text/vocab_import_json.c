/* Hugging Face tokenizer.json (a byte-level BPE model) -> a vocabulary.
 *
 * What is accepted, and why:
 *   - model.type "BPE" with a ByteLevel pre-tokenizer or decoder, and no
 *     byte_fallback: other models (SentencePiece-style BPE, WordPiece,
 *     Unigram) would be written as gpt2 and tokenize wrongly without a word.
 *   - model.vocab maps each token to an integer id (the Rust library reads
 *     them as u32: 0.5 or -1 is an error there too), each id once, each text
 *     once. added_tokens may repeat a vocab entry only with the same text.
 *   - Ids no token uses become [PADn] tokens of type UNUSED, as in llama.cpp's
 *     converter, within the bounds of vocab_import.h.
 *   - model.merges are "a b" (exactly one space, as the Rust library's
 *     legacy format) or ["a", "b"], both halves tokens.
 * Anything else is refused naming the token and the value. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json_util.h"
#include "strmap.h"
#include "tokenizer_internal.h"
#include "vocab_import.h"

typedef struct json_import {
    const char *name;
    bn_vocab_build *b;
    bn_strmap index; /* token text -> id, for duplicates and merges */
    size_t n_entries;
} json_import;

/* A JSON escape \u0000 would end the token early (cJSON strings are
 * NUL-terminated), silently making another token; no token may hold a NUL. */
/* A number that is an id: an integer in [0, BN_VOCAB_IMPORT_MAX_ID). */
static bool is_id(const cJSON *n) {
    if (!cJSON_IsNumber(n)) return false;
    double d = n->valuedouble;
    return d >= 0 && d < BN_VOCAB_IMPORT_MAX_ID && floor(d) == d;
}

static bitnet_status bad_id(const json_import *ji, const char *where, const char *text,
                            const cJSON *id) {
    char show[96], num[64] = "not a number";
    if (cJSON_IsNumber(id)) snprintf(num, sizeof num, "%.17g", id->valuedouble);
    if (cJSON_IsString(id)) snprintf(num, sizeof num, "a string");
    return bn_fail(BITNET_ERR_FORMAT, "%s: %s: token '%s' has id %s, not an integer in [0, %u)",
                   ji->name, where, bn_vocab_show(text, strlen(text), show), num,
                   BN_VOCAB_IMPORT_MAX_ID);
}

/* Ids and the size of the id space, before anything is allocated for it. */
static bitnet_status scan_ids(json_import *ji, const cJSON *vocab, const cJSON *added,
                              size_t *n_ids) {
    long long max_id = -1;
    const char *max_text = "";
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        if (!is_id(it)) return bad_id(ji, "model.vocab", it->string, it);
        if (it->valuedouble > max_id) {
            max_id = (long long)it->valuedouble;
            max_text = it->string;
        }
        ji->n_entries++;
    }
    size_t k = 0;
    cJSON_ArrayForEach(it, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        char where[64];
        snprintf(where, sizeof where, "added_tokens[%zu]", k++);
        if (!cJSON_IsString(content))
            return bn_fail(BITNET_ERR_FORMAT, "%s: %s has no \"content\" string", ji->name, where);
        if (!is_id(id)) return bad_id(ji, where, content->valuestring, id);
        if (id->valuedouble > max_id) {
            max_id = (long long)id->valuedouble;
            max_text = content->valuestring;
        }
        ji->n_entries++;
    }
    if (max_id < 0) return bn_fail(BITNET_ERR_FORMAT, "%s: the vocabulary is empty", ji->name);
    size_t n = (size_t)max_id + 1;
    if (n > BN_VOCAB_IMPORT_MIN_IDS && n > BN_VOCAB_IMPORT_IDS_PER_TOKEN * ji->n_entries) {
        char show[96];
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: token '%s' has id %lld, but there are only %zu tokens: the ids may "
                       "span at most %d per token (or %d in all)",
                       ji->name, bn_vocab_show(max_text, strlen(max_text), show), max_id,
                       ji->n_entries, BN_VOCAB_IMPORT_IDS_PER_TOKEN, BN_VOCAB_IMPORT_MIN_IDS);
    }
    *n_ids = n;
    return BITNET_OK;
}

/* Puts text at id; refuses a second text for an id, a second id for a text,
 * and texts the loader would refuse. */
static bitnet_status set_token(json_import *ji, const char *where, size_t id, const char *text,
                               int32_t type) {
    bn_vocab_build *b = ji->b;
    size_t len = strlen(text);
    char s1[96], s2[96];
    if (len == 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s: the token of id %zu is empty", ji->name, where,
                       id);
    if (len > BN_TOKEN_MAX_LEN)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: %s: token '%s' (id %zu) is %zu bytes long (limit %d)", ji->name, where,
                       bn_vocab_show(text, len, s1), id, len, BN_TOKEN_MAX_LEN);
    if (b->text[id]) {
        if (b->len[id] == len && !memcmp(b->text[id], text, len)) return BITNET_OK;
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s: tokens '%s' and '%s' both have id %zu", ji->name,
                       where, bn_vocab_show(b->text[id], b->len[id], s1),
                       bn_vocab_show(text, len, s2), id);
    }
    char *copy = malloc(len + 1);
    if (!copy) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", ji->name);
    memcpy(copy, text, len + 1);
    /* the map keeps the key: give it the copy, which lives as long as it */
    int64_t prev;
    int r = bn_strmap_put(&ji->index, copy, len, (int64_t)id, &prev);
    if (r != 1) {
        free(copy);
        if (r < 0) return bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", ji->name);
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s: token '%s' has both id %lld and id %zu",
                       ji->name, where, bn_vocab_show(text, len, s1), (long long)prev, id);
    }
    b->text[id] = copy;
    b->len[id] = len;
    b->type[id] = type;
    return BITNET_OK;
}

static bitnet_status fill_tokens(json_import *ji, const cJSON *vocab, const cJSON *added) {
    bn_vocab_build *b = ji->b;
    const cJSON *it;
    bitnet_status st = BITNET_OK;
    cJSON_ArrayForEach(it, vocab) {
        if ((st = set_token(ji, "model.vocab", (size_t)it->valuedouble, it->string,
                            BN_TOKEN_NORMAL)))
            return st;
    }
    size_t k = 0;
    cJSON_ArrayForEach(it, added) {
        size_t id = (size_t)cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble;
        const char *c = cJSON_GetObjectItemCaseSensitive(it, "content")->valuestring;
        int32_t type = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"))
                           ? BN_TOKEN_CONTROL
                           : BN_TOKEN_USER_DEFINED;
        char where[64];
        snprintf(where, sizeof where, "added_tokens[%zu]", k++);
        if ((st = set_token(ji, where, id, c, type))) return st;
        b->type[id] = type; /* also when it repeats a vocab entry */
        if (!strcmp(c, "<|begin_of_text|>") || !strcmp(c, "<s>")) b->bos = (int64_t)id;
        if (!strcmp(c, "<|end_of_text|>") || !strcmp(c, "</s>") || !strcmp(c, "<|endoftext|>"))
            b->eos = (int64_t)id;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->text[i]) continue;
        /* ids nobody uses get a placeholder, as llama.cpp's converter does */
        char pad[32];
        snprintf(pad, sizeof pad, "[PAD%zu]", i);
        if ((st = set_token(ji, "unused ids", i, pad, BN_TOKEN_UNUSED))) return st;
    }
    return BITNET_OK;
}

static bitnet_status check_half(const json_import *ji, size_t i, const char *half, size_t len,
                                const char *l, size_t ll, const char *r, size_t rl) {
    if (bn_strmap_get(&ji->index, half, len, NULL)) return BITNET_OK;
    char s1[96], s2[96], s3[96];
    return bn_fail(BITNET_ERR_FORMAT, "%s: model.merges[%zu] ('%s' '%s'): '%s' is not a token",
                   ji->name, i, bn_vocab_show(l, ll, s1), bn_vocab_show(r, rl, s2),
                   bn_vocab_show(half, len, s3));
}

static bitnet_status fill_merges(json_import *ji, const cJSON *merges) {
    const cJSON *it;
    size_t i = 0;
    bitnet_status st = BITNET_OK;
    cJSON_ArrayForEach(it, merges) {
        const char *l = NULL, *r = NULL;
        size_t ll = 0, rl = 0;
        if (cJSON_IsString(it)) {
            const char *s = it->valuestring, *sp = strchr(s, ' ');
            if (sp && sp > s && sp[1] && !strchr(sp + 1, ' ')) {
                l = s;
                ll = (size_t)(sp - s);
                r = sp + 1;
                rl = strlen(r);
            }
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            l = cJSON_GetArrayItem(it, 0)->valuestring;
            r = cJSON_GetArrayItem(it, 1)->valuestring;
            ll = strlen(l);
            rl = strlen(r);
            /* GGUF stores "left right" and splits at the first space after
             * the first byte: a left half with a space there cannot be
             * written */
            if (ll > 1 && memchr(l + 1, ' ', ll - 1)) l = NULL;
        }
        if (!l)
            return bn_fail(
                BITNET_ERR_FORMAT,
                "%s: model.merges[%zu] is neither \"a b\" (one space) nor [\"a\", \"b\"] "
                "with a left part that GGUF can hold",
                ji->name, i);
        if ((st = check_half(ji, i, l, ll, l, ll, r, rl)) ||
            (st = check_half(ji, i, r, rl, l, ll, r, rl)))
            return st;
        if ((st = bn_vocab_build_add_merge(ji->b, ji->name, l, ll, r, rl))) return st;
        i++;
    }
    return BITNET_OK;
}

/* Whether a component of the pre-tokenizer or decoder (any depth) has
 * "type": "ByteLevel"; and whether a split pattern is LLaMA-3's. */
static void scan_components(const cJSON *node, bool *byte_level, bool *llama3) {
    if (!node) return;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    if (cJSON_IsObject(node) && cJSON_IsString(type) && !strcmp(type->valuestring, "ByteLevel"))
        *byte_level = true;
    /* The LLaMA-3 split pattern has "\p{N}{1,3}"; llama.cpp's converter tells
     * pre-tokenizers apart by hashing tokenizations, which needs Python. */
    if (cJSON_IsString(node) && node->string && !strcmp(node->string, "Regex") &&
        strstr(node->valuestring, "\\p{N}{1,3}"))
        *llama3 = true;
    const cJSON *it;
    cJSON_ArrayForEach(it, node) scan_components(it, byte_level, llama3);
}

/* A pre-tokenizer that is one ByteLevel with use_regex (true when absent):
 * the GPT-2 split alone (what transformers writes for a byte-level BPE it
 * trains); llama.cpp's "default" would also cut digits into threes. */
static bool bare_byte_level_regex(const cJSON *pre) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pre, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "ByteLevel")) return false;
    return !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(pre, "use_regex"));
}

static bitnet_status import_root(json_import *ji, const cJSON *root) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") != 0 || !cJSON_IsObject(vocab) ||
        !cJSON_IsArray(merges))
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: only byte-level BPE models (model.type \"BPE\" with vocab and "
                       "merges) are supported",
                       ji->name);
    if (added && !cJSON_IsArray(added) && !cJSON_IsNull(added))
        return bn_fail(BITNET_ERR_FORMAT, "%s: added_tokens is not an array", ji->name);
    bool byte_level = false, llama3 = false;
    scan_components(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), &byte_level, &llama3);
    scan_components(cJSON_GetObjectItemCaseSensitive(root, "decoder"), &byte_level, &llama3);
    if (!byte_level || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback")))
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: the BPE model is not byte-level (no ByteLevel pre-tokenizer or "
                       "decoder%s); only byte-level BPE is supported",
                       ji->name, byte_level ? ", and byte_fallback is set" : "");
    if (llama3) ji->b->pre = "llama-bpe";
    if (bare_byte_level_regex(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer")))
        ji->b->pre = "gpt2";

    size_t n_ids = 0;
    bitnet_status st = scan_ids(ji, vocab, added, &n_ids);
    if (!st && bn_strmap_init(&ji->index, n_ids) != 0)
        st = bn_fail(BITNET_ERR_NOMEM, "%s: out of memory", ji->name);
    if (!st) st = bn_vocab_build_alloc(ji->b, n_ids);
    if (!st) st = fill_tokens(ji, vocab, added);
    if (!st) st = fill_merges(ji, merges);
    return st;
}

bitnet_status bn_vocab_import_json(const char *name, const char *data, size_t size,
                                   bn_vocab_build *b) {
    bn_vocab_build_init(b);
    if (!data) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s: no data", name);
    if (size > BN_VOCAB_IMPORT_MAX_FILE)
        return bn_fail(BITNET_ERR_FORMAT, "%s: larger than %u MiB, the limit for a vocabulary file",
                       name, BN_VOCAB_IMPORT_MAX_FILE >> 20);
    /* a byte-order mark is tolerated in a user's file; the rest of the
     * checks are the strict JSON layer's (engine/util/json_util.c) */
    if (size >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) data += 3, size -= 3;
    char err[256];
    bn_json_limits lim = {.max_bytes = BN_VOCAB_IMPORT_MAX_FILE, .max_depth = 64};
    cJSON *root = NULL;
    const bitnet_status jst = bn_json_parse_status(data, size, &lim, &root, err, sizeof err);
    if (!root) return bn_fail(jst, "%s: %s", name, err);
    bitnet_status st = BITNET_OK;
    if (!st && !cJSON_IsObject(root))
        st = bn_fail(BITNET_ERR_FORMAT, "%s: the JSON is not an object", name);
    json_import ji = {.name = name, .b = b};
    if (!st) st = import_root(&ji, root);
    bn_strmap_free(&ji.index);
    cJSON_Delete(root);
    if (st) bn_vocab_build_free(b);
    return st;
}
