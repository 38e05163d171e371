/* bitnet vocab: writes a vocabulary-only GGUF (tokenizer.* keys, no
 * tensors) from
 *   - a tiktoken ranks file ("base64-bytes rank" per line), e.g. LLaMA-3's
 *     tokenizer.model, building the merge list from the ranks;
 *   - a Hugging Face tokenizer.json with a byte-level BPE model;
 *   - another GGUF (its tokenizer.* keys are copied).
 * The result loads with `bitnet tokenize -m OUT.gguf` and in the tests. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "gguf.h"
#include "tokenizer_internal.h"
#include "vocab.h"

#define CMD "vocab"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bitnet vocab --from FILE [--pre llama-bpe|default] [--special-tokens N] -o "
        "OUT.gguf\n"
        "  FILE: a tiktoken ranks file, a Hugging Face tokenizer.json or a GGUF file\n"
        "  --pre NAME          write tokenizer.ggml.pre (without it the key is left out, as in\n"
        "                      the official BitNet-b1.58-2B-4T file: llama.cpp then uses\n"
        "                      'default')\n"
        "  --special-tokens N  (tiktoken) append N LLaMA-3 special tokens after the ranks\n"
        "                      (<|begin_of_text|> first; 256 for LLaMA-3 and BitNet 2B-4T)\n");
}

/* The vocabulary being built: token texts in GPT-2's byte alphabet. */
typedef struct vbuild {
    char **text;
    uint64_t *len;
    float *score;
    int32_t *type;
    size_t n;
    char **merge;
    size_t n_merges;
    int64_t bos, eos; /* -1: not written */
} vbuild;

static void vbuild_free(vbuild *b) {
    for (size_t i = 0; i < b->n; i++) free(b->text ? b->text[i] : NULL);
    for (size_t i = 0; i < b->n_merges; i++) free(b->merge[i]);
    free(b->text);
    free(b->len);
    free(b->score);
    free(b->type);
    free(b->merge);
}

