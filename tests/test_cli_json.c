/* Every JSON output of the CLI is valid JSON and valid UTF-8, even on hostile
 * input (issue 9, findings 9, 10, 21): token pieces that are raw bytes,
 * hostile text, NaN weights (a non-finite result is null and fails the run),
 * file names that are not UTF-8; bench's CSV has the JSON's fields. */
#include <cjson/cJSON.h>

#include "model_builder.h"
#include "testutil.h"

static char out[1 << 20];
static char cmd[1 << 15];

/* Runs the CLI with stdout captured (stderr appended to the test log). */
static int cli(const char *args) {
    snprintf(cmd, sizeof cmd, "%s %s", test_env("BITNET_BIN", "bitnet"), args);
    return test_run(cmd, out, sizeof out);
}

static bool valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
        if (!len || i + len > n) return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        if (len == 3 && ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F)))
            return false;
        if (len == 4 && ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F)))
            return false;
        i += len;
    }
    return true;
}

/* The whole of stdout is one JSON document (and valid UTF-8): parsed, or NULL. */
static cJSON *parse_out(const char *what) {
    size_t n = strlen(out);
    if (!valid_utf8((const unsigned char *)out, n)) {
        fprintf(stderr, "%s: output is not valid UTF-8\n", what);
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(out, &end, true);
    if (!j) fprintf(stderr, "%s: not JSON:\n%.2000s\n", what, out);
    return j;
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f) fclose(f);
}

/* Writes NaN into output_norm.weight (F32; the loader checks values only
 * with --check-tensors): every logit is then NaN. */
static bool poison_norm(const char *path) {
    bn_gguf *g = NULL;
    if (bn_gguf_open(path, true, &g) != BITNET_OK) return false;
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, "output_norm.weight");
    long off = t ? (long)(g->data_offset + t->offset) : -1;
    size_t n = t ? (size_t)t->nbytes / 4 : 0;
    bn_gguf_close(g);
    FILE *f = off >= 0 ? fopen(path, "r+b") : NULL;
    bool ok = f && fseek(f, off, SEEK_SET) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        float v = NAN;
        ok = fwrite(&v, 4, 1, f) == 1;
    }
    if (f) fclose(f);
    return ok;
}

