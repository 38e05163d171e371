/* Two contexts on one model, decoding on two threads at once (the contract
 * of include/bitnet.h: a model is shared read-only, a context belongs to one
 * thread at a time). Each thread streams a greedy completion and its teacher-
 * forced logits; both must equal what the same calls give when run alone.
 * This is the test ci/tsan.sh runs under ThreadSanitizer. */
#include <pthread.h>

#include "bitnet.h"
#include "fixture.h"
#include "testutil.h"

enum { N_GEN = 24, N_ROUNDS = 3 };

typedef struct job {
    const bitnet_model *model;
    const char *prompt;
    int n_threads; /* OpenMP threads inside the context */
    char text[4096];
    size_t len;
    int n_pieces;
    float logit0; /* first logit after the prompt */
    bitnet_status status;
} job;

static bool collect(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    job *j = user_data;
    if (j->len + len < sizeof j->text) {
        memcpy(j->text + j->len, piece, len);
        j->len += len;
    }
    j->n_pieces++;
    return true;
}

static void *run_job(void *arg) {
    job *j = arg;
    j->len = 0;
    j->n_pieces = 0;
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 128;
    cp.n_threads = j->n_threads;
    bitnet_context *ctx = bitnet_context_new(j->model, &cp);
    if (!ctx) {
        j->status = BITNET_ERR_INTERNAL;
        return NULL;
    }
    for (int round = 0; round < N_ROUNDS && !j->status; round++) {
        bitnet_kv_truncate(ctx, 0);
        j->len = 0;
        j->n_pieces = 0;
        bitnet_inference_params ip = bitnet_inference_default_params();
        ip.n_predict = N_GEN;
        ip.ignore_eos = true;
        ip.sampling.temperature = 0.0f;
        ip.on_piece = collect;
        ip.user_data = j;
        j->status = bitnet_inference(ctx, j->prompt, &ip, NULL);
    }
    if (!j->status) {
        bitnet_kv_truncate(ctx, 0);
        bitnet_token toks[64];
        int32_t n = bitnet_tokenize(j->model, j->prompt, -1, toks, 64, true, true);
        j->status = n > 0 ? bitnet_decode(ctx, toks, n, false) : BITNET_ERR_INPUT;
        if (!j->status) j->logit0 = bitnet_get_logits_ith(ctx, -1)[0];
    }
    bitnet_context_free(ctx);
    return NULL;
}

int main(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/peaked.gguf", test_tmpdir("threads"));
    bn_fixture_params fp;
    bn_fixture_default_params(&fp);
    fp.kind = BN_FIXTURE_PEAKED;
    fp.margin_tokens = 0;
    CHECK(bn_fixture_write(&fp, path, NULL) == BITNET_OK);
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    if (!m) TEST_END();

    static const char *const prompts[2] = {"The capital of France is", "Once upon a time"};
    /* OpenMP threads per context: 1, and 2 (two thread teams at once) */
    for (int omp = 1; omp <= 2; omp++) {
        job alone[2], together[2];
        for (int i = 0; i < 2; i++) {
            alone[i] = (job){.model = m, .prompt = prompts[i], .n_threads = omp};
            run_job(&alone[i]);
            CHECKF(alone[i].status == BITNET_OK, "alone %d: %s", i, bitnet_get_last_error());
            together[i] = (job){.model = m, .prompt = prompts[i], .n_threads = omp};
        }
        pthread_t th[2];
        for (int i = 0; i < 2; i++) CHECK(pthread_create(&th[i], NULL, run_job, &together[i]) == 0);
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        for (int i = 0; i < 2; i++) {
            CHECKF(together[i].status == BITNET_OK, "thread %d: status %d", i, together[i].status);
            CHECKF(together[i].len == alone[i].len &&
                       memcmp(together[i].text, alone[i].text, alone[i].len) == 0,
                   "omp %d, prompt %d: text differs on two threads", omp, i);
            CHECK(together[i].n_pieces > 0);
            CHECKF(together[i].logit0 == alone[i].logit0, "omp %d, prompt %d: logit %.9g vs %.9g",
                   omp, i, together[i].logit0, alone[i].logit0);
        }
        printf("omp threads %d: two contexts on two threads give the single-thread results\n", omp);
    }
    bitnet_model_free(m);
    TEST_END();
}
