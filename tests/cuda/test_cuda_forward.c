/* The device decode forward pass (engine/cuda/cuda_forward.h) against the
 * CPU engine, token by token (the regime of a decode step: one token of one
 * sequence per call), with the bars: on the random fixture mean KL
 * divergence ≤ 0.005 and the same top-1 at ≥ 95 % of positions; on the
 * peaked fixture the same greedy tokens. Exit 77 without a CUDA device.
 * Built with BN_CUDA_HOST_EMUL and tests/cuda/cuda_host_emul.c instead of
 * the kernels, it checks the orchestration alone on the host
 * (test_cuda_forward_host), where the bars hold with room to spare. */
#include "cuda_forward.h"

#include "bitnet.h"
#include "cuda_kernels.h"
#include "fixture.h"
#include "testutil.h"

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* KL(p || q) of the softmaxes of two logit rows, in double. */
static double kld(const float *lp, const float *lq, int n) {
    double mp = lp[0], mq = lq[0], sp = 0.0, sq = 0.0, kl = 0.0;
    for (int i = 1; i < n; i++) mp = lp[i] > mp ? lp[i] : mp, mq = lq[i] > mq ? lq[i] : mq;
    for (int i = 0; i < n; i++) sp += exp(lp[i] - mp), sq += exp(lq[i] - mq);
    for (int i = 0; i < n; i++) {
        const double p = exp(lp[i] - mp) / sp, q = exp(lq[i] - mq) / sq;
        if (p > 0.0) kl += p * (log(p) - log(q > 0.0 ? q : 1e-300));
    }
    return kl;
}

/* The three architectures: SiLU with sub-norms, ReLU² (2B-4T), llama (NORM
 * RoPE, no sub-norms). */
static const char *const archs[] = {"bitnet", "bitnet-b1.58", "llama"};

static bitnet_model *fixture(bn_fixture_kind kind, const char *arch) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s-%d.gguf", test_tmpdir("cuda_forward"), arch, (int)kind);
    bn_fixture_params fp;
    bn_fixture_default_params(&fp);
    fp.kind = kind;
    fp.arch = arch;
    CHECK(bn_fixture_write(&fp, path, NULL) == BITNET_OK);
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s: %s", path, bitnet_get_last_error());
    return m;
}

enum { N_POS = 48 };

static void test_random(const char *arch) {
    bitnet_model *m = fixture(BN_FIXTURE_RANDOM, arch);
    if (!m) return;
    const int V = bitnet_model_n_vocab(m);
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = N_POS;
    cp.n_threads = 1; /* one token at a time: a thread team would only spin */
    cp.device = "cpu";
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    bn_cuda_model *cm = bn_cuda_model_new(m, N_POS, 1);
    CHECKF(ctx && cm, "%s", bitnet_get_last_error());
    if (!ctx || !cm) goto done;
    float *dev = malloc((size_t)V * sizeof *dev);
    double kl_sum = 0.0, kl_max = 0.0;
    int same_top1 = 0;
    for (int p = 0; p < N_POS; p++) {
        const bitnet_token tok = (bitnet_token)((p * 7919 + 13) % V);
        CHECK(bitnet_decode(ctx, &tok, 1, false) == BITNET_OK);
        const float *cpu = bitnet_get_logits_ith(ctx, -1);
        CHECKF(bn_cuda_decode(cm, tok, p, dev) == BITNET_OK, "%s", bitnet_get_last_error());
        const double kl = kld(cpu, dev, V);
        kl_sum += kl;
        kl_max = kl > kl_max ? kl : kl_max;
        same_top1 += argmax(cpu, V) == argmax(dev, V);
    }
    const double mean = kl_sum / N_POS;
    CHECKF(mean <= 0.005, "%s random: mean KLD %.6f", arch, mean);
    CHECKF(same_top1 * 100 >= 95 * N_POS, "%s random: same top-1 %d of %d", arch, same_top1, N_POS);
    printf("  %s random fixture, %d positions: mean KLD %.3g (max %.3g), same top-1 %d/%d\n", arch,
           N_POS, mean, kl_max, same_top1, N_POS);
    free(dev);
done:
    bn_cuda_model_free(cm);
    bitnet_context_free(ctx);
    bitnet_model_free(m);
}

