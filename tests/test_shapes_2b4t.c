/* A model with the exact shapes of BitNet-b1.58-2B-4T (2560 embd, 6912 ff, 30
 * layers, 20:5 heads, 128256-token vocabulary, I2_S projections, F16 tied
 * embedding; random ternary weights) loads, runs prefill and decode, and
 * reports its memory. The 1.1 GiB file is generated in the build tree and
 * removed afterwards. */
#include "bitnet.h"
#include "testutil.h"

static long rss_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, strlen(field))) v = atol(line + strlen(field));
    if (f) fclose(f);
    return v;
}

int main(void) {
    char path[4200], cmd[9000], out[4096];
    snprintf(path, sizeof path, "%s/2b4t.gguf", test_tmpdir("shapes"));
    snprintf(cmd, sizeof cmd, "%s fixture --preset 2b4t --seed 7 -q -o '%s'", test_env("BITNET_BIN", "bitnet"), path);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0, "fixture generation exited %d", rc);
    if (rc != 0) TEST_END();

    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    if (!m) TEST_END();
    CHECK(strcmp(bitnet_model_arch(m), "bitnet-b1.58") == 0);
    CHECK(bitnet_model_n_embd(m) == 2560 && bitnet_model_n_layer(m) == 30);
    CHECK(bitnet_model_n_head(m) == 20 && bitnet_model_n_head_kv(m) == 5);
    CHECK(bitnet_model_n_vocab(m) == 128256);

    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 4096; /* the model's full context */
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    CHECKF(ctx != NULL, "%s", bitnet_get_last_error());
    if (ctx) {
        bitnet_token prompt[64];
        int32_t n = bitnet_tokenize(m, "The capital of France is", -1, prompt, 64, true, true);
        CHECKF(n > 1, "%d tokens", n);
        bitnet_status st = n > 1 ? bitnet_decode(ctx, prompt, n, false) : BITNET_ERR_INPUT;
        CHECK(st == BITNET_OK);
        bitnet_token next = 0;
        const float *l = bitnet_get_logits_ith(ctx, -1);
        bool finite = l != NULL;
        for (int32_t i = 0; l && i < 128256; i++) {
            finite &= isfinite(l[i]);
            if (l[i] > l[next]) next = i;
        }
        CHECK(finite);
        CHECK(bitnet_decode(ctx, &next, 1, false) == BITNET_OK);
        printf("2B-4T shapes: model %.1f MiB (%llu parameters), context of %d tokens %.1f MiB, "
               "peak resident %.1f MiB\n",
               (double)bitnet_model_size(m) / 1048576.0, (unsigned long long)bitnet_model_n_params(m),
               cp.n_ctx, (double)bitnet_context_memory(ctx) / 1048576.0, rss_kib("VmHWM:") / 1024.0);
        bitnet_context_free(ctx);
    }
    bitnet_model_free(m);
    remove(path);
    TEST_END();
}
