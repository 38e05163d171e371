/* SIMD kernel tables against the scalar reference (kernels/ref).
 *
 * For every ISA this build and CPU run (avx2, avx512, amx, neon, wasm), each table entry
 * is compared with bn_kernels_ref on random data with fixed seeds and on
 * edge cases: int8 extremes, all-equal weight codes, odd row and token
 * counts, unaligned pointers, and buffers that end exactly at a PROT_NONE
 * guard page (or start right after one), so that any read or write outside
 * the buffer faults. Integer results (quantize_i8 q/scale/sum, I2_S sums)
 * must be identical; float dots must agree within 1e-5 of Σ|a_i·b_i|.
 *
 * BITNET_TEST_ISA=avx2 (or BITNET_ISA, which valgrind runs set to a lower
 * ISA) limits the run to one ISA. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "exp_poly.h"
#include "f16.h"
#include "kernels.h"
#include "ref/kernels_ref.h"
#include "testutil.h"

/* What is running, for the fault handler: a read or write past a buffer hits
 * a guard page, and the message names the kernel and case. */
static char g_current[256] = "setup";

static void on_fault(int sig) {
    static const char msg[] = "test_kernels: fault (out-of-bounds access?) in: ";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    ignored = write(2, g_current, strlen(g_current));
    ignored = write(2, "\n", 1);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
}

#define SET_CURRENT(...) snprintf(g_current, sizeof g_current, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Random numbers (fixed seeds) and guarded buffers                          */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15ull + 1; }

static uint64_t rng_next(void) {
    /* xorshift64*: plenty for test data, identical on every platform */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static float rng_float(float lo, float hi) {
    return lo + (hi - lo) * (float)((rng_next() >> 40) * (1.0 / 16777216.0));
}

/* A buffer of `bytes` inside its own mapping with PROT_NONE pages on both
 * sides. place = 0: ends exactly at the upper guard; place = 1..63: starts
 * `place` bytes after the lower guard (so at a chosen misalignment). */
typedef struct {
    void *map;
    size_t map_len;
    void *ptr;
} guarded;

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static guarded guarded_alloc(size_t bytes, size_t place) {
    const size_t pg = page_size();
    const size_t body = (bytes + place + pg - 1) / pg * pg;
    guarded g = {NULL, body + 2 * pg, NULL};
    void *m = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "mmap failed\n");
        exit(2);
    }
    g.map = m;
    uint8_t *base = m;
    if (mprotect(base, pg, PROT_NONE) != 0 || mprotect(base + pg + body, pg, PROT_NONE) != 0) {
        fprintf(stderr, "mprotect failed\n");
        exit(2);
    }
    g.ptr = place == 0 ? base + pg + body - bytes : base + pg + place;
    return g;
}

static void guarded_free(guarded *g) {
    munmap(g->map, g->map_len);
    g->map = g->ptr = NULL;
}

/* Placements tried for every buffer: flush with the upper guard, then right
 * after the lower guard at byte offsets 1..3 (elem_size 1) or 1..3 elements
 * (wider types, so that the reference's own element accesses stay aligned). */
#define N_PLACES 4
static size_t place_for(int i, size_t elem_size) { return i == 0 ? 0 : (size_t)i * elem_size; }

/* ------------------------------------------------------------------------ */
/* The reference itself: the I2_S layout, checked against an independent     */
/* packer written from spec §2.2                                             */
/* ------------------------------------------------------------------------ */

static void pack_i2s(const uint8_t *codes, int64_t n, uint8_t *out) {
    memset(out, 0, (size_t)(n / 4));
    for (int64_t e = 0; e < n; e++) {
        int64_t blk = e / 128, j = e % 128;
        out[blk * 32 + j % 32] |= (uint8_t)(codes[e] << (6 - 2 * (j / 32)));
    }
}

static void test_reference_layout(void) {
    enum { K = 384 };
    uint8_t codes[K], packed[K / 4];
    int8_t q[K];
    rng_seed(1);
    for (int i = 0; i < K; i++) {
        codes[i] = (uint8_t)(rng_next() % 3);
        q[i] = (int8_t)(rng_next() & 0xff);
    }
    pack_i2s(codes, K, packed);
    int32_t want = 0;
    for (int i = 0; i < K; i++) want += codes[i] * q[i];
    CHECK(bn_i2s_dot_ref(packed, q, K) == want);
}

/* ------------------------------------------------------------------------ */
/* quantize_i8                                                               */
/* ------------------------------------------------------------------------ */

typedef enum {
    QX_RANDOM,     /* uniform in ±range */
    QX_ZERO,       /* all zero: max clamps to 1e-5 */
    QX_TINY,       /* all below 1e-5 */
    QX_TIES,       /* scale 2^j and many x·scale = k + 0.5 exactly */
    QX_HUGE,       /* around 1e30 */
    QX_MIXED_SIGN, /* ±max at both ends, the rest near the rounding edges */
    QX_SPECIAL,    /* NaN and infinities among normal values */
    QX_KINDS
} qx_kind;

static const char *const qx_names[] = {"random", "zero",  "tiny",   "ties",
                                       "huge",   "edges", "special"};

static void fill_quant_input(float *x, int64_t n, qx_kind kind, uint64_t seed) {
    rng_seed(seed);
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case QX_RANDOM: x[i] = rng_float(-3.0f, 3.0f) * (float)(1 + (rng_next() % 4)); break;
        case QX_ZERO: x[i] = (rng_next() & 1) ? 0.0f : -0.0f; break;
        case QX_TINY: x[i] = rng_float(-9e-6f, 9e-6f); break;
        case QX_TIES: {
            /* max = 127·2^-j gives scale (float)(127/max) = 2^j exactly, and
             * x = (k + 0.5)·2^-j gives x·scale = k + 0.5 exactly. */
            const int j = (int)(seed % 4);
            const float inv = 1.0f / (float)(1 << j);
            int k = (int)(rng_next() % 254) - 127; /* -127..126: k+0.5 within ±126.5 */
            x[i] = (i == 0) ? 127.0f * inv : ((float)k + 0.5f) * inv;
            if (i == 1 && n > 2) x[i] = -127.0f * inv;
            break;
        }
        case QX_HUGE: x[i] = rng_float(-1.0f, 1.0f) * 1e30f; break;
        case QX_MIXED_SIGN: {
            float m = 5.0f, s = 127.0f / m;
            int k = (int)(rng_next() % 255) - 127;
            /* values whose product with the scale lands next to k + 0.5 */
            float t = ((float)k + 0.5f) / s;
            x[i] = (i % 3 == 0) ? t : (i % 3 == 1) ? nextafterf(t, 0) : nextafterf(t, 1e9f);
            if (i == 0) x[i] = m;
            if (i == n - 1) x[i] = -m;
            break;
        }
        case QX_SPECIAL:
            x[i] = rng_float(-2.0f, 2.0f);
            if (i % 17 == 5) x[i] = NAN;
            if (i % 29 == 7) x[i] = (i & 1) ? INFINITY : -INFINITY;
            break;
        default: x[i] = 0; break;
        }
    }
}

