/* Kernel micro-benchmark: every kernel of every kernel table this CPU runs,
 * single-threaded, on the BitNet b1.58 2B-4T shapes. Prints markdown tables
 * with the median time per call over the repetitions, the spread
 * ((max - min) / median), throughput and the ratio to the scalar reference.
 *
 *   bench_kernels [--reps N] [--min-ms MS] [--isa NAME]... [--cold] [--quick]
 *                 [--attention]
 *
 * --attention runs only the attention section.
 * --cold adds an I2_S gemv over 512 MiB of weights (decode streams every
 * layer from DRAM; the default shapes stay in L2/L3). Weights are "hot"
 * otherwise: the numbers measure the kernel, not the memory system.
 * The reference gemm is timed only up to 8 tokens (it is n_tok gemv calls;
 * its per-token rate does not change with n_tok). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "f16.h"
#include "kernels.h"
#include "peak/peak.h"

/* ------------------------------------------------------------------------ */
/* Timing                                                                    */
/* ------------------------------------------------------------------------ */

static int g_reps = 5;
static double g_min_s = 0.02;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    double median, spread; /* seconds per call; (max - min) / median */
} timing;

typedef void (*bench_fn)(void *ctx);

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One warm-up call sizes the inner loop so that a repetition lasts about
 * g_min_s; each repetition gives one time per call. */
static timing measure(bench_fn fn, void *ctx) {
    double t0 = now_s();
    fn(ctx);
    double once = now_s() - t0;
    long iters = once > 0 ? (long)(g_min_s / once) : 1000;
    if (iters < 1) iters = 1;
    double times[64];
    int reps = g_reps < 64 ? g_reps : 64;
    for (int r = 0; r < reps; r++) {
        t0 = now_s();
        for (long i = 0; i < iters; i++) fn(ctx);
        times[r] = (now_s() - t0) / (double)iters;
    }
    qsort(times, (size_t)reps, sizeof times[0], cmp_double);
    timing t = {times[reps / 2], 0};
    if (reps % 2 == 0) t.median = 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    t.spread = (times[reps - 1] - times[0]) / t.median;
    return t;
}

/* Keeps results alive so that the compiler cannot drop the calls. */
static volatile float g_sink_f;
static volatile int32_t g_sink_i;

/* ------------------------------------------------------------------------ */
/* Data                                                                      */
/* ------------------------------------------------------------------------ */

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next_u64(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static void *xmalloc(size_t n) {
    /* 64-byte aligned like the engine's tensors */
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static uint8_t *random_i2s(size_t bytes) {
    uint8_t *w = xmalloc(bytes);
    for (size_t i = 0; i < bytes; i++) {
        uint8_t b = 0;
        for (int f = 0; f < 4; f++) b = (uint8_t)(b << 2 | (next_u64() % 3));
        w[i] = b;
    }
    return w;
}

static int8_t *random_i8(size_t n) {
    int8_t *q = xmalloc(n);
    for (size_t i = 0; i < n; i++) q[i] = (int8_t)next_u64();
    return q;
}

static uint16_t *random_f16(size_t n) {
    uint16_t *a = xmalloc(n * 2);
    for (size_t i = 0; i < n; i++)
        a[i] = bn_f32_to_f16((float)((int64_t)(next_u64() % 2001) - 1000) * 1e-3f);
    return a;
}

static float *random_f32(size_t n) {
    float *a = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) a[i] = (float)((int64_t)(next_u64() % 2001) - 1000) * 1e-3f;
    return a;
}

/* ------------------------------------------------------------------------ */
/* Benchmarked calls                                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
    const bn_kernels *k;
    const uint8_t *w;
    int64_t K, rows, n_tok, n_mats; /* n_mats > 1: cycle through copies (cold) */
    int64_t next;
    const int8_t *q;
    int32_t *out;
} i2s_ctx;

static void run_gemv(void *p) {
    i2s_ctx *c = p;
    const uint8_t *w = c->w + c->next * (c->rows * c->K / 4);
    if (c->n_mats > 1) c->next = (c->next + 1) % c->n_mats;
    c->k->i2s_gemv(w, c->K, c->rows, c->q, c->out);
    g_sink_i = c->out[0];
}

static void run_gemm(void *p) {
    i2s_ctx *c = p;
    c->k->i2s_gemm(c->w, c->K, c->rows, c->q, c->K, c->n_tok, c->out, c->rows);
    g_sink_i = c->out[0];
}

typedef enum { DOT_F16, DOT_F16_F32, DOT_F32 } dot_kind;
static const char *const dot_names[] = {"dot_f16", "dot_f16_f32", "dot_f32"};