static bool vbuild_alloc(vbuild *b, size_t n) {
    b->n = n;
    b->text = calloc(n, sizeof *b->text);
    b->len = calloc(n, sizeof *b->len);
    b->score = calloc(n, sizeof *b->score);
    b->type = calloc(n, sizeof *b->type);
    if (!b->text || !b->len || !b->score || !b->type) {
        fprintf(stderr, "bitnet %s: out of memory\n", CMD);
        return false;
    }
    return true;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* bytes -> GPT-2 byte-alphabet text (at most 2 bytes per byte) */
static char *encode_bytes(const unsigned char *s, size_t n, size_t *out_len) {
    char *d = malloc(2 * n + 1);
    if (!d) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += bn_utf8_encode(bn_bpe_byte_to_cpt(s[i]), d + k);
    d[k] = '\0';
    if (out_len) *out_len = k;
    return d;
}

/* ---------------------------------------------------------------------------
 * tiktoken
 * ------------------------------------------------------------------------- */

static int b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict base64 (with '=' padding) into out; returns the length or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out) {
    if (n == 0 || n % 4) return -1;
    long k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            if (s[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad || (v[j] = b64val((unsigned char)s[i + j])) < 0) {
                return -1;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[k++] = (unsigned char)(w >> 16);
        if (pad < 2) out[k++] = (unsigned char)(w >> 8);
        if (pad < 1) out[k++] = (unsigned char)w;
    }
    return k;
}

/* LLaMA-3's special tokens (Meta's tokenizer.py order). */
static void special_name(size_t i, char *buf, size_t size) {
    static const char *const first[] = {
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
    };
    if (i < 10)
        snprintf(buf, size, "%s", first[i]);
    else
        snprintf(buf, size, "<|reserved_special_token_%zu|>", i - 5);
}

typedef struct split {
    int64_t rank_l, rank_r;
    size_t at;
} split;

static int cmp_split(const void *a, const void *b) {
    const split *x = a, *y = b;
    if (x->rank_l != y->rank_l) return x->rank_l < y->rank_l ? -1 : 1;
    return (x->rank_r > y->rank_r) - (x->rank_r < y->rank_r);
}

static char *merge_text(const unsigned char *t, size_t at, size_t len) {
    size_t l1, l2;
    char *a = encode_bytes(t, at, &l1), *c = encode_bytes(t + at, len - at, &l2);
    char *m = (a && c) ? malloc(l1 + l2 + 2) : NULL;
    if (m) {
        memcpy(m, a, l1);
        m[l1] = ' ';
        memcpy(m + l1 + 1, c, l2 + 1);
    }
    free(a);
    free(c);
    return m;
}

/* Builds the merge list the way Hugging Face's tiktoken converter does (it
 * is where LLaMA-3's 280,147 merges come from): for each token in rank order,
 * every split into two tokens is a merge, ordered by the ranks of the left
 * then the right part. Ordering merges by the rank of the token they make is
 * what makes rank-ordered BPE over this list equal to tiktoken's. */
static bool tiktoken_merges(vbuild *b, size_t n_ranks, unsigned char **bytes, size_t *blen,
                            bn_strmap *ranks) {
    size_t cap = 4 * n_ranks + 16, max_len = 0;
    for (size_t r = 0; r < n_ranks; r++)
        if (blen[r] > max_len) max_len = blen[r];
    split *local = malloc((max_len + 1) * sizeof *local);
    b->merge = malloc(cap * sizeof *b->merge);
    if (!local || !b->merge) goto nomem;
    for (size_t r = 0; r < n_ranks; r++) {
        const unsigned char *t = bytes[r];
        size_t L = blen[r], k = 0;
        for (size_t at = 1; at < L; at++) {
            int64_t rl, rr;
            if (bn_strmap_get(ranks, (const char *)t, at, &rl) &&
                bn_strmap_get(ranks, (const char *)t + at, L - at, &rr))
                local[k++] = (split){rl, rr, at};
        }
        if (L >= 2 && k == 0) {
            fprintf(stderr, "bitnet %s: token of rank %zu is not made of two tokens\n", CMD, r);
            free(local);
            return false;
        }
        qsort(local, k, sizeof *local, cmp_split);
        for (size_t i = 0; i < k; i++) {
            if (b->n_merges == cap) {
                cap *= 2;
                char **m = realloc(b->merge, cap * sizeof *m);
                if (!m) goto nomem;
                b->merge = m;
            }
            char *m = merge_text(t, local[i].at, L);
            if (!m) goto nomem;
            b->merge[b->n_merges++] = m;
        }
    }
    free(local);
    return true;
nomem:
    free(local);
    fprintf(stderr, "bitnet %s: out of memory\n", CMD);
    return false;
}

static bool from_tiktoken(const char *path, char *data, size_t size, size_t n_special, vbuild *b) {
    /* count lines */
    size_t n = 0;
    for (size_t i = 0; i < size; i++) n += data[i] == '\n';
    if (size && data[size - 1] != '\n') n++;
    unsigned char **bytes = calloc(n ? n : 1, sizeof *bytes);
    size_t *blen = calloc(n ? n : 1, sizeof *blen);
    unsigned char *arena = malloc(size + 1);
    bn_strmap ranks = {0};
    bool ok = bytes && blen && arena && bn_strmap_init(&ranks, n) == 0;
    size_t at = 0, line = 0, used = 0;
    while (ok && at < size) {
        char *eol = memchr(data + at, '\n', size - at);
        size_t end = eol ? (size_t)(eol - data) : size;
        line++;
        char *sp = memchr(data + at, ' ', end - at);
        if (end == at) {
            at = end + 1;
            continue; /* blank line */
        }
        char *num_end = NULL;
        long long rank = -1;
        if (sp) {
            errno = 0;
            rank = strtoll(sp + 1, &num_end, 10);
        }
        long blen_i = sp ? b64_decode(data + at, (size_t)(sp - data - at), arena + used) : -1;
        if (!sp || errno || num_end != data + end || rank < 0 || (size_t)rank >= n || blen_i < 1 ||
            bytes[rank]) {
            fprintf(stderr, "bitnet %s: %s:%zu: expected 'BASE64 RANK' with a new rank below %zu\n",
                    CMD, path, line, n);
            ok = false;
            break;
        }
        bytes[rank] = arena + used;
        blen[rank] = (size_t)blen_i;
        if (bn_strmap_put(&ranks, (const char *)arena + used, (size_t)blen_i, rank, NULL) != 1) {
            fprintf(stderr, "bitnet %s: %s:%zu: duplicate token\n", CMD, path, line);
            ok = false;
        }
        used += (size_t)blen_i;
        at = end + 1;
    }
    size_t n_ranks = 0;
    while (ok && n_ranks < n && bytes[n_ranks]) n_ranks++;
    for (size_t r = n_ranks; ok && r < n; r++)
        if (bytes[r]) {
            fprintf(stderr, "bitnet %s: %s: rank %zu is missing\n", CMD, path, n_ranks);
            ok = false;
        }
    if (ok && n_ranks == 0) {
        fprintf(stderr, "bitnet %s: %s: no tokens\n", CMD, path);
        ok = false;
    }
    ok = ok && vbuild_alloc(b, n_ranks + n_special);
    for (size_t r = 0; ok && r < n_ranks; r++) {
        size_t l = 0;
        b->text[r] = encode_bytes(bytes[r], blen[r], &l);
        b->len[r] = l;
        b->type[r] = BN_TOKEN_NORMAL;
        ok = b->text[r] != NULL;
    }
    for (size_t i = 0; ok && i < n_special; i++) {
        char name[64];
        special_name(i, name, sizeof name);
        size_t id = n_ranks + i;
        b->text[id] = dup_n(name, strlen(name));
        b->len[id] = strlen(name);
        b->type[id] = BN_TOKEN_CONTROL;
        /* as the BitNet converter writes them; BPE does not use scores */
        b->score[id] = -1000.0f;
        ok = b->text[id] != NULL;
    }
    if (ok) {
        ok = tiktoken_merges(b, n_ranks, bytes, blen, &ranks);
    }
    if (ok && n_special > 1) {
        b->bos = (int64_t)n_ranks;
        b->eos = (int64_t)n_ranks + 1;
    }
    bn_strmap_free(&ranks);
    free(bytes);
    free(blen);
    free(arena);
    return ok;
}

/* ---------------------------------------------------------------------------
 * Hugging Face tokenizer.json
 * ------------------------------------------------------------------------- */

static bool from_hf_json(const char *path, const char *data, vbuild *b, const char **pre) {
    cJSON *root = cJSON_Parse(data);
    if (!root) {
        fprintf(stderr, "bitnet %s: %s: not valid JSON\n", CMD, path);
        return false;
    }
    bool ok = false;
    cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") != 0 || !cJSON_IsObject(vocab) ||
        !cJSON_IsArray(merges)) {
        fprintf(stderr,
                "bitnet %s: %s: only byte-level BPE models (model.type \"BPE\" with "
                "vocab and merges) are supported\n",
                CMD, path);
        goto done;
    }
    long long max_id = -1;
    cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e8) goto bad_id;
        if (it->valueint > max_id) max_id = it->valueint;
    }
    cJSON_ArrayForEach(it, added) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 1e8) goto bad_id;
        if (id->valueint > max_id) max_id = id->valueint;
    }
    if (max_id < 0) {
        fprintf(stderr, "bitnet %s: %s: the vocabulary is empty\n", CMD, path);
        goto done;
    }
    if (!vbuild_alloc(b, (size_t)max_id + 1)) goto done;
    cJSON_ArrayForEach(it, vocab) {
        b->text[it->valueint] = dup_n(it->string, strlen(it->string));
        b->len[it->valueint] = strlen(it->string);
        b->type[it->valueint] = BN_TOKEN_NORMAL;
    }
    cJSON_ArrayForEach(it, added) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (!cJSON_IsString(content)) goto bad_id;
        free(b->text[id->valueint]);
        b->text[id->valueint] = dup_n(content->valuestring, strlen(content->valuestring));
        b->len[id->valueint] = strlen(content->valuestring);
        b->type[id->valueint] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"))
                                    ? BN_TOKEN_CONTROL
                                    : BN_TOKEN_USER_DEFINED;
        const char *c = content->valuestring;
        if (!strcmp(c, "<|begin_of_text|>") || !strcmp(c, "<s>")) b->bos = id->valueint;
        if (!strcmp(c, "<|end_of_text|>") || !strcmp(c, "</s>") || !strcmp(c, "<|endoftext|>"))
            b->eos = id->valueint;
    }
    for (size_t i = 0; i < b->n; i++)
        if (!b->text[i]) {
            /* ids nobody uses get a placeholder, as llama.cpp's converter does */
            char name[32];
            snprintf(name, sizeof name, "[PAD%zu]", i);
            b->text[i] = dup_n(name, strlen(name));
            b->len[i] = strlen(name);
            b->type[i] = BN_TOKEN_UNUSED;
            if (!b->text[i]) goto done;
        }
    b->merge = calloc((size_t)cJSON_GetArraySize(merges) + 1, sizeof *b->merge);
    if (!b->merge) goto done;
    cJSON_ArrayForEach(it, merges) {
        char *m = NULL;
        if (cJSON_IsString(it)) {
            m = dup_n(it->valuestring, strlen(it->valuestring));
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            const char *l = cJSON_GetArrayItem(it, 0)->valuestring;
            const char *r = cJSON_GetArrayItem(it, 1)->valuestring;
            size_t ll = strlen(l), rl = strlen(r);
            m = malloc(ll + rl + 2);
            if (m) {
                memcpy(m, l, ll);
                m[ll] = ' ';
                memcpy(m + ll + 1, r, rl + 1);
            }
        } else {
            fprintf(stderr,
                    "bitnet %s: %s: model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]\n", CMD,
                    path, b->n_merges);
            goto done;
        }
        if (!m) goto done;
        b->merge[b->n_merges++] = m;
    }
    /* The LLaMA-3 split pattern has "\p{N}{1,3}"; llama.cpp's converter tells
     * pre-tokenizers apart by hashing tokenizations, which needs Python. */
    if (!*pre && strstr(data, "\\\\p{N}{1,3}")) *pre = "llama-bpe";
    ok = true;
    goto done;