static void test_quantize(const bn_kernels *k) {
    static const int64_t sizes[] = {0,  1,  2,  3,   7,   8,   15,  16,  17,  31,   32,   33,
                                    63, 64, 65, 100, 127, 128, 129, 255, 256, 1000, 2560, 6912};
    int failures_before = test_failures;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int64_t n = sizes[si];
        for (int kind = 0; kind < QX_KINDS; kind++) {
            if (kind == QX_SPECIAL && n < 8) continue;
            for (int place = 0; place < N_PLACES; place++) {
                const uint64_t seed = 1000 + (uint64_t)(si * 31 + (size_t)kind * 7 + (size_t)place);
                guarded gx = guarded_alloc((size_t)n * sizeof(float), place_for(place, 4));
                guarded gq = guarded_alloc((size_t)n, place_for(place, 1));
                float *x = gx.ptr;
                int8_t *q = gq.ptr;
                int8_t *q_ref = malloc((size_t)n + 1);
                fill_quant_input(x, n, (qx_kind)kind, seed);
                SET_CURRENT("%s quantize_i8 n=%lld %s place=%d", k->isa, (long long)n,
                            qx_names[kind], place);
                float s_ref = -1, s = -2;
                int32_t sum_ref = -1, sum = -2;
                bn_quantize_i8_ref(x, n, q_ref, &s_ref, &sum_ref);
                memset(q, 0x5a, (size_t)n);
                k->quantize_i8(x, n, q, &s, &sum);
                CHECKF(memcmp(q, q_ref, (size_t)n) == 0 && bn_f32_bits(s) == bn_f32_bits(s_ref) &&
                           sum == sum_ref,
                       "%s quantize_i8 n=%lld %s place=%d: scale %a vs %a, sum %d vs %d", k->isa,
                       (long long)n, qx_names[kind], place, (double)s, (double)s_ref, sum, sum_ref);
                free(q_ref);
                guarded_free(&gx);
                guarded_free(&gq);
            }
        }
    }
    printf("  %-7s quantize_i8  %s\n", k->isa, test_failures == failures_before ? "ok" : "FAIL");
}

/* ------------------------------------------------------------------------ */
/* I2_S gemv / gemm                                                          */
/* ------------------------------------------------------------------------ */

typedef enum { W_RANDOM, W_ANY_BYTE, W_ALL0, W_ALL1, W_ALL2, W_ALL3, W_KINDS } w_kind;
static const char *const w_names[] = {"random", "any-byte", "code0", "code1", "code2", "code3"};
typedef enum { A_RANDOM, A_MIN, A_MAX, A_ALTERNATE, A_KINDS } a_kind;
static const char *const a_names[] = {"random", "-128", "127", "±extremes"};

static void fill_weights(uint8_t *w, size_t n, w_kind kind) {
    static const uint8_t fill[] = {0, 0, 0x00, 0x55, 0xaa, 0xff};
    for (size_t i = 0; i < n; i++) {
        if (kind == W_RANDOM) {
            /* codes 0..2 only, as a real I2_S tensor */
            uint8_t b = 0;
            for (int f = 0; f < 4; f++) b = (uint8_t)(b << 2 | (rng_next() % 3));
            w[i] = b;
        } else if (kind == W_ANY_BYTE) {
            /* includes the unused code 3: kernels must still agree */
            w[i] = (uint8_t)rng_next();
        } else {
            w[i] = fill[kind];
        }
    }
}

static void fill_acts(int8_t *q, size_t n, a_kind kind) {
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case A_RANDOM: q[i] = (int8_t)(rng_next() & 0xff); break;
        case A_MIN: q[i] = -128; break;
        case A_MAX: q[i] = 127; break;
        default: q[i] = (rng_next() & 1) ? 127 : -128; break;
        }
    }
}

typedef struct {
    int64_t K, n_rows, n_tok;
    w_kind wk;
    a_kind ak;
    int place;   /* buffer placement, see place_for */
    int q_pad;   /* q_stride = K + q_pad */
    int out_pad; /* out_stride = n_rows + out_pad */
    uint64_t seed;
} i2s_case;

/* Runs one case through gemm (and gemv per token when n_tok is 1, or when
 * asked), comparing with the reference. Returns true when it matched. */
static bool run_i2s_case(const bn_kernels *k, const i2s_case *c, bool also_gemv) {
    const int64_t rb = c->K / 4, q_stride = c->K + c->q_pad, out_stride = c->n_rows + c->out_pad;
    const size_t w_bytes = (size_t)(c->n_rows * rb);
    const size_t q_bytes = (size_t)((c->n_tok - 1) * q_stride + c->K);
    const size_t out_n = (size_t)((c->n_tok - 1) * out_stride + c->n_rows);
    guarded gw = guarded_alloc(w_bytes, place_for(c->place, 1));
    guarded gq = guarded_alloc(q_bytes, place_for(c->place, 1));
    guarded go = guarded_alloc(out_n * sizeof(int32_t), place_for(c->place, 4));
    uint8_t *w = gw.ptr;
    int8_t *q = gq.ptr;
    int32_t *out = go.ptr;
    int32_t *want = malloc(out_n * sizeof(int32_t));
    rng_seed(c->seed);
    fill_weights(w, w_bytes, c->wk);
    fill_acts(q, q_bytes, c->ak);
    /* Padding slots of out must stay untouched: fill both with a sentinel. */
    for (size_t i = 0; i < out_n; i++) want[i] = out[i] = (int32_t)0x7eadbeef;
    SET_CURRENT("%s i2s_gemm/gemv K=%lld rows=%lld tok=%lld place=%d pads=%d/%d", k->isa,
                (long long)c->K, (long long)c->n_rows, (long long)c->n_tok, c->place, c->q_pad,
                c->out_pad);
    bn_i2s_gemm_ref(w, c->K, c->n_rows, q, q_stride, c->n_tok, want, out_stride);
    k->i2s_gemm(w, c->K, c->n_rows, q, q_stride, c->n_tok, out, out_stride);
    bool ok = memcmp(out, want, out_n * sizeof(int32_t)) == 0;
    if (!ok) {
        for (size_t i = 0; i < out_n; i++)
            if (out[i] != want[i]) {
                fprintf(stderr, "  first mismatch at out[%zu] (token %zu row %zu): %d vs %d\n", i,
                        i / (size_t)out_stride, i % (size_t)out_stride, out[i], want[i]);
                break;
            }
    }
    CHECKF(ok, "%s i2s_gemm K=%lld rows=%lld tok=%lld w=%s q=%s place=%d pads=%d/%d", k->isa,
           (long long)c->K, (long long)c->n_rows, (long long)c->n_tok, w_names[c->wk],
           a_names[c->ak], c->place, c->q_pad, c->out_pad);
    if (also_gemv || c->n_tok == 1) {
        for (int64_t t = 0; t < c->n_tok; t++) {
            int32_t *o = out + t * out_stride;
            memset(o, 0x11, (size_t)c->n_rows * sizeof(int32_t));
            k->i2s_gemv(w, c->K, c->n_rows, q + t * q_stride, o);
        }
        bool gemv_ok = memcmp(out, want, out_n * sizeof(int32_t)) == 0;
        CHECKF(gemv_ok, "%s i2s_gemv K=%lld rows=%lld tok=%lld w=%s q=%s place=%d", k->isa,
               (long long)c->K, (long long)c->n_rows, (long long)c->n_tok, w_names[c->wk],
               a_names[c->ak], c->place);
        ok = ok && gemv_ok;
    }
    free(want);
    guarded_free(&gw);
    guarded_free(&gq);
    guarded_free(&go);
    return ok;
}

