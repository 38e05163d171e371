/* GGUF writer -> reader round trip.
 *
 * Writes a file with every metadata value type (scalars, arrays of each
 * element type, string arrays with empty, non-ASCII and NUL-holding strings)
 * and tensors of types F32, F16, BF16, Q8_0 and I2_S with odd shapes, reads it
 * back through both loaders and compares everything. Then checks that the
 * writer is deterministic (the same calls give the same bytes) and that
 * copying a file kv by kv and tensor by tensor reproduces it byte for byte.
 * Scalar types the writer has no setter for (int8, uint16, float64, ...) come
 * from a source file made with gguf_builder.h and go through
 * bn_gguf_set_kv_copy. */
#include <inttypes.h>

#include "alloc.h"
#include "error.h"
#include "gguf.h"
#include "gguf_builder.h"
#include "testutil.h"
#include "types.h"

static const char *tmp_dir;

static size_t value_size(uint32_t type) {
    switch (type) {
    case BN_GGUF_UINT8:
    case BN_GGUF_INT8:
    case BN_GGUF_BOOL: return 1;
    case BN_GGUF_UINT16:
    case BN_GGUF_INT16: return 2;
    case BN_GGUF_UINT32:
    case BN_GGUF_INT32:
    case BN_GGUF_FLOAT32: return 4;
    case BN_GGUF_UINT64:
    case BN_GGUF_INT64:
    case BN_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static bool str_eq(bn_gguf_str s, const char *p, size_t n) {
    return s.len == n && (n == 0 || memcmp(s.ptr, p, n) == 0);
}

/* Same key, type, count and bytes (strings compared one by one). */
static bool kv_equal(const bn_gguf_kv *a, const bn_gguf_kv *b) {
    if (!a || !b || strcmp(a->key, b->key) != 0 || a->type != b->type ||
        a->elem_type != b->elem_type || a->n != b->n)
        return false;
    if (a->elem_type == BN_GGUF_STRING) {
        for (uint64_t i = 0; i < a->n; i++)
            if (!str_eq(b->strings[i], a->strings[i].ptr, (size_t)a->strings[i].len)) return false;
        return true;
    }
    size_t bytes = (size_t)a->n * value_size(a->elem_type);
    return bytes == 0 || memcmp(a->data, b->data, bytes) == 0;
}

/* Deterministic pseudo-random bytes (xorshift). */
static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* ---------------------------------------------------------------------------
 * The source file: one scalar of every type and one array of every element
 * type, written byte by byte.
 * ------------------------------------------------------------------------- */
static void build_source(gb *b) {
    memset(b, 0, sizeof *b);
    gb_header(b, 3, 0, 24);
    gb_key(b, "s.u8", BN_GGUF_UINT8), gb_u8(b, 250);
    gb_key(b, "s.i8", BN_GGUF_INT8), gb_u8(b, (uint8_t)-128);
    gb_key(b, "s.u16", BN_GGUF_UINT16), gb_u16(b, 65535);
    gb_key(b, "s.i16", BN_GGUF_INT16), gb_u16(b, (uint16_t)-32768);
    gb_key(b, "s.u32", BN_GGUF_UINT32), gb_u32(b, 4000000000u);
    gb_key(b, "s.i32", BN_GGUF_INT32), gb_u32(b, (uint32_t)INT32_MIN);
    gb_key(b, "s.f32", BN_GGUF_FLOAT32), gb_f32(b, -1.5e-7f);
    gb_key(b, "s.bool", BN_GGUF_BOOL), gb_u8(b, 1);
    gb_key(b, "s.str", BN_GGUF_STRING), gb_str(b, "caf\xc3\xa9 \xe2\x82\xac");
    gb_key(b, "s.u64", BN_GGUF_UINT64), gb_u64(b, UINT64_MAX);
    gb_key(b, "s.i64", BN_GGUF_INT64), gb_u64(b, (uint64_t)INT64_MIN);
    gb_key(b, "s.f64", BN_GGUF_FLOAT64), gb_f64(b, 3.141592653589793);
    /* arrays of each element type, 3 elements of distinct bytes */
    static const uint32_t elems[] = {BN_GGUF_UINT8,  BN_GGUF_INT8,  BN_GGUF_UINT16,  BN_GGUF_INT16,
                                     BN_GGUF_UINT32, BN_GGUF_INT32, BN_GGUF_FLOAT32, BN_GGUF_BOOL,
                                     BN_GGUF_UINT64, BN_GGUF_INT64, BN_GGUF_FLOAT64};
    for (size_t i = 0; i < sizeof elems / sizeof *elems; i++) {
        char key[32];
        snprintf(key, sizeof key, "a.%s", bn_gguf_type_name(elems[i]));
        gb_arr(b, key, elems[i], 3);
        if (elems[i] == BN_GGUF_BOOL) {
            gb_raw(b, "\x01\x00\x01", 3);
        } else if (elems[i] == BN_GGUF_FLOAT32) {
            gb_f32(b, 1.0f), gb_f32(b, -0.0f), gb_f32(b, 1e30f);
        } else if (elems[i] == BN_GGUF_FLOAT64) {
            gb_f64(b, 1e-300), gb_f64(b, -2.5), gb_f64(b, 1e300);
        } else {
            gb_fill(b, 3 * value_size(elems[i]), (uint8_t)(0x80 + i));
        }
    }
    gb_arr(b, "a.string", BN_GGUF_STRING, 4);
    gb_str(b, "");
    gb_str(b, "\xe4\xb8\xad\xe6\x96\x87");
    gb_str_n(b, "nul\0inside", 10);
    gb_str(b, "");
}

/* ---------------------------------------------------------------------------
 * What the writer is given
 * ------------------------------------------------------------------------- */
typedef struct tensor_spec {
    const char *name;
    uint32_t type, n_dims;
    int64_t ne[4];
    bool copy;
} tensor_spec;

static const tensor_spec specs[] = {
    {"t.f32", BN_TYPE_F32, 3, {7, 3, 2, 1}, true},
    {"t.f16", BN_TYPE_F16, 4, {5, 1, 3, 2}, true},
    {"t.bf16", BN_TYPE_BF16, 1, {1, 1, 1, 1}, false},
    {"t.q8_0", BN_TYPE_Q8_0, 2, {64, 3, 1, 1}, true},
    {"blk.0.attn_q.weight", BN_TYPE_I2_S, 2, {128, 3, 1, 1}, false},
    {"t.empty", BN_TYPE_F32, 2, {0, 3, 1, 1}, true},
    {"t.q8_0.nocopy", BN_TYPE_Q8_0, 1, {32, 1, 1, 1}, false},
};
enum { N_SPECS = sizeof specs / sizeof *specs };

static const char *const str_arr[] = {"", "h\xc3\xa9llo", "\xf0\x9f\x98\x80", "", "a\0b"};
static const uint64_t str_lens[] = {0, 6, 4, 0, 3};

typedef struct payloads {
    uint8_t *data[N_SPECS];
    uint64_t nbytes[N_SPECS];
} payloads;

static void make_payloads(payloads *p) {
    for (int i = 0; i < N_SPECS; i++) {
        CHECK(bn_type_nbytes(specs[i].type, specs[i].ne, (int)specs[i].n_dims, &p->nbytes[i]));
        p->data[i] = malloc(p->nbytes[i] ? p->nbytes[i] : 1);
        fill_random(p->data[i], (size_t)p->nbytes[i], (uint64_t)i + 1);
    }
}

static void free_payloads(payloads *p) {
    for (int i = 0; i < N_SPECS; i++) free(p->data[i]);
}

/* The same sequence of writer calls every time; alignment 0 means none set. */
static bn_gguf_writer *build_writer(const bn_gguf *src, const payloads *p, uint32_t alignment) {
    bn_gguf_writer *w = bn_gguf_writer_new();
    CHECK(w != NULL);
    if (!w) return NULL;
    if (alignment) CHECK(bn_gguf_set_u32(w, "general.alignment", alignment) == BITNET_OK);
    CHECK(bn_gguf_set_str(w, "general.architecture", "bitnet") == BITNET_OK);
    CHECK(bn_gguf_set_u32(w, "w.u32", 0xDEADBEEFu) == BITNET_OK);
    CHECK(bn_gguf_set_i32(w, "w.i32", -123456) == BITNET_OK);
    CHECK(bn_gguf_set_u64(w, "w.u64", 0x0123456789ABCDEFull) == BITNET_OK);
    CHECK(bn_gguf_set_f32(w, "w.f32", 1e-5f) == BITNET_OK);
    CHECK(bn_gguf_set_bool(w, "w.bool.t", true) == BITNET_OK);
    CHECK(bn_gguf_set_bool(w, "w.bool.f", false) == BITNET_OK);
    CHECK(bn_gguf_set_str(w, "w.str.empty", "") == BITNET_OK);
    CHECK(bn_gguf_set_str_n(w, "w.str.nul", "x\0y\xff", 4) == BITNET_OK);
    static const int32_t i32s[] = {-1, 0, INT32_MAX, INT32_MIN};
    static const float f32s[] = {0.5f, -3.25f};
    static const uint8_t bools[] = {1, 0, 0, 1};
    static const uint64_t u64s[] = {0, UINT64_MAX};
    CHECK(bn_gguf_set_arr(w, "w.arr.i32", BN_GGUF_INT32, i32s, 4) == BITNET_OK);
    CHECK(bn_gguf_set_arr(w, "w.arr.f32", BN_GGUF_FLOAT32, f32s, 2) == BITNET_OK);
    CHECK(bn_gguf_set_arr(w, "w.arr.bool", BN_GGUF_BOOL, bools, 4) == BITNET_OK);
    CHECK(bn_gguf_set_arr(w, "w.arr.u64", BN_GGUF_UINT64, u64s, 2) == BITNET_OK);
    CHECK(bn_gguf_set_arr(w, "w.arr.empty", BN_GGUF_FLOAT32, NULL, 0) == BITNET_OK);
    CHECK(bn_gguf_set_arr_str(w, "w.arr.str", str_arr, str_lens, 5) == BITNET_OK);
    static const char *const plain[] = {"one", "", "three"};
    CHECK(bn_gguf_set_arr_str(w, "w.arr.str.nul_terminated", plain, NULL, 3) == BITNET_OK);
    CHECK(bn_gguf_set_arr_str(w, "w.arr.str.empty", NULL, NULL, 0) == BITNET_OK);
    for (uint64_t i = 0; i < src->n_kv; i++)
        CHECK(bn_gguf_set_kv_copy(w, &src->kv[i]) == BITNET_OK);
    for (int i = 0; i < N_SPECS; i++)
        CHECKF(bn_gguf_add_tensor(w, specs[i].name, specs[i].type, specs[i].n_dims, specs[i].ne,
                                  p->data[i], p->nbytes[i], specs[i].copy) == BITNET_OK,
               "%s: %s", specs[i].name, bitnet_get_last_error());
    return w;
}

/* Everything build_writer put in is in g, in order, with the same values. */
static void check_contents(const bn_gguf *g, const bn_gguf *src, const payloads *p,
                           uint32_t alignment) {
    uint32_t u32;
    int64_t i64;
    float f;
    bool bo;
    bn_gguf_str s;
    const bn_gguf_kv *kv;
    uint64_t n_direct = 17 + (alignment ? 1 : 0);
    CHECK(g->version == 3);
    CHECK(g->n_kv == n_direct + src->n_kv);
    CHECK(g->alignment == (alignment ? alignment : BN_GGUF_DEFAULT_ALIGNMENT));
    CHECK(g->data_offset % g->alignment == 0);
    if (alignment)
        CHECK(bn_gguf_get_u32(g, "general.alignment", &u32) == BITNET_OK && u32 == alignment);
    CHECK(bn_gguf_get_str(g, "general.architecture", &s) == BITNET_OK && str_eq(s, "bitnet", 6));
    CHECK(strcmp(g->kv[alignment ? 1 : 0].key, "general.architecture") == 0); /* call order */
    CHECK(bn_gguf_get_u32(g, "w.u32", &u32) == BITNET_OK && u32 == 0xDEADBEEFu);
    CHECK(bn_gguf_get_i64(g, "w.i32", &i64) == BITNET_OK && i64 == -123456);
    CHECK(bn_gguf_find(g, "w.i32")->type == BN_GGUF_INT32);
    CHECK(bn_gguf_get_i64(g, "w.u64", &i64) == BITNET_OK && i64 == 0x0123456789ABCDEFll);
    CHECK(bn_gguf_get_f32(g, "w.f32", &f) == BITNET_OK && f == 1e-5f);
    CHECK(bn_gguf_get_bool(g, "w.bool.t", &bo) == BITNET_OK && bo);
    CHECK(bn_gguf_get_bool(g, "w.bool.f", &bo) == BITNET_OK && !bo);
    CHECK(bn_gguf_get_str(g, "w.str.empty", &s) == BITNET_OK && s.len == 0);
    CHECK(bn_gguf_get_str(g, "w.str.nul", &s) == BITNET_OK && str_eq(s, "x\0y\xff", 4));
    CHECK(bn_gguf_get_arr(g, "w.arr.i32", BN_GGUF_INT32, &kv) == BITNET_OK && kv->n == 4 &&
          bn_gguf_arr_i64(kv, 0) == -1 && bn_gguf_arr_i64(kv, 2) == INT32_MAX &&
          bn_gguf_arr_i64(kv, 3) == INT32_MIN);
    CHECK(bn_gguf_get_arr(g, "w.arr.f32", BN_GGUF_FLOAT32, &kv) == BITNET_OK && kv->n == 2 &&
          bn_gguf_arr_f64(kv, 1) == -3.25);
    CHECK(bn_gguf_get_arr(g, "w.arr.bool", BN_GGUF_BOOL, &kv) == BITNET_OK && kv->n == 4 &&
          bn_gguf_arr_i64(kv, 0) == 1 && bn_gguf_arr_i64(kv, 1) == 0);
    CHECK(bn_gguf_get_arr(g, "w.arr.u64", BN_GGUF_UINT64, &kv) == BITNET_OK && kv->n == 2 &&
          (uint64_t)bn_gguf_arr_i64(kv, 1) == UINT64_MAX);
    CHECK(bn_gguf_get_arr(g, "w.arr.empty", BN_GGUF_FLOAT32, &kv) == BITNET_OK && kv->n == 0);
    CHECK(bn_gguf_get_arr(g, "w.arr.str", BN_GGUF_STRING, &kv) == BITNET_OK && kv->n == 5);
    if (kv && kv->n == 5)
        for (int i = 0; i < 5; i++) CHECK(str_eq(kv->strings[i], str_arr[i], (size_t)str_lens[i]));
    CHECK(bn_gguf_get_arr(g, "w.arr.str.nul_terminated", BN_GGUF_STRING, &kv) == BITNET_OK &&
          kv->n == 3 && str_eq(kv->strings[0], "one", 3) && kv->strings[1].len == 0 &&
          str_eq(kv->strings[2], "three", 5));
    CHECK(bn_gguf_get_arr(g, "w.arr.str.empty", BN_GGUF_STRING, &kv) == BITNET_OK && kv->n == 0);
    /* copied keys: identical to the source, in the source's order, after
     * the directly set ones */
    for (uint64_t i = 0; i < src->n_kv; i++) {
        CHECKF(kv_equal(&src->kv[i], bn_gguf_find(g, src->kv[i].key)), "copied key %s",
               src->kv[i].key);
        CHECK(strcmp(g->kv[n_direct + i].key, src->kv[i].key) == 0);
    }
    /* formatting every value works and is bounded */
    for (uint64_t i = 0; i < g->n_kv; i++) {
        char buf[64];
        int n = bn_gguf_format_value(&g->kv[i], buf, sizeof buf);
        CHECK(n >= 0 && strlen(buf) < sizeof buf);
    }
    char buf[64];
    bn_gguf_format_value(bn_gguf_find(g, "s.i64"), buf, sizeof buf);
    CHECK(strcmp(buf, "-9223372036854775808") == 0);
    bn_gguf_format_value(bn_gguf_find(g, "s.u64"), buf, sizeof buf);
    CHECK(strcmp(buf, "18446744073709551615") == 0);
    bn_gguf_format_value(bn_gguf_find(g, "a.string"), buf, sizeof buf);
    CHECK(strcmp(buf, "[4 string items]") == 0);

    CHECK(g->n_tensors == N_SPECS);
    for (int i = 0; i < N_SPECS && (uint64_t)i < g->n_tensors; i++) {
        const bn_gguf_tensor *t = &g->tensors[i];
        CHECKF(strcmp(t->name, specs[i].name) == 0, "tensor %d is %s", i, t->name);
        CHECK(bn_gguf_find_tensor(g, specs[i].name) == t);
        CHECK(t->type == specs[i].type && t->n_dims == specs[i].n_dims);
        for (int d = 0; d < 4; d++) CHECK(t->ne[d] == specs[i].ne[d]);
        CHECK(t->nbytes == p->nbytes[i]);
        CHECK(t->offset % g->alignment == 0);
        CHECK(t->data == g->base + g->data_offset + t->offset);
        CHECKF(t->nbytes == 0 || memcmp(t->data, p->data[i], (size_t)t->nbytes) == 0,
               "tensor %s data differs", t->name);
    }
}

static void path_for(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", tmp_dir, name);
}

static bool same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *da = test_read_file(a, &na), *db = test_read_file(b, &nb);
    bool same = da && db && na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

static void round_trip(const bn_gguf *src, const payloads *p, uint32_t alignment) {
    char a[4200], b2[4200], c[4200];
    char tag[32];
    snprintf(tag, sizeof tag, "align%" PRIu32, alignment);
    path_for(a, sizeof a, "a.gguf");
    path_for(b2, sizeof b2, "b.gguf");
    path_for(c, sizeof c, "c.gguf");

    bn_gguf_writer *w = build_writer(src, p, alignment);
    if (!w) return;
    CHECKF(bn_gguf_write(w, a) == BITNET_OK, "%s: %s", tag, bitnet_get_last_error());
    /* writing the same writer again, and a fresh writer given the same
     * calls, both give the same bytes */
    CHECK(bn_gguf_write(w, b2) == BITNET_OK);
    CHECKF(same_file(a, b2), "%s: the same writer wrote different bytes", tag);
    bn_gguf_writer_free(w);
    w = build_writer(src, p, alignment);
    CHECK(bn_gguf_write(w, b2) == BITNET_OK);
    bn_gguf_writer_free(w);
    CHECKF(same_file(a, b2), "%s: the same calls wrote different bytes", tag);

    for (int use_mmap = 0; use_mmap < 2; use_mmap++) {
        bn_gguf *g;
        bitnet_status st = bn_gguf_open(a, use_mmap, &g);
        CHECKF(st == BITNET_OK, "%s: reading back: %s", tag, bitnet_get_last_error());
        if (st) continue;
        check_contents(g, src, p, alignment);

        /* a kv-by-kv, tensor-by-tensor copy is the same file */
        w = bn_gguf_writer_new();
        for (uint64_t i = 0; i < g->n_kv; i++)
            CHECK(bn_gguf_set_kv_copy(w, &g->kv[i]) == BITNET_OK);
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            const bn_gguf_tensor *t = &g->tensors[i];
            CHECK(bn_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes,
                                     false) == BITNET_OK);
        }
        CHECK(bn_gguf_write(w, c) == BITNET_OK);
        bn_gguf_writer_free(w);
        CHECKF(same_file(a, c), "%s: a copy of the file differs from it", tag);
        bn_gguf_close(g);
    }
}

