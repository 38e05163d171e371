/* bitnet.cpp's TL1 / TL2 files and I2_S with 64-value blocks.
 *
 * Layouts: span sizes of tl-layout.md's examples; a tiny TL2 and a tiny TL1
 * tensor whose bytes were worked out by hand (below) and also produced by
 * bitnet.cpp's own converter functions; the bytes of five larger tensors
 * pinned by hashes of what that converter writes; encode/decode round trips
 * over many shapes (K tails K2 = 0, 32, 64, K < BK) and every shape rule.
 * kernel_config.ini: a codegen-written file and one bad file per rule.
 * Models: TL1, TL2 and 64-block I2_S fixtures give logits identical to the
 * I2_S fixture of the same weights (prefill of many tokens and decode one by
 * one, every ISA this CPU runs) with their parameters taken from metadata,
 * from bitnet.cpp's presets (700m shapes, no keys) and from a kernel_config.ini;
 * bad inputs are refused with messages naming the tensor. */
#include <time.h>

#include "alloc.h"
#include "bitnet.h"
#include "fixture.h"
#include "gguf.h"
#include "gguf_builder.h"
#include "i2s_blocks.h"
#include "kernel_config.h"
#include "quantize.h"
#include "testutil.h"
#include "tl_layout.h"
#include "tl_load.h"
#include "tl_presets.h"
#include "types.h"

static const char *dir;

static const char *path_of(const char *name) {
    static char buf[8][4096];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const uint8_t *d, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 0x100000001b3ull;
    return h;
}

static bitnet_status encode(uint32_t type, const int8_t *codes, float scale, int64_t M, int64_t K,
                            const bn_tl_params *p, uint8_t *dst, size_t n) {
    return type == BN_TYPE_TL1 ? bn_tl1_encode(codes, scale, M, K, p, dst, n)
                               : bn_tl2_encode(codes, scale, M, K, p, dst, n);
}

static bitnet_status decode(uint32_t type, const uint8_t *src, size_t n, int64_t M, int64_t K,
                            const bn_tl_params *p, int8_t *codes, float *scale) {
    return type == BN_TYPE_TL1 ? bn_tl1_decode(src, n, M, K, p, codes, scale)
                               : bn_tl2_decode(src, n, M, K, p, codes, scale);
}

static size_t span_of(uint32_t type, int64_t M, int64_t K) {
    return type == BN_TYPE_TL1 ? bn_tl1_nbytes(M, K) : bn_tl2_nbytes(M, K);
}

/* ------------------------------------------------------------------------- */
/* Layouts                                                                    */
/* ------------------------------------------------------------------------- */

static void test_spans(void) {
    /* tl-layout.md's table: (M, K) -> P, span */
    CHECK(bn_tl2_nbytes(256, 256) == 16416 && bn_tl2_scale_offset(256, 256) == 16384);
    CHECK(bn_tl2_nbytes(768, 256) == 49184 && bn_tl2_scale_offset(768, 256) == 49152);
    CHECK(bn_tl2_nbytes(256, 768) == 43744 && bn_tl2_scale_offset(256, 768) == 43712);
    /* K < 256: C's truncating division, P = -1066 + 2048 = 982 -> 992 + 32 */
    CHECK(bn_tl2_nbytes(32, 96) == 1024);
    CHECK(bn_tl1_nbytes(64, 128) == 64 * 128 / 4 + 32 && bn_tl1_scale_offset(64, 128) == 2048);
    CHECK(bn_tl1_nbytes(0, 128) == 0 && bn_tl2_nbytes(32, 0) == 0);
}

/* TL2, M = 32, K = 24, BM = 32, BK = 24, bm = 32: K3 = 24, K2 = 0; 4 groups
 * of 6 columns x 32 rows of index bytes (128), then one 24-column sign step
 * (32 bytes, from 128). Non-zero weights and where they land, by hand:
 *   row 0,  cols 0-2 = (1, 0, -1):  v = 9 - 1 = 8;  cols 3-5 = (0, 1, 1): v = 4.
 *           group 0, row 0 at position 0: byte 0 = 8 << 4 | 4 = 0x84.
 *   row 9,  cols 6-8 = (-1, -1, -1): v = -13, the first triple of group 1.
 *           rows 8-15 are stored second-but-one (chunk order 0, 2, 1, 3):
 *           position 16 + 1 = 17, byte 32 + 17 = 49 = 13 << 4 = 0xd0.
 *           sign: triple q = 2, row 9 -> word 9, bit 15 - (4 + 0) = 11, i.e.
 *           the high byte of word 9: byte 128 + 19 = 147 = 1 << 3 = 0x08.
 *   row 20, cols 21-23 = (0, -1, 1): v = -3 + 1 = -2, second triple of group 3.
 *           rows 16-23 are stored second: position 8 + 4 = 12, byte 96 + 12 =
 *           108 = 0x02. sign: q = 7, row 20 -> word 4, bit 15 - (14 + 1) = 0:
 *           byte 128 + 8 = 136 = 0x01.
 * bitnet.cpp's converter (preprocess_weights_tl2, run on this matrix) writes
 * exactly these five non-zero bytes, then pads to P = 501 bytes. */