static void test_i2s(const bn_kernels *k) {
    static const int64_t Ks[] = {128, 256, 384, 2560, 6912};
    static const int64_t rows[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 33};
    /* AMX: 16, 32, 48 and 64 whole token tiles (one, a pair, a pair and
     * one); 8, 24 and 31 a shorter tile (alone or after whole ones);
     * 17 and 35 tiles plus tokens left to the AVX-512 gemm */
    static const int64_t toks[] = {1, 2, 3, 4, 5, 8, 16, 17, 24, 31, 35, 48, 64, 128};
    int failures_before = test_failures, cases = 0;
    uint64_t seed = 7;

    /* decode shapes: every K × rows × weight kind × activation kind, gemv
     * and gemm(n_tok = 1), placements rotating */
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
        for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++)
            for (int wk = 0; wk < W_KINDS; wk++)
                for (int ak = 0; ak < A_KINDS; ak++, cases++) {
                    i2s_case c = {Ks[ki],     rows[ri],   1,
                                  (w_kind)wk, (a_kind)ak, (int)(seed % N_PLACES),
                                  0,          0,          seed};
                    seed++;
                    run_i2s_case(k, &c, true);
                }

    /* prefill shapes: tokens × rows × K with strides and placements; the
     * big ones only with random data to keep the run short */
    for (size_t ti = 0; ti < sizeof toks / sizeof toks[0]; ti++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
            for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
                const bool big = toks[ti] * Ks[ki] * rows[ri] > 8 * 1000 * 1000;
                const int n_w = big ? 1 : W_KINDS, n_a = big ? 1 : 2;
                for (int wk = 0; wk < n_w; wk++)
                    for (int ak = 0; ak < n_a; ak++, cases++) {
                        const a_kind a = ak == 0 ? A_RANDOM : A_ALTERNATE;
                        i2s_case c = {Ks[ki],
                                      rows[ri],
                                      toks[ti],
                                      (w_kind)wk,
                                      a,
                                      (int)(seed % N_PLACES),
                                      (int)(seed % 3) * 7,
                                      (int)(seed % 2) * 3,
                                      seed};
                        seed++;
                        run_i2s_case(k, &c, toks[ti] <= 5);
                    }
            }

    /* worst cases for the sums: code 2 everywhere × -128 everywhere (and
     * the unused code 3 × -128) at the largest K, every tile shape */
    for (int64_t r = 1; r <= 9; r++)
        for (int64_t t = 1; t <= 9; t++)
            for (int wk = W_ALL2; wk <= W_ALL3; wk++, cases++) {
                i2s_case c = {6912, r, t, (w_kind)wk, A_MIN, (int)(r + t) % N_PLACES, 0, 0, seed++};
                run_i2s_case(k, &c, true);
            }
    /* the same at AMX tiles: one strip and a short one; a short token tile,
     * a whole one, a whole one and a short one, a pair and a left-over */
    static const int64_t amx_toks[] = {8, 16, 24, 33};
    for (int64_t r = 16; r <= 17; r++)
        for (size_t ti = 0; ti < sizeof amx_toks / sizeof amx_toks[0]; ti++)
            for (int wk = W_ALL2; wk <= W_ALL3; wk++, cases++) {
                const int64_t t = amx_toks[ti];
                i2s_case c = {6912, r, t, (w_kind)wk, A_MIN, (int)(r + t) % N_PLACES, 0, 0, seed++};
                run_i2s_case(k, &c, false);
            }
    /* large K for one token: the WebAssembly decode path splits the
     * activations once per call up to K = 32768 and takes the general tile
     * beyond (kernels_wasm.c, DEC_MAX_K); its in-place planes sum 4·code·q,
     * so the extremes (code 3 × -128 and × 127, every byte value) at both
     * sides of that bound, odd and even row counts */
    static const int64_t long_K[] = {16384, 32768, 32896};
    static const int64_t long_rows[] = {1, 2, 3, 5};
    static const w_kind long_w[] = {W_ALL3, W_ANY_BYTE, W_RANDOM};
    static const a_kind long_a[] = {A_MIN, A_MAX, A_RANDOM};
    for (size_t ki = 0; ki < sizeof long_K / sizeof long_K[0]; ki++)
        for (size_t ri = 0; ri < sizeof long_rows / sizeof long_rows[0]; ri++)
            for (size_t wi = 0; wi < 3; wi++, cases++) {
                i2s_case c = {long_K[ki], long_rows[ri],
                              1,          long_w[wi],
                              long_a[wi], (int)(ki + ri) % N_PLACES,
                              0,          0,
                              seed++};
                run_i2s_case(k, &c, true);
            }
    printf("  %-7s i2s gemv/gemm %d cases %s\n", k->isa, cases,
           test_failures == failures_before ? "ok" : "FAIL");
}

/* ------------------------------------------------------------------------ */
/* Float dot products                                                        */
/* ------------------------------------------------------------------------ */

#define DOT_REL_TOL 1e-5

static bool close_enough(float got, float want, double abs_sum) {
    double tol = DOT_REL_TOL * abs_sum + 1e-30;
    return fabs((double)got - (double)want) <= tol;
}