typedef struct {
    const bn_kernels *k;
    dot_kind kind;
    int64_t rows, n;
    const uint16_t *a16, *x16;
    const float *a32, *x32;
} dot_ctx;

/* An output-head-like pass: one dot per row against the same vector. */
static void run_dots(void *p) {
    dot_ctx *c = p;
    float s = 0;
    for (int64_t r = 0; r < c->rows; r++) {
        switch (c->kind) {
        case DOT_F16: s += c->k->dot_f16(c->a16 + r * c->n, c->x16, c->n); break;
        case DOT_F16_F32: s += c->k->dot_f16_f32(c->a16 + r * c->n, c->x32, c->n); break;
        case DOT_F32: s += c->k->dot_f32(c->a32 + r * c->n, c->x32, c->n); break;
        }
    }
    g_sink_f = s;
}

typedef struct {
    const bn_kernels *k;
    const float *x;
    int64_t n;
    int8_t *q;
} quant_ctx;

static void run_quant(void *p) {
    quant_ctx *c = p;
    float s;
    int32_t sum;
    c->k->quantize_i8(c->x, c->n, c->q, &s, &sum);
    g_sink_i = sum;
}

/* ------------------------------------------------------------------------ */

#define MAX_ISAS 4
static const bn_kernels *g_tables[MAX_ISAS];
static int g_n_tables;

static void print_spread(double spread) { printf(" %4.1f%% |", 100.0 * spread); }

typedef struct {
    int64_t rows, K;
} shape;

static const shape i2s_shapes[] = {{2560, 2560}, {6912, 2560}, {2560, 6912}};

static void bench_gemv(void) {
    printf("\n### I2_S gemv (one token), weights hot in cache\n\n");
    printf("| rows x K | isa | us/call | spread | weight GB/s | GOP/s | vs ref |\n");
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t s = 0; s < sizeof i2s_shapes / sizeof i2s_shapes[0]; s++) {
        const int64_t rows = i2s_shapes[s].rows, K = i2s_shapes[s].K;
        uint8_t *w = random_i2s((size_t)(rows * K / 4));
        int8_t *q = random_i8((size_t)K);
        int32_t *out = xmalloc((size_t)rows * 4);
        double ref_t = 0;
        for (int i = 0; i < g_n_tables; i++) {
            i2s_ctx c = {g_tables[i], w, K, rows, 1, 1, 0, q, out};
            timing t = measure(run_gemv, &c);
            if (strcmp(g_tables[i]->isa, "ref") == 0) ref_t = t.median;
            printf("| %lldx%lld | %s | %.1f |", (long long)rows, (long long)K, g_tables[i]->isa,
                   t.median * 1e6);
            print_spread(t.spread);
            printf(" %.2f | %.1f | %s%.1fx |\n", (double)(rows * K / 4) / t.median * 1e-9,
                   2.0 * (double)(rows * K) / t.median * 1e-9, ref_t > 0 ? "" : "n/a ",
                   ref_t > 0 ? ref_t / t.median : 0.0);
        }
        free(w);
        free(q);
        free(out);
    }
}