static void test_hand_tl2(void) {
    enum { M = 32, K = 24 };
    static int8_t w[M * K], back[M * K];
    memset(w, 0, sizeof w);
    const int8_t r0a[3] = {1, 0, -1}, r0b[3] = {0, 1, 1}, r9[3] = {-1, -1, -1}, r20[3] = {0, -1, 1};
    memcpy(w + 0 * K + 0, r0a, 3);
    memcpy(w + 0 * K + 3, r0b, 3);
    memcpy(w + 9 * K + 6, r9, 3);
    memcpy(w + 20 * K + 21, r20, 3);
    const bn_tl_params p = {32, 24, 32};
    const size_t n = bn_tl2_nbytes(M, K);
    CHECK(n == 544); /* pad32(501 by Python / 502 by C) = 512, + 32 */
    uint8_t *d = calloc(n, 1);
    CHECK(bn_tl2_encode(w, 0.5f, M, K, &p, d, n) == BITNET_OK);
    uint8_t want[544] = {0};
    want[0] = 0x84;
    want[49] = 0xd0;
    want[108] = 0x02;
    want[136] = 0x01;
    want[147] = 0x08;
    const float half = 0.5f;
    memcpy(want + 512, &half, 4);
    CHECK(memcmp(d, want, n) == 0);
    float s = 0;
    CHECK(bn_tl2_decode(want, n, M, K, &p, back, &s) == BITNET_OK);
    CHECK(memcmp(back, w, sizeof w) == 0 && s == 0.5f);
    free(d);
}

/* TL1, M = 32, K = 8, BM = 32, BK = 8, bm = 32 (by = 8): bytes [u < 2][q < 2]
 * [16 rows], byte = pair(4q) << 4 | pair(4q + 2), pair code 3·w0 + w1 + 4
 * (an all-zero byte is 0x44):
 *   row 2,  cols 0-3 = (-1, -1, 1, 0): codes 0 and 7, u = 0, q = 0: byte 2 = 0x07;
 *   row 17, cols 4-7 = (1, -1, 0, 1): codes 6 and 5, u = 1, q = 1: byte
 *           32 + 16 + 1 = 49 = 0x65.
 * bitnet.cpp's preprocess_weights_tl1 writes the same 64 bytes. */
static void test_hand_tl1(void) {
    enum { M = 32, K = 8 };
    int8_t w[M * K] = {0}, back[M * K];
    const int8_t r2[4] = {-1, -1, 1, 0}, r17[4] = {1, -1, 0, 1};
    memcpy(w + 2 * K, r2, 4);
    memcpy(w + 17 * K + 4, r17, 4);
    const bn_tl_params p = {32, 8, 32};
    uint8_t d[96], want[96];
    memset(want, 0x44, 64);
    memset(want + 64, 0, 32);
    want[2] = 0x07;
    want[49] = 0x65;
    const float one = 1.0f;
    memcpy(want + 64, &one, 4);
    CHECK(bn_tl1_nbytes(M, K) == 96);
    CHECK(bn_tl1_encode(w, 1.0f, M, K, &p, d, sizeof d) == BITNET_OK);
    CHECK(memcmp(d, want, sizeof d) == 0);
    float s = 0;
    CHECK(bn_tl1_decode(want, sizeof want, M, K, &p, back, &s) == BITNET_OK);
    CHECK(memcmp(back, w, sizeof w) == 0 && s == 1.0f);
}

/* Weights w[r][k] = ((131r + 71k + (rk mod 17)) mod 3) - 1 run through
 * bitnet.cpp's converter functions (preprocess_weights_tl1 / _tl2 of
 * utils/convert-hf-to-gguf-bitnet.py at microsoft/BitNet 16da220, with the
 * ini section m, k, bm, bk, bmm below) give `len` bytes (P for TL2) whose
 * FNV-1a 64 is `hash`. Ours must give the same bytes, then zeros, then the
 * scale. */
static void test_pinned(void) {
    static const struct {
        uint32_t type;
        int64_t M, K;
        bn_tl_params p;
        size_t len;
        uint64_t hash;
    } pins[] = {
        {BN_TYPE_TL1, 64, 128, {64, 64, 32}, 2048, 0xa1582fcb2d3b7eb0ull},
        {BN_TYPE_TL1, 128, 256, {128, 128, 64}, 8192, 0xf2b174a42c0e9086ull},
        {BN_TYPE_TL2, 256, 256, {128, 96, 32}, 16384, 0x6338a1e1ef04ba83ull}, /* K2 = 64 */
        {BN_TYPE_TL2, 160, 320, {160, 96, 32}, 12373, 0x578b15d08bea1c4aull}, /* K2 = 32 */
        {BN_TYPE_TL2, 128, 384, {128, 96, 32}, 11605, 0x9ff92ef16d41dbfeull}, /* K2 = 0 */
    };
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++) {
        const int64_t M = pins[i].M, K = pins[i].K;
        int8_t *w = malloc((size_t)(M * K));
        for (int64_t r = 0; r < M; r++)
            for (int64_t k = 0; k < K; k++)
                w[r * K + k] = (int8_t)((131 * r + 71 * k + (r * k) % 17) % 3 - 1);
        const size_t n = span_of(pins[i].type, M, K);
        uint8_t *d = malloc(n);
        CHECK(encode(pins[i].type, w, 0.75f, M, K, &pins[i].p, d, n) == BITNET_OK);
        CHECKF(fnv1a(d, pins[i].len) == pins[i].hash, "pin %zu: %016llx", i,
               (unsigned long long)fnv1a(d, pins[i].len));
        bool zeros = true;
        for (size_t j = pins[i].len; j < n - 32; j++) zeros &= d[j] == 0;
        float s = 0;
        memcpy(&s, d + n - 32, 4);
        CHECK(zeros && s == 0.75f);
        free(w);
        free(d);
    }
}