static void test_dots(const bn_kernels *k) {
    int failures_before = test_failures;
    int64_t sizes[80];
    int n_sizes = 0;
    for (int64_t n = 0; n <= 70; n++) sizes[n_sizes++] = n;
    static const int64_t big[] = {127, 128, 129, 255, 256, 257, 1000, 2560, 4097};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) sizes[n_sizes++] = big[i];

    for (int si = 0; si < n_sizes; si++) {
        const int64_t n = sizes[si];
        for (int place = 0; place < N_PLACES; place++) {
            guarded ga16 = guarded_alloc((size_t)n * 2, place_for(place, 2));
            guarded gb16 = guarded_alloc((size_t)n * 2, place_for((place + 1) % N_PLACES, 2));
            guarded ga32 = guarded_alloc((size_t)n * 4, place_for((place + 2) % N_PLACES, 4));
            guarded gb32 = guarded_alloc((size_t)n * 4, place_for(place, 4));
            uint16_t *a16 = ga16.ptr, *b16 = gb16.ptr;
            float *a32 = ga32.ptr, *b32 = gb32.ptr;
            rng_seed(5000 + (uint64_t)(si * 8 + place));
            for (int64_t i = 0; i < n; i++) {
                a16[i] = bn_f32_to_f16(rng_float(-4.0f, 4.0f));
                b16[i] = bn_f32_to_f16(rng_float(-4.0f, 4.0f));
                a32[i] = rng_float(-4.0f, 4.0f);
                b32[i] = rng_float(-4.0f, 4.0f);
            }
            double s16 = 0, s1632 = 0, s32 = 0;
            for (int64_t i = 0; i < n; i++) {
                s16 += fabs((double)bn_f16_to_f32(a16[i]) * bn_f16_to_f32(b16[i]));
                s1632 += fabs((double)bn_f16_to_f32(a16[i]) * b32[i]);
                s32 += fabs((double)a32[i] * b32[i]);
            }
            SET_CURRENT("%s float dots n=%lld place=%d", k->isa, (long long)n, place);
            float r, g;
            r = bn_dot_f16_ref(a16, b16, n);
            g = k->dot_f16(a16, b16, n);
            CHECKF(close_enough(g, r, s16), "%s dot_f16 n=%lld place=%d: %.9g vs %.9g", k->isa,
                   (long long)n, place, (double)g, (double)r);
            r = bn_dot_f16_f32_ref(a16, b32, n);
            g = k->dot_f16_f32(a16, b32, n);
            CHECKF(close_enough(g, r, s1632), "%s dot_f16_f32 n=%lld place=%d: %.9g vs %.9g",
                   k->isa, (long long)n, place, (double)g, (double)r);
            r = bn_dot_f32_ref(a32, b32, n);
            g = k->dot_f32(a32, b32, n);
            CHECKF(close_enough(g, r, s32), "%s dot_f32 n=%lld place=%d: %.9g vs %.9g", k->isa,
                   (long long)n, place, (double)g, (double)r);
            guarded_free(&ga16);
            guarded_free(&gb16);
            guarded_free(&ga32);
            guarded_free(&gb32);
        }
    }
    /* Exactly representable case: small integers, any order sums exactly. */
    {
        enum { N = 301 };
        uint16_t a[N], b[N];
        float fa[N], fb[N];
        float want = 0;
        for (int i = 0; i < N; i++) {
            fa[i] = (float)(i % 7 - 3);
            fb[i] = (float)(i % 5 - 2);
            a[i] = bn_f32_to_f16(fa[i]);
            b[i] = bn_f32_to_f16(fb[i]);
            want += fa[i] * fb[i];
        }
        CHECK(k->dot_f16(a, b, N) == want);
        CHECK(k->dot_f16_f32(a, fb, N) == want);
        CHECK(k->dot_f32(fa, fb, N) == want);
    }
    printf("  %-7s float dots    %s (tolerance %g of sum |a*b|)\n", k->isa,
           test_failures == failures_before ? "ok" : "FAIL", DOT_REL_TOL);
}

/* dot_f16_f32_block (where the table has one): every (row, vector) result
 * has the bits of the same table's dot_f16_f32, for 1-4 rows × 1-4 vectors,
 * strided rows, vectors and outputs, lengths around the 16- and 64-value
 * steps. */
static void test_dot_block(const bn_kernels *k) {
    if (!k->dot_f16_f32_block) {
        printf("  %-7s dot block     none in this table (the engine uses dot multi)\n", k->isa);
        return;
    }
    int failures_before = test_failures, cases = 0;
    static const int64_t sizes[] = {1, 15, 16, 17, 47, 63, 64, 65, 80, 127, 129, 1536, 2561};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int n_rows = 1; n_rows <= 4; n_rows++)
            for (int n_x = 1; n_x <= 4; n_x++, cases++) {
                const int64_t n = sizes[si], as = n + (n_rows % 2) * 3, xs = n + (n_x % 3) * 5;
                const int64_t os = n_rows + n_x % 2;
                const int place = (int)(si + (size_t)n_x + (size_t)n_rows) % N_PLACES;
                guarded ga =
                    guarded_alloc((size_t)((n_rows - 1) * as + n) * 2, place_for(place, 2));
                guarded gx = guarded_alloc((size_t)((n_x - 1) * xs + n) * 4, place_for(place, 4));
                uint16_t *a = ga.ptr;
                float *x = gx.ptr, got[4 * 5];
                rng_seed(9500 + (uint64_t)cases);
                for (int64_t i = 0; i < (n_rows - 1) * as + n; i++)
                    a[i] = bn_f32_to_f16(rng_float(-4.0f, 4.0f));
                for (int64_t i = 0; i < (n_x - 1) * xs + n; i++) x[i] = rng_float(-4.0f, 4.0f);
                for (int i = 0; i < 4 * 5; i++) got[i] = -1.0f;
                k->dot_f16_f32_block(a, as, n_rows, x, xs, n_x, n, got, os);
                for (int t = 0; t < n_x; t++)
                    for (int r = 0; r < n_rows; r++) {
                        const float want = k->dot_f16_f32(a + r * as, x + t * xs, n);
                        CHECKF(memcmp(&got[t * os + r], &want, sizeof want) == 0,
                               "%s dot_f16_f32_block n=%lld rows=%d n_x=%d (%d,%d): %.9g, not "
                               "the bits of dot_f16_f32 %.9g",
                               k->isa, (long long)n, n_rows, n_x, r, t, (double)got[t * os + r],
                               (double)want);
                    }
                guarded_free(&ga);
                guarded_free(&gx);
            }
    printf("  %-7s dot block     %d cases %s\n", k->isa, cases,
           test_failures == failures_before ? "ok" : "FAIL");
}

/* dot_f16_f32_multi: every vector's result has the bits of the same table's
 * dot_f16_f32 (a batched sequence must get the logits it gets alone), for
 * 1-9 vectors (whole groups of four and every remainder), strided. */
static void test_dot_multi(const bn_kernels *k) {
    int failures_before = test_failures, cases = 0;
    static const int64_t sizes[] = {1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1536, 2561};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int n_x = 1; n_x <= 9; n_x++, cases++) {
            const int64_t n = sizes[si], stride = n + (n_x % 3) * 5;
            const int place = (int)(si + (size_t)n_x) % N_PLACES;
            guarded ga = guarded_alloc((size_t)n * 2, place_for(place, 2));
            guarded gx = guarded_alloc((size_t)((n_x - 1) * stride + n) * 4, place_for(place, 4));
            uint16_t *a = ga.ptr;
            float *x = gx.ptr, got[9], want[9];
            rng_seed(9000 + (uint64_t)cases);
            for (int64_t i = 0; i < n; i++) a[i] = bn_f32_to_f16(rng_float(-4.0f, 4.0f));
            for (int64_t i = 0; i < (n_x - 1) * stride + n; i++) x[i] = rng_float(-4.0f, 4.0f);
            k->dot_f16_f32_multi(a, x, stride, n_x, n, got);
            for (int t = 0; t < n_x; t++) want[t] = k->dot_f16_f32(a, x + t * stride, n);
            CHECKF(memcmp(got, want, (size_t)n_x * sizeof(float)) == 0,
                   "%s dot_f16_f32_multi n=%lld n_x=%d: not the bits of dot_f16_f32", k->isa,
                   (long long)n, n_x);
            guarded_free(&ga);
            guarded_free(&gx);
        }
    printf("  %-7s dot multi     %d cases %s\n", k->isa, cases,
           test_failures == failures_before ? "ok" : "FAIL");
}