bad_id:
    fprintf(stderr, "bitnet %s: %s: a token id is not a number in [0, 1e8]\n", CMD, path);
done:
    cJSON_Delete(root);
    return ok;
}

/* ---------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------- */

static bitnet_status write_built(const vbuild *b, const char *pre, const char *out) {
    bn_gguf_writer *w = bn_gguf_writer_new();
    if (!w) return BITNET_ERR_NOMEM;
    bitnet_status st = bn_gguf_set_str(w, "general.architecture", "llama");
    if (!st) st = bn_gguf_set_str(w, "general.name", "vocab");
    if (!st) st = bn_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    if (!st && pre) st = bn_gguf_set_str(w, "tokenizer.ggml.pre", pre);
    if (!st)
        st = bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)b->text, b->len,
                                 b->n);
    if (!st) st = bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, b->score, b->n);
    if (!st) st = bn_gguf_set_arr(w, "tokenizer.ggml.token_type", BN_GGUF_INT32, b->type, b->n);
    if (!st)
        st = bn_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)b->merge, NULL,
                                 b->n_merges);
    if (!st && b->bos >= 0)
        st = bn_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)b->bos);
    if (!st && b->eos >= 0)
        st = bn_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)b->eos);
    if (!st) st = bn_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", b->bos >= 0);
    if (!st) st = bn_gguf_write(w, out);
    bn_gguf_writer_free(w);
    return st;
}

