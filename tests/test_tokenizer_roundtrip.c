/* Round trips and streaming: detokenize(tokenize(s)) gives s back, and the
 * pieces of the tokens, concatenated, are the bytes of s (a token may end in
 * the middle of a UTF-8 character: pieces are raw bytes, and the streaming
 * layer above holds back incomplete characters). On the LLaMA SentencePiece
 * vocabulary and on LLaMA-3 BPE with both pre-tokenizers. */
#include "testutil.h"
#include "vocab.h"

static const char SEP[] = "\n__ggml_vocab_test__\n";

static bn_vocab *open_vocab(const char *path, bn_gguf **g, bitnet_log_callback cb, void *ud) {
    bn_vocab *v = NULL;
    bitnet_model_params mp = bitnet_model_default_params();
    mp.log_callback = cb;
    mp.log_user_data = ud;
    if (bn_gguf_open(path, true, g) != BITNET_OK || bn_vocab_load(*g, &mp, &v) != BITNET_OK) {
        fprintf(stderr, "%s: %s\n", path, bitnet_get_last_error());
        return NULL;
    }
    return v;
}

/* Splits an .inp file in place into at most max texts. */
static int read_texts(char *inp, char **texts, int max) {
    int n = 0;
    for (char *t = inp; n < max;) {
        char *sep = strstr(t, SEP);
        if (!sep) break;
        *sep = '\0';
        texts[n++] = t;
        t = sep + strlen(SEP);
    }
    return n;
}

/* Whether llama.cpp's clean-up of spaces (BPE detokenize) would change s. */
static bool cleanup_changes(const char *s) {
    return strstr(s, " ?") || strstr(s, " !") || strstr(s, " .") || strstr(s, " ,") ||
           strstr(s, " '");
}

/* The pieces of the tokens of s, concatenated, are s; returns the count of
 * tokens whose piece is not complete UTF-8 on its own. */
static int check_pieces(const bn_vocab *v, const char *s, const bitnet_token *ids, int n,
                        bool strip_first_space) {
    char *cat = malloc(strlen(s) + 64 * (size_t)n + 2);
    size_t len = 0;
    int partial = 0;
    for (int i = 0; i < n; i++) {
        int k = bn_vocab_token_to_piece(v, ids[i], cat + len, 64, false);
        CHECK(k >= 0);
        if (k < 0) break;
        if (i == 0 && strip_first_space && k > 0 && cat[len] == ' ') {
            memmove(cat + len, cat + len + 1, (size_t)--k);
        }
        /* a piece that ends inside a character */
        for (int j = k - 1, need = 0; j >= 0 && j >= k - 4; j--) {
            unsigned char c = (unsigned char)cat[len + j];
            if ((c & 0xC0) == 0x80) continue;
            need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (need > k - j) partial++;
            break;
        }
        len += (size_t)k;
    }
    CHECKF(len == strlen(s) && !memcmp(cat, s, len), "pieces of '%s' give '%.*s'", s, (int)len,
           cat);
    free(cat);
    return partial;
}

static void roundtrip_all(const bn_vocab *v, char **texts, int n_texts, bool spm, int *n_ok,
                          int *n_partial) {
    for (int i = 0; i < n_texts; i++) {
        const char *s = texts[i];
        bitnet_token ids[1024];
        char back[4096];
        int n = bn_vocab_tokenize(v, s, -1, ids, 1024, false, false);
        CHECK(n >= 0);
        if (n < 0) continue;
        int k = bn_vocab_detokenize(v, ids, n, back, sizeof back, false, false);
        bool expect_same = spm || !cleanup_changes(s);
        if (expect_same) {
            CHECKF(k >= 0 && !strcmp(back, s), "round trip of '%s' gave '%s'", s, back);
            *n_ok += k >= 0 && !strcmp(back, s);
        }
        *n_partial += check_pieces(v, s, ids, n, spm);
    }
}