/* The F32 copy of an F16 output head (engine/model/context.c, head_f32,
 * made by the WebAssembly build): dot_f32 over the exactly widened row must
 * have the bits of dot_f16_f32 over the halves, so the logits do not change
 * with the copy. Checked on the tables that build has (ref, wasm); random
 * halves of every kind (normal, subnormal, zero, both signs) at lengths
 * around the kernels' 4- and 16-value steps and the head's 1536/2560. */
static void test_head_f32(const bn_kernels *k) {
    int failures_before = test_failures, cases = 0;
    static const int64_t sizes[] = {1,  3,  4,  5,   12,  15,   16,   17,  20,
                                    31, 33, 63, 100, 128, 1536, 2560, 2561};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int rep = 0; rep < 8; rep++, cases++) {
            const int64_t n = sizes[si];
            const int place = (int)(si + (size_t)rep) % N_PLACES;
            guarded ga = guarded_alloc((size_t)n * 2, place_for(place, 2));
            guarded gw = guarded_alloc((size_t)n * 4, place_for(place, 4));
            guarded gx = guarded_alloc((size_t)n * 4, place_for(place, 4));
            uint16_t *a = ga.ptr;
            float *wf = gw.ptr, *x = gx.ptr;
            rng_seed(9500 + (uint64_t)cases);
            for (int64_t i = 0; i < n; i++) {
                /* every finite half: exponent field 0..30, any mantissa and sign */
                uint16_t h = (uint16_t)(rng_next() & 0xffff);
                if ((h & 0x7c00) == 0x7c00) h &= (uint16_t)~0x4000;
                a[i] = h;
                wf[i] = bn_f16_to_f32(h);
                x[i] = rng_float(-4.0f, 4.0f);
            }
            const float want = k->dot_f16_f32(a, x, n), got = k->dot_f32(wf, x, n);
            CHECKF(memcmp(&got, &want, sizeof got) == 0,
                   "%s head_f32 n=%lld: dot_f32 of the widened row %.9g, dot_f16_f32 %.9g", k->isa,
                   (long long)n, got, want);
            guarded_free(&ga);
            guarded_free(&gw);
            guarded_free(&gx);
        }
    printf("  %-7s head f32 copy %d cases %s\n", k->isa, cases,
           test_failures == failures_before ? "ok" : "FAIL");
}

/* attn_scores_f16 / attn_values_f16: the bits of the reference (one fmaf
 * chain per output) for 1-4 query rows, odd head sizes and key counts,
 * strided cache rows ending at a guard page, per-row key counts that
 * differ (causal blocks) and outputs that continue a chain. */
static void test_attn(const bn_kernels *k) {
    int failures_before = test_failures, cases = 0;
    static const int hds[] = {1, 5, 8, 16, 17, 33, 64, 96, 128};
    static const int keys[] = {1, 3, 8, 15, 16, 17, 31, 33, 47, 64, 65, 130};
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
        for (size_t ki = 0; ki < sizeof keys / sizeof keys[0]; ki++)
            for (int n_q = 1; n_q <= BN_ATT_ROWS; n_q++, cases++) {
                const int hd = hds[hi], n = keys[ki];
                const int64_t ks = n + (n_q % 2) * 3, vs = hd + (n_q / 2) * 5;
                const int place = (int)(hi + ki + (size_t)n_q) % N_PLACES;
                rng_seed(9700 + (uint64_t)cases);
                const size_t kt_len = (size_t)((hd - 1) * ks + n),
                             v_len = (size_t)((n - 1) * vs + hd);
                guarded gk = guarded_alloc(kt_len * 2, place_for(place, 2));
                guarded gv = guarded_alloc(v_len * 2, place_for(place, 2));
                guarded gs = guarded_alloc((size_t)n_q * (size_t)n * 4, 0);
                guarded go = guarded_alloc((size_t)n_q * (size_t)hd * 4, 0);
                uint16_t *kt = gk.ptr, *v = gv.ptr;
                for (size_t i = 0; i < kt_len; i++) kt[i] = bn_f32_to_f16(rng_float(-4.0f, 4.0f));
                for (size_t i = 0; i < v_len; i++) v[i] = bn_f32_to_f16(rng_float(-4.0f, 4.0f));
                float qbuf[BN_ATT_ROWS][128], pbuf[BN_ATT_ROWS][130], want_o[BN_ATT_ROWS][128];
                float want_s[BN_ATT_ROWS][130];
                const float *qr[BN_ATT_ROWS], *pr[BN_ATT_ROWS];
                float *sr[BN_ATT_ROWS], *orow[BN_ATT_ROWS], *ws[BN_ATT_ROWS], *wo[BN_ATT_ROWS];
                int n_keys[BN_ATT_ROWS];
                /* every other case with F16-rounded operands (compat's rounded
                 * Q): many products and sums are then exact in double and
                 * land on float midpoints as exact ties (kernels_wasm.c,
                 * fma_attn) */
                const bool f16_ops = cases % 2 == 1;
                for (int r = 0; r < n_q; r++) {
                    for (int d = 0; d < hd; d++) {
                        qbuf[r][d] = rng_float(-2.0f, 2.0f);
                        if (f16_ops) qbuf[r][d] = bn_round_f16(qbuf[r][d]);
                    }
                    for (int j = 0; j < n; j++) {
                        pbuf[r][j] = rng_float(0.0f, 1.0f);
                        if (f16_ops) pbuf[r][j] = bn_round_f16(pbuf[r][j]);
                    }
                    qr[r] = qbuf[r];
                    pr[r] = pbuf[r];
                    sr[r] = (float *)gs.ptr + r * n;
                    orow[r] = (float *)go.ptr + r * hd;
                    ws[r] = want_s[r];
                    wo[r] = want_o[r];
                    n_keys[r] = r == 0 ? n : (int)(rng_next() % (uint64_t)(n + 1));
                    for (int d = 0; d < hd; d++) orow[r][d] = wo[r][d] = rng_float(-1.0f, 1.0f);
                }
                k->attn_scores_f16(kt, ks, n, hd, qr, n_q, sr);
                bn_attn_scores_f16_ref(kt, ks, n, hd, qr, n_q, ws);
                k->attn_values_f16(v, vs, hd, n_keys, pr, n_q, orow);
                bn_attn_values_f16_ref(v, vs, hd, n_keys, pr, n_q, wo);
                for (int r = 0; r < n_q; r++) {
                    CHECKF(
                        memcmp(sr[r], ws[r], (size_t)n * 4) == 0,
                        "%s attn_scores_f16 hd=%d keys=%d rows=%d: row %d not the reference's bits",
                        k->isa, hd, n, n_q, r);
                    CHECKF(memcmp(orow[r], wo[r], (size_t)hd * 4) == 0,
                           "%s attn_values_f16 hd=%d keys=%d (row: %d) rows=%d: row %d not the "
                           "reference's bits",
                           k->isa, hd, n, n_keys[r], n_q, r);
                }
                guarded_free(&gk);
                guarded_free(&gv);
                guarded_free(&gs);
                guarded_free(&go);
            }
    printf("  %-7s attention     %d cases %s\n", k->isa, cases,
           test_failures == failures_before ? "ok" : "FAIL");
}

