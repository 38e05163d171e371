/* Out-of-memory injection over the Hugging Face directory loader (sharded
 * bf16-online and packed fixtures): for n = 0, 1, 2, ... the n-th allocation
 * fails (once, then with every later one failing too); each run must fail
 * with a status and a message, or, once n passes the number of allocations,
 * load a model that runs. Nothing may leak (LeakSanitizer in the ASan build). */
#include "alloc.h"
#include "error.h"
#include "hf_testutil.h"

/* One run with the n-th allocation failing: a clean failure, or a model
 * that runs (an allocation whose failure has a fallback). */
static bool run_once(const char *dir, long n, int sticky) {
    bn_clear_error();
    bn_alloc_fail_after(n, sticky);
    bitnet_model *m = bitnet_model_load(dir, NULL);
    bn_alloc_fail_after(-1, 0);
    if (!m) {
        CHECKF(bitnet_get_last_error()[0] != '\0', "%s: n = %ld failed without a message", dir, n);
        return false;
    }
    float *l = hf_logits(m, BITNET_NUMERICS_EXACT);
    CHECK(l != NULL);
    free(l);
    bitnet_model_free(m);
    return true;
}

/* Sticky first: the first n that loads is the number of allocations a load
 * makes; then every single allocation of those fails once. */
static void oom_loop(const char *dir) {
    long total = -1;
    for (long n = 0; n < 200000 && total < 0; n++)
        if (run_once(dir, n, 1)) total = n;
    CHECKF(total > 0, "%s: never loaded", dir);
    long ok = 0;
    for (long n = 0; n < total; n++) ok += run_once(dir, n, 0);
    printf("%s: %ld allocations; %ld single failures tolerated (fallbacks), the rest reported\n",
           dir, total, ok);
}

int main(void) {
    const char *base = test_tmpdir("hf_oom");
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/packed", base);
    snprintf(b, sizeof b, "%s/online-sharded", base);
    bn_fixture_params p;
    hf_params(&p, "bitnet-b1.58");
    p.n_layer = 1;
    CHECK(bn_fixture_write_hf(&p, BN_HF_PACKED_BITLINEAR, 1, a, NULL) == BITNET_OK);
    CHECK(bn_fixture_write_hf(&p, BN_HF_BF16_ONLINE, 2, b, NULL) == BITNET_OK);
    oom_loop(a);
    oom_loop(b);
    TEST_END();
}