static void test_spm(char **texts, int n_texts) {
    const char *p = test_shared_path("vocab/ggml-vocab-llama-spm.gguf");
    bn_gguf *g = NULL;
    bn_vocab *v = open_vocab(p, &g, NULL, NULL);
    CHECK(v != NULL);
    if (!v) return;
    int ok = 0, partial = 0;
    roundtrip_all(v, texts, n_texts, true, &ok, &partial);
    printf("spm: %d/%d round trips, %d partial-UTF-8 pieces seen\n", ok, n_texts, partial);
    CHECK(partial > 0);

    /* With BOS, llama.cpp keeps the space the tokenizer put in front (the BOS
     * uses up the stripping), whether or not the BOS itself is removed. */
    bitnet_token ids[64];
    char back[256];
    int n = bn_vocab_tokenize(v, "Hello world", -1, ids, 64, true, false);
    CHECK(n == 3 && ids[0] == 1);
    CHECK(bn_vocab_detokenize(v, ids, n, back, sizeof back, true, false) == 12 &&
          !strcmp(back, " Hello world"));
    CHECK(bn_vocab_detokenize(v, ids, n, back, sizeof back, false, false) == 12 &&
          !strcmp(back, " Hello world"));
    CHECK(bn_vocab_detokenize(v, ids, n, back, sizeof back, false, true) == 15 &&
          !strcmp(back, "<s> Hello world"));

    /* an emoji without its own token: four byte tokens, each a partial piece */
    n = bn_vocab_tokenize(v, "\xf0\x9f\x99\x82", -1, ids, 64, false, false);
    CHECK(n == 5 && ids[0] == 29871 && ids[1] == 243 && ids[4] == 133);
    char piece[8];
    CHECK(bn_vocab_token_to_piece(v, ids[1], piece, 8, false) == 1 && piece[0] == '\xf0');

    /* special text is plain text unless parse_special */
    n = bn_vocab_tokenize(v, "a</s>", -1, ids, 64, false, true);
    CHECK(n >= 2 && ids[n - 1] == 2);
    n = bn_vocab_tokenize(v, "a</s>", -1, ids, 64, false, false);
    CHECK(n >= 2 && ids[n - 1] != 2);
    CHECK(bn_vocab_is_eog(v, 2) && !bn_vocab_is_eog(v, 1) && bn_vocab_eot(v) == -1);
    bn_vocab_free(v);
    bn_gguf_close(g);
}

static int n_missing_pre;
static void count_warnings(bitnet_log_level level, const char *msg, void *ud) {
    (void)ud;
    if (level == BITNET_LOG_WARN && strstr(msg, "tokenizer.ggml.pre is missing")) n_missing_pre++;
}

static void test_bpe(char **texts, int n_texts) {
    const char *p = test_shared_path("vocab/llama3-tiktoken.model");
    if (!p) return;
    char ranks[4096], dir[4096], l3[4200], none[4200], def[4200], cmd[40000];
    snprintf(ranks, sizeof ranks, "%s", p);
    snprintf(dir, sizeof dir, "%s", test_tmpdir("tokenizer"));
    snprintf(l3, sizeof l3, "%s/rt-llama-bpe.gguf", dir);
    snprintf(none, sizeof none, "%s/rt-nopre.gguf", dir);
    snprintf(def, sizeof def, "%s/rt-default.gguf", dir);
    const char *bin = test_env("BITNET_BIN", "bin/bitnet");
    /* tiktoken -> llama-bpe; tiktoken without --pre (the 2B-4T layout); and a
     * GGUF copy with the pre-tokenizer named "default" */
    snprintf(cmd, sizeof cmd,
             "'%s' vocab --from '%s' --pre llama-bpe --special-tokens 256 -o '%s' >/dev/null && "
             "'%s' vocab --from '%s' --special-tokens 256 -o '%s' >/dev/null && "
             "'%s' vocab --from '%s' --pre default -o '%s' >/dev/null",
             bin, ranks, l3, bin, ranks, none, bin, none, def);
    int rc = test_run(cmd, NULL, 0);
    CHECKF(rc == 0, "%s -> %d", cmd, rc);
    if (rc) return;

    bn_gguf *g1 = NULL, *g2 = NULL, *g3 = NULL;
    bn_vocab *v3 = open_vocab(l3, &g1, NULL, NULL);
    bn_vocab *vn = open_vocab(none, &g2, count_warnings, NULL);
    bn_vocab *vd = open_vocab(def, &g3, count_warnings, NULL);
    CHECK(v3 && vn && vd);
    CHECK(n_missing_pre == 1); /* only the file without the key */
    if (v3 && vn && vd) {
        int ok = 0, partial = 0;
        roundtrip_all(v3, texts, n_texts, false, &ok, &partial);
        printf("llama-bpe: %d round trips (of the texts clean-up leaves alone), %d partial "
               "pieces\n",
               ok, partial);
        ok = partial = 0;
        roundtrip_all(vn, texts, n_texts, false, &ok, &partial);
        printf("default: %d round trips, %d partial pieces\n", ok, partial);
        CHECK(partial > 0);

        /* clean-up of spaces, as llama.cpp's detokenizer does for gpt2 */
        bitnet_token ids[64];
        char back[256];
        int n = bn_vocab_tokenize(vn, "Hello , world ! It 's", -1, ids, 64, false, false);
        CHECK(bn_vocab_detokenize(vn, ids, n, back, sizeof back, false, false) > 0 &&
              !strcmp(back, "Hello, world! It's"));

        /* the two pre-tokenizers differ: "don't" is don|'t for LLaMA-3 but
         * don|'|t by default (punctuation is split off first) */
        bitnet_token a[16], b[16], c[16];
        int na = bn_vocab_tokenize(v3, "don't", -1, a, 16, false, false);
        int nb = bn_vocab_tokenize(vn, "don't", -1, b, 16, false, false);
        int nc = bn_vocab_tokenize(vd, "don't", -1, c, 16, false, false);
        CHECK(na == 2 && a[1] == bn_vocab_find(v3, "'t", 2));
        CHECK(nb == 3 && b[1] == bn_vocab_find(vn, "'", 1) && b[2] == bn_vocab_find(vn, "t", 1));
        CHECK(nc == nb && !memcmp(b, c, sizeof *b * (size_t)nb));
        /* digits: default splits " 12345" as " " "123" "45"; LLaMA-3 the same
         * way but without the separate space for letters: " abc" */
        nb = bn_vocab_tokenize(vn, " 12345", -1, b, 16, false, false);
        CHECK(nb == 3 && b[0] == bn_vocab_find(vn, "\xc4\xa0", 2) &&
              b[1] == bn_vocab_find(vn, "123", 3) && b[2] == bn_vocab_find(vn, "45", 2));
        /* special tokens and EOG in the 2B-4T layout */
        CHECK(bn_vocab_add_bos(vn) && bn_vocab_bos(vn) == 128000 && bn_vocab_eot(vn) == 128009);
        n = bn_vocab_tokenize(vn, "User: hi<|eot_id|>Assistant: ", -1, ids, 64, true, true);
        CHECK(n > 3 && ids[0] == 128000);
        bool has_eot = false;
        for (int i = 0; i < n; i++) has_eot |= ids[i] == 128009;
        CHECK(has_eot);
        char piece[32];
        CHECK(bn_vocab_token_to_piece(vn, 128009, piece, 32, false) == 0);
        CHECK(bn_vocab_token_to_piece(vn, 128009, piece, 32, true) == 10);
    }
    bn_vocab_free(v3);
    bn_vocab_free(vn);
    bn_vocab_free(vd);
    bn_gguf_close(g1);
    bn_gguf_close(g2);
    bn_gguf_close(g3);
}

