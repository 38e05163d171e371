/* Bad vocabularies (catalogue T1-T6) are refused at load with a message
 * naming the key (and index), and bad run-time input (T7, T9) gets a defined
 * answer. Each case writes a small GGUF with the writer and loads it. */
#include "alloc.h"
#include "testutil.h"
#include "vocab.h"

/* What a case changes in an otherwise valid vocabulary. */
typedef enum mutation {
    M_NONE,
    M_NO_TOKENS,
    M_EMPTY_TOKENS,
    M_TOKENS_NOT_STRINGS,
    M_SCORES_SHORT,
    M_SCORES_UINT8,
    M_SCORES_NAN,
    M_TYPE_7,
    M_TYPES_SHORT,
    M_BOS_RANGE,
    M_EOS_RANGE,
    M_BOS_STRING,
    M_BYTE_ZZ,
    M_BYTE_NEG,
    M_BYTE_100,
    M_DUPLICATE,
    M_NUL,
    M_MODEL_BERT,
    M_NO_MODEL,
    M_BPE_NO_MERGES,
    M_BPE_MERGE_UNKNOWN,
    M_BPE_MERGE_NO_SPACE,
    M_BPE_OK,
    M_ADD_BOS_NO_BOS,
} mutation;

static const char *write_case(mutation m, int idx) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/bad%d.gguf", test_tmpdir("tokenizer"), idx);
    bool bpe = m == M_BPE_NO_MERGES || m == M_BPE_MERGE_UNKNOWN || m == M_BPE_MERGE_NO_SPACE ||
               m == M_BPE_OK || m == M_ADD_BOS_NO_BOS;
    /* SPM: <unk> <s> </s> <0x41> ▁ a b ▁a ; BPE: a b ab */
    const char *spm_tokens[] = {"<unk>",
                                "<s>",
                                "</s>",
                                "<0x41>",
                                "\xe2\x96\x81",
                                "a",
                                "b",
                                ("\xe2\x96\x81" "a")};
    int32_t spm_types[] = {2, 3, 3, 6, 1, 1, 1, 1};
    float spm_scores[] = {0, 0, 0, 0, -1, -2, -3, -0.5f};
    const char *bpe_tokens[] = {"a", "b", "ab"};
    const char **tokens = bpe ? bpe_tokens : spm_tokens;
    uint64_t n = bpe ? 3 : 8;

    if (m == M_BYTE_ZZ) spm_tokens[3] = "<0xZZ>";
    if (m == M_BYTE_NEG) spm_tokens[3] = "<0x-1>";
    if (m == M_BYTE_100) spm_tokens[3] = "<0x100>";
    if (m == M_DUPLICATE) spm_tokens[6] = "a";
    if (m == M_TYPE_7) spm_types[1] = 7;
    if (m == M_SCORES_NAN) spm_scores[5] = NAN;

    bn_gguf_writer *w = bn_gguf_writer_new();
    bn_gguf_set_str(w, "general.architecture", "llama");
    if (m != M_NO_MODEL)
        bn_gguf_set_str(w, "tokenizer.ggml.model",
                        m == M_MODEL_BERT ? "bert"
                        : bpe             ? "gpt2"
                                          : "llama");
    if (m == M_EMPTY_TOKENS) {
        bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tokens, NULL, 0);
    } else if (m == M_TOKENS_NOT_STRINGS) {
        bn_gguf_set_arr(w, "tokenizer.ggml.tokens", BN_GGUF_INT32, spm_types, n);
    } else if (m == M_NUL) {
        uint64_t lens[8];
        for (int i = 0; i < 8; i++) lens[i] = strlen(spm_tokens[i]);
        const char *strs[8];
        memcpy(strs, spm_tokens, sizeof strs);
        strs[6] = "b\0c";
        lens[6] = 3;
        bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", strs, lens, n);
    } else if (m != M_NO_TOKENS) {
        bn_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tokens, NULL, n);
    }
    if (!bpe) {
        if (m == M_SCORES_SHORT)
            bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, spm_scores, n - 1);
        else if (m == M_SCORES_UINT8) {
            uint8_t u[8] = {0};
            bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_UINT8, u, n);
        } else
            bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, spm_scores, n);
        bn_gguf_set_arr(w, "tokenizer.ggml.token_type", BN_GGUF_INT32, spm_types,
                        m == M_TYPES_SHORT ? n - 2 : n);
    } else if (m != M_BPE_NO_MERGES) {
        const char *merge = m == M_BPE_MERGE_UNKNOWN    ? "a c"
                            : m == M_BPE_MERGE_NO_SPACE ? "ab"
                                                        : "a b";
        bn_gguf_set_arr_str(w, "tokenizer.ggml.merges", &merge, NULL, 1);
        bn_gguf_set_str(w, "tokenizer.ggml.pre", "default");
    }
    if (m == M_BOS_RANGE) bn_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 99);
    if (m == M_EOS_RANGE) bn_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 8);
    if (m == M_BOS_STRING) bn_gguf_set_str(w, "tokenizer.ggml.bos_token_id", "1");
    if (m == M_ADD_BOS_NO_BOS) bn_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    bitnet_status st = bn_gguf_write(w, path);
    bn_gguf_writer_free(w);
    CHECKF(st == BITNET_OK, "writing %s: %s", path, bitnet_get_last_error());
    return path;
}