/* ------------------------------------------------------------------------ */
/* softmax (exp_poly.h) and Q's F16 rounding                                */
/* ------------------------------------------------------------------------ */

/* The reference exponential itself against double exp: within 2 ulp over
 * the normal range, and its edges. */
static void test_exp_reference(void) {
    double worst = 0.0;
    for (int i = 0; i <= 200000; i++) {
        const float x = BN_EXP_LO + (BN_EXP_HI - BN_EXP_LO) * (float)i / 200000.0f;
        const double want = exp((double)x);
        const double ulp = ldexp(1.0, ilogb(want) - 23);
        const double err = fabs((double)bn_exp_poly(x) - want) / ulp;
        if (err > worst) worst = err;
    }
    CHECKF(worst <= 2.0, "bn_exp_poly: %.2f ulp from exp", worst);
    CHECK(bn_exp_poly(0.0f) == 1.0f && bn_exp_poly(-0.0f) == 1.0f);
    CHECK(bn_exp_poly(-INFINITY) == 0.0f && bn_exp_poly(-100.0f) == 0.0f);
    CHECK(bn_exp_poly(INFINITY) == INFINITY && bn_exp_poly(89.0f) == INFINITY);
    CHECK(isnan(bn_exp_poly(NAN)));
    float one = 3.0f;
    bn_softmax_f32_ref(&one, 1, 0.5f);
    CHECK(one == 1.0f);
    float g[3] = {0.0f, 1.0f, -200.0f}, u[3] = {2.0f, 2.0f, 2.0f};
    bn_silu_mul_ref(g, u, 3); /* silu(1) = 1/(1+e^-1); silu(-200) = -0 */
    CHECK(g[0] == 0.0f && fabsf(g[1] - 2.0f * 0.7310586f) < 1e-6f && g[2] == 0.0f);
    printf("  ref     exp_poly      %.2f ulp at most\n", worst);
}

static void test_softmax(const bn_kernels *k) {
    int failures_before = test_failures, cases = 0;
    static const int lens[] = {1,  2,  3,  7,  8,  9,   15,  16,  17,  23,  31,  32,
                               33, 47, 63, 64, 65, 100, 127, 128, 129, 511, 513, 1031};
    static const float spreads[] = {0.5f, 8.0f, 300.0f}; /* the last underflows some exps */
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (size_t si = 0; si < sizeof spreads / sizeof spreads[0]; si++, cases++) {
            const int n = lens[li];
            rng_seed(5100 + (uint64_t)cases);
            guarded g = guarded_alloc((size_t)n * 4, place_for(cases % N_PLACES, 4));
            float *x = g.ptr, want[1031];
            for (int i = 0; i < n; i++) x[i] = want[i] = rng_float(-spreads[si], spreads[si]);
            const float scale = 1.0f / sqrtf((float)(16 + cases % 113));
            k->softmax_f32(x, n, scale);
            bn_softmax_f32_ref(want, n, scale);
            CHECKF(memcmp(x, want, (size_t)n * 4) == 0,
                   "%s softmax_f32 n=%d spread=%g: not the reference's bits", k->isa, n,
                   (double)spreads[si]);
            double sum = 0.0;
            for (int i = 0; i < n; i++) sum += x[i];
            CHECKF(fabs(sum - 1.0) < 1e-5, "%s softmax_f32 n=%d: sums to %.9f", k->isa, n, sum);
            guarded_free(&g);
        }
    /* F16 rounding: random magnitudes, subnormal halves, overflow, specials */
    enum { NR = 203 };
    guarded gx = guarded_alloc(NR * 4, 4), gy = guarded_alloc(NR * 4, 0);
    float *x = gx.ptr, *y = gy.ptr, want[NR];
    rng_seed(5300);
    for (int i = 0; i < NR; i++)
        x[i] = rng_float(-1.0f, 1.0f) * ldexpf(1.0f, (int)(rng_next() % 60) - 30);
    x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 65520.0f, x[4] = 6e-8f, x[5] = -0.0f;
    k->f32_round_f16(x, y, NR);
    bn_f32_round_f16_ref(x, want, NR);
    CHECKF(memcmp(y, want, NR * 4) == 0, "%s f32_round_f16: not the reference's bits", k->isa);
    guarded_free(&gx);
    guarded_free(&gy);
    /* the FFN activations: lengths around the vector widths, gates wide
     * enough that exp(-g) overflows and underflows, and NaN, ±inf, ±0 */
    enum { NA = 77 };
    guarded gg = guarded_alloc(NA * 4, 4), gu = guarded_alloc(NA * 4, 8);
    float *g = gg.ptr, *u = gu.ptr, orig[NA], want_g[NA];
    for (int n = 1; n <= NA; n += (n < 20 ? 1 : 19)) {
        for (int op = 0; op < 2; op++) {
            rng_seed(5400 + (uint64_t)(n * 2 + op));
            for (int i = 0; i < n; i++) {
                orig[i] = rng_float(-120.0f, 120.0f) * (rng_next() % 2 ? 1.0f : 0.05f);
                u[i] = rng_float(-3.0f, 3.0f);
            }
            if (n > 6) orig[0] = NAN, orig[1] = INFINITY, orig[2] = -INFINITY, orig[3] = -0.0f;
            memcpy(g, orig, (size_t)n * 4);
            memcpy(want_g, orig, (size_t)n * 4);
            (op ? k->relu2_mul : k->silu_mul)(g, u, n);
            (op ? bn_relu2_mul_ref : bn_silu_mul_ref)(want_g, u, n);
            bool same = true;
            for (int i = 0; i < n; i++)
                same = same &&
                       (memcmp(&g[i], &want_g[i], 4) == 0 || (isnan(g[i]) && isnan(want_g[i])));
            CHECKF(same, "%s %s n=%d: not the reference's bits", k->isa,
                   op ? "relu2_mul" : "silu_mul", n);
            cases++;
        }
    }
    guarded_free(&gg);
    guarded_free(&gu);
    /* SiLU over many gates (the WebAssembly table emulates each fmaf of
     * exp_poly in double and must find every sum whose double rounding
     * could differ, kernels_wasm.c fma_exact): 2^20 gates of the usual
     * range, small ones down to float's subnormals, and exact zeros */
    {
        enum { NB = 1 << 20 };
        float *bg = malloc(NB * sizeof(float)), *bu = malloc(NB * sizeof(float));
        float *bw = malloc(NB * sizeof(float));
        rng_seed(5450);
        for (int i = 0; i < NB; i++) {
            const int kind = (int)(rng_next() % 8);
            bg[i] = kind == 0   ? rng_float(-1.0f, 1.0f) * ldexpf(1.0f, -(int)(rng_next() % 140))
                    : kind == 1 ? (float)((int)(rng_next() % 9) - 4)
                                : rng_float(-16.0f, 16.0f);
            bu[i] = rng_float(-3.0f, 3.0f);
        }
        memcpy(bw, bg, NB * sizeof(float));
        k->silu_mul(bg, bu, NB);
        bn_silu_mul_ref(bw, bu, NB);
        int64_t diff = 0;
        for (int i = 0; i < NB; i++) diff += memcmp(&bg[i], &bw[i], 4) != 0;
        CHECKF(diff == 0, "%s silu_mul over %d gates: %lld differ from the reference", k->isa,
               (int)NB, (long long)diff);
        cases++;
        free(bg);
        free(bu);
        free(bw);
    }
    printf("  %-7s softmax, ffn  %d cases %s\n", k->isa, cases,
           test_failures == failures_before ? "ok" : "FAIL");
}