static bitnet_status copy_gguf(const char *path, const char *pre, const char *out) {
    bn_gguf *g = NULL;
    bitnet_status st = bn_gguf_open(path, true, &g);
    if (st) return st;
    bn_gguf_writer *w = bn_gguf_writer_new();
    if (!w) {
        bn_gguf_close(g);
        return BITNET_ERR_NOMEM;
    }
    st = bn_gguf_set_str(w, "general.architecture", "llama");
    if (!st) st = bn_gguf_set_str(w, "general.name", "vocab");
    for (uint64_t i = 0; !st && i < g->n_kv; i++) {
        const bn_gguf_kv *kv = &g->kv[i];
        if (strncmp(kv->key, "tokenizer.", 10) != 0) continue;
        if (pre && !strcmp(kv->key, "tokenizer.ggml.pre")) continue;
        st = bn_gguf_set_kv_copy(w, kv);
    }
    if (!st && pre) st = bn_gguf_set_str(w, "tokenizer.ggml.pre", pre);
    if (!st) st = bn_gguf_write(w, out);
    bn_gguf_writer_free(w);
    bn_gguf_close(g);
    return st;
}

/* Loads what was written, so that a bad input is reported here and not at
 * first use. */
static int check_written(const char *out) {
    bn_gguf *g = NULL;
    bn_vocab *v = NULL;
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_status st = bn_gguf_open(out, true, &g);
    if (!st) st = bn_vocab_load(g, &mp, &v);
    if (st) {
        fprintf(stderr, "bitnet %s: the written file does not load: %s\n", CMD,
                bitnet_get_last_error());
        bn_gguf_close(g);
        return CLI_RUNTIME;
    }
    printf("wrote %s: %d tokens, bos %d, eos %d, eot %d\n", out, bn_vocab_n_tokens(v),
           bn_vocab_bos(v), bn_vocab_eos(v), bn_vocab_eot(v));
    bn_vocab_free(v);
    bn_gguf_close(g);
    return 0;
}

