/* The vocabulary importers (engine/text/vocab_import*.c) and `bitnet vocab` on
 * hostile and malformed input (issue 9 findings 5, 8, 20b, 22b; catalogue
 * T1, T4-T6): every refusal exits 1 with a message naming the token and the
 * value, quickly, and leaves no output file behind. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gguf_builder.h"
#include "testutil.h"
#include "vocab.h"
#include "vocab_import.h"

static char dir[4096];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static void write_text(const char *name, const char *text) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, text, strlen(text));
}

/* No temporary output is left in the directory. */
static bool no_leftovers(void) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool clean = true;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-")) clean = false;
    closedir(d);
    return clean;
}

static bool exists(const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void remove_out(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/out.gguf", dir);
    unlink(path);
}

/* Runs `bitnet vocab --from dir/in ARGS -o dir/out.gguf` (20 s at most),
 * returns the exit status; stdout and stderr go to msg. */
static int vocab(const char *in, const char *args, char *msg, size_t cap, double *secs) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "timeout 20 '%s' vocab --from '%s/%s' %s -o '%s/out.gguf' 2>&1",
             test_env("BITNET_BIN", "bin/bitnet"), dir, in, args, dir);
    double t0 = now_s();
    int rc = test_run(cmd, msg, cap);
    if (secs) *secs = now_s() - t0;
    return rc;
}

/* The command fails with status 1, saying each of the words, and writes
 * nothing. */
static void expect_refused(const char *in, const char *args, const char *w1, const char *w2) {
    char msg[4096];
    remove_out();
    double secs = 0;
    int rc = vocab(in, args, msg, sizeof msg, &secs);
    CHECKF(rc == 1, "%s %s: exit %d (want 1): %s", in, args, rc, msg);
    CHECKF(strstr(msg, w1) != NULL, "%s: message lacks '%s': %s", in, w1, msg);
    CHECKF(!w2 || strstr(msg, w2) != NULL, "%s: message lacks '%s': %s", in, w2, msg);
    CHECKF(secs < 10, "%s: took %.1f s", in, secs);
    CHECKF(!exists("out.gguf"), "%s: a failed run left out.gguf behind", in);
    CHECKF(no_leftovers(), "%s: a temporary file was left behind", in);
}

static void expect_ok(const char *in, const char *args, const char *w1) {
    char msg[4096];
    int rc = vocab(in, args, msg, sizeof msg, NULL);
    CHECKF(rc == 0, "%s %s: exit %d: %s", in, args, rc, msg);
    CHECKF(!w1 || strstr(msg, w1) != NULL, "%s: output lacks '%s': %s", in, w1, msg);
    CHECKF(exists("out.gguf"), "%s: no output", in);
    CHECKF(no_leftovers(), "%s: a temporary file was left behind", in);
}

#define BYTE_LEVEL "\"decoder\": {\"type\": \"ByteLevel\"}, "

/* A byte-level tokenizer.json with the given vocab, merges and added tokens. */
static void write_json(const char *name, const char *vocab_body, const char *merges,
                       const char *added) {
    char buf[8192];
    snprintf(buf, sizeof buf,
             "{" BYTE_LEVEL "\"added_tokens\": [%s], \"model\": {\"type\": \"BPE\", "
             "\"vocab\": {%s}, \"merges\": [%s]}}",
             added, vocab_body, merges);
    write_text(name, buf);
}

/* ---------------------------------------------------------------------------
 * Finding 5: unbounded work
 * ------------------------------------------------------------------------- */

static void test_huge_ids(void) {
    /* 67 bytes that used to make a 279 MB file in 25 s */
    write_json("id1e8.json", "\"a\": 0, \"b\": 100000000", "", "");
    expect_refused("id1e8.json", "", "'b'", "100000000");
    write_json("gap.json", "\"a\": 0, \"b\": 1, \"c\": 5000", "", "");
    expect_refused("gap.json", "", "'c'", "5000");
    write_json("added1e8.json", "\"a\": 0", "", "{\"id\": 99999999, \"content\": \"<x>\"}");
    expect_refused("added1e8.json", "", "'<x>'", "99999999");
    /* small gaps are filled with [PADn], as llama.cpp's converter does */
    write_json("smallgap.json", "\"a\": 0, \"b\": 1, \"ab\": 9", "\"a b\"", "");
    expect_ok("smallgap.json", "", "10 tokens");
}