static void expect(mutation m, int idx, bitnet_status want, const char *substr) {
    const char *path = write_case(m, idx);
    bn_gguf *g = NULL;
    bn_vocab *v = NULL;
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_status st = bn_gguf_open(path, true, &g);
    CHECKF(st == BITNET_OK, "case %d: open: %s", idx, bitnet_get_last_error());
    if (st) return;
    st = bn_vocab_load(g, &mp, &v);
    const char *msg = bitnet_get_last_error();
    CHECKF(st == want, "case %d: status %d, want %d (%s)", idx, st, want, msg);
    if (want != BITNET_OK) {
        CHECKF(v == NULL, "case %d", idx);
        CHECKF(strstr(msg, substr) != NULL, "case %d: message '%s' lacks '%s'", idx, msg, substr);
        CHECKF(strstr(msg, path) != NULL, "case %d: message '%s' lacks the path", idx, msg);
    }
    bn_vocab_free(v);
    bn_gguf_close(g);
}

static void test_bad_files(void) {
    int i = 0;
    expect(M_NONE, i++, BITNET_OK, "");
    expect(M_BPE_OK, i++, BITNET_OK, "");
    expect(M_NO_TOKENS, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens");
    expect(M_EMPTY_TOKENS, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens is empty");
    expect(M_TOKENS_NOT_STRINGS, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens");
    expect(M_SCORES_SHORT, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.scores has 7 entries");
    expect(M_SCORES_UINT8, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.scores' has uint8");
    expect(M_SCORES_NAN, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.scores[5] is NaN");
    expect(M_TYPE_7, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.token_type[1] = 7");
    expect(M_TYPES_SHORT, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.token_type has 6 entries");
    expect(M_BOS_RANGE, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.bos_token_id = 99");
    expect(M_EOS_RANGE, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.eos_token_id = 8");
    expect(M_BOS_STRING, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.bos_token_id");
    expect(M_BYTE_ZZ, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens[3] '<0xZZ>'");
    expect(M_BYTE_NEG, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens[3] '<0x-1>'");
    expect(M_BYTE_100, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens[3] '<0x100>'");
    expect(M_DUPLICATE, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens[6] 'a' duplicates");
    expect(M_NUL, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.tokens[6] contains a NUL");
    expect(M_MODEL_BERT, i++, BITNET_ERR_UNSUPPORTED, "tokenizer.ggml.model 'bert'");
    expect(M_NO_MODEL, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.model");
    expect(M_BPE_NO_MERGES, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.merges is missing");
    expect(M_BPE_MERGE_UNKNOWN, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.merges[0] 'a c'");
    expect(M_BPE_MERGE_NO_SPACE, i++, BITNET_ERR_FORMAT, "tokenizer.ggml.merges[0] 'ab'");
    /* llama.cpp's default gpt2 BOS (11) does not exist in 3 tokens */
    expect(M_ADD_BOS_NO_BOS, i++, BITNET_ERR_FORMAT, "no BOS id");
}

/* T7 / T9 on the small valid SPM vocabulary */
static void test_runtime_input(void) {
    const char *path = write_case(M_NONE, 100);
    bn_gguf *g = NULL;
    bn_vocab *v = NULL;
    bitnet_model_params mp = bitnet_model_default_params();
    CHECK(bn_gguf_open(path, true, &g) == BITNET_OK);
    CHECK(g && bn_vocab_load(g, &mp, &v) == BITNET_OK);
    if (!v) return;
    bitnet_token ids[64];
    /* empty text: nothing, or just BOS */
    CHECK(bn_vocab_tokenize(v, "", 0, ids, 64, false, false) == 0);
    CHECK(bn_vocab_tokenize(v, "", 0, ids, 64, true, false) == 1 && ids[0] == 1);
    CHECK(bn_vocab_tokenize(v, NULL, 0, ids, 64, false, false) == 0);
    /* only special text */
    CHECK(bn_vocab_tokenize(v, "<s></s>", -1, ids, 64, false, true) == 2 && ids[0] == 1 &&
          ids[1] == 2);
    /* "a b": ▁a ▁ b, and "A" (no token) falls back to <0x41> */
    int n = bn_vocab_tokenize(v, "a bA", -1, ids, 64, false, false);
    CHECK(n == 4 && ids[0] == 7 && ids[1] == 4 && ids[2] == 6 && ids[3] == 3);
    /* invalid UTF-8 and NULs never fail; unknown bytes without byte tokens
     * become <unk> */
    n = bn_vocab_tokenize(v, "a\xff\xc3\0b", 5, ids, 64, false, false);
    CHECK(n > 0);
    /* too small a buffer: minus the count, nothing written */
    ids[0] = -7;
    CHECK(bn_vocab_tokenize(v, "a b", -1, ids, 1, true, false) == -4 && ids[0] == -7);
    CHECK(bn_vocab_tokenize(v, "a b", -1, NULL, 0, false, false) == -3);
    /* bad arguments */
    CHECK(bn_vocab_tokenize(v, NULL, 3, ids, 64, false, false) == INT32_MIN);
    CHECK(bn_vocab_tokenize(v, "a", -1, NULL, 5, false, false) == INT32_MIN);
    CHECK(bn_vocab_tokenize(NULL, "a", -1, ids, 5, false, false) == INT32_MIN);

    /* T9 */
    char buf[64];
    CHECK(bn_vocab_token_to_piece(v, -1, buf, 64, false) == INT32_MIN);
    CHECK(strstr(bitnet_get_last_error(), "-1") != NULL);
    CHECK(bn_vocab_token_to_piece(v, 8, buf, 64, false) == INT32_MIN);
    CHECK(bn_vocab_token_to_piece(v, 7, buf, 64, false) == 2 && !memcmp(buf, " a", 2));
    CHECK(bn_vocab_token_to_piece(v, 7, buf, 1, false) == -2);
    CHECK(bn_vocab_token_to_piece(v, 3, buf, 64, false) == 1 && buf[0] == 'A');
    CHECK(bn_vocab_token_to_piece(v, 1, buf, 64, false) == 0);
    CHECK(bn_vocab_token_to_piece(v, 1, buf, 64, true) == 3 && !memcmp(buf, "<s>", 3));
    bitnet_token bad[] = {7, 8};
    CHECK(bn_vocab_detokenize(v, bad, 2, buf, 64, false, false) == INT32_MIN);
    CHECK(strstr(bitnet_get_last_error(), "tokens[1] = 8") != NULL);
    bitnet_token good[] = {1, 7, 4, 6};
    CHECK(bn_vocab_detokenize(v, good, 4, buf, 64, false, false) == 4 && !strcmp(buf, " a b"));
    CHECK(bn_vocab_detokenize(v, good + 1, 3, buf, 64, false, false) == 3 && !strcmp(buf, "a b"));
    CHECK(bn_vocab_detokenize(v, good + 1, 3, buf, 3, false, false) == -4);
    CHECK(bn_vocab_detokenize(v, good, 4, buf, 64, false, true) == 7 && !strcmp(buf, "<s> a b"));
    bn_vocab_free(v);
    bn_gguf_close(g);
}

/* Every allocation of the loader and the tokenizers failing in turn gives
 * BITNET_ERR_NOMEM (or INT32_MIN), never a crash or a leak (ASan builds). */
static void test_out_of_memory(void) {
    for (mutation m = M_NONE; m <= M_BPE_OK; m = m == M_NONE ? M_BPE_OK : M_BPE_OK + 1) {
        const char *path = write_case(m, 200 + (int)m);
        bn_gguf *g = NULL;
        bitnet_model_params mp = bitnet_model_default_params();
        CHECK(bn_gguf_open(path, true, &g) == BITNET_OK);
        if (!g) return;
        int failures = 0;
        for (long n = 0; n < 10000; n++) {
            bn_vocab *v = NULL;
            bn_alloc_fail_after(n, 0);
            bitnet_status st = bn_vocab_load(g, &mp, &v);
            int32_t k = INT32_MIN;
            bitnet_token ids[32];
            if (st == BITNET_OK) k = bn_vocab_tokenize(v, "ab a b", -1, ids, 32, true, true);
            bn_alloc_fail_after(-1, 0);
            CHECKF(st == BITNET_OK || st == BITNET_ERR_NOMEM, "fail at %ld: %d", n, st);
            bn_vocab_free(v);
            if (st == BITNET_OK && k != INT32_MIN) break;
            failures++;
        }
        CHECK(failures > 3);
        bn_gguf_close(g);
    }
}

int main(void) {
    test_bad_files();
    test_out_of_memory();
    test_runtime_input();
    TEST_END();
}