static void bench_gemv_cold(void) {
    const int64_t rows = 6912, K = 2560, mat = rows * K / 4;
    const int64_t n_mats = (512LL << 20) / mat;
    printf("\n### I2_S gemv, weights streamed from DRAM (%lld copies of %lldx%lld, %lld MiB)\n\n",
           (long long)n_mats, (long long)rows, (long long)K, (long long)(n_mats * mat >> 20));
    printf("| rows x K | isa | us/call | spread | weight GB/s | GOP/s |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    uint8_t *w = random_i2s((size_t)(n_mats * mat));
    int8_t *q = random_i8((size_t)K);
    int32_t *out = xmalloc((size_t)rows * 4);
    for (int i = 0; i < g_n_tables; i++) {
        i2s_ctx c = {g_tables[i], w, K, rows, 1, n_mats, 0, q, out};
        timing t = measure(run_gemv, &c);
        printf("| %lldx%lld | %s | %.1f |", (long long)rows, (long long)K, g_tables[i]->isa,
               t.median * 1e6);
        print_spread(t.spread);
        printf(" %.2f | %.1f |\n", (double)mat / t.median * 1e-9,
               2.0 * (double)(rows * K) / t.median * 1e-9);
    }
    free(w);
    free(q);
    free(out);
}

/* G multiply-adds/s of each table's int8 instruction (peak.h), 0: none. */
static double g_peak_gmacs[MAX_ISAS];

static void measure_peaks(void) {
    printf("\n### Peak int8 issue rate, one core (register-only loop, best of runs)\n\n");
    printf("| isa | instruction | multiply-adds per instruction | G multiply-adds/s | peak GOP/s "
           "|\n|---|---|---:|---:|---:|\n");
    for (int i = 0; i < g_n_tables; i++) {
        const char *isa = g_tables[i]->isa, *insn = NULL;
        int per = 0;
        if (strcmp(isa, "avx2") == 0) {
            g_peak_gmacs[i] = bn_peak_gmacs_avx2(g_min_s * 5);
            insn = "vpmaddubsw ymm";
            per = 32;
        } else if (strcmp(isa, "avx512") == 0) {
            g_peak_gmacs[i] = bn_peak_gmacs_avx512(g_min_s * 5);
            insn = "vpdpbusd zmm";
            per = 64;
        } else if (strcmp(isa, "amx") == 0) {
            g_peak_gmacs[i] = bn_peak_gmacs_amx(g_min_s * 5);
            insn = "tdpbsud";
            per = 16384;
        }
        if (insn && g_peak_gmacs[i] > 0)
            printf("| %s | %s | %d | %.1f | %.1f |\n", isa, insn, per, g_peak_gmacs[i],
                   2 * g_peak_gmacs[i]);
    }
}

static void bench_gemm(const int64_t *toks, int n_toks) {
    printf("\n### I2_S gemm (prefill), weights hot in cache\n\n");
    printf("(of peak: the gemm's GOP/s over its ISA's peak GOP/s above)\n\n");
    printf("| rows x K | tokens | isa | us/call | spread | GOP/s | of peak | us/token | vs ref | "
           "vs own gemv |\n");
    printf("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t s = 0; s < sizeof i2s_shapes / sizeof i2s_shapes[0]; s++) {
        const int64_t rows = i2s_shapes[s].rows, K = i2s_shapes[s].K;
        int64_t max_tok = 0;
        for (int i = 0; i < n_toks; i++) max_tok = toks[i] > max_tok ? toks[i] : max_tok;
        uint8_t *w = random_i2s((size_t)(rows * K / 4));
        int8_t *q = random_i8((size_t)(K * max_tok));
        int32_t *out = xmalloc((size_t)(rows * max_tok) * 4);
        double ref_per_tok = 0;
        double gemv_t[MAX_ISAS] = {0};
        for (int i = 0; i < g_n_tables; i++) {
            i2s_ctx c = {g_tables[i], w, K, rows, 1, 1, 0, q, out};
            gemv_t[i] = measure(run_gemv, &c).median;
        }
        for (int ti = 0; ti < n_toks; ti++) {
            for (int i = 0; i < g_n_tables; i++) {
                const bool is_ref = strcmp(g_tables[i]->isa, "ref") == 0;
                if (is_ref && toks[ti] > 8) continue;
                i2s_ctx c = {g_tables[i], w, K, rows, toks[ti], 1, 0, q, out};
                timing t = measure(run_gemm, &c);
                const double per_tok = t.median / (double)toks[ti];
                if (is_ref) ref_per_tok = per_tok;
                printf("| %lldx%lld | %lld | %s | %.1f |", (long long)rows, (long long)K,
                       (long long)toks[ti], g_tables[i]->isa, t.median * 1e6);
                print_spread(t.spread);
                const double gops = 2.0 * (double)(rows * K * toks[ti]) / t.median * 1e-9;
                if (g_peak_gmacs[i] > 0)
                    printf(" %.1f | %.0f%% |", gops, 100 * gops / (2 * g_peak_gmacs[i]));
                else
                    printf(" %.1f | - |", gops);
                printf(" %.1f | %.1fx | %.2fx |\n", per_tok * 1e6,
                       ref_per_tok > 0 ? ref_per_tok / per_tok : 0.0, gemv_t[i] / per_tok);
            }
        }
        free(w);
        free(q);
        free(out);
    }
}

static void bench_dots(bool quick) {
    /* rows x n: a 32000-token vocabulary at n = 256 (a small model's head
     * width), and the 2B-4T head (128256 x 2560) with rows cut for time. */
    const shape shapes[] = {{quick ? 4000 : 32000, 256}, {quick ? 2048 : 16384, 2560}};
    printf("\n### Float dot products, one call per row (output-head-like pass)\n\n");
    printf("| kernel | rows x n | isa | ms/pass | spread | GB/s (matrix) | GFLOP/s | vs ref |\n");
    printf("|---|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t rows = shapes[s].rows, n = shapes[s].K;
        uint16_t *a16 = random_f16((size_t)(rows * n)), *x16 = random_f16((size_t)n);
        float *x32 = random_f32((size_t)n);
        float *a32 = random_f32((size_t)(rows * n));
        for (int kind = 0; kind < 3; kind++) {
            double ref_t = 0;
            for (int i = 0; i < g_n_tables; i++) {
                dot_ctx c = {g_tables[i], (dot_kind)kind, rows, n, a16, x16, a32, x32};
                timing t = measure(run_dots, &c);
                if (strcmp(g_tables[i]->isa, "ref") == 0) ref_t = t.median;
                const double bytes = (double)(rows * n) * (kind == DOT_F32 ? 4 : 2);
                printf("| %s | %lldx%lld | %s | %.2f |", dot_names[kind], (long long)rows,
                       (long long)n, g_tables[i]->isa, t.median * 1e3);
                print_spread(t.spread);
                printf(" %.2f | %.2f | %.1fx |\n", bytes / t.median * 1e-9,
                       2.0 * (double)(rows * n) / t.median * 1e-9,
                       ref_t > 0 ? ref_t / t.median : 0.0);
            }
        }
        free(a16);
        free(x16);
        free(x32);
        free(a32);
    }
}

static void bench_quant(void) {
    static const int64_t sizes[] = {2560, 6912};
    printf("\n### quantize_i8 (one token)\n\n");
    printf("| n | isa | ns/call | spread | GB/s (input) | vs ref |\n");
    printf("|---:|---|---:|---:|---:|---:|\n");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        float *x = random_f32((size_t)sizes[s]);
        int8_t *q = xmalloc((size_t)sizes[s]);
        double ref_t = 0;
        for (int i = 0; i < g_n_tables; i++) {
            quant_ctx c = {g_tables[i], x, sizes[s], q};
            timing t = measure(run_quant, &c);
            if (strcmp(g_tables[i]->isa, "ref") == 0) ref_t = t.median;
            printf("| %lld | %s | %.0f |", (long long)sizes[s], g_tables[i]->isa, t.median * 1e9);
            print_spread(t.spread);
            printf(" %.2f | %.1fx |\n", (double)sizes[s] * 4 / t.median * 1e-9,
                   ref_t > 0 ? ref_t / t.median : 0.0);
        }
        free(x);
        free(q);
    }
}