static void test_peaked(const char *arch) {
    bitnet_model *m = fixture(BN_FIXTURE_PEAKED, arch);
    if (!m) return;
    const int V = bitnet_model_n_vocab(m);
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = N_POS;
    cp.n_threads = 1; /* one token at a time: a thread team would only spin */
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    bn_cuda_model *cm = bn_cuda_model_new(m, N_POS, 1);
    CHECKF(ctx && cm, "%s", bitnet_get_last_error());
    if (!ctx || !cm) goto done;
    float *dev = malloc((size_t)V * sizeof *dev);
    bitnet_token tc = 1, td = 1; /* each side follows its own greedy choice */
    int same = 0;
    for (int p = 0; p < N_POS; p++) {
        CHECK(bitnet_decode(ctx, &tc, 1, false) == BITNET_OK);
        CHECK(bn_cuda_decode(cm, td, p, dev) == BITNET_OK);
        tc = argmax(bitnet_get_logits_ith(ctx, -1), V);
        td = argmax(dev, V);
        if (tc != td) break;
        same++;
    }
    CHECKF(same == N_POS, "%s peaked: greedy tokens diverge at step %d (cpu %d, cuda %d)", arch,
           same, tc, td);
    printf("  %s peaked fixture: %d/%d greedy tokens identical\n", arch, same, N_POS);
    free(dev);
done:
    bn_cuda_model_free(cm);
    bitnet_context_free(ctx);
    bitnet_model_free(m);
}

/* Prefill: N_PROMPT tokens in one call (the GEMM path, Q through F16 as the
 * CPU does for a multi-token batch), then decode steps after it; the
 * logits after the prompt and after each step against the CPU engine fed
 * the same way. */
enum { N_PROMPT = 19, N_AFTER = 8 };

static void test_prefill(const char *arch) {
    bitnet_model *m = fixture(BN_FIXTURE_RANDOM, arch);
    if (!m) return;
    const int V = bitnet_model_n_vocab(m);
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = N_POS;
    cp.n_threads = 1;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    bn_cuda_model *cm = bn_cuda_model_new(m, N_POS, N_PROMPT);
    CHECKF(ctx && cm, "%s", bitnet_get_last_error());
    if (!ctx || !cm) goto done;
    float *dev = malloc((size_t)V * sizeof *dev);
    bitnet_token prompt[N_PROMPT];
    for (int i = 0; i < N_PROMPT; i++) prompt[i] = (bitnet_token)((i * 104729 + 7) % V);
    CHECK(bitnet_decode(ctx, prompt, N_PROMPT, false) == BITNET_OK);
    CHECKF(bn_cuda_eval(cm, prompt, N_PROMPT, 0, dev) == BITNET_OK, "%s", bitnet_get_last_error());
    double kl_sum = kld(bitnet_get_logits_ith(ctx, -1), dev, V), kl_prompt = kl_sum;
    int same_top1 = argmax(bitnet_get_logits_ith(ctx, -1), V) == argmax(dev, V);
    for (int p = 0; p < N_AFTER; p++) {
        const bitnet_token tok = (bitnet_token)((p * 7919 + 3) % V);
        CHECK(bitnet_decode(ctx, &tok, 1, false) == BITNET_OK);
        CHECK(bn_cuda_decode(cm, tok, N_PROMPT + p, dev) == BITNET_OK);
        const float *cpu = bitnet_get_logits_ith(ctx, -1);
        kl_sum += kld(cpu, dev, V);
        same_top1 += argmax(cpu, V) == argmax(dev, V);
    }
    const double mean = kl_sum / (1 + N_AFTER);
    CHECKF(mean <= 0.005 && same_top1 * 100 >= 95 * (1 + N_AFTER),
           "%s prefill: mean KLD %.6f, same top-1 %d of %d", arch, mean, same_top1, 1 + N_AFTER);
    printf("  %s prefill of %d tokens + %d steps: KLD after the prompt %.3g, mean %.3g, "
           "same top-1 %d/%d\n",
           arch, N_PROMPT, N_AFTER, kl_prompt, mean, same_top1, 1 + N_AFTER);
    /* calls the model cannot take are refused, not run */
    bitnet_token more[N_PROMPT + 1] = {0};
    CHECK(bn_cuda_eval(cm, more, N_PROMPT + 1, 0, dev) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_cuda_decode(cm, V, 0, dev) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bn_cuda_decode(cm, 0, N_POS, dev) == BITNET_ERR_INVALID_ARGUMENT);
    free(dev);
done:
    bn_cuda_model_free(cm);
    bitnet_context_free(ctx);
    bitnet_model_free(m);
}

int main(void) {
    char name[256];
    const int n = bn_cuda_init(name, sizeof name);
    if (n < 0) SKIP("no CUDA device: %s", bn_cuda_error_string(-n));
    if (n == 0) SKIP("no CUDA device: cudaGetDeviceCount found none");
    printf("device: %s\n", name);
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        test_random(archs[a]);
        test_peaked(archs[a]);
        test_prefill(archs[a]);
    }
    TEST_END();
}