static void test_rmsnorm(const bn_kernels *k) {
    int failures_before = test_failures, cases = 0;
    /* RMSNorm, out of place and in place, lengths around the widths */
    for (int n = 1; n <= 2600; n += (n < 40 ? 1 : 797)) {
        guarded gx = guarded_alloc((size_t)n * 4, 4), gw = guarded_alloc((size_t)n * 4, 0);
        guarded gy = guarded_alloc((size_t)n * 4, 8);
        float *x = gx.ptr, *w = gw.ptr, *y = gy.ptr;
        rng_seed(5500 + (uint64_t)n);
        for (int i = 0; i < n; i++) {
            x[i] = rng_float(-4.0f, 4.0f) * (rng_next() % 8 ? 1.0f : 1e3f);
            w[i] = rng_float(0.5f, 2.0f);
        }
        float *want = malloc((size_t)n * 4), *inplace = malloc((size_t)n * 4);
        bn_rmsnorm_ref(want, x, w, n, 1e-5f);
        k->rmsnorm(y, x, w, n, 1e-5f);
        memcpy(inplace, x, (size_t)n * 4);
        k->rmsnorm(inplace, inplace, w, n, 1e-5f);
        CHECKF(memcmp(y, want, (size_t)n * 4) == 0 && memcmp(inplace, want, (size_t)n * 4) == 0,
               "%s rmsnorm n=%d: not the reference's bits", k->isa, n);
        free(want);
        free(inplace);
        guarded_free(&gx);
        guarded_free(&gw);
        guarded_free(&gy);
        cases++;
    }
    printf("  %-7s rmsnorm       %d cases %s\n", k->isa, cases,
           test_failures == failures_before ? "ok" : "FAIL");
}

/* ------------------------------------------------------------------------ */
/* u8 × int8 (the optional 8-bit output head)                               */
/* ------------------------------------------------------------------------ */

/* A hand-computed case for the reference itself: 255·127 + 0·(-128) + 1·(-1). */
static void test_u8_reference(void) {
    const uint8_t w[3] = {255, 0, 1};
    const int8_t q[3] = {127, -128, -1};
    int32_t out = 0;
    bn_u8_gemv_ref(w, 3, 1, q, &out);
    CHECK(out == 255 * 127 - 1);
}

static void test_u8(const bn_kernels *k) {
    /* odd K (tails of every length mod 64 and mod 16), row counts around the
     * 4-row tile, and the largest K the contract allows with the extreme
     * values (the int32 sums' worst case) */
    static const int64_t Ks[] = {1, 15, 16, 17, 63, 64, 65, 127, 200, 1536, 2560};
    static const int64_t rows[] = {1, 2, 3, 4, 5, 7, 9, 33};
    int failures_before = test_failures, cases = 0;
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
        for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
            for (int kind = 0; kind < 4; kind++) {
                const int64_t K = Ks[ki], R = rows[ri];
                const int place = (int)((ki + ri + (size_t)kind) % 4);
                guarded gw = guarded_alloc((size_t)(K * R), place_for(place, 1));
                guarded gq = guarded_alloc((size_t)K, place_for(place, 1));
                guarded go = guarded_alloc((size_t)R * sizeof(int32_t), place_for(place, 4));
                uint8_t *w = gw.ptr;
                int8_t *q = gq.ptr;
                int32_t *out = go.ptr, *want = malloc((size_t)R * sizeof(int32_t));
                rng_seed((uint64_t)(K * 131 + R * 7 + kind));
                for (int64_t i = 0; i < K * R; i++)
                    w[i] = kind == 0 ? (uint8_t)rng_next() : kind == 1 ? 255 : kind == 2 ? 0 : (i & 1) ? 255 : 0;
                for (int64_t i = 0; i < K; i++)
                    q[i] = kind == 0 ? (int8_t)(rng_next() & 0xff) : kind == 1 ? -128 : kind == 2 ? 127 : (i & 1) ? -128 : 127;
                SET_CURRENT("%s u8_gemv K=%lld rows=%lld kind=%d place=%d", k->isa, (long long)K,
                            (long long)R, kind, place);
                bn_u8_gemv_ref(w, K, R, q, want);
                k->u8_gemv(w, K, R, q, out);
                CHECKF(memcmp(out, want, (size_t)R * sizeof(int32_t)) == 0,
                       "%s u8_gemv K=%lld rows=%lld kind=%d place=%d", k->isa, (long long)K,
                       (long long)R, kind, place);
                cases++;
                free(want);
                guarded_free(&gw);
                guarded_free(&gq);
                guarded_free(&go);
            }
        }
    }
    {
        /* K = 65536 (the contract's bound), all 255 × -128: the most negative sum */
        const int64_t K = 65536, R = 5;
        uint8_t *w = malloc((size_t)(K * R));
        int8_t *q = malloc((size_t)K);
        int32_t out[5], want[5];
        memset(w, 255, (size_t)(K * R));
        memset(q, 0x80, (size_t)K);
        SET_CURRENT("%s u8_gemv K=65536 extremes", k->isa);
        bn_u8_gemv_ref(w, K, R, q, want);
        k->u8_gemv(w, K, R, q, out);
        CHECK(want[0] == -255 * 128 * 65536);
        CHECKF(memcmp(out, want, sizeof out) == 0, "%s u8_gemv K=65536 extremes", k->isa);
        cases++;
        free(w);
        free(q);
    }
    printf("  %-7s u8 gemv       %s (%d cases)\n", k->isa,
           test_failures == failures_before ? "ok" : "FAIL", cases);
}

