/* Out-of-memory injection (SQLite's anomaly loop) over the GGUF reader and
 * writer: for n = 0, 1, 2, ... the n-th allocation fails (once, then again
 * with every later one failing too), and each run must either report
 * BITNET_ERR_NOMEM with *out NULL or, once n passes the number of
 * allocations, succeed with the full contents. Nothing may leak: the ASan
 * build (LeakSanitizer) checks that at exit. */
#include <inttypes.h>

#include "alloc.h"
#include "error.h"
#include "gguf.h"
#include "gguf_builder.h"
#include "testutil.h"
#include "types.h"

enum { MAX_STEPS = 100000 }; /* far more than any run allocates */

/* A file that makes the reader allocate along every path: string scalars,
 * string arrays, numeric arrays, several tensors, an alignment key. */
static void build_file(gb *b) {
    memset(b, 0, sizeof *b);
    gb_header(b, 3, 3, 6);
    gb_kv_str(b, "general.architecture", "bitnet");
    gb_kv_u32(b, "general.alignment", 32);
    gb_arr(b, "tokenizer.ggml.tokens", BN_GGUF_STRING, 3);
    gb_str(b, "<s>");
    gb_str(b, "");
    gb_str(b, "\xc3\xa9");
    gb_arr(b, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, 3);
    for (int i = 0; i < 3; i++) gb_f32(b, (float)-i);
    gb_arr(b, "empty", BN_GGUF_STRING, 0);
    gb_kv_str(b, "general.name", "oom");
    uint64_t ne_a[2] = {8, 2}, ne_b[1] = {64}, ne_c[2] = {128, 2};
    gb_tensor(b, "a", 2, ne_a, BN_TYPE_F32, 0);
    gb_tensor(b, "b", 1, ne_b, BN_TYPE_Q8_0, 64);
    gb_tensor(b, "c", 2, ne_c, BN_TYPE_I2_S, 160);
    gb_align(b, 32);
    gb_fill(b, 64, 1);
    gb_fill(b, 68, 2);
    gb_zeros(b, 28);
    gb_fill(b, 96, 3);
}

static void check_loaded(const bn_gguf *g) {
    bn_gguf_str s;
    const bn_gguf_kv *kv;
    CHECK(g->n_kv == 6 && g->n_tensors == 3);
    CHECK(bn_gguf_get_str(g, "general.name", &s) == BITNET_OK && s.len == 3);
    CHECK(bn_gguf_get_arr(g, "tokenizer.ggml.tokens", BN_GGUF_STRING, &kv) == BITNET_OK &&
          kv->n == 3 && kv->strings[2].len == 2);
    CHECK(bn_gguf_find_tensor(g, "c") && bn_gguf_find_tensor(g, "c")->nbytes == 96);
}

typedef bitnet_status (*open_fn)(const void *arg, bn_gguf **out);

static const gb *mem_file;
static const char *disk_path;

static bitnet_status open_mem(const void *arg, bn_gguf **out) {
    (void)arg;
    return bn_gguf_open_memory(mem_file->data, mem_file->len, "oom.gguf", out);
}
static bitnet_status open_disk(const void *arg, bn_gguf **out) {
    return bn_gguf_open(disk_path, *(const bool *)arg, out);
}

/* Runs the loop for one way of opening; returns how many allocations a
 * successful open makes. */
static long oom_loop(const char *what, open_fn fn, const void *arg, int sticky) {
    for (long n = 0; n < MAX_STEPS; n++) {
        bn_gguf *g = (bn_gguf *)(uintptr_t)1;
        bn_clear_error();
        bn_alloc_fail_after(n, sticky);
        bitnet_status st = fn(arg, &g);
        bn_alloc_fail_after(-1, 0);
        if (st == BITNET_OK) {
            check_loaded(g);
            bn_gguf_close(g);
            printf("%s (%s): %ld allocations, every failure reported\n", what,
                   sticky ? "sticky" : "once", n);
            return n;
        }
        CHECKF(st == BITNET_ERR_NOMEM, "%s %s n=%ld: status %d (%s): %s", what,
               sticky ? "sticky" : "once", n, st, bitnet_status_str(st), bitnet_get_last_error());
        CHECKF(g == NULL, "%s n=%ld: *out not reset", what, n);
        CHECKF(strstr(bitnet_get_last_error(), "out of memory") != NULL, "%s n=%ld: message '%s'",
               what, n, bitnet_get_last_error());
        if (st != BITNET_ERR_NOMEM) return -1;
    }
    CHECKF(0, "%s: never succeeded", what);
    return -1;
}

static const bn_gguf *copy_source; /* kvs for bn_gguf_set_kv_copy */

/* The writer under the same loop: every setter may fail; a failed one makes
 * the final write refuse; freeing releases everything either way. */