/* A tiktoken line for the bytes s[0..n). */
static size_t b64_line(const unsigned char *s, size_t n, size_t rank, char *out) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)s[i] << 16;
        if (i + 1 < n) w |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n) w |= s[i + 2];
        out[k++] = al[w >> 18 & 63];
        out[k++] = al[w >> 12 & 63];
        out[k++] = i + 1 < n ? al[w >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? al[w & 63] : '=';
    }
    return k + (size_t)sprintf(out + k, " %zu\n", rank);
}

typedef struct textbuf {
    char *p;
    size_t n, cap;
} textbuf;

static void tb_line(textbuf *t, const unsigned char *s, size_t n, size_t *rank) {
    if (t->n + 2 * n + 64 > t->cap) {
        t->cap = 2 * (t->n + 2 * n + 64);
        t->p = realloc(t->p, t->cap);
        if (!t->p) abort();
    }
    t->n += b64_line(s, n, (*rank)++, t->p + t->n);
}

/* c, cc, c^4, ... c^len: a chain of tokens each made of two copies of the
 * one before. */
static void tb_chain(textbuf *t, unsigned char c, size_t len, size_t *rank) {
    unsigned char s[4096];
    memset(s, c, sizeof s);
    for (size_t k = 1; k <= len; k *= 2) tb_line(t, s, k, rank);
}

static void test_tiktoken_bounds(void) {
    char path[4200];
    /* one 150 KB token: quadratic before, refused by length now */
    {
        textbuf t = {0};
        size_t rank = 0;
        static unsigned char big[150000];
        memset(big, 'a', sizeof big);
        tb_line(&t, (const unsigned char *)"a", 1, &rank);
        tb_line(&t, big, sizeof big, &rank);
        snprintf(path, sizeof path, "%s/long.tiktoken", dir);
        write_file(path, t.p, t.n);
        free(t.p);
        expect_refused("long.tiktoken", "", "rank 1", "limit 4096");
    }
    /* 1,600 tokens of 4,096 bytes, each made of two 2,048-byte ones: hashing
     * every split afresh (16 M bytes per token) took about 20 s */
    {
        textbuf t = {0};
        size_t rank = 0;
        for (unsigned char c = 'A'; c < 'A' + 40; c++) tb_chain(&t, c, 2048, &rank);
        unsigned char s[4096];
        for (unsigned char c = 'A'; c < 'A' + 40; c++)
            for (unsigned char d = 'A'; d < 'A' + 40; d++) {
                memset(s, c, 2048);
                memset(s + 2048, d, 2048);
                if (c != d) tb_line(&t, s, 4096, &rank);
            }
        snprintf(path, sizeof path, "%s/wide.tiktoken", dir);
        write_file(path, t.p, t.n);
        free(t.p);
        char msg[4096];
        remove_out();
        double secs = 0;
        int rc = vocab("wide.tiktoken", "", msg, sizeof msg, &secs);
        CHECKF(rc == 0, "wide.tiktoken: exit %d: %s", rc, msg);
        CHECKF(secs < 8, "wide.tiktoken: took %.1f s", secs);
    }
    /* every prefix and suffix of a^k is a token: k - 1 merges of k bytes for
     * each, cubic output; refused at the merge-text limit */
    {
        textbuf t = {0};
        size_t rank = 0;
        unsigned char s[4096];
        memset(s, 'a', sizeof s);
        for (size_t k = 1; k <= 4096; k++) tb_line(&t, s, k, &rank);
        snprintf(path, sizeof path, "%s/cubic.tiktoken", dir);
        write_file(path, t.p, t.n);
        free(t.p);
        expect_refused("cubic.tiktoken", "", "merges", "MiB");
    }
    /* a pipe or device is read only up to the size limit */
    {
        char cmd[8192], msg[4096];
        snprintf(cmd, sizeof cmd, "timeout 20 '%s' vocab --from /dev/zero -o '%s/out.gguf' 2>&1",
                 test_env("BITNET_BIN", "bin/bitnet"), dir);
        int rc = test_run(cmd, msg, sizeof msg);
        CHECKF(rc == 1 && strstr(msg, "64 MiB"), "/dev/zero: exit %d: %s", rc, msg);
        CHECK(!exists("out.gguf"));
    }
}

