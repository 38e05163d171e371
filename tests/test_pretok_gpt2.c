/* The "gpt2" pre-tokenizer (the GPT-2 split alone) and its detection in a
 * Hugging Face tokenizer.json: a bare ByteLevel pre-tokenizer with use_regex
 * (what transformers writes for a byte-level BPE it trains) must not get
 * llama.cpp's "default" passes, which cut "1234567" into "123" "456" "7" and
 * split punctuation runs first; transformers keeps " 1234567" whole. */
#include "pretokenize.h"
#include "testutil.h"
#include "vocab_import.h"

/* The pieces of text joined with '|'. */
static void split(bn_pretok_kind kind, const char *text, char *out, size_t cap) {
    size_t *lens = NULL, n = 0, at = 0, w = 0;
    CHECK(bn_pretokenize(kind, text, strlen(text), &lens, &n));
    for (size_t i = 0; i < n && w + lens[i] + 2 < cap; i++) {
        if (i) out[w++] = '|';
        memcpy(out + w, text + at, lens[i]);
        w += lens[i];
        at += lens[i];
    }
    out[w] = '\0';
    free(lens);
}

static void expect_split(bn_pretok_kind kind, const char *text, const char *want) {
    char got[512];
    split(kind, text, got, sizeof got);
    CHECKF(!strcmp(got, want), "%s on \"%s\": got \"%s\", want \"%s\"", bn_pretok_name(kind), text,
           got, want);
}

static const char *import_pre(const char *pre_tokenizer) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "
             "\"merges\": [\"a b\"]}, \"pre_tokenizer\": %s, \"decoder\": {\"type\": "
             "\"ByteLevel\"}}",
             pre_tokenizer);
    bn_vocab_build b;
    bn_vocab_build_init(&b);
    bitnet_status st = bn_vocab_import_json("t.json", json, strlen(json), &b);
    CHECKF(st == BITNET_OK, "import: %s", bitnet_get_last_error());
    const char *pre = b.pre ? b.pre : "(none)";
    bn_vocab_build_free(&b);
    return pre;
}

int main(void) {
    const char *code = "def f(n): return 1234567 + n;";
    expect_split(BN_PRETOK_GPT2, code, "def| f|(|n|):| return| 1234567| +| n|;");
    expect_split(BN_PRETOK_DEFAULT, code, "def| f|(|n|):| return| |123|456|7| |+| n|;");
    expect_split(BN_PRETOK_GPT2, "it's  ok?!", "it|'s| | ok|?!");
    CHECK(!strcmp(bn_pretok_name(BN_PRETOK_GPT2), "gpt2"));

    CHECK(!strcmp(import_pre("{\"type\": \"ByteLevel\", \"use_regex\": true}"), "gpt2"));
    CHECK(!strcmp(import_pre("{\"type\": \"ByteLevel\"}"), "gpt2")); /* default true */
    CHECK(!strcmp(import_pre("{\"type\": \"ByteLevel\", \"use_regex\": false}"), "(none)"));
    CHECK(!strcmp(import_pre("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
                             "\"pattern\": {\"Regex\": \"\\\\p{N}{1,3}\"}}, {\"type\": "
                             "\"ByteLevel\", \"use_regex\": false}]}"),
                  "llama-bpe"));
    TEST_END();
}