static void round_trip(uint32_t type, int64_t M, int64_t K, bn_tl_params p) {
    const size_t n = span_of(type, M, K);
    int8_t *w = malloc((size_t)(M * K)), *back = malloc((size_t)(M * K));
    uint8_t *d = malloc(n);
    for (int64_t i = 0; i < M * K; i++) w[i] = (int8_t)(rng() % 3) - 1;
    const float scale = (float)(rng() % 1000 + 1) / 1024.0f;
    bitnet_status st = encode(type, w, scale, M, K, &p, d, n);
    CHECKF(st == BITNET_OK, "%s M %lld K %lld %d/%d/%d: %s", bn_type_name(type), (long long)M,
           (long long)K, p.bm_tile, p.bk, p.bm_sub, bitnet_get_last_error());
    float s = 0;
    memset(back, 7, (size_t)(M * K));
    if (!st) st = decode(type, d, n, M, K, &p, back, &s);
    CHECKF(st == BITNET_OK && memcmp(w, back, (size_t)(M * K)) == 0 && s == scale,
           "%s M %lld K %lld %d/%d/%d: round trip", bn_type_name(type), (long long)M, (long long)K,
           p.bm_tile, p.bk, p.bm_sub);
    free(w);
    free(back);
    free(d);
}

static void test_round_trips(void) {
    /* TL1: bm 32 (by 8) and 64 (by 4), several tiles and K blocks */
    round_trip(BN_TYPE_TL1, 32, 8, (bn_tl_params){32, 8, 32});
    round_trip(BN_TYPE_TL1, 64, 256, (bn_tl_params){64, 64, 64});
    round_trip(BN_TYPE_TL1, 192, 384, (bn_tl_params){64, 128, 32});
    round_trip(BN_TYPE_TL1, 128, 96, (bn_tl_params){128, 32, 64});
    round_trip(BN_TYPE_TL1, 320, 640, (bn_tl_params){320, 128, 64});
    /* TL2: K2 = 0, 32, 64, 96 ... 256 and K < BK (K3 = 0) */
    static const int64_t Ks[] = {96, 128, 160, 192, 256, 288, 352, 384, 480, 32, 64};
    for (size_t i = 0; i < sizeof Ks / sizeof Ks[0]; i++) {
        round_trip(BN_TYPE_TL2, 64, Ks[i], (bn_tl_params){32, 96, 32});
        round_trip(BN_TYPE_TL2, 96, Ks[i], (bn_tl_params){96, 96, 32});
    }
    round_trip(BN_TYPE_TL2, 256, 768, (bn_tl_params){256, 192, 32}); /* BK 192 */
    round_trip(BN_TYPE_TL2, 128, 608, (bn_tl_params){64, 48, 32});   /* BK 48, K2 = 32 */
    round_trip(BN_TYPE_TL2, 64, 528, (bn_tl_params){64, 24, 32});    /* BK 24 */
    round_trip(BN_TYPE_TL2, 160, 3200, (bn_tl_params){160, 96, 32});
}

static void expect_shape_error(bitnet_status st, const char *what) {
    CHECKF(st == BITNET_ERR_FORMAT && strstr(bitnet_get_last_error(), what),
           "want '%s', status %d, message '%s'", what, (int)st, bitnet_get_last_error());
}

