/* bench_kernels_wasm: the WebAssembly table's decode kernels against the
 * reference entries of the same build, on the 700m shapes (docs/performance.md,
 * "WebAssembly"), one thread under Node:
 *
 *   node --no-experimental-fetch build/wasm/bin/bench_kernels_wasm.js [REPS]
 *
 * Best time of REPS calls (default 50; the best is the least disturbed by
 * other jobs on a shared machine). Weights are hot (the shapes fit in L2/L3
 * except the head). The head line compares the F16 head's dot_f16_f32 with
 * dot_f32 over its F32 copy (context.c, head_f32). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "f16.h"
#include "kernels.h"
#include "ref/kernels_ref.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t g_rng = 1;
static uint32_t rnd(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_rng >> 32);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 8) / 16777216.0f; }

static int g_reps = 50;

#define BEST(expr)                                                                                 \
    ({                                                                                             \
        double best_ = 1e30;                                                                       \
        for (int rep_ = 0; rep_ < g_reps; rep_++) {                                                \
            const double t0_ = now_s();                                                            \
            expr;                                                                                  \
            const double t_ = now_s() - t0_;                                                       \
            if (t_ < best_) best_ = t_;                                                            \
        }                                                                                          \
        best_;                                                                                     \
    })

static void row(const char *name, double ref_s, double simd_s) {
    printf("| %s | %.1f | %.1f | %.2fx |\n", name, ref_s * 1e6, simd_s * 1e6, ref_s / simd_s);
}

int main(int argc, char **argv) {
    if (argc > 1) g_reps = atoi(argv[1]) > 0 ? atoi(argv[1]) : g_reps;
    const bn_kernels *w = bn_kernels_get("wasm"), *r = bn_kernels_get("ref");
    if (!w || !r) {
        fprintf(stderr, "no wasm table in this build\n");
        return 1;
    }
    printf("best of %d calls, microseconds\n\n| kernel (700m shape) | ref | wasm | ratio "
           "|\n|---|---|---|---|\n",
           g_reps);

    /* I2_S gemv: Q+K+V (2048 rows), gate+up (8192), down (K 4096) */
    static const int64_t shapes[][2] = {{1536, 2048}, {1536, 8192}, {4096, 1536}};
    for (int s = 0; s < 3; s++) {
        const int64_t K = shapes[s][0], n = shapes[s][1];
        uint8_t *wt = malloc((size_t)(K / 4 * n));
        int8_t *q = malloc((size_t)K);
        int32_t *o = malloc((size_t)n * 4);
        for (int64_t i = 0; i < K / 4 * n; i++) wt[i] = (uint8_t)rnd();
        for (int64_t i = 0; i < K; i++) q[i] = (int8_t)rnd();
        const double tr = BEST(r->i2s_gemv(wt, K, n, q, o));
        const double tw = BEST(w->i2s_gemv(wt, K, n, q, o));
        char name[64];
        snprintf(name, sizeof name, "i2s_gemv K=%lld rows=%lld", (long long)K, (long long)n);
        row(name, tr, tw);
        free(wt);
        free(q);
        free(o);
    }

    /* the output head, 32000 x 1536 */
    {
        const int64_t K = 1536, V = 32000;
        uint16_t *h = malloc((size_t)(K * V) * 2);
        float *f = malloc((size_t)(K * V) * 4), *x = malloc((size_t)K * 4),
              *y = malloc((size_t)V * 4);
        for (int64_t i = 0; i < K * V; i++) {
            h[i] = bn_f32_to_f16(rndf(-0.1f, 0.1f));
            f[i] = bn_f16_to_f32(h[i]);
        }
        for (int64_t i = 0; i < K; i++) x[i] = rndf(-2.0f, 2.0f);
        const int reps = g_reps;
        g_reps = reps < 10 ? reps : 10;
        const double t16 =
            BEST(for (int64_t i = 0; i < V; i++) y[i] = w->dot_f16_f32(h + i * K, x, K));
        const double t32 = BEST(for (int64_t i = 0; i < V; i++) y[i] = w->dot_f32(f + i * K, x, K));
        g_reps = reps;
        printf("| head 32000x1536: wasm dot_f16_f32 (F16) vs dot_f32 (F32 copy) | %.1f | %.1f | "
               "%.2fx |\n",
               t16 * 1e6, t32 * 1e6, t16 / t32);
        free(h);
        free(f);
        free(x);
        free(y);
    }

    /* SiLU over n_ff = 4096 gates */
    {
        enum { N = 4096 };
        static float g0[N], g[N], u[N];
        for (int i = 0; i < N; i++) g0[i] = rndf(-8.0f, 8.0f), u[i] = rndf(-2.0f, 2.0f);
        const double tr = BEST((memcpy(g, g0, sizeof g), r->silu_mul(g, u, N)));
        const double tw = BEST((memcpy(g, g0, sizeof g), w->silu_mul(g, u, N)));
        row("silu_mul 4096 (incl. a 16 KiB copy)", tr, tw);
    }

    /* attention over one KV head: hd 96 (700m: 16 heads of 96, 16 KV heads,
     * so one query row per KV head in decode; 4 rows as in a GQA group),
     * 256 cached keys, Q rounded to F16 as compat mode's cache */
    {
        enum { HD = 96, NK = 256, NQ = BN_ATT_ROWS };
        static uint16_t kt[HD * NK], v[NK * HD];
        static float qb[NQ][HD], sb[NQ][NK], ob[NQ][HD], pb[NQ][NK];
        for (int i = 0; i < HD * NK; i++) {
            kt[i] = bn_f32_to_f16(rndf(-1.0f, 1.0f));
            v[i] = bn_f32_to_f16(rndf(-1.0f, 1.0f));
        }
        const float *qr[NQ], *pr[NQ];
        float *sr[NQ], *orow[NQ];
        int nk[NQ];
        for (int q = 0; q < NQ; q++) {
            for (int d = 0; d < HD; d++) qb[q][d] = bn_round_f16(rndf(-2.0f, 2.0f));
            for (int j = 0; j < NK; j++) pb[q][j] = rndf(0.0f, 2.0f / NK);
            qr[q] = qb[q], pr[q] = pb[q], sr[q] = sb[q], orow[q] = ob[q], nk[q] = NK;
        }
        static const int rows[] = {1, NQ};
        for (int ri = 0; ri < 2; ri++) {
            const int n_q = rows[ri];
            char name[96];
            const double sr_ = BEST(r->attn_scores_f16(kt, NK, NK, HD, qr, n_q, sr));
            const double sw = BEST(w->attn_scores_f16(kt, NK, NK, HD, qr, n_q, sr));
            snprintf(name, sizeof name, "attn_scores_f16 hd 96, 256 keys, %d row(s)", n_q);
            row(name, sr_, sw);
            const double vr =
                BEST((memset(ob, 0, sizeof ob), r->attn_values_f16(v, HD, HD, nk, pr, n_q, orow)));
            const double vw =
                BEST((memset(ob, 0, sizeof ob), w->attn_values_f16(v, HD, HD, nk, pr, n_q, orow)));
            snprintf(name, sizeof name, "attn_values_f16 hd 96, 256 keys, %d row(s)", n_q);
            row(name, vr, vw);
        }
    }
    return 0;
}
