/* llama.cpp's tokenizer test vectors (the inputs and expected ids of its
 * test-tokenizer-0), on
 *   - the LLaMA SentencePiece vocabulary (ggml-vocab-llama-spm.gguf);
 *   - the LLaMA-3 byte-level BPE vocabulary, written by `bitnet vocab` from
 *     the tiktoken ranks with the llama-bpe pre-tokenizer;
 * plus the five tokenizations bitnet.cpp produced for tiny-i2_s.gguf (with
 * BOS). As in test-tokenizer-0: add_special = false, parse_special = false,
 * and the inputs are the texts between lines "__ggml_vocab_test__". */
#include <cjson/cJSON.h>

#include "testutil.h"
#include "vocab.h"

static const char SEP[] = "\n__ggml_vocab_test__\n";

static bn_vocab *open_vocab(const char *path, bn_gguf **g) {
    bn_vocab *v = NULL;
    bitnet_model_params mp = bitnet_model_default_params();
    if (bn_gguf_open(path, true, g) != BITNET_OK || bn_vocab_load(*g, &mp, &v) != BITNET_OK) {
        fprintf(stderr, "%s: %s\n", path, bitnet_get_last_error());
        return NULL;
    }
    return v;
}

static void print_ids(const char *label, const bitnet_token *ids, int n) {
    fprintf(stderr, "  %s:", label);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* Runs one .inp/.out pair; returns the number of vectors that passed. */
static int run_vectors(const bn_vocab *v, const char *inp_path, const char *out_path, int *total) {
    size_t inp_len, out_len;
    char *inp = test_read_file(inp_path, &inp_len);
    char *out = test_read_file(out_path, &out_len);
    CHECK(inp && out);
    if (!inp || !out) return 0;
    int passed = 0, count = 0;
    char *text = inp, *line = out;
    for (;;) {
        char *sep = strstr(text, SEP);
        if (!sep) break;
        *sep = '\0';
        char *eol = strchr(line, '\n');
        CHECKF(eol != NULL, "%s: fewer lines than inputs", out_path);
        if (!eol) break;
        *eol = '\0';
        bitnet_token want[512];
        int n_want = 0;
        for (char *p = line; *p;) {
            char *end;
            long id = strtol(p, &end, 10);
            if (end == p) break;
            if (n_want < 512) want[n_want++] = (bitnet_token)id;
            p = end;
        }
        bitnet_token got[512];
        int n_got = bn_vocab_tokenize(v, text, (int32_t)strlen(text), got, 512, false, false);
        bool ok =
            n_got == n_want && (n_got <= 0 || !memcmp(got, want, sizeof *got * (size_t)n_got));
        count++;
        if (ok) {
            passed++;
        } else {
            fprintf(stderr, "%s: vector %d '%s' differs\n", inp_path, count, text);
            print_ids("want", want, n_want);
            print_ids("got ", got, n_got > 0 ? n_got : 0);
        }
        CHECK(ok);
        text = sep + strlen(SEP);
        line = eol + 1;
    }
    free(inp);
    free(out);
    *total = count;
    return passed;
}

static void test_spm_vectors(void) {
    const char *p = test_shared_path("vocab/ggml-vocab-llama-spm.gguf");
    if (!p) return;
    char path[4096], inp[4200], out[4200];
    snprintf(path, sizeof path, "%s", p);
    snprintf(inp, sizeof inp, "%s.inp", path);
    snprintf(out, sizeof out, "%s.out", path);
    bn_gguf *g = NULL;
    bn_vocab *v = open_vocab(path, &g);
    CHECK(v != NULL);
    if (v) {
        int total = 0, passed = run_vectors(v, inp, out, &total);
        printf("llama-spm vectors: %d/%d passed\n", passed, total);
        CHECK(total == 46);
    }
    bn_vocab_free(v);
    bn_gguf_close(g);
}

static void test_bpe_vectors(void) {
    const char *p = test_shared_path("vocab/llama3-tiktoken.model");
    if (!p) return;
    char ranks[4096], cmd[9000], vocab[4200], inp[4200], out[4200];
    snprintf(ranks, sizeof ranks, "%s", p);
    snprintf(inp, sizeof inp, "%s", test_shared_path("vocab/ggml-vocab-llama-bpe.gguf.inp"));
    snprintf(out, sizeof out, "%s", test_shared_path("vocab/ggml-vocab-llama-bpe.gguf.out"));
    snprintf(vocab, sizeof vocab, "%s/llama3-bpe.gguf", test_tmpdir("tokenizer"));
    snprintf(cmd, sizeof cmd,
             "'%s' vocab --from '%s' --pre llama-bpe --special-tokens 256 -o '%s' >/dev/null",
             test_env("BITNET_BIN", "bin/bitnet"), ranks, vocab);
    int rc = test_run(cmd, NULL, 0);
    CHECKF(rc == 0, "%s -> %d", cmd, rc);
    if (rc != 0) return;
    bn_gguf *g = NULL;
    bn_vocab *v = open_vocab(vocab, &g);
    CHECK(v != NULL);
    if (v) {
        int total = 0, passed = run_vectors(v, inp, out, &total);
        printf("llama-bpe vectors: %d/%d passed\n", passed, total);
        CHECK(total == 46);
        /* the LLaMA-3 specials */
        CHECK(bn_vocab_bos(v) == 128000);
        CHECK(bn_vocab_eos(v) == 128001);
        CHECK(bn_vocab_eot(v) == 128009);
        CHECK(bn_vocab_is_eog(v, 128001) && bn_vocab_is_eog(v, 128009));
        CHECK(!bn_vocab_is_eog(v, 128000));
        bitnet_token ids[16];
        int n = bn_vocab_tokenize(v, "<|eot_id|>", -1, ids, 16, false, true);
        CHECK(n == 1 && ids[0] == 128009);
        n = bn_vocab_tokenize(v, "<|eot_id|>", -1, ids, 16, false, false);
        CHECK(n > 1); /* plain text without parse_special */
        n = bn_vocab_tokenize(v, "Hi", -1, ids, 16, true, false);
        CHECK(n == 2 && ids[0] == 128000);
    }
    bn_vocab_free(v);
    bn_gguf_close(g);
}

static void test_golden(void) {
    const char *p = test_shared_path("fixtures/bitnet-cpp/tiny-i2_s.golden.json");
    if (!p) return;
    char json_path[4096];
    snprintf(json_path, sizeof json_path, "%s", p);
    char *json = test_read_file(json_path, NULL);
    CHECK(json != NULL);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    CHECK(root != NULL);
    bn_gguf *g = NULL;
    bn_vocab *v = open_vocab(test_shared_path("fixtures/bitnet-cpp/tiny-i2_s.gguf"), &g);
    CHECK(v != NULL);
    int passed = 0, total = 0;
    cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(root, "tokenize")) {
        const char *text = cJSON_GetObjectItem(item, "text")->valuestring;
        cJSON *ids = cJSON_GetObjectItem(item, "ids");
        bitnet_token got[256];
        int n = v ? bn_vocab_tokenize(v, text, -1, got, 256, true, true) : -1;
        bool ok = n == cJSON_GetArraySize(ids);
        for (int i = 0; ok && i < n; i++) ok = got[i] == cJSON_GetArrayItem(ids, i)->valueint;
        CHECKF(ok, "golden '%s'", text);
        total++;
        passed += ok;
    }
    printf("bitnet.cpp golden tokenizations: %d/%d passed\n", passed, total);
    CHECK(total == 5);
    cJSON_Delete(root);
    free(json);
    bn_vocab_free(v);
    bn_gguf_close(g);
}

int main(void) {
    if (!test_shared_path("vocab/ggml-vocab-llama-spm.gguf")) SKIP("../shared/vocab is absent");
    test_spm_vectors();
    test_bpe_vectors();
    test_golden();
    TEST_END();
}
