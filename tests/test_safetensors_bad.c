/* The safetensors reader against the bad-input catalogue (S1-S12 of
 * style-and-reliability.md), plus well-formed files: each bad file gets its
 * status and a message naming the file, the tensor and the field. Also the
 * strict JSON layer under it (engine/util/json_util.c, rows J1-J5). */
#include "json_util.h"
#include "safetensors.h"
#include "testutil.h"

static int n_cases;

/* Header text + data bytes, with the header length written as given
 * (n_override) or as the header's real length. */
static uint8_t *build(const char *header, const void *data, size_t data_len, int64_t n_override,
                      size_t *len) {
    size_t n = strlen(header);
    *len = 8 + n + data_len;
    uint8_t *buf = malloc(*len ? *len : 1);
    uint64_t hdr = n_override >= 0 ? (uint64_t)n_override : n;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(hdr >> (8 * i));
    memcpy(buf + 8, header, n);
    if (data_len) memcpy(buf + 8 + n, data, data_len);
    return buf;
}

static void expect(const char *label, const char *header, size_t data_len, int64_t n_override,
                   bitnet_status want, const char *needle) {
    static uint8_t zeros[4096];
    size_t len;
    uint8_t *buf = build(header, zeros, data_len, n_override, &len);
    bn_safetensors *st = NULL;
    bitnet_status got = bn_st_open_memory(buf, len, "case.safetensors", &st);
    n_cases++;
    CHECKF(got == want, "%s: status %d, want %d (%s)", label, got, want, bitnet_get_last_error());
    if (want != BITNET_OK) {
        CHECKF(st == NULL, "%s: handle on failure", label);
        CHECKF(strstr(bitnet_get_last_error(), "case.safetensors") != NULL,
               "%s: no file name in '%s'", label, bitnet_get_last_error());
        CHECKF(strstr(bitnet_get_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'",
               label, bitnet_get_last_error(), needle);
    }
    bn_st_close(st);
    free(buf);
}

#define T1 "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"

static void test_good(void) {
    /* two tensors out of header order, a scalar, metadata, space padding,
     * and data at an odd offset (S12: read through memcpy) */
    const char *header = "{\"__metadata__\":{\"format\":\"pt\"},"
                         "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[24,30]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                         "\"s\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[30,31]}}   ";
    float a[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
    uint8_t data[31];
    memcpy(data, a, 24);
    const uint16_t bf[3] = {0x3F80, 0xC000, 0x4049}; /* 1, -2, 3.140625 */
    memcpy(data + 24, bf, 6);
    data[30] = 200;
    size_t len;
    uint8_t *buf = build(header, data, sizeof data, -1, &len);
    bn_safetensors *st = NULL;
    CHECKF(bn_st_open_memory(buf, len, "good.safetensors", &st) == BITNET_OK, "%s",
           bitnet_get_last_error());
    if (st) {
        CHECK(st->n_tensors == 3 && st->n_meta == 1);
        CHECK(!strcmp(bn_st_meta_get(st, "format"), "pt") && !bn_st_meta_get(st, "x"));
        const bn_st_tensor *ta = bn_st_find(st, "a"), *tb = bn_st_find(st, "b"),
                           *ts = bn_st_find(st, "s");
        CHECK(ta && ta->dtype == BN_ST_F32 && ta->n_dims == 2 && ta->shape[0] == 2 &&
              ta->shape[1] == 3 && ta->n_elements == 6 && ta->nbytes == 24);
        for (int i = 0; ta && i < 6; i++) CHECK(bn_st_read_f32(ta, (uint64_t)i) == a[i]);
        CHECK(tb && bn_st_read_f32(tb, 0) == 1.0f && bn_st_read_f32(tb, 1) == -2.0f &&
              bn_st_read_f32(tb, 2) == 3.140625f);
        CHECK(ts && ts->n_dims == 0 && ts->n_elements == 1 && bn_st_read_f32(ts, 0) == 200.0f);
        CHECK(!bn_st_find(st, "c") && !bn_st_find(st, "__metadata__"));
        CHECK(ta && (uintptr_t)ta->data == (uintptr_t)buf + 8 + strlen(header));
    }
    bn_st_close(st);
    free(buf);
    /* an empty file of tensors is well-formed */
    expect("empty header object", "{}", 0, -1, BITNET_OK, "");
    expect("zero-size tensor", "{\"z\":{\"dtype\":\"F16\",\"shape\":[0,4],\"data_offsets\":[0,0]}}",
           0, -1, BITNET_OK, "");
}

static void test_catalogue(void) {
    /* S1 */
    {
        uint8_t tiny[5] = {1, 0, 0, 0, 0};
        bn_safetensors *st = NULL;
        CHECK(bn_st_open_memory(tiny, sizeof tiny, "case.safetensors", &st) ==
              BITNET_ERR_TRUNCATED);
        CHECK(strstr(bitnet_get_last_error(), "shorter than the 8-byte header length"));
        n_cases++;
    }
    /* S2 */
    expect("S2 huge N", "{}", 0, 200000000, BITNET_ERR_FORMAT, "above the limit");
    expect("S2 N past EOF", "{}", 0, 1000, BITNET_ERR_TRUNCATED, "runs past the end");
    expect("S2 N wraps", "{}", 0, INT64_MAX, BITNET_ERR_FORMAT, "above the limit");
    /* S3 */
    expect("S3 not an object", "[1,2]", 0, -1, BITNET_ERR_FORMAT, "does not start with '{'");
    expect("S3 invalid JSON", "{\"w\":}", 0, -1, BITNET_ERR_FORMAT, "not valid JSON");
    expect("S3 truncated JSON", "{\"w\":{\"dtype\"", 0, -1, BITNET_ERR_FORMAT, "truncated?");
    expect("S3 trailing garbage", "{} x", 0, -1, BITNET_ERR_FORMAT, "not valid JSON near 'x'");
    expect("S3 invalid UTF-8", "{\"\xff\":1}", 0, -1, BITNET_ERR_FORMAT, "not valid UTF-8");
    expect("S3 NUL in header", "{\"a\":1}", 2, 9, BITNET_ERR_FORMAT, "NUL byte");
    expect("S3 NUL escape", "{\"a\\u0000b\":{}}", 0, -1, BITNET_ERR_FORMAT, "u0000");
    /* S4 */
    {
        char deep[2100];
        memset(deep, '[', 1000);
        memset(deep + 1000, ']', 1000);
        deep[2000] = '\0';
        char hdr[2200];
        snprintf(hdr, sizeof hdr, "{\"a\":%s}", deep);
        expect("S4 deep", hdr, 0, -1, BITNET_ERR_FORMAT, "nested deeper than 4");
    }
    /* S5 */
    expect("S5 duplicate name", "{" T1 "," T1 "}", 24, -1, BITNET_ERR_FORMAT,
           "duplicate key \"w\"");
    /* S6 */
    expect("S6 no dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, -1,
           BITNET_ERR_FORMAT, "'w' has no 'dtype'");
    expect("S6 no shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, -1,
           BITNET_ERR_FORMAT, "'w' has no 'shape'");
    expect("S6 no offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, -1, BITNET_ERR_FORMAT,
           "'w' has no 'data_offsets'");
    expect("S6 unknown dtype", "{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
           -1, BITNET_ERR_FORMAT, "dtype 'Q4'");
    expect("S6 dtype not a string", "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
           -1, BITNET_ERR_FORMAT, "not a string");
    expect("S6 negative dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
           4, -1, BITNET_ERR_FORMAT, "shape[0]");
    expect("S6 fractional dim",
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,6]}}", 6, -1,
           BITNET_ERR_FORMAT, "shape[0]");
    expect("S6 shape not array", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}",
           16, -1, BITNET_ERR_FORMAT, "shape is not an array");
    expect("S6 entry not object", "{\"w\":5}", 0, -1, BITNET_ERR_FORMAT, "expected an object");
    expect("S6 unknown field",
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, -1,
           BITNET_ERR_FORMAT, "unknown field 'x'");
    expect("S6 offsets of three",
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, -1,
           BITNET_ERR_FORMAT, "two non-negative integers");
    expect("S6 too many dims",
           "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, -1,
           BITNET_ERR_UNSUPPORTED, "9 dimensions");
    /* S7 */
    expect("S7 gap at start", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
           -1, BITNET_ERR_FORMAT, "starts at data offset 4, expected 0");
    expect("S7 end before begin",
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, -1,
           BITNET_ERR_FORMAT, "before begin");
    expect("S7 overlap",
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
           12, -1, BITNET_ERR_FORMAT, "tensor 'b' starts at data offset 4, expected 8");
    /* S8 */
    expect("S8 element overflow",
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
           4, -1, BITNET_ERR_FORMAT, "element count overflows");
    expect("S8 byte overflow",
           "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,536870912],\"data_offsets\":[0,4]}}", 4,
           -1, BITNET_ERR_FORMAT, "byte size overflows");
    expect("S8 2^53+1",
           "{\"w\":{\"dtype\":\"U8\",\"shape\":[9007199254740993],\"data_offsets\":[0,1]}}", 1, -1,
           BITNET_ERR_FORMAT, "shape[0]");
    /* S9 */
    expect("S9 size mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
           4, -1, BITNET_ERR_FORMAT, "span 4 bytes, but F32 of that shape holds 8");
    /* S10 */
    expect("S10 trailing bytes", "{" T1 "}", 30, -1, BITNET_ERR_FORMAT, "6 bytes after the last");
    expect("S10 truncated data", "{" T1 "}", 20, -1, BITNET_ERR_TRUNCATED, "truncated");
    /* S11 */
    expect("S11 metadata not object", "{\"__metadata__\":[1]}", 0, -1, BITNET_ERR_FORMAT,
           "__metadata__ is not an object");
    expect("S11 metadata value not string", "{\"__metadata__\":{\"k\":1}}", 0, -1,
           BITNET_ERR_FORMAT, "__metadata__ 'k' is not a string");
    /* names */
    expect("empty name", "{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, -1,
           BITNET_ERR_FORMAT, "a tensor name of 0 bytes");
}