/* ---------------------------------------------------------------------------
 * Finding 8: duplicates; a failed run leaves nothing
 * ------------------------------------------------------------------------- */

static void test_duplicates(void) {
    write_json("dupid.json", "\"a\": 0, \"b\": 1, \"c\": 1", "", "");
    expect_refused("dupid.json", "", "'b' and 'c'", "id 1");
    write_json("duptext.json", "\"a\": 0, \"b\": 1, \"a\": 2", "", "");
    expect_refused("duptext.json", "", "duplicate key \"a\"", "model.vocab");
    write_json("dupadded.json", "\"a\": 0, \"b\": 1", "",
               "{\"id\": 1, \"content\": \"<s>\", \"special\": true}");
    expect_refused("dupadded.json", "", "'b' and '<s>'", "id 1");
    write_json("dupadded2.json", "\"a\": 0, \"b\": 1", "",
               "{\"id\": 5, \"content\": \"a\", \"special\": true}");
    expect_refused("dupadded2.json", "", "'a'", "id 0 and id 5");
    /* an added token that repeats its vocab entry is normal in real files */
    write_json("sameadded.json", "\"a\": 0, \"<s>\": 1", "",
               "{\"id\": 1, \"content\": \"<s>\", \"special\": true}");
    expect_ok("sameadded.json", "", "bos 1");
    write_text("dup.tiktoken", "YQ== 0\nYg== 1\nYQ== 2\n");
    expect_refused("dup.tiktoken", "", "rank 2", "duplicates rank 0");
    write_text("duprank.tiktoken", "YQ== 0\nYg== 0\n");
    expect_refused("duprank.tiktoken", "", ":2:", "rank 0 appears twice");
}

/* A GGUF whose tokenizer keys copy fine but do not load: the written file
 * used to stay behind; now it is removed and an older output is kept. */
static void test_failed_output(void) {
    gb b = {0};
    gb_header(&b, 3, 0, 2);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    char path[4200];
    snprintf(path, sizeof path, "%s/notokens.gguf", dir);
    CHECK(gb_save(&b, path) == 0);
    gb_free(&b);
    expect_refused("notokens.gguf", "", "does not load", "tokenizer.ggml.tokens");

    write_json("good.json", "\"a\": 0, \"b\": 1, \"ab\": 2", "\"a b\"", "");
    expect_ok("good.json", "", "3 tokens");
    char msg[4096];
    int rc = vocab("notokens.gguf", "", msg, sizeof msg, NULL);
    CHECKF(rc == 1, "exit %d", rc);
    CHECKF(exists("out.gguf"), "the earlier output was removed by a failed run");
    CHECK(no_leftovers());
    /* unwritable destination */
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "timeout 20 '%s' vocab --from '%s/good.json' -o '%s/no/such/o.gguf' 2>&1",
             test_env("BITNET_BIN", "bin/bitnet"), dir, dir);
    rc = test_run(cmd, msg, sizeof msg);
    CHECKF(rc == 1 && strstr(msg, "no/such"), "exit %d: %s", rc, msg);
}

/* ---------------------------------------------------------------------------
 * Finding 20b: non-integer ids; catalogue T1, T5, T6
 * ------------------------------------------------------------------------- */

