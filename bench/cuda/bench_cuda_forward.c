/* Decode speed of the device forward pass (engine/cuda) on a model with the
 * shapes of BitNet b1.58 2B-4T (bn_fixture preset 2b4t: random ternary
 * weights, the speed does not depend on them), next to the CPU engine's on
 * the same file, the bytes one token reads and the device's copy bandwidth.
 * Each device call includes its upload and its logits download, so the
 * times are end to end (decode: one token a call, no CUDA graph; prefill:
 * one call of --pp tokens through the tensor-core GEMM).
 *   bench_cuda_forward [--preset NAME] [--tokens N] [--pp N] [--cpu-tokens N] [--json FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitnet.h"
#include "cuda_forward.h"
#include "cuda_kernels.h"
#include "fixture.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int copy_job(void *arg) {
    void **b = arg;
    return bn_cuda_copy(b[0], b[1], (size_t)1 << 30);
}

int main(int argc, char **argv) {
    const char *preset = "2b4t", *json = NULL;
    int n_tok = 128, n_cpu = 8, pp = 512;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--preset") && i + 1 < argc)
            preset = argv[++i];
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc)
            n_tok = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pp") && i + 1 < argc)
            pp = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cpu-tokens") && i + 1 < argc)
            n_cpu = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json = argv[++i];
        else {
            fprintf(stderr, "usage: bench_cuda_forward [--preset NAME] [--tokens N] "
                            "[--pp N] [--cpu-tokens N] [--json FILE]\n");
            return 2;
        }
    }
    if (n_tok < 2) n_tok = 2;
    if (pp < 2 || pp > 4096) pp = 512;
    char dev[256];
    const int n_dev = bn_cuda_init(dev, sizeof dev);
    if (n_dev <= 0) {
        printf("SKIPPED: no CUDA device: %s\n",
               n_dev < 0 ? bn_cuda_error_string(-n_dev) : "none found");
        return 77;
    }
    char path[4200];
    const char *dir = getenv("BITNET_BUILD_DIR");
    snprintf(path, sizeof path, "%s/bench-cuda-%s.gguf", dir && *dir ? dir : ".", preset);
    bn_fixture_params fp;
    bn_fixture_default_params(&fp);
    if (!bn_fixture_apply_preset(preset, &fp)) {
        fprintf(stderr, "bench_cuda_forward: unknown preset '%s' (%s)\n", preset,
                bn_fixture_preset_list());
        return 2;
    }
    fp.seed = 7;
    double t0 = now_s();
    if (bn_fixture_write(&fp, path, NULL) != BITNET_OK) {
        fprintf(stderr, "bench_cuda_forward: %s\n", bitnet_get_last_error());
        return 1;
    }
    bitnet_model *m = bitnet_model_load(path, NULL);
    if (!m) {
        fprintf(stderr, "bench_cuda_forward: %s\n", bitnet_get_last_error());
        return 1;
    }
    const double t_fixture = now_s() - t0;
    const int V = bitnet_model_n_vocab(m);
    t0 = now_s();
    bn_cuda_model *cm = bn_cuda_model_new(m, n_tok > pp ? n_tok : pp, pp);
    if (!cm) {
        fprintf(stderr, "bench_cuda_forward: %s\n", bitnet_get_last_error());
        return 1;
    }
    const double t_upload = now_s() - t0;
    float *logits = malloc((size_t)V * sizeof *logits);
    /* position 0 is the warm-up (first launches, module load) */
    if (bn_cuda_decode(cm, 1, 0, logits) != BITNET_OK) {
        fprintf(stderr, "bench_cuda_forward: %s\n", bitnet_get_last_error());
        return 1;
    }
    t0 = now_s();
    for (int p = 1; p < n_tok; p++)
        if (bn_cuda_decode(cm, (bitnet_token)(p * 31 % V), p, logits) != BITNET_OK) {
            fprintf(stderr, "bench_cuda_forward: %s\n", bitnet_get_last_error());
            return 1;
        }
    const double ms_tok = (now_s() - t0) * 1e3 / (n_tok - 1);
    /* prefill: one warm-up call, then the best of three */
    bitnet_token *prompt = malloc((size_t)pp * sizeof *prompt);
    for (int i = 0; i < pp; i++) prompt[i] = (bitnet_token)((i * 104729 + 7) % V);
    double pp_ms = 1e30;
    for (int rep = 0; rep < 4; rep++) {
        t0 = now_s();
        if (bn_cuda_eval(cm, prompt, pp, 0, logits) != BITNET_OK) {
            fprintf(stderr, "bench_cuda_forward: %s\n", bitnet_get_last_error());
            return 1;
        }
        const double ms = (now_s() - t0) * 1e3;
        if (rep > 0 && ms < pp_ms) pp_ms = ms;
    }
    free(prompt);
    /* bytes a step reads: all tensor data (projections at 2 bits a weight,
     * norms, the F16 head) except an untied embedding table, of which it
     * reads one row */
    double bytes = (double)bitnet_model_size(m);
    if (m->tok_embd.data != m->output.data)
        bytes -= (double)m->tok_embd.n_out * (double)m->tok_embd.row_bytes;
    double copy_ms = 0.0, bw = 0.0;
    void *bufs[2] = {NULL, NULL};
    if (!bn_cuda_malloc(&bufs[0], (size_t)1 << 30) && !bn_cuda_malloc(&bufs[1], (size_t)1 << 30) &&
        !bn_cuda_time(copy_job, bufs, 10, &copy_ms))
        bw = 2.0 * (double)((size_t)1 << 30) / (copy_ms * 1e-3);
    bn_cuda_free(bufs[0]);
    bn_cuda_free(bufs[1]);
    bn_cuda_model_free(cm);

    /* the CPU engine on the same file, for scale */
    double cpu_ms = 0.0;
    if (n_cpu > 0) {
        bitnet_context_params cp = bitnet_context_default_params();
        cp.n_ctx = n_cpu + 1;
        bitnet_context *ctx = bitnet_context_new(m, &cp);
        if (ctx) {
            bitnet_token t = 1;
            bitnet_decode(ctx, &t, 1, false);
            t0 = now_s();
            for (int p = 1; p <= n_cpu; p++) {
                t = (bitnet_token)(p * 31 % V);
                bitnet_decode(ctx, &t, 1, false);
            }
            cpu_ms = (now_s() - t0) * 1e3 / n_cpu;
            bitnet_context_free(ctx);
        }
    }
    printf("# bench_cuda_forward: %s, preset %s\n\n", dev, preset);
    printf("fixture written and loaded in %.1f s, uploaded in %.2f s\n", t_fixture, t_upload);
    printf("device decode: %.3f ms/token = %.0f t/s over %d tokens (positions 1..%d)\n", ms_tok,
           1e3 / ms_tok, n_tok - 1, n_tok - 1);
    if (bw > 0)
        printf("bytes per token %.0f MB; copy bandwidth %.0f GB/s; byte floor %.3f ms; "
               "%.1f%% of the bandwidth limit\n",
               bytes * 1e-6, bw * 1e-9, bytes / bw * 1e3, 100.0 * (bytes / bw * 1e3) / ms_tok);
    printf("device prefill pp%d: %.2f ms = %.0f t/s (best of 3 after a warm-up)\n", pp, pp_ms,
           pp * 1e3 / pp_ms);
    if (cpu_ms > 0) printf("CPU engine: %.2f ms/token (%s)\n", cpu_ms, bitnet_isa_default());
    if (json) {
        FILE *f = fopen(json, "w");
        if (f) {
            fprintf(
                f,
                "{\"device\": \"%s\", \"preset\": \"%s\", \"tokens\": %d, \"ms_per_token\": %.4f, "
                "\"tps\": %.1f, \"bytes_per_token\": %.0f, \"copy_gbps\": %.3f, "
                "\"cpu_ms_per_token\": %.3f, \"pp\": %d, \"pp_ms\": %.3f, \"pp_tps\": %.1f}\n",
                dev, preset, n_tok - 1, ms_tok, 1e3 / ms_tok, bytes, bw * 1e-9, cpu_ms, pp, pp_ms,
                pp * 1e3 / pp_ms);
            fclose(f);
        }
    }
    free(logits);
    bitnet_model_free(m);
    remove(path);
    return 0;
}