static void test_shape_rules(void) {
    expect_shape_error(bn_tl2_check(96, 256, &(bn_tl_params){64, 96, 32}),
                       "M = 96 is not a multiple of BM = 64");
    expect_shape_error(bn_tl2_check(64, 256, &(bn_tl_params){64, 96, 64}), "bm = 64 must be 32");
    expect_shape_error(bn_tl2_check(64, 256, &(bn_tl_params){64, 100, 32}),
                       "BK = 100 is not a multiple of 24");
    expect_shape_error(bn_tl2_check(64, 200, &(bn_tl_params){64, 96, 32}), "K2 = K mod BK = 8");
    expect_shape_error(bn_tl2_check(64, 792, &(bn_tl_params){64, 504, 32}),
                       "does not fit"); /* K2 = 288 */
    expect_shape_error(bn_tl2_check(96, 256, &(bn_tl_params){48, 96, 32}),
                       "BM = 48 is not a multiple of bm = 32");
    expect_shape_error(bn_tl1_check(96, 256, &(bn_tl_params){96, 64, 48}),
                       "bm = 48 must be 32 or 64");
    expect_shape_error(bn_tl1_check(64, 200, &(bn_tl_params){64, 64, 32}),
                       "K = 200 is not a multiple of BK = 64");
    expect_shape_error(bn_tl1_check(64, 256, &(bn_tl_params){64, 4, 32}),
                       "BK = 4 is not a multiple of 256/bm = 8");
    expect_shape_error(bn_tl1_check(64, 256, &(bn_tl_params){0, 64, 32}), "must be positive");
    /* not ternary: a TL1 pair code 9, a TL2 magnitude 14, a TL2 tail pair code 15 */
    uint8_t d[4096] = {0};
    int8_t w[64 * 64];
    float s;
    memset(d, 0x44, 64 * 64 / 4);
    d[77] = 0x49;
    expect_shape_error(
        bn_tl1_decode(d, bn_tl1_nbytes(64, 64), 64, 64, &(bn_tl_params){64, 64, 32}, w, &s),
        "byte 77 (0x49)");
    memset(d, 0, sizeof d);
    d[5] = 0xe0;
    expect_shape_error(
        bn_tl2_decode(d, bn_tl2_nbytes(32, 128), 32, 128, &(bn_tl_params){32, 96, 32}, w, &s),
        "byte 5 (0xe0) holds a triple magnitude above 13");
    d[5] = 0;
    const size_t two_at = 32 * 96 / 6 + 32 * 96 / 24;
    memset(d + two_at, 0x44, 32 * 32 / 4);
    d[two_at + 3] = 0x4f;
    expect_shape_error(
        bn_tl2_decode(d, bn_tl2_nbytes(32, 128), 32, 128, &(bn_tl_params){32, 96, 32}, w, &s),
        "two-column part");
    /* too short a buffer */
    expect_shape_error(bn_tl2_decode(d, 100, 32, 128, &(bn_tl_params){32, 96, 32}, w, &s), "needs");
    /* default parameters fit every shape the layouts hold */
    bn_tl_params p;
    CHECK(bn_tl_default_params(BN_TYPE_TL2, 384, 4096, &p) == BITNET_OK && p.bm_tile == 128 &&
          p.bk == 96 && p.bm_sub == 32);
    CHECK(bn_tl_default_params(BN_TYPE_TL1, 96, 200, &p) == BITNET_OK && p.bm_tile == 32 &&
          p.bk == 8);
    CHECK(bn_tl_default_params(BN_TYPE_TL2, 100, 256, &p) == BITNET_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------- */
/* kernel_config.ini                                                          */
/* ------------------------------------------------------------------------- */

static void expect_ini_error(const char *text, const char *what) {
    bn_kernel_config c;
    bitnet_status st = bn_kernel_config_parse(text, strlen(text), "k.ini", &c);
    const char *msg = bitnet_get_last_error();
    CHECKF(st == BITNET_ERR_FORMAT && strstr(msg, "k.ini") && strstr(msg, what),
           "want '%s', got status %d '%s'", what, (int)st, msg);
    CHECK(c.n == 0 && c.entries == NULL);
}

static void test_kernel_config(void) {
    /* what codegen_tl2.py writes for bitnet_b1_58-3B */
    const char *good = "[Kernels_0]\nm = 3200\nk = 8640\nbm = 160\nbk = 96\nbmm = 32\n\n"
                       "[Kernels_1]\nm = 3200\nk = 3200\nbm = 320\nbk = 96\nbmm = 32\n\n"
                       "[Kernels_2]\nm = 8640\nk = 3200\nbm = 320\nbk = 96\nbmm = 32\n\n";
    bn_kernel_config c;
    CHECK(bn_kernel_config_parse(good, strlen(good), "good.ini", &c) == BITNET_OK && c.n == 3);
    const bn_kernel_config_entry *e = bn_kernel_config_find(&c, 8640, 3200);
    CHECK(e && e->p.bm_tile == 320 && e->p.bk == 96 && e->p.bm_sub == 32 && e->line == 15);
    CHECK(bn_kernel_config_find(&c, 3200, 8641) == NULL);
    bn_kernel_config_free(&c);
    const char *odd =
        "# comment\n; comment\n[A]\r\nM: 128\r\nK : 256\r\nBM=128\r\nBK= 96\r\nBMM =32\r\n";
    CHECK(bn_kernel_config_parse(odd, strlen(odd), "odd.ini", &c) == BITNET_OK && c.n == 1 &&
          c.entries[0].m == 128 && c.entries[0].k == 256 && c.entries[0].p.bk == 96);
    bn_kernel_config_free(&c);

    expect_ini_error("", "no [section]");
    expect_ini_error("m = 1\n", "line 1: key 'm' comes before any [section]");
    expect_ini_error("[a]\nm = 1\nk = 2\nbm = 3\nbk = 4\n", "line 1: section [a] has no key 'bmm'");
    expect_ini_error("[a]\nm = 1\nm = 2\n", "line 3: key 'm' appears twice");
    expect_ini_error("[a]\nbogus = 3\n", "line 2: unknown key 'bogus'");
    expect_ini_error("[a]\nm = x1\n", "line 2: key 'm': 'x1' is not an integer");
    expect_ini_error("[a]\nm = 0\n", "line 2: key 'm': 0 is not in [1, 2147483647]");
    expect_ini_error("[a]\nm = 99999999999999999999\n", "not an integer");
    expect_ini_error("[a]\nm = -5\n", "not an integer");
    expect_ini_error("[a]\nm =\n", "has no value");
    expect_ini_error("[a]\nm = 1\n  k = 2\n", "line 3: an indented line");
    expect_ini_error("[a\n", "line 1: a section header must end with ']'");
    expect_ini_error("[]\n", "1 to 64 characters");
    expect_ini_error("[DEFAULT]\nm = 1\n", "[DEFAULT]");
    expect_ini_error("just text\n", "line 1: expected 'key = value'");
    expect_ini_error("[a]\nm = 1\x01\n", "control byte 0x01");
    expect_ini_error("[a]\nm = 1\nk = 2\nbm = 3\nbk = 4\nbmm = 5\n[a]\n",
                     "line 7: section [a] appears twice");
    expect_ini_error(
        "[a]\nm = 1\nk = 2\nbm = 3\nbk = 4\nbmm = 5\n[b]\nm = 1\nk = 2\nbm = 3\nbk = 4\nbmm = 6\n",
        "section [b] repeats the shape m = 1, k = 2 of the section at line 1");
    char *big = malloc(2000);
    memset(big, 'x', 1999);
    big[0] = '[';
    big[1999] = '\0';
    expect_ini_error(big, "longer than 1024 bytes");
    free(big);
    bn_kernel_config_free(NULL);
    CHECK(bn_kernel_config_load(path_of("no-such.ini"), &c) != BITNET_OK &&
          strstr(bitnet_get_last_error(), "no-such.ini"));
}

/* ------------------------------------------------------------------------- */
/* Models                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct log_capture {
    int repacked;  /* debug lines of a TL tensor repacked to i2_s */
    int from_meta; /* ... with its parameters from the file's metadata */
    int from_ini;  /* ... from a kernel_config.ini */
    int from_preset;
    int i2s_assumed; /* info lines: I2_S block layout assumed */
} log_capture;

static void capture(bitnet_log_level level, const char *msg, void *user) {
    (void)level;
    log_capture *c = user;
    if (strstr(msg, "repacked to i2_s") && strstr(msg, "TL")) {
        c->repacked++;
        c->from_meta += strstr(msg, "from the file's metadata") != NULL;
        c->from_ini += strstr(msg, ".ini,") != NULL;
        c->from_preset += strstr(msg, "from bitnet_b1_58-large") != NULL;
    }
    if (strstr(msg, "reading 128-value blocks")) c->i2s_assumed++;
}

enum { N_SEQ = 12 };

typedef struct load_opts {
    const char *kernel_config;
    int32_t i2s_block;
} load_opts;

/* The logits of N_SEQ tokens fed as one prefill, then again one at a time:
 * out[2][N_SEQ][V] (compat numerics, the default). NULL when loading fails. */
static float *run_logits(const char *path, const char *isa, const load_opts *o, log_capture *lc,
                         int32_t *V) {
    bitnet_model_params mp = bitnet_model_default_params();
    mp.log_callback = capture;
    mp.log_user_data = lc;
    if (o) {
        mp.kernel_config = o->kernel_config;
        mp.i2s_block = o->i2s_block;
    }
    bitnet_model *m = bitnet_model_load(path, &mp);
    if (!m) return NULL;
    *V = bitnet_model_n_vocab(m);
    const size_t per = (size_t)*V * N_SEQ;
    float *out = calloc(2 * per, sizeof(float));
    bitnet_token seq[N_SEQ];
    for (int i = 0; i < N_SEQ; i++) seq[i] = (bitnet_token)((i * 53 + 7) % *V);
    for (int pass = 0; pass < 2 && out; pass++) {
        bitnet_context_params cp = bitnet_context_default_params();
        cp.n_ctx = 32;
        cp.n_threads = 1; /* the integers do not depend on it; 2 threads on a busy machine crawl */
        cp.isa = isa;
        bitnet_context *c = bitnet_context_new(m, &cp);
        CHECK(c != NULL);
        if (!c) break;
        for (int i = 0; i < (pass ? N_SEQ : 1); i++) {
            const int n = pass ? 1 : N_SEQ;
            CHECK(bitnet_decode(c, seq + i, n, !pass) == BITNET_OK);
            for (int j = 0; j < n; j++)
                memcpy(out + (size_t)pass * per + (size_t)(i + j) * (size_t)*V,
                       bitnet_get_logits_ith(c, pass ? -1 : j), (size_t)*V * sizeof(float));
        }
        bitnet_context_free(c);
    }
    bitnet_model_free(m);
    return out;
}

static void fixture_params(bn_fixture_params *p, uint32_t quant) {
    bn_fixture_default_params(p);
    p->arch = "bitnet-b1.58";
    p->n_embd = 256;
    p->n_ff = 768;
    p->n_head = 4;
    p->n_head_kv = 2;
    p->seed = 5;
    p->quant = quant;
    p->margin_tokens = 0;
}

static const char *write_fixture(const char *name, const bn_fixture_params *p) {
    const char *path = path_of(name);
    bitnet_status st = bn_fixture_write(p, path, NULL);
    CHECKF(st == BITNET_OK, "%s: %s", name, bitnet_get_last_error());
    return path;
}

static const char *const isas[] = {NULL, "ref", "avx2", "avx512", "amx", "neon"};

/* Logits of `path` (loaded with o) equal those of `ref` on every ISA. */
static void expect_same_logits(const char *what, const char *ref, const char *path,
                               const load_opts *o, log_capture *lc) {
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (isas[i] && !bitnet_isa_supported(isas[i])) continue;
        int32_t V = 0, V2 = 0;
        log_capture ignore = {0};
        float *a = run_logits(ref, isas[i], NULL, &ignore, &V);
        float *b = run_logits(path, isas[i], o, lc, &V2);
        CHECKF(a && b && V == V2, "%s (%s): %s", what, isas[i] ? isas[i] : "best",
               bitnet_get_last_error());
        if (a && b && V == V2)
            CHECKF(memcmp(a, b, 2 * (size_t)V * N_SEQ * sizeof(float)) == 0,
                   "%s (%s): logits differ from the i2_s file", what, isas[i] ? isas[i] : "best");
        free(a);
        free(b);
    }
}