static void test_bad_values(void) {
    write_json("float.json", "\"a\": 0, \"b\": 0.5", "", "");
    expect_refused("float.json", "", "'b'", "0.5");
    write_json("neg.json", "\"a\": 0, \"b\": -1", "", "");
    expect_refused("neg.json", "", "'b'", "-1");
    write_json("strid.json", "\"a\": 0, \"b\": \"1\"", "", "");
    expect_refused("strid.json", "", "'b'", "a string");
    write_json("addedfloat.json", "\"a\": 0", "", "{\"id\": 1.25, \"content\": \"<x>\"}");
    expect_refused("addedfloat.json", "", "'<x>'", "1.25");
    /* T1 */
    write_json("empty.json", "", "", "");
    expect_refused("empty.json", "", "empty", NULL);
    write_text("empty.tiktoken", "\n\n");
    expect_refused("empty.tiktoken", "--format tiktoken", "no tokens", NULL);
    /* T5 */
    write_json("mergeunk.json", "\"a\": 0, \"b\": 1", "\"a c\"", "");
    expect_refused("mergeunk.json", "", "model.merges[0]", "'c' is not a token");
    write_json("mergebad.json", "\"a\": 0, \"b\": 1", "\"a b\", \"ab\"", "");
    expect_refused("mergebad.json", "", "model.merges[1]", NULL);
    write_json("mergespaces.json", "\"a\": 0, \"b\": 1", "\"a  b\"", "");
    expect_refused("mergespaces.json", "", "model.merges[0]", NULL);
    write_json("mergearr.json", "\"a\": 0, \"b\": 1, \"ab\": 2", "[\"a\", \"b\"], [\"a\"]", "");
    expect_refused("mergearr.json", "", "model.merges[1]", NULL);
    write_text("gapped.tiktoken", "YQ== 0\nYg== 2\n");
    expect_refused("gapped.tiktoken", "", ":2: rank 2", "must be 0..1");
    write_text("gapped2.tiktoken", "YQ== 0\n\nYg== 2\n");
    expect_refused("gapped2.tiktoken", "", "rank 1 is missing", NULL);
    write_text("notsplit.tiktoken", "YQ== 0\nYWJj 1\n");
    expect_refused("notsplit.tiktoken", "", "rank 1", "not made of two tokens");
    /* T6 */
    write_json("nul.json", "\"a\": 0, \"b\\u0000c\": 1", "", "");
    expect_refused("nul.json", "", "\\u0000", NULL);
    write_json("escaped.json", "\"a\": 0, \"b\\\\u0000c\": 1", "", "");
    expect_ok("escaped.json", "", "2 tokens");
    {
        char big[6000], body[6100];
        memset(big, 'x', 5000);
        big[5000] = '\0';
        snprintf(body, sizeof body, "\"a\": 0, \"%s\": 1", big);
        char buf[8192];
        snprintf(buf, sizeof buf,
                 "{" BYTE_LEVEL "\"model\": {\"type\": \"BPE\", \"vocab\": {%s}, \"merges\": []}}",
                 body);
        write_text("longtok.json", buf);
        expect_refused("longtok.json", "", "5000 bytes", "limit 4096");
    }
    /* JSON that is not a byte-level BPE model */
    write_text("spm.json", "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": "
                           "{\"a\": 0}, \"merges\": []}, \"decoder\": {\"type\": \"ByteLevel\"}}");
    expect_refused("spm.json", "", "not byte-level", "byte_fallback");
    write_text("nobl.json",
               "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_refused("nobl.json", "", "not byte-level", NULL);
    write_text("wordpiece.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
    expect_refused("wordpiece.json", "", "only byte-level BPE", NULL);
    write_text("trailing.json", "{} x");
    expect_refused("trailing.json", "", "not valid JSON", NULL);
    {
        /* deep nesting: cJSON's limit, no stack overflow */
        size_t n = 200000;
        char *deep = malloc(n + 8);
        CHECK(deep != NULL);
        if (!deep) return;
        memcpy(deep, "{\"a\": ", 6);
        memset(deep + 6, '[', n);
        deep[n + 6] = '\0';
        write_text("deep.json", deep);
        free(deep);
        expect_refused("deep.json", "", "nested deeper than 64", NULL);
    }
}

/* ---------------------------------------------------------------------------
 * Finding 22b: the format is detected, not assumed
 * ------------------------------------------------------------------------- */

static void test_formats(void) {
    write_text("hello.txt", "hello world\n");
    expect_refused("hello.txt", "", "not a GGUF file, a tokenizer.json", "tiktoken");
    write_text("empty.txt", "");
    expect_refused("empty.txt", "", "not a GGUF file", NULL);
    /* an explicit format gives that format's own message */
    expect_refused("hello.txt", "--format tiktoken", "hello.txt:1", "BASE64 RANK");
    expect_refused("hello.txt", "--format json", "not valid JSON", NULL);
    write_text("crlf.tiktoken", "YQ== 0\r\nYg== 1\r\nYWI= 2\r\n");
    expect_ok("crlf.tiktoken", "", "3 tokens");
    expect_refused("crlf.tiktoken", "--format json", "not valid JSON", NULL);
    expect_refused("crlf.tiktoken", "--format gguf", "GGUF", NULL);
    char msg[4096];
    CHECK(vocab("crlf.tiktoken", "--format xml", msg, sizeof msg, NULL) == 2);
    CHECK(strstr(msg, "'xml' is not gguf, json or tiktoken") != NULL);

    CHECK(bn_vocab_format_detect("GGUF\3", 5) == BN_VOCAB_FORMAT_GGUF);
    CHECK(bn_vocab_format_detect("\xef\xbb\xbf {}", 6) == BN_VOCAB_FORMAT_JSON);
    CHECK(bn_vocab_format_detect("\n\nIQ== 0\n", 9) == BN_VOCAB_FORMAT_TIKTOKEN);
    CHECK(bn_vocab_format_detect("IQ== 0", 6) == BN_VOCAB_FORMAT_TIKTOKEN);
    CHECK(bn_vocab_format_detect("IQ== x\n", 7) == BN_VOCAB_FORMAT_UNKNOWN);
    CHECK(bn_vocab_format_detect("IQ==  0\n", 8) == BN_VOCAB_FORMAT_UNKNOWN);
    CHECK(bn_vocab_format_detect("[1]", 3) == BN_VOCAB_FORMAT_UNKNOWN);
    CHECK(bn_vocab_format_detect("", 0) == BN_VOCAB_FORMAT_UNKNOWN);
    CHECK(bn_vocab_format_detect(NULL, 0) == BN_VOCAB_FORMAT_UNKNOWN);
}

/* ---------------------------------------------------------------------------
 * The library API: from memory, without a NUL after the data
 * ------------------------------------------------------------------------- */

static void test_memory(void) {
    const char json[] = "{" BYTE_LEVEL "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, "
                        "\"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}}XXXX";
    char *copy = malloc(sizeof json - 5);
    memcpy(copy, json, sizeof json - 5); /* no NUL, no XXXX */
    bn_vocab_build b;
    CHECK(bn_vocab_import_json("mem.json", copy, sizeof json - 5, &b) == BITNET_OK);
    CHECK(b.n == 3 && b.n_merges == 1 && !strcmp(b.text[2], "ab"));
    CHECK(b.merge_len[0] == 3 && !strcmp(b.merge_text + b.merge_off[0], "a b"));
    bn_vocab_build_free(&b);
    free(copy);

    const char tt[] = "YQ== 0\nYg== 1\nYWI= 2";
    char *t = malloc(sizeof tt - 1);
    memcpy(t, tt, sizeof tt - 1);
    CHECK(bn_vocab_import_tiktoken("mem.tiktoken", t, sizeof tt - 1, 2, &b) == BITNET_OK);
    CHECK(b.n == 5 && b.n_merges == 1 && b.bos == 3 && b.eos == 4);
    bn_vocab_build_free(&b);
    free(t);

    /* the size limit is checked before anything is read */
    size_t big = (size_t)BN_VOCAB_IMPORT_MAX_FILE + 1;
    char *z = calloc(big, 1);
    CHECK(z != NULL);
    if (z) {
        CHECK(bn_vocab_import_json("big.json", z, big, &b) == BITNET_ERR_FORMAT);
        CHECK(strstr(bitnet_get_last_error(), "64 MiB") != NULL);
        CHECK(bn_vocab_import_tiktoken("big.tiktoken", z, big, 0, &b) == BITNET_ERR_FORMAT);
        free(z);
    }
    bn_vocab_build_free(&b); /* freeing an empty build is fine */
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", test_tmpdir("vocab_import"));
    test_huge_ids();
    test_tiktoken_bounds();
    test_duplicates();
    test_failed_output();
    test_bad_values();
    test_formats();
    test_memory();
    TEST_END();
}