/* Calls the writer must refuse, leaving it usable. */
static void writer_errors(void) {
    bn_gguf_writer *w = bn_gguf_writer_new();
    int64_t ne[2] = {32, 2};
    uint8_t data[128] = {0};
    CHECK(bn_gguf_set_u32(w, "k", 1) == BITNET_OK);
    CHECK(bn_gguf_set_u32(w, "k", 2) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bitnet_get_last_error(), "duplicate key 'k'") != NULL);
    CHECK(bn_gguf_set_str(w, "k", "x") == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_set_u32(w, "", 1) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_set_arr(w, "a", BN_GGUF_STRING, data, 1) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_set_arr(w, "a", BN_GGUF_ARRAY, data, 1) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_set_arr(w, "a", BN_GGUF_UINT64, data, UINT64_MAX / 4) ==
          BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_set_i32(w, "general.alignment", 64) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_set_u32(w, "general.alignment", 13) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_set_u32(w, "general.alignment", 0) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_add_tensor(w, "t", BN_TYPE_F32, 2, ne, data, 255, false) ==
          BITNET_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bitnet_get_last_error(), "has 255 bytes") != NULL);
    CHECK(bn_gguf_add_tensor(w, "t", BN_TYPE_F32, 0, ne, data, 4, false) ==
          BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_add_tensor(w, "t", BN_TYPE_F32, 5, ne, data, 4, false) ==
          BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_add_tensor(w, "", BN_TYPE_F32, 1, ne, data, 128, false) ==
          BITNET_ERR_INVALID_ARGUMENT);
    char long_name[65];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    CHECK(bn_gguf_add_tensor(w, long_name, BN_TYPE_F32, 1, ne, data, 128, false) ==
          BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_add_tensor(w, "t", 99, 1, ne, data, 128, false) == BITNET_ERR_INVALID_ARGUMENT);
    int64_t bad_q8[1] = {33};
    CHECK(bn_gguf_add_tensor(w, "t", BN_TYPE_Q8_0, 1, bad_q8, data, 34, false) ==
          BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_gguf_add_tensor(w, "t", BN_TYPE_F32, 1, ne, data, 128, true) == BITNET_OK);
    CHECK(bn_gguf_add_tensor(w, "t", BN_TYPE_F32, 1, ne, data, 128, true) ==
          BITNET_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bitnet_get_last_error(), "duplicate tensor 't'") != NULL);

    /* the refused calls left nothing behind: the file holds k and t only */
    char p[4200];
    path_for(p, sizeof p, "errors.gguf");
    CHECK(bn_gguf_write(w, p) == BITNET_OK);
    bn_gguf *g;
    CHECK(bn_gguf_open(p, true, &g) == BITNET_OK);
    if (g) {
        CHECK(g->n_kv == 1 && g->n_tensors == 1 && bn_gguf_find(g, "k") != NULL);
        bn_gguf_close(g);
    }
    /* an unwritable path */
    path_for(p, sizeof p, "no/such/dir/x.gguf");
    CHECK(bn_gguf_write(w, p) == BITNET_ERR_IO);
    CHECK(strstr(bitnet_get_last_error(), "cannot create") != NULL);
    bn_gguf_writer_free(w);

    /* an empty writer gives a valid empty file */
    w = bn_gguf_writer_new();
    path_for(p, sizeof p, "empty.gguf");
    CHECK(bn_gguf_write(w, p) == BITNET_OK);
    bn_gguf_writer_free(w);
    CHECK(bn_gguf_open(p, false, &g) == BITNET_OK);
    if (g) {
        CHECK(g->n_kv == 0 && g->n_tensors == 0 && g->size == 32);
        bn_gguf_close(g);
    }
}

int main(void) {
    tmp_dir = test_tmpdir("gguf_roundtrip");
    gb b;
    build_source(&b);
    bn_gguf *src;
    bitnet_status st = bn_gguf_open_memory(b.data, b.len, "source.gguf", &src);
    CHECKF(st == BITNET_OK, "source file: %s", bitnet_get_last_error());
    if (st) {
        gb_free(&b);
        TEST_END();
    }
    CHECK(src->n_kv == 24);
    payloads p;
    make_payloads(&p);
    static const uint32_t alignments[] = {0, 1, 64, 4096};
    for (size_t i = 0; i < sizeof alignments / sizeof *alignments; i++)
        round_trip(src, &p, alignments[i]);
    writer_errors();
    free_payloads(&p);
    bn_gguf_close(src);
    gb_free(&b);
    TEST_END();
}