static void test_same_logits(void) {
    bn_fixture_params p;
    fixture_params(&p, BN_TYPE_I2_S);
    const char *i2s = write_fixture("i2s.gguf", &p);
    /* sanity: the comparison can fail (another seed gives other logits) */
    fixture_params(&p, BN_TYPE_I2_S);
    p.seed = 6;
    const char *other = write_fixture("i2s-other.gguf", &p);
    int32_t V = 0;
    log_capture lc = {0};
    float *a = run_logits(i2s, "ref", NULL, &lc, &V), *b = run_logits(other, "ref", NULL, &lc, &V);
    CHECK(a && b && memcmp(a, b, 2 * (size_t)V * N_SEQ * sizeof(float)) != 0);
    free(a);
    free(b);

    const uint32_t types[2] = {BN_TYPE_TL1, BN_TYPE_TL2};
    for (int t = 0; t < 2; t++) {
        fixture_params(&p, types[t]);
        char name[64];
        snprintf(name, sizeof name, "meta-%s.gguf", bn_type_name(types[t]));
        const char *tl = write_fixture(name, &p);
        log_capture c = {0};
        expect_same_logits(name, i2s, tl, NULL, &c);
        CHECKF(c.repacked > 0 && c.repacked == c.from_meta, "%d repacked, %d from metadata",
               c.repacked, c.from_meta);
    }
}