int main(void) {
    const char *dir = test_tmpdir("cli_json");
    char model[4200], nan_model[4200], odd_model[4200], text[4200], args[20000];
    snprintf(model, sizeof model, "%s/m.gguf", dir);
    snprintf(nan_model, sizeof nan_model, "%s/nan.gguf", dir);
    /* a file name that is not UTF-8 and holds JSON/CSV/Markdown syntax */
    snprintf(odd_model, sizeof odd_model, "%s/q\"x,|\\\xff.gguf", dir);
    model_spec s = model_spec_default("bitnet");
    CHECK(build_model(model, &s));
    CHECK(build_model(odd_model, &s));
    CHECK(build_model(nan_model, &s) && poison_norm(nan_model));

    /* tokenize: ids, and pieces of byte tokens (an emoji, invalid UTF-8, hostile text) */
    snprintf(text, sizeof text, "%s/hostile.txt", dir);
    const char hostile[] =
        "w1 \xf0\x9f\x98\x80 \x80\xff\xc0\xaf \"q\" \\ \t\x01 </s> \xed\xa0\x80 w2";
    write_file(text, hostile, sizeof hostile - 1);
    snprintf(args, sizeof args, "tokenize -m '%s' -f '%s' --pieces", model, text);
    CHECK(cli(args) == 0);
    cJSON *j = parse_out("tokenize --pieces");
    CHECK(j && cJSON_IsArray(j) && cJSON_GetArraySize(j) > 10);
    bool saw_bytes = false;
    cJSON *item;
    cJSON_ArrayForEach(item, j) {
        int n = cJSON_GetArraySize(item);
        CHECK(cJSON_IsArray(item) && (n == 2 || n == 3));
        CHECK(cJSON_IsNumber(cJSON_GetArrayItem(item, 0)) &&
              cJSON_IsString(cJSON_GetArrayItem(item, 1)));
        if (n == 3) {
            cJSON *bytes = cJSON_GetArrayItem(item, 2), *b;
            CHECK(cJSON_IsArray(bytes) && cJSON_GetArraySize(bytes) >= 1);
            cJSON_ArrayForEach(b, bytes)
                CHECK(cJSON_IsNumber(b) && b->valueint >= 0 && b->valueint < 256);
            if (cJSON_GetArraySize(bytes) == 1 && cJSON_GetArrayItem(bytes, 0)->valueint == 0xF0)
                saw_bytes = true;
        }
    }
    CHECKF(saw_bytes, "the emoji's first byte token has no bytes array:\n%.2000s", out);
    cJSON_Delete(j);
    snprintf(args, sizeof args, "tokenize -m '%s' -f '%s'", model, text);
    CHECK(cli(args) == 0);
    j = parse_out("tokenize");
    CHECK(j && cJSON_IsArray(j) && cJSON_IsNumber(cJSON_GetArrayItem(j, 0)));
    cJSON_Delete(j);

    /* perplexity --json: a number for a sane model; for NaN weights null and exit 1 */
    snprintf(text, sizeof text, "%s/ppl.txt", dir);
    char words[4000] = "";
    for (int i = 0; i < 200; i++)
        snprintf(words + strlen(words), sizeof words - strlen(words), "w%d ", i % 50);
    write_file(text, words, strlen(words));
    snprintf(args, sizeof args, "perplexity -m '%s' -f '%s' -c 16 --json -t 1", model, text);
    CHECK(cli(args) == 0);
    j = parse_out("perplexity --json");
    CHECK(j && cJSON_IsNumber(cJSON_GetObjectItem(j, "ppl")) &&
          cJSON_IsArray(cJSON_GetObjectItem(j, "chunks")));
    cJSON_Delete(j);
    snprintf(args, sizeof args, "perplexity -m '%s' -f '%s' -c 16 --json -t 1", nan_model, text);
    int rc = cli(args);
    CHECKF(rc == 1, "perplexity of NaN weights exited %d", rc);
    j = parse_out("perplexity --json, NaN weights");
    CHECK(j && cJSON_IsNull(cJSON_GetObjectItem(j, "ppl")));
    cJSON_Delete(j);
    /* the plain-text form fails the same way; --check-tensors finds the cause */
    snprintf(args, sizeof args, "perplexity -m '%s' -f '%s' -c 16 -t 1", nan_model, text);
    CHECK(cli(args) == 1);
    snprintf(args, sizeof args, "perplexity -m '%s' -f '%s' -c 16 -t 1 --check-tensors", nan_model,
             text);
    CHECK(cli(args) == 1);

    /* bench -o json with two models (both benchmarked), one with a hostile name */
    snprintf(args, sizeof args, "bench -m '%s' -m '%s' -p 8 -n 4 -r 1 -t 1 -o json", model,
             odd_model);
    CHECK(cli(args) == 0);
    j = parse_out("bench -o json");
    CHECKF(j && cJSON_GetArraySize(j) == 4, "expected 2 models x (pp, tg) = 4 rows");
    int n_odd = 0;
    cJSON_ArrayForEach(item, j) {
        cJSON *name = cJSON_GetObjectItem(item, "model_filename");
        CHECK(cJSON_IsString(name));
        if (name && cJSON_IsString(name) && strstr(name->valuestring, "q\"x,|\\")) n_odd++;
        /* a model this small fits in any last-level cache: no bandwidth fraction */
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(item, "bandwidth_fraction")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(item, "avg_ts")));
    }
    CHECK(n_odd == 2);
    /* CSV: the same field names as the JSON objects, in the same order */
    char json_keys[2000] = "";
    cJSON *field;
    cJSON_ArrayForEach(field, cJSON_GetArrayItem(j, 0))
        snprintf(json_keys + strlen(json_keys), sizeof json_keys - strlen(json_keys), "%s%s",
                 json_keys[0] ? "," : "", field->string);
    cJSON_Delete(j);
    snprintf(args, sizeof args, "bench -m '%s' -m '%s' -p 8 -n 4 -r 1 -t 1 -o csv", model, model);
    CHECK(cli(args) == 0);
    char *nl = strchr(out, '\n');
    if (nl) *nl = '\0';
    CHECKF(!strcmp(out, json_keys), "CSV header\n  %s\nJSON keys\n  %s", out, json_keys);
    /* Markdown: both models, and why there is no bandwidth figure */
    snprintf(args, sizeof args, "bench -m '%s' -m '%s' -p 8 -n 4 -r 1 -t 1", model, model);
    CHECK(cli(args) == 0);
    CHECKF(strstr(out, "fits") == NULL || strstr(out, "last-level cache"), "%s", out);
    CHECKF(strstr(out, "n/a (in cache)") && strstr(out, "last-level cache"), "%s", out);
    TEST_END();
}