static void test_files(void) {
    const char *dir = test_tmpdir("safetensors");
    char path[4200];
    snprintf(path, sizeof path, "%s/good.safetensors", dir);
    size_t len;
    float v[6] = {0};
    uint8_t *buf = build("{" T1 "}", v, sizeof v, -1, &len);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
    free(buf);
    for (int use_mmap = 0; use_mmap < 2; use_mmap++) {
        bn_safetensors *st = NULL;
        CHECKF(bn_st_open(path, use_mmap, &st) == BITNET_OK, "%s", bitnet_get_last_error());
        CHECK(st && bn_st_find(st, "w") && bn_st_find(st, "w")->nbytes == 24);
        bn_st_close(st);
    }
    bn_safetensors *st = NULL;
    CHECK(bn_st_open(dir, true, &st) == BITNET_ERR_IO &&
          strstr(bitnet_get_last_error(), "directory"));
    CHECK(bn_st_open("/nonexistent.safetensors", true, &st) == BITNET_ERR_IO);
    CHECK(strstr(bitnet_get_last_error(), "/nonexistent.safetensors: cannot open"));
    CHECK(bn_st_open("/dev/null", true, &st) == BITNET_ERR_IO);
    CHECK(st == NULL);
}

static void expect_json(const char *label, const char *text, const char *needle) {
    char err[256] = "";
    cJSON *j = bn_json_parse(text, strlen(text), NULL, err, sizeof err);
    n_cases++;
    if (!needle) {
        CHECKF(j != NULL, "%s: rejected: %s", label, err);
    } else {
        CHECKF(j == NULL, "%s: accepted", label);
        CHECKF(strstr(err, needle) != NULL, "%s: message '%s' lacks '%s'", label, err, needle);
    }
    cJSON_Delete(j);
}

