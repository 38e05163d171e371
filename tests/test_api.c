/* Public API contracts that need no model: status strings, defaults, NULL
 * handling, ISA selection, sampler validation and determinism. */
#include "bitnet.h"
#include "testutil.h"

static void test_status(void) {
    CHECK(strcmp(bitnet_status_str(BITNET_OK), "ok") == 0);
    for (int s = BITNET_ERR_INTERNAL; s <= 0; s++) CHECK(strlen(bitnet_status_str((bitnet_status)s)) > 0);
    CHECK(strcmp(bitnet_status_str((bitnet_status)1234), "unknown status") == 0);
    CHECK(bitnet_abi_version() == BITNET_ABI_VERSION);
    CHECK(strcmp(bitnet_version(), BITNET_VERSION_STRING) == 0);
    CHECK(strstr(bitnet_system_info(), "isa=") != NULL);
}

static void test_null_safety(void) {
    bitnet_model_free(NULL);
    bitnet_context_free(NULL);
    bitnet_sampler_free(NULL);
    CHECK(bitnet_model_load(NULL, NULL) == NULL);
    CHECK(strstr(bitnet_get_last_error(), "NULL") != NULL);
    CHECK(bitnet_model_load("/nonexistent/model.gguf", NULL) == NULL);
    CHECK(strstr(bitnet_get_last_error(), "/nonexistent/model.gguf") != NULL);
    CHECK(bitnet_model_load("/", NULL) == NULL); /* a directory */
    CHECK(strstr(bitnet_get_last_error(), "not a regular file") != NULL);
    CHECK(bitnet_context_new(NULL, NULL) == NULL);
    CHECK(bitnet_decode(NULL, NULL, 0, false) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bitnet_kv_truncate(NULL, 0) == BITNET_ERR_INVALID_ARGUMENT);
    CHECK(bitnet_tokenize(NULL, "x", -1, NULL, 0, true, true) == INT32_MIN);
    CHECK(bitnet_get_logits_ith(NULL, 0) == NULL);
}

static void test_isa(void) {
    CHECK(bitnet_isa_supported("ref"));
    CHECK(!bitnet_isa_supported("sparc"));
    CHECK(!bitnet_isa_supported(NULL));
    CHECK(bitnet_isa_default() != NULL);
}

static void test_sampler(void) {
    bitnet_sampler_params p = bitnet_sampler_default_params();
    p.top_p = 1.5f;
    CHECK(bitnet_sampler_new(&p) == NULL);
    CHECK(strstr(bitnet_get_last_error(), "top_p") != NULL);
    p = bitnet_sampler_default_params();
    p.temperature = NAN;
    CHECK(bitnet_sampler_new(&p) == NULL);
    p = bitnet_sampler_default_params();
    p.repeat_penalty = 0;
    CHECK(bitnet_sampler_new(&p) == NULL);

    float logits[8] = {0.1f, 2.0f, 2.0f, -1.0f, 0.5f, 1.9f, -3.0f, 0.0f};
    p = bitnet_sampler_default_params();
    p.temperature = 0;
    bitnet_sampler *s = bitnet_sampler_new(&p);
    CHECK(bitnet_sampler_sample(s, logits, 8) == 1); /* tie between 1 and 2: lowest id */
    bitnet_sampler_free(s);

    /* repetition penalty pushes a repeated top token down */
    p.repeat_penalty = 2.0f;
    s = bitnet_sampler_new(&p);
    bitnet_sampler_accept(s, 1);
    bitnet_sampler_accept(s, 2);
    CHECK(bitnet_sampler_sample(s, logits, 8) == 5);
    bitnet_sampler_free(s);

    /* same seed, same draws; top_k 1 is greedy */
    p = bitnet_sampler_default_params();
    p.seed = 1234;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.temperature = 1.0f;
    bitnet_sampler *a = bitnet_sampler_new(&p), *b = bitnet_sampler_new(&p);
    int counts[8] = {0};
    bool same = true;
    for (int i = 0; i < 2000; i++) {
        bitnet_token x = bitnet_sampler_sample(a, logits, 8), y = bitnet_sampler_sample(b, logits, 8);
        same &= x == y;
        if (x >= 0 && x < 8) counts[x]++;
    }
    CHECK(same);
    /* token 6 has p = e^-3/Σ ~ 0.2%: rare; tokens 1 and 2 share ~2 x 25% */
    CHECKF(counts[1] > 350 && counts[2] > 350 && counts[6] < 40, "%d %d %d", counts[1], counts[2], counts[6]);
    bitnet_sampler_free(a);
    bitnet_sampler_free(b);
    p.top_k = 1;
    s = bitnet_sampler_new(&p);
    for (int i = 0; i < 50; i++) CHECK(bitnet_sampler_sample(s, logits, 8) == 1);
    bitnet_sampler_free(s);
    /* min_p 0.5 keeps only tokens within a factor 2 of the best: 1, 2, 5 */
    p.top_k = 0;
    p.min_p = 0.5f;
    s = bitnet_sampler_new(&p);
    for (int i = 0; i < 200; i++) {
        bitnet_token t = bitnet_sampler_sample(s, logits, 8);
        CHECK(t == 1 || t == 2 || t == 5);
    }
    bitnet_sampler_free(s);
}

int main(void) {
    test_status();
    test_null_safety();
    test_isa();
    test_sampler();
    TEST_END();
}