/* bitnet.cpp's presets: a 700m-shaped (bitnet_b1_58-large) one-layer model
 * written without keys, exactly as bitnet.cpp's converter would lay it out. */
static void test_presets(void) {
    /* the table against setup_env.py's codegen arguments (microsoft/BitNet
     * 16da220): large TL1 --BM 256,128,256 --BK 128,64,128 --bm 32,64,32;
     * Llama3 TL1 --BM 256,128,256,128 --BK 128,64,128,64 --bm 32,64,32,64;
     * 3B TL2 --BM 160,320,320 --BK 96,96,96; large TL2 --BK 96,192,96 */
    const bn_tl_preset *e = bn_tl_preset_find(BN_TYPE_TL1, 1536, 1536);
    CHECK(e && e->p.bm_tile == 128 && e->p.bk == 64 && e->p.bm_sub == 64);
    e = bn_tl_preset_find(BN_TYPE_TL1, 4096, 14336);
    CHECK(e && e->p.bm_tile == 128 && e->p.bk == 64 && e->p.bm_sub == 64);
    e = bn_tl_preset_find(BN_TYPE_TL1, 1024, 4096);
    CHECK(e && e->p.bm_tile == 256 && e->p.bk == 128 && e->p.bm_sub == 32);
    e = bn_tl_preset_find(BN_TYPE_TL2, 3200, 8640);
    CHECK(e && e->p.bm_tile == 160 && e->p.bk == 96 && e->p.bm_sub == 32);
    e = bn_tl_preset_find(BN_TYPE_TL2, 1536, 1536);
    CHECK(e && e->p.bm_tile == 128 && e->p.bk == 192 && e->p.bm_sub == 32);
    e = bn_tl_preset_find(BN_TYPE_TL2, 4096, 1536);
    CHECK(e && e->p.bm_tile == 256 && e->p.bk == 96 && e->p.bm_sub == 32);
    CHECK(!bn_tl_preset_find(BN_TYPE_TL2, 2560, 2560)); /* 2B-4T: no kernel of its own */

    bn_fixture_params p;
    fixture_params(&p, BN_TYPE_I2_S);
    bn_fixture_apply_preset("700m", &p);
    p.n_layer = 1;
    p.n_vocab = 512;
    const char *i2s = write_fixture("700m-i2s.gguf", &p);
    int32_t V = 0;
    log_capture ignore = {0};
    /* the best ISA only: this is about the layout, test_same_logits covers the ISAs */
    float *a = run_logits(i2s, NULL, NULL, &ignore, &V);
    CHECK(a != NULL);
    const uint32_t types[2] = {BN_TYPE_TL1, BN_TYPE_TL2};
    for (int t = 0; t < 2 && a; t++) {
        p.quant = types[t];
        p.no_layout_keys = true;
        char name[64];
        snprintf(name, sizeof name, "700m-%s.gguf", bn_type_name(types[t]));
        const char *tl = write_fixture(name, &p);
        bn_gguf *g = NULL;
        CHECK(bn_gguf_open(tl, true, &g) == BITNET_OK);
        char key[96];
        bn_tl_meta_key(key, sizeof key, 1536, 1536, "bm");
        CHECK(g && !bn_gguf_find(g, key)); /* no keys: the presets decide */
        bn_gguf_close(g);
        log_capture c = {0};
        float *b = run_logits(tl, NULL, NULL, &c, &V);
        CHECKF(b && memcmp(a, b, 2 * (size_t)V * N_SEQ * sizeof(float)) == 0, "%s: %s", name,
               b ? "logits differ from the i2_s file" : bitnet_get_last_error());
        CHECKF(c.repacked == 7 && c.from_preset == 7, "%d repacked, %d from presets", c.repacked,
               c.from_preset);
        free(b);
    }
    free(a);
}

static const char *write_text(const char *name, const char *text) {
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs(text, f) >= 0);
    if (f) fclose(f);
    return path;
}

static void expect_load_error(const char *path, const load_opts *o, const char *what,
                              const char *what2) {
    bitnet_model_params mp = bitnet_model_default_params();
    if (o) {
        mp.kernel_config = o->kernel_config;
        mp.i2s_block = o->i2s_block;
    }
    bitnet_model *m = bitnet_model_load(path, &mp);
    const char *msg = bitnet_get_last_error();
    CHECKF(!m && strstr(msg, what) && (!what2 || strstr(msg, what2)), "%s: want '%s', got '%s'",
           path, what, m ? "(loaded)" : msg);
    bitnet_model_free(m);
}