static bitnet_status write_once(const char *path, int *n_failed) {
    static const char *const toks[] = {"a", "", "c"};
    static const float scores[] = {0.f, -1.f, -2.f};
    static uint8_t data[256];
    int64_t ne[2] = {8, 2}, ne_q[1] = {64};
    *n_failed = 0;
    bn_gguf_writer *w = bn_gguf_writer_new();
    if (!w) return BITNET_ERR_NOMEM;
    /* more than the metadata buffer's first 4 KiB, so that every kind of
     * setter also meets a failing reallocation */
    static char big[5000];
    memset(big, 'x', sizeof big);
    enum { N_CALLS = 12 };
    bitnet_status sts[N_CALLS + 1];
    sts[0] = bn_gguf_set_str(w, "general.architecture", "bitnet");
    sts[1] = bn_gguf_set_u32(w, "general.alignment", 64);
    sts[2] = bn_gguf_set_arr_str(w, "w.tokens", toks, NULL, 3);
    sts[3] = bn_gguf_set_arr(w, "tokenizer.ggml.scores", BN_GGUF_FLOAT32, scores, 3);
    sts[4] = bn_gguf_add_tensor(w, "a", BN_TYPE_F32, 2, ne, data, 64, true);
    sts[5] = bn_gguf_add_tensor(w, "b", BN_TYPE_Q8_0, 1, ne_q, data, 68, false);
    sts[6] = bn_gguf_add_tensor(w, "c", BN_TYPE_F32, 1, ne_q, data, 256, true);
    sts[7] = bn_gguf_set_str_n(w, "big", big, sizeof big);
    sts[8] = bn_gguf_set_f32(w, "f", 0.5f);
    sts[9] = bn_gguf_set_arr(w, "u64s", BN_GGUF_UINT64, big, sizeof big / 8);
    sts[10] = bn_gguf_set_kv_copy(w, bn_gguf_find(copy_source, "tokenizer.ggml.tokens"));
    sts[11] = bn_gguf_set_kv_copy(w, bn_gguf_find(copy_source, "general.name"));
    sts[N_CALLS] = bn_gguf_write(w, path);
    bn_gguf_writer_free(w);
    for (int i = 0; i < N_CALLS; i++) {
        CHECK(sts[i] == BITNET_OK || sts[i] == BITNET_ERR_NOMEM);
        if (sts[i]) (*n_failed)++;
    }
    return sts[N_CALLS];
}

static void writer_loop(const char *dir, int sticky) {
    char path[4200];
    snprintf(path, sizeof path, "%s/w.gguf", dir);
    for (long n = 0; n < MAX_STEPS; n++) {
        int n_failed;
        unlink(path);
        bn_alloc_fail_after(n, sticky);
        bitnet_status st = write_once(path, &n_failed);
        bn_alloc_fail_after(-1, 0);
        if (st == BITNET_OK) {
            CHECKF(n_failed == 0, "writer n=%ld: a setter failed but the write succeeded", n);
            bn_gguf *g;
            CHECK(bn_gguf_open(path, true, &g) == BITNET_OK);
            if (g) {
                CHECK(g->n_kv == 9 && g->n_tensors == 3 && g->alignment == 64);
                bn_gguf_close(g);
            }
            printf("writer (%s): %ld allocations\n", sticky ? "sticky" : "once", n);
            return;
        }
        CHECKF(st == BITNET_ERR_NOMEM, "writer n=%ld: status %d: %s", n, st,
               bitnet_get_last_error());
        if (st != BITNET_ERR_NOMEM) return;
    }
    CHECKF(0, "writer: never succeeded");
}

int main(void) {
    const char *dir = test_tmpdir("gguf_oom");
    char path[4200];
    gb b;
    build_file(&b);
    mem_file = &b;
    snprintf(path, sizeof path, "%s/oom.gguf", dir);
    CHECK(gb_save(&b, path) == 0);
    disk_path = path;

    /* sanity: the file loads without injection; it is also the source the
     * writer loop copies keys from */
    bn_gguf *g;
    CHECK(bn_gguf_open_memory(b.data, b.len, "oom.gguf", &g) == BITNET_OK);
    if (!g) TEST_END();
    copy_source = g;

    static const bool mmap_on = true, mmap_off = false;
    for (int sticky = 0; sticky < 2; sticky++) {
        long n_mem = oom_loop("open_memory", open_mem, NULL, sticky);
        long n_map = oom_loop("open mmap", open_disk, &mmap_on, sticky);
        long n_read = oom_loop("open read", open_disk, &mmap_off, sticky);
        /* the read path allocates the file buffer too */
        CHECK(n_mem > 10 && n_map == n_mem && n_read == n_mem + 1);
        writer_loop(dir, sticky);
    }
    bn_gguf_close(g);
    gb_free(&b);
    TEST_END();
}