/* A Hugging Face tokenizer.json (byte-level BPE, both merge spellings,
 * added tokens) through `bitnet vocab`. */
static void test_hf_json(void) {
    char dir[4096], json[4200], out[4200], cmd[20000];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("tokenizer"));
    snprintf(json, sizeof json, "%s/tokenizer.json", dir);
    snprintf(out, sizeof out, "%s/hf.gguf", dir);
    FILE *f = fopen(json, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("{\"added_tokens\": [{\"id\": 6, \"content\": \"<|begin_of_text|>\", \"special\": true},"
          " {\"id\": 7, \"content\": \"<|end_of_text|>\", \"special\": true}],"
          " \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\","
          " \"pattern\": {\"Regex\": \"\\\\p{N}{1,3}\"}}, {\"type\": \"ByteLevel\"}]},"
          " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"\u0120\": 2,"
          " \"ab\": 3, \"\u0120a\": 4, \"\u0120ab\": 5},"
          " \"merges\": [\"a b\", [\"\u0120\", \"a\"], \"\u0120a b\"]}}",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' vocab --from '%s' -o '%s' >/dev/null",
             test_env("BITNET_BIN", "bin/bitnet"), json, out);
    int rc = test_run(cmd, NULL, 0);
    CHECKF(rc == 0, "%s -> %d", cmd, rc);
    if (rc) return;
    bn_gguf *g = NULL;
    bn_vocab *v = open_vocab(out, &g, NULL, NULL);
    CHECK(v != NULL);
    if (v) {
        bitnet_token ids[16];
        int n = bn_vocab_tokenize(v, "ab ab", -1, ids, 16, true, false);
        CHECK(n == 3 && ids[0] == 6 && ids[1] == 3 && ids[2] == 5);
        CHECK(bn_vocab_eos(v) == 7 && bn_vocab_is_control(v, 6));
    }
    bn_vocab_free(v);
    bn_gguf_close(g);
}

int main(void) {
    const char *p = test_shared_path("vocab/ggml-vocab-llama-spm.gguf.inp");
    if (!p) SKIP("../shared/vocab is absent");
    char *inp = test_read_file(p, NULL);
    CHECK(inp != NULL);
    if (!inp) TEST_END();
    char *texts[128];
    int n = read_texts(inp, texts, 128);
    /* a few more: invalid UTF-8 survives too */
    static char extra[][64] = {"\xff\xfe",
                               "a\xc3",
                               "\xe4\xb8",
                               "tab\tand\r\nCRLF",
                               "x  y   z",
                               "  ",
                               "\xf0\x9f\x99\x82\xf0\x9f\x99"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0] && n < 128; i++) texts[n++] = extra[i];
    test_spm(texts, n);
    test_bpe(texts, n);
    test_hf_json();
    free(inp);
    TEST_END();
}