/* A shape with no preset and no keys needs a kernel_config.ini. */
static void test_kernel_config_models(void) {
    bn_fixture_params p;
    fixture_params(&p, BN_TYPE_I2_S);
    const char *i2s = path_of("i2s.gguf");
    fixture_params(&p, BN_TYPE_TL2);
    p.no_layout_keys = true;
    const char *bare = write_fixture("bare-tl2.gguf", &p);
    expect_load_error(bare, NULL,
                      "TL2 tensor 'blk.0.attn_q.weight' (M = 256, K = 256): no BM/BK/bm",
                      "--kernel-config");
    /* the ini bitnet.cpp would have used: the fixture's parameters per shape */
    static const int64_t shapes[4][2] = {{256, 256}, {128, 256}, {768, 256}, {256, 768}};
    char ini[2048] = "", sec[256];
    for (int i = 0; i < 4; i++) {
        bn_tl_params tp;
        CHECK(bn_tl_default_params(BN_TYPE_TL2, shapes[i][0], shapes[i][1], &tp) == BITNET_OK);
        snprintf(sec, sizeof sec,
                 "[Kernels_%d]\nm = %lld\nk = %lld\nbm = %d\nbk = %d\nbmm = %d\n\n", i,
                 (long long)shapes[i][0], (long long)shapes[i][1], tp.bm_tile, tp.bk, tp.bm_sub);
        strcat(ini, sec);
    }
    const char *good = write_text("good.ini", ini);
    load_opts o = {.kernel_config = good};
    log_capture c = {0};
    expect_same_logits("bare-tl2 + ini", i2s, bare, &o, &c);
    CHECKF(c.repacked > 0 && c.repacked == c.from_ini, "%d repacked, %d from the ini", c.repacked,
           c.from_ini);
    /* an ini without the shape, a bad ini, an ini whose numbers do not fit */
    o.kernel_config =
        write_text("partial.ini", "[K]\nm = 256\nk = 256\nbm = 256\nbk = 96\nbmm = 32\n");
    expect_load_error(bare, &o, "(M = 128, K = 256): no BM/BK/bm", "has no section");
    o.kernel_config =
        write_text("bad.ini", "[K]\nm = 256\nk = 256\nbm = 256\nbk = 96\nbmm = 32\nzz = 1\n");
    expect_load_error(bare, &o, "bad.ini: line 7: unknown key 'zz'", NULL);
    o.kernel_config =
        write_text("misfit.ini", "[K]\nm = 256\nk = 256\nbm = 256\nbk = 96\nbmm = 64\n");
    expect_load_error(bare, &o, "TL2 tensor 'blk.0.attn_q.weight'", "bm = 64 must be 32");
    o.kernel_config = path_of("missing.ini");
    expect_load_error(bare, &o, "missing.ini", NULL);
    /* the file's keys and the ini disagree */
    fixture_params(&p, BN_TYPE_TL2);
    const char *meta = path_of("meta-tl2.gguf");
    o.kernel_config =
        write_text("conflict.ini", "[K]\nm = 256\nk = 256\nbm = 128\nbk = 96\nbmm = 32\n");
    expect_load_error(meta, &o, "metadata says BM/BK/bm 256/96/32",
                      "conflict.ini line 1 says 128/96/32");
}

/* Rewrites `len` bytes at `at` bytes into tensor `tensor` of a copy of src. */
static const char *patched(const char *src, const char *name, const char *tensor, uint64_t at,
                           const void *bytes, size_t len) {
    bn_gguf *g = NULL;
    CHECK(bn_gguf_open(src, false, &g) == BITNET_OK);
    const bn_gguf_tensor *t = g ? bn_gguf_find_tensor(g, tensor) : NULL;
    CHECK(t != NULL);
    const uint64_t off = t ? (uint64_t)(t->data - g->base) + at : 0;
    bn_gguf_close(g);
    size_t n = 0;
    char *data = test_read_file(src, &n);
    CHECK(data && off + len <= n);
    if (data && off + len <= n) memcpy(data + off, bytes, len);
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f) fclose(f);
    free(data);
    return path;
}

static void test_bad_files(void) {
    const char *meta2 = path_of("meta-tl2.gguf"), *meta1 = path_of("meta-tl1.gguf");
    /* a code that is not ternary */
    const uint8_t e = 0xee, nine = 0x94;
    expect_load_error(patched(meta2, "bad-tl2-mag.gguf", "blk.1.ffn_up.weight", 40, &e, 1), NULL,
                      "TL2 tensor 'blk.1.ffn_up.weight'", "triple magnitude above 13");
    expect_load_error(patched(meta1, "bad-tl1-code.gguf", "blk.0.ffn_down.weight", 3, &nine, 1),
                      NULL, "TL1 tensor 'blk.0.ffn_down.weight'", "pair code above 8");
    /* a scale that is not finite and positive (read from inside the span) */
    const float neg = -1.0f;
    expect_load_error(patched(meta2, "bad-tl2-scale.gguf", "blk.0.attn_k.weight",
                              bn_tl2_scale_offset(128, 256), &neg, 4),
                      NULL, "blk.0.attn_k.weight", "scale -1");
    /* a span shorter than the rule: the reader refuses the file */
    gb b = {0};
    gb_header(&b, 3, 1, 1);
    gb_kv_str(&b, "general.architecture", "bitnet");
    const uint64_t ne[2] = {256, 256};
    gb_tensor(&b, "blk.0.attn_q.weight", 2, ne, BN_TYPE_TL2, 0);
    gb_align(&b, 32);
    gb_fill(&b, 16416 - 1, 1);
    const char *short_path = path_of("short-tl2.gguf");
    CHECK(gb_save(&b, short_path) == 0);
    gb_free(&b);
    bn_gguf *g = NULL;
    CHECKF(bn_gguf_open(short_path, true, &g) != BITNET_OK &&
               strstr(bitnet_get_last_error(), "blk.0.attn_q.weight") &&
               strstr(bitnet_get_last_error(), "16416 bytes"),
           "%s", bitnet_get_last_error());
    bn_gguf_close(g);
    /* K not a multiple of 128: a valid TL2 layout, but no I2_S kernel */
    bn_fixture_params p;
    fixture_params(&p, BN_TYPE_TL2);
    p.n_ff = 800;
    CHECK(bn_fixture_check(&p) == BITNET_ERR_INVALID_ARGUMENT &&
          strstr(bitnet_get_last_error(), "multiples of 128"));
}