/* Attention over an F16 cache of n_keys cells, BN_ATT_ROWS query rows
 * sharing one KV head (kernels.h attn_*), and its softmax. */
typedef struct {
    const bn_kernels *k;
    int which; /* 0 scores, 1 values, 2 softmax */
    int hd, n_keys;
    int64_t ks;
    const uint16_t *kt, *v;
    const float *const *q;
    float *const *s;
    float *sm; /* [n_keys] softmax input, refreshed from src each call */
    const float *src;
} attn_ctx;

static void run_attn(void *p) {
    attn_ctx *c = p;
    int n_keys[BN_ATT_ROWS];
    for (int r = 0; r < BN_ATT_ROWS; r++) n_keys[r] = c->n_keys;
    if (c->which == 0) {
        c->k->attn_scores_f16(c->kt, c->ks, c->n_keys, c->hd, c->q, BN_ATT_ROWS, c->s);
    } else if (c->which == 1) {
        c->k->attn_values_f16(c->v, c->ks, c->hd, n_keys, (const float *const *)c->s, BN_ATT_ROWS,
                              (float *const *)c->q);
    } else {
        memcpy(c->sm, c->src, (size_t)c->n_keys * sizeof(float));
        c->k->softmax_f32(c->sm, c->n_keys, 0.088f);
    }
    g_sink_f = c->s[0][0];
}