int cmd_vocab(int argc, char **argv) {
    const char *from = NULL, *out = NULL, *pre = NULL;
    long long n_special = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--from")) {
            if (!(from = cli_value(CMD, argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = cli_value(CMD, argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "--pre")) {
            if (!(pre = cli_value(CMD, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(pre, "llama-bpe") && strcmp(pre, "default")) {
                fprintf(stderr, "bitnet %s: --pre: '%s' is not llama-bpe or default\n", CMD, pre);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--special-tokens")) {
            const char *v = cli_value(CMD, argc, argv, &i);
            if (!v || !cli_parse_int(CMD, a, v, 0, 1 << 20, &n_special)) return CLI_USAGE;
        } else {
            fprintf(stderr, "bitnet %s: unknown option '%s'\n", CMD, a);
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!from || !out) {
        fprintf(stderr, "bitnet %s: --from and -o are required\n", CMD);
        usage(stderr);
        return CLI_USAGE;
    }
    size_t size = 0;
    char *data = cli_read_file(CMD, from, &size);
    if (!data) return CLI_RUNTIME;

    bitnet_status st = BITNET_OK;
    bool ok = true;
    if (size >= 4 && !memcmp(data, "GGUF", 4)) {
        free(data);
        if (n_special) {
            fprintf(stderr, "bitnet %s: --special-tokens applies to tiktoken files only\n", CMD);
            return CLI_USAGE;
        }
        st = copy_gguf(from, pre, out);
    } else {
        vbuild b = {.bos = -1, .eos = -1};
        size_t k = 0;
        while (k < size &&
               (data[k] == ' ' || data[k] == '\n' || data[k] == '\r' || data[k] == '\t'))
            k++;
        if (k < size && data[k] == '{') {
            if (n_special) {
                fprintf(stderr, "bitnet %s: --special-tokens applies to tiktoken files only\n",
                        CMD);
                free(data);
                return CLI_USAGE;
            }
            ok = from_hf_json(from, data, &b, &pre);
        } else {
            ok = from_tiktoken(from, data, size, (size_t)n_special, &b);
        }
        free(data);
        if (ok) st = write_built(&b, pre, out);
        vbuild_free(&b);
    }
    if (!ok) return CLI_RUNTIME;
    if (st) {
        fprintf(stderr, "bitnet %s: %s\n", CMD, bitnet_get_last_error());
        return CLI_RUNTIME;
    }
    return check_written(out);
}