/* I2_S in bitnet.cpp's ARM layout (64-value blocks). */
static void test_i2s64(void) {
    /* the layout itself: value j of a 64-block in byte j % 16 at bits 6 - 2(j / 16) */
    int8_t codes[256];
    for (int i = 0; i < 256; i++) codes[i] = (int8_t)(rng() % 3) - 1;
    uint8_t a[64 + 32], b128[64 + 32], c128[64 + 32];
    bn_i2s64_pack(codes, 256, 2.0f, a);
    CHECK(((a[16 + 5] >> 4) & 3) == codes[64 + 16 + 5] + 1); /* block 1, j = 21 */
    bn_i2s_pack(codes, 256, 2.0f, b128);
    bn_i2s64_to_i2s128(a, 256, c128);
    CHECK(memcmp(b128, c128, 64) == 0 && memcmp(a, b128, 64) != 0);

    bn_fixture_params p;
    fixture_params(&p, BN_TYPE_I2_S);
    const char *i2s = path_of("i2s.gguf");
    p.i2s_block = 64;
    const char *keyed = write_fixture("i2s64-key.gguf", &p);
    p.no_layout_keys = true;
    const char *bare = write_fixture("i2s64-bare.gguf", &p);
    log_capture c = {0};
    expect_same_logits("i2s64 with key", i2s, keyed, NULL, &c);
    CHECK(c.i2s_assumed == 0);
    load_opts o = {.i2s_block = 64};
    expect_same_logits("i2s64 bare + i2s_block 64", i2s, bare, &o, &c);
    CHECK(c.i2s_assumed == 0);
    /* the published-file default: read as 128 blocks, said in the log; the
     * codes are then permuted, so the logits differ */
    int32_t V = 0;
    log_capture d = {0};
    float *x = run_logits(i2s, "ref", NULL, &d, &V);
    CHECK(d.i2s_assumed == 1);
    float *y = run_logits(bare, "ref", NULL, &d, &V);
    CHECK(d.i2s_assumed == 2);
    CHECK(x && y && memcmp(x, y, 2 * (size_t)V * N_SEQ * sizeof(float)) != 0);
    free(x);
    free(y);
    /* explicit contradictions and bad values */
    o.i2s_block = 128;
    expect_load_error(keyed, &o, "--i2s-block 128 contradicts", "bitnet.i2s.block_size = 64");
    o.i2s_block = 32;
    expect_load_error(i2s, &o, "i2s_block 32", "64 or 128");
    fixture_params(&p, BN_TYPE_TL2);
    p.i2s_block = 64;
    CHECK(bn_fixture_check(&p) == BITNET_ERR_INVALID_ARGUMENT);
}

/* Every allocation of a TL / 64-block load failing in turn: a clean
 * BITNET_ERR_NOMEM each time, no leak (the ASan run checks), then success. */
static void test_oom(void) {
    const char *files[3] = {path_of("meta-tl1.gguf"), path_of("bare-tl2.gguf"),
                            path_of("i2s64-key.gguf")};
    for (int f = 0; f < 3; f++) {
        bitnet_model_params mp = bitnet_model_default_params();
        mp.kernel_config = f == 1 ? path_of("good.ini") : NULL;
        long n = 0;
        for (; n < 20000; n++) {
            bn_alloc_fail_after(n, 1);
            bitnet_model *m = bitnet_model_load(files[f], &mp);
            bn_alloc_fail_after(-1, 0);
            if (m) {
                bitnet_model_free(m);
                break;
            }
            CHECKF(strstr(bitnet_get_last_error(), "out of memory"), "%s n=%ld: '%s'", files[f], n,
                   bitnet_get_last_error());
        }
        CHECKF(n < 20000, "%s: never loaded", files[f]);
        printf("%s: %ld allocations, each failure reported\n", files[f], n);
    }
}

/* `bitnet fixture --quant tl2` and the CLI flags. */
static void test_cli(void) {
    const char *bin = test_env("BITNET_BIN", "bin/bitnet");
    char cmd[8192], out[16384];
    const char *f = path_of("cli-tl2.gguf");
    snprintf(cmd, sizeof cmd,
             "'%s' fixture --quant tl2 --no-layout-keys --n-embd 256 --n-ff 768 -q -o '%s' 2>&1 && "
             "'%s' run -m '%s' -p hi -n 2 --temp 0 2>&1",
             bin, f, bin, f);
    CHECKF(test_run(cmd, out, sizeof out) != 0 && strstr(out, "--kernel-config"), "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' run -m '%s' -p hi -n 2 --temp 0 --kernel-config '%s' 2>&1", bin,
             f, path_of("good.ini"));
    CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' run -m '%s' -p hi --i2s-block 63 2>&1", bin, f);
    CHECKF(test_run(cmd, out, sizeof out) == 2 &&
               strstr(out, "--i2s-block: '63' is not one of 64, 128"),
           "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' run -m '%s' -p hi --kernel-config 2>&1", bin, f);
    CHECKF(test_run(cmd, out, sizeof out) == 2 && strstr(out, "--kernel-config needs a value"),
           "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' inspect -m '%s' --i2s-block 64 2>&1", bin,
             path_of("i2s64-bare.gguf"));
    CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        const double t0_ = now_s();                                                                \
        fn();                                                                                      \
        printf("%-28s %6.2f s\n", #fn, now_s() - t0_);                                             \
    } while (0)

int main(void) {
    dir = test_tmpdir("tl");
    RUN(test_spans);
    RUN(test_hand_tl2);
    RUN(test_hand_tl1);
    RUN(test_pinned);
    RUN(test_round_trips);
    RUN(test_shape_rules);
    RUN(test_kernel_config);
    RUN(test_same_logits);
    RUN(test_presets);
    RUN(test_kernel_config_models);
    RUN(test_bad_files);
    RUN(test_i2s64);
    RUN(test_oom);
    RUN(test_cli);
    TEST_END();
}