static void bench_attention(void) {
    static const int hds[] = {96, 128}, keys[] = {256, 2048};
    static const char *const names[] = {"attn_scores_f16", "attn_values_f16", "softmax_f32"};
    printf("\n### Attention over the F16 cache, %d query rows per call\n\n", BN_ATT_ROWS);
    printf("(of peak: multiply-adds/s over the measured F32 FMA rate of the table's vector "
           "width; softmax: ns per score)\n\n");
    printf("| kernel | head dim x keys | isa | us/call | spread | G multiply-adds/s | of peak | "
           "vs ref |\n|---|---|---|---:|---:|---:|---:|---:|\n");
    double peak[MAX_ISAS] = {0};
    for (int i = 0; i < g_n_tables; i++) {
        const char *isa = g_tables[i]->isa;
        if (strcmp(isa, "avx2") == 0) peak[i] = bn_peak_gfma_f32(256, g_min_s * 5);
        if (strcmp(isa, "avx512") == 0 || strcmp(isa, "amx") == 0)
            peak[i] = bn_peak_gfma_f32(512, g_min_s * 5);
    }
    for (size_t h = 0; h < sizeof hds / sizeof hds[0]; h++)
        for (size_t kk = 0; kk < sizeof keys / sizeof keys[0]; kk++) {
            const int hd = hds[h], n = keys[kk];
            /* a cache row stride like the engine's: n_ctx + padding */
            const int64_t ks = n + 32 > hd ? n + 32 : hd;
            uint16_t *kt = random_f16((size_t)(hd * ks)), *v = random_f16((size_t)(n * ks));
            float *qb = random_f32((size_t)(BN_ATT_ROWS * hd)),
                  *sb = random_f32(BN_ATT_ROWS * (size_t)n);
            float *src = random_f32((size_t)n), *sm = xmalloc((size_t)n * 4);
            const float *q[BN_ATT_ROWS];
            float *s[BN_ATT_ROWS];
            for (int r = 0; r < BN_ATT_ROWS; r++) {
                q[r] = qb + r * hd;
                s[r] = sb + (size_t)r * (size_t)n;
            }
            for (int w = 0; w < 3; w++) {
                double ref_t = 0;
                for (int i = 0; i < g_n_tables; i++) {
                    attn_ctx c = {g_tables[i], w, hd, n, ks, kt, v, q, s, sm, src};
                    timing t = measure(run_attn, &c);
                    if (strcmp(g_tables[i]->isa, "ref") == 0) ref_t = t.median;
                    printf("| %s | %dx%d | %s | %.2f |", names[w], hd, n, g_tables[i]->isa,
                           t.median * 1e6);
                    print_spread(t.spread);
                    const double macs = (double)BN_ATT_ROWS * hd * n / t.median * 1e-9;
                    if (w == 2)
                        printf(" %.2f ns/score | - |", t.median * 1e9 / n);
                    else if (peak[i] > 0)
                        printf(" %.1f | %.0f%% |", macs, 100 * macs / peak[i]);
                    else
                        printf(" %.1f | - |", macs);
                    printf(" %.1fx |\n", ref_t > 0 ? ref_t / t.median : 0.0);
                }
            }
            free(kt);
            free(v);
            free(qb);
            free(sb);
            free(src);
            free(sm);
        }
}

static void usage(void) {
    fprintf(stderr, "usage: bench_kernels [--reps N] [--min-ms MS] [--isa NAME]... [--cold] "
                    "[--quick] [--attention]\n");
    exit(2);
}

int main(int argc, char **argv) {
    bool cold = false, quick = false, attention_only = false;
    const char *only[MAX_ISAS];
    int n_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            g_reps = atoi(argv[++i]);
            if (g_reps < 1 || g_reps > 64) usage();
        } else if (strcmp(argv[i], "--min-ms") == 0 && i + 1 < argc) {
            g_min_s = atof(argv[++i]) * 1e-3;
        } else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc && n_only < MAX_ISAS) {
            only[n_only++] = argv[++i];
        } else if (strcmp(argv[i], "--attention") == 0) {
            attention_only = true;
        } else if (strcmp(argv[i], "--cold") == 0) {
            cold = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
            g_reps = 3;
            g_min_s = 0.005;
        } else {
            usage();
        }
    }
    /* ref first: every other row is compared with it */
    static const char *const names[] = {"ref", "avx2", "avx512", "amx", "neon"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        bool wanted = n_only == 0 || strcmp(names[i], "ref") == 0;
        for (int j = 0; j < n_only; j++) wanted = wanted || strcmp(only[j], names[i]) == 0;
        if (wanted && bn_isa_supported(names[i])) g_tables[g_n_tables++] = bn_kernels_get(names[i]);
    }
    printf("## Kernel micro-benchmark\n\n");
    printf("cpu features: %s; best isa: %s; 1 thread; %d repetitions of >= %.0f ms, median\n",
           bn_cpu_features(), bn_isa_best(), g_reps, g_min_s * 1e3);
    printf("(GOP = 2 ops per weight x activation; I2_S weight bytes = K/4 per row)\n");

    double t0 = now_s();
    if (attention_only) {
        bench_attention();
        return 0;
    }
    measure_peaks();
    bench_gemv();
    static const int64_t toks[] = {1, 8, 32, 128};
    bench_gemm(toks, quick ? 3 : 4);
    if (cold) bench_gemv_cold();
    bench_dots(quick);
    bench_quant();
    bench_attention();
    printf("\n(total %.1f s)\n", now_s() - t0);
    return 0;
}