/* ------------------------------------------------------------------------ */

/* f32_to_f16: the bits of the reference for ordinary values, ties, halfway
 * cases, subnormals, overflow, infinities and NaNs, at every length and
 * placement (tails, guard pages). */
static void test_f32_to_f16(const bn_kernels *k) {
    const int failures_before = test_failures;
    static const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65520.0f, 1e9f, -1e9f,
                                     6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f, 1e-10f,
                                     1.00048828125f, 1.000732421875f, INFINITY, -INFINITY, NAN};
    const int64_t lengths[] = {1, 7, 8, 9, 31, 64, 133};
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int64_t n = lengths[li];
        for (int pl = 0; pl < N_PLACES; pl++) {
            guarded gx = guarded_alloc((size_t)n * sizeof(float), place_for(pl, sizeof(float)));
            guarded gy = guarded_alloc((size_t)n * sizeof(uint16_t), place_for(pl, sizeof(uint16_t)));
            float *x = gx.ptr;
            uint16_t *y = gy.ptr, ref[256];
            for (int64_t i = 0; i < n; i++)
                x[i] = i % 3 == 0 ? specials[(size_t)i % (sizeof specials / sizeof specials[0])]
                                  : rng_float(-70000.0f, 70000.0f) * (i % 2 ? 1e-6f : 1.0f);
            SET_CURRENT("%s f32_to_f16 n=%lld place=%d", k->isa, (long long)n, pl);
            bn_f32_to_f16_ref(x, ref, n);
            k->f32_to_f16(x, y, n);
            CHECKF(memcmp(ref, y, (size_t)n * sizeof(uint16_t)) == 0, "%s f32_to_f16 n=%lld place=%d",
                   k->isa, (long long)n, pl);
            guarded_free(&gx);
            guarded_free(&gy);
        }
    }
    printf("  %-7s f32_to_f16   %s\n", k->isa, test_failures == failures_before ? "ok" : "FAIL");
}

/* scale_i32: the bits of the reference for raw sums over the whole int24
 * range, odd scales and every length and placement. */
static void test_scale_i32(const bn_kernels *k) {
    const int failures_before = test_failures;
    const int64_t lengths[] = {1, 3, 8, 15, 16, 17, 33, 130};
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int64_t n = lengths[li];
        for (int pl = 0; pl < N_PLACES; pl++) {
            guarded gr = guarded_alloc((size_t)n * sizeof(int32_t), place_for(pl, sizeof(int32_t)));
            guarded gy = guarded_alloc((size_t)n * sizeof(float), place_for(pl, sizeof(float)));
            int32_t *raw = gr.ptr;
            float *y = gy.ptr, ref[256];
            for (int64_t i = 0; i < n; i++)
                raw[i] = (int32_t)(rng_float(-16777215.0f, 16777215.0f)) >> (i % 4 ? 8 : 0);
            const float sum_q = (float)(int32_t)rng_float(-40000.0f, 40000.0f);
            const float s_x = rng_float(0.5f, 200.0f), s_w = rng_float(1e-3f, 3.0f);
            SET_CURRENT("%s scale_i32 n=%lld place=%d", k->isa, (long long)n, pl);
            bn_scale_i32_ref(raw, n, sum_q, s_x, s_w, ref);
            k->scale_i32(raw, n, sum_q, s_x, s_w, y);
            CHECKF(memcmp(ref, y, (size_t)n * sizeof(float)) == 0, "%s scale_i32 n=%lld place=%d",
                   k->isa, (long long)n, pl);
            guarded_free(&gr);
            guarded_free(&gy);
        }
    }
    printf("  %-7s scale_i32    %s\n", k->isa, test_failures == failures_before ? "ok" : "FAIL");
}

/* Every F16 value widened exactly (SIMD conversions: F16C, NEON, and the
 * bit arithmetic of the wasm table): a row with one nonzero entry in the
 * first of 16 lanes against ones gives that value (NaN stays NaN). */
static void test_f16_widen(const bn_kernels *k) {
    int failures_before = test_failures;
    uint16_t a[16] = {0};
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = 1.0f;
    for (uint32_t h = 0; h < 0x10000; h++) {
        a[0] = (uint16_t)h;
        const float want = bn_f16_to_f32((uint16_t)h), got = k->dot_f16_f32(a, x, 16);
        CHECKF(isnan(want) ? isnan(got) : got == want, "%s dot_f16_f32 widening of f16 0x%04x: %.9g, want %.9g",
               k->isa, (unsigned)h, (double)got, (double)want);
        if (test_failures - failures_before > 8) break;
    }
    printf("  %-7s f16 widening %s\n", k->isa, test_failures == failures_before ? "ok" : "FAIL");
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);

    test_reference_layout();
    test_dot_multi(&bn_kernels_ref);
    test_dot_block(&bn_kernels_ref);
    test_head_f32(&bn_kernels_ref);
    test_u8_reference();
    test_exp_reference();
    CHECK(bn_kernels_get("ref") == &bn_kernels_ref);
    CHECK(bn_kernels_get("no-such-isa") == NULL);

    const char *only = test_env("BITNET_TEST_ISA", getenv("BITNET_ISA"));
    static const char *const isas[] = {"avx2", "avx512", "amx", "neon", "wasm"};
    int tested = 0;
    printf("cpu: %s; best isa: %s\n", bn_cpu_features(), bn_isa_best());
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (only && *only && strcmp(only, isas[i]) != 0) continue;
        if (!bn_isa_supported(isas[i])) {
            printf("  %-7s not built or not supported here: skipped\n", isas[i]);
            continue;
        }
        const bn_kernels *k = bn_kernels_get(isas[i]);
        CHECK(k != NULL && strcmp(k->isa, isas[i]) == 0);
        if (!k) continue;
        CHECK(k->quantize_i8 && k->i2s_gemv && k->i2s_gemm && k->u8_gemv && k->scale_i32 &&
              k->f32_to_f16 && k->dot_f16 && k->dot_f16_f32 && k->dot_f32 && k->dot_f16_f32_multi &&
              k->attn_scores_f16 && k->attn_values_f16 && k->softmax_f32 &&
              k->f32_round_f16 && k->silu_mul && k->relu2_mul && k->rmsnorm);
        test_quantize(k);
        test_i2s(k);
        test_dots(k);
        test_f16_widen(k);
        test_dot_multi(k);
        test_dot_block(k);
        if (strcmp(k->isa, "wasm") == 0) test_head_f32(k);
        test_attn(k);
        test_softmax(k);
        test_rmsnorm(k);
        test_u8(k);
        test_f32_to_f16(k);
        test_scale_i32(k);
        tested++;
    }
    printf("%d SIMD table(s) tested\n", tested);
    TEST_END();
}
