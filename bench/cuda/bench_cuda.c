/* Kernel times of the CUDA backend on the 2B-4T shapes (BitNet b1.58 2B-4T:
 * n_embd 2560, n_ff 6912, 20 heads, 5 KV heads, head_dim 128, 30 layers,
 * vocab 128256, F16 head), and the device's copy bandwidth measured in the
 * same run. Prints Markdown and writes JSON (--json FILE).
 *
 * The device forward pass is not measured here: the "per token" lines add up the
 * kernel times of one decode step (or one 512-token prefill), which bounds
 * from above what a resident forward pass launching these kernels could
 * reach; they are labelled as such and are not end-to-end measurements. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_kernels.h"
#include "cuda/cuda_layout.h"

#define E 2560
#define F 6912
#define NH 20
#define NKV 5
#define HD 128
#define NL 30
#define NV 128256
#define PP 512

#define CU(call)                                                                                   \
    do {                                                                                           \
        const int cu_err_ = (call);                                                                \
        if (cu_err_) {                                                                             \
            fprintf(stderr, "bench_cuda: %s: %s\n", #call, bn_cuda_error_string(cu_err_));         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void *dev_zero(size_t bytes) {
    void *d = NULL;
    CU(bn_cuda_malloc(&d, bytes));
    void *h = calloc(1, bytes);
    if (!h) {
        fprintf(stderr, "bench_cuda: out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    /* random codes 0..2 and small activations: the times do not depend on
     * the values, but all-zero pages could be special-cased by nobody */
    for (size_t i = 0; i < bytes; i++) ((unsigned char *)h)[i] = (unsigned char)(i * 37u % 3u);
    CU(bn_cuda_upload(d, h, bytes));
    free(h);
    return d;
}

typedef struct job {
    int kind;
    int64_t K, rows, tok, n;
    void *a, *b, *c, *d, *e, *f;
} job;

enum { J_COPY, J_GEMV, J_GEMM, J_HEAD, J_NORMQ, J_ROPE, J_ACT, J_ATTN };

static int run_job(void *arg) {
    job *j = arg;
    switch (j->kind) {
    case J_COPY: return bn_cuda_copy(j->a, j->b, (size_t)j->n);
    case J_GEMV: return bn_cuda_i2s_gemv(j->a, j->K, j->rows, j->b, j->c);
    case J_GEMM: return bn_cuda_i2s_gemm(j->a, j->K, j->rows, j->b, j->K, j->tok, j->c, j->rows);
    case J_HEAD: return bn_cuda_head_f16(j->a, j->K, j->rows, j->b, j->c);
    case J_NORMQ:
        return bn_cuda_rmsnorm_quant(j->a, j->b, j->n, j->tok, 1e-5f, j->a, j->c, j->d, j->e);
    case J_ROPE: return bn_cuda_rope(j->a, (int)j->tok, NH + NKV, HD, HD, j->b, 1);
    case J_ACT: return bn_cuda_ffn_act(j->a, j->b, j->n, 0);
    case J_ATTN:
        return bn_cuda_attn_decode(j->a, j->b, j->n, j->c, NH, NKV, HD, (int)j->n, j->d, j->e,
                                   j->f);
    }
    return BN_CUDA_EINVAL;
}

typedef struct result {
    const char *name;
    double ms, bytes, ops;
} result;

static result results[64];
static int n_results;

static double timed(const char *name, job *j, double bytes, double ops, int reps) {
    double ms = 0.0;
    CU(bn_cuda_time(run_job, j, reps, &ms));
    results[n_results++] = (result){name, ms, bytes, ops};
    return ms;
}