static void test_json(void) {
    expect_json("J1 object", "{\"a\":[1,2,{\"b\":null}]}\n", NULL);
    expect_json("J1 garbage", "{\"a\":1} }", "line 1, column 9 (byte 8): not valid JSON near '}'");
    expect_json("J1 truncated", "{\"a\":[1,2", "truncated?");
    expect_json("J1 error position", "{\n  \"a\": tru\n}", "line 2");
    expect_json("J3 duplicate", "{\"a\":1,\"b\":{\"c\":1,\"c\":2}}", "duplicate key \"c\"");
    expect_json("J5 NaN", "{\"a\":NaN}", "not valid JSON");
    expect_json("J5 BOM", "\xEF\xBB\xBF{}", "byte-order mark");
    expect_json("J5 overlong UTF-8", "{\"a\":\"\xC0\xAF\"}", "not valid UTF-8");
    expect_json("J5 surrogate UTF-8", "{\"a\":\"\xED\xA0\x80\"}", "not valid UTF-8");
    expect_json("J5 NUL escape", "{\"a\":\"x\\u0000\"}", "u0000");
    expect_json("escaped backslash before u0000 text", "{\"a\":\"\\\\u0000\"}", NULL);
    expect_json("brackets in strings",
                "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}",
                NULL);
    char err[128];
    bn_json_limits lim = {.max_bytes = 4, .max_depth = 2};
    CHECK(!bn_json_parse("[1,2]", 5, &lim, err, sizeof err) && strstr(err, "limit of 4"));
    lim.max_bytes = 0;
    CHECK(!bn_json_parse("[[[1]]]", 7, &lim, err, sizeof err) && strstr(err, "deeper than 2"));
    cJSON *ok = bn_json_parse("[[1]]", 5, &lim, err, sizeof err);
    CHECK(ok != NULL);
    cJSON_Delete(ok);
    /* J4: integers as cJSON's doubles */
    cJSON *nums =
        bn_json_parse("[3, 3.5, 1e400, -1, 9007199254740993, 12]", 41, NULL, err, sizeof err);
    CHECK(nums != NULL);
    int64_t v = 0;
    const cJSON *e = nums ? nums->child : NULL;
    CHECK(e && bn_json_int(e, 0, 10, &v) && v == 3);
    CHECK(e && !bn_json_int(e->next, 0, 10, &v));
    CHECK(e && !bn_json_int(e->next->next, 0, INT64_MAX, &v));
    CHECK(e && !bn_json_int(e->next->next->next, 0, 10, &v));
    CHECK(e && !bn_json_int(e->next->next->next->next, 0, INT64_MAX, &v));
    CHECK(e && !bn_json_int(e->next->next->next->next->next, 0, 10, &v));
    cJSON_Delete(nums);
}

int main(void) {
    test_good();
    test_catalogue();
    test_files();
    test_json();
    printf("%d bad-input cases\n", n_cases);
    TEST_END();
}