int main(int argc, char **argv) {
    const char *json = NULL;
    int reps = 50;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_cuda [--json FILE] [--reps N]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    char dev[256];
    const int n_dev = bn_cuda_init(dev, sizeof dev);
    if (n_dev <= 0) {
        printf("SKIPPED: no CUDA device: %s\n",
               n_dev < 0 ? bn_cuda_error_string(-n_dev) : "none found");
        return 77;
    }

    /* copy bandwidth: 1 GiB read + 1 GiB written per launch */
    const size_t cb = (size_t)1 << 30;
    job copy = {.kind = J_COPY, .n = (int64_t)cb, .a = dev_zero(cb), .b = dev_zero(cb)};
    const double copy_ms = timed("copy 1 GiB", &copy, 2.0 * (double)cb, 0, 10);
    const double bw = 2.0 * (double)cb / (copy_ms * 1e-3); /* bytes/s */
    bn_cuda_free(copy.a);
    bn_cuda_free(copy.b);

    /* decode GEMVs, fused as the forward pass would launch them */
    static const struct {
        const char *name;
        int64_t K, rows;
    } mats[] = {{"gemv qkv (fused) 2560x3840", E, E + 2 * NKV * HD},
                {"gemv o 2560x2560", E, E},
                {"gemv gate+up (fused) 2560x13824", E, 2 * F},
                {"gemv down 6912x2560", F, E}};
    double step_ms = 0.0, step_bytes = 0.0, pp_ms = 0.0;
    void *q8 = dev_zero((size_t)PP * F), *o32 = dev_zero((size_t)PP * 2 * F * 4);
    for (int m = 0; m < 4; m++) {
        const int64_t K = mats[m].K, R = mats[m].rows;
        void *w = dev_zero((size_t)(R * bn_k16_row_words(K)) * 4);
        job g = {.kind = J_GEMV, .K = K, .rows = R, .a = w, .b = q8, .c = o32};
        const double bytes = (double)R * (double)K / 4.0 + (double)K + 4.0 * (double)R;
        step_ms += NL * timed(mats[m].name, &g, bytes, 2.0 * (double)R * (double)K, reps);
        step_bytes += NL * bytes;
        job p = {.kind = J_GEMM, .K = K, .rows = R, .tok = PP, .a = w, .b = q8, .c = o32};
        char *pname = malloc(96);
        snprintf(pname, 96, "gemm pp%d %s", PP, mats[m].name + 5);
        pp_ms += NL * timed(pname, &p, 0, 2.0 * PP * (double)R * (double)K, reps / 5 + 1);
        bn_cuda_free(w);
    }
    /* row kernels of one decode step (4 norms: attn, attn_sub, ffn, ffn_sub) */
    void *x = dev_zero((size_t)PP * F * 4), *wn = dev_zero((size_t)F * 4);
    void *sc = dev_zero(PP * 4), *sm = dev_zero(PP * 4);
    job nq = {.kind = J_NORMQ, .n = E, .tok = 1, .a = x, .b = wn, .c = q8, .d = sc, .e = sm};
    step_ms += 3 * NL * timed("rmsnorm+quantize 2560", &nq, 8.0 * E, 0, reps);
    nq.n = F;
    step_ms += NL * timed("rmsnorm+quantize 6912", &nq, 8.0 * F, 0, reps);
    void *cs = dev_zero((size_t)PP * HD * 4);
    job rope = {.kind = J_ROPE, .tok = 1, .a = x, .b = cs};
    step_ms += NL * timed("rope q+k", &rope, 8.0 * (NH + NKV) * HD, 0, reps);
    job act = {.kind = J_ACT, .n = F, .a = x, .b = (char *)x + (size_t)F * 4};
    step_ms += NL * timed("relu2 * up 6912", &act, 12.0 * F, 0, reps);
    static const int ctx_lens[] = {512, 4096};
    for (int c = 0; c < 2; c++) {
        const int n = ctx_lens[c];
        job at = {.kind = J_ATTN, .n = n};
        at.a = dev_zero(NH * HD * 4);
        at.b = dev_zero((size_t)NKV * HD * n * 2);
        at.c = dev_zero((size_t)n * NKV * HD * 2);
        at.d = dev_zero((size_t)NH * n * 4);
        at.e = dev_zero(bn_cuda_attn_work_bytes(NH, HD, n));
        at.f = dev_zero(NH * HD * 4);
        char *aname = malloc(64);
        snprintf(aname, 64, "attention decode, %d cells", n);
        const double ms = timed(aname, &at, 4.0 * NKV * HD * (double)n, 0, reps);
        if (c == 0) step_ms += NL * ms;
        bn_cuda_free(at.a), bn_cuda_free(at.b), bn_cuda_free(at.c);
        bn_cuda_free(at.d), bn_cuda_free(at.e), bn_cuda_free(at.f);
    }
    void *head = dev_zero((size_t)NV * E * 2);
    job hj = {.kind = J_HEAD, .K = E, .rows = NV, .a = head, .b = x, .c = o32};
    const double head_bytes = 2.0 * NV * E;
    step_ms += timed("head f16 2560x128256", &hj, head_bytes, 2.0 * NV * E, reps);
    step_bytes += head_bytes;
    bn_cuda_free(head);

    printf("# bench_cuda: %s\n\n", dev);
    printf("copy bandwidth: %.1f GB/s (1 GiB copy, read + write)\n\n", bw * 1e-9);
    printf("| kernel | µs | GB/s | of copy bw | TOPS |\n|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < n_results; i++) {
        const result *r = &results[i];
        const double s = r->ms * 1e-3;
        printf("| %s | %.2f | %.1f | %.0f%% | %.2f |\n", r->name, r->ms * 1e3, r->bytes / s * 1e-9,
               100.0 * r->bytes / s / bw, r->ops / s * 1e-12);
    }
    const double floor_ms = step_bytes / bw * 1e3;
    printf("\nkernel-sum estimate, NOT an end-to-end forward pass (that is not timed here):\n");
    printf("  decode step (512 cells): %.3f ms = %.0f t/s; byte floor %.3f ms (%.0f t/s); "
           "%.0f%% of the bandwidth limit\n",
           step_ms, 1e3 / step_ms, floor_ms, 1e3 / floor_ms, 100.0 * floor_ms / step_ms);
    printf("  prefill pp%d, GEMMs only: %.2f ms = %.0f t/s\n", PP, pp_ms, PP * 1e3 / pp_ms);

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            perror(json);
            return 1;
        }
        fprintf(f, "{\"device\": \"%s\", \"copy_gbps\": %.3f, \"kernels\": [", dev, bw * 1e-9);
        for (int i = 0; i < n_results; i++)
            fprintf(f, "%s{\"name\": \"%s\", \"us\": %.3f, \"bytes\": %.0f, \"ops\": %.0f}",
                    i ? ", " : "", results[i].name, results[i].ms * 1e3, results[i].bytes,
                    results[i].ops);
        fprintf(f,
                "], \"estimate_not_end_to_end\": {\"decode_step_ms\": %.4f, \"decode_tps\": %.1f, "
                "\"decode_byte_floor_ms\": %.4f, \"prefill_pp%d_gemm_ms\": %.3f, "
                "\"prefill_tps\": %.1f}}\n",
                step_ms, 1e3 / step_ms, floor_ms, PP, pp_ms, PP * 1e3 / pp_ms);
        fclose(f);
    }
    bn_cuda_free(q8), bn_cuda_free(o32), bn_cuda_free(x), bn_cuda_free(wn);
    bn_cuda_free(sc), bn_cuda_free(sm), bn_cuda_free(cs);
    return 0;
}
