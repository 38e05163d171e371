/* A Hugging Face directory loaded directly and the same directory converted
 * to I2_S (`bitnet convert DIR -o x.gguf --type i2_s`) are one model: the
 * logits of both are bit-identical in compat and exact numerics, for every
 * checkpoint variant and a sharded one (issue 10). The converter re-encodes
 * the ternary codes, so any change of code, scale or tensor order shows. */
#include "hf_testutil.h"

static char base[4096];

static void check_variant(const char *bin, bn_hf_variant v, int shards, int seed) {
    bn_fixture_params p;
    hf_params(&p, "bitnet-b1.58");
    p.seed = (uint64_t)seed;
    char dir[4200], gguf[4300], cmd[9000], out[4096];
    snprintf(dir, sizeof dir, "%s/%s-%d", base, bn_hf_variant_name(v), shards);
    snprintf(gguf, sizeof gguf, "%s.i2s.gguf", dir);
    CHECKF(bn_fixture_write_hf(&p, v, shards, dir, NULL) == BITNET_OK, "%s: %s", dir,
           bitnet_get_last_error());
    snprintf(cmd, sizeof cmd, "'%s' convert '%s' -o '%s' --type i2_s 2>&1", bin, dir, gguf);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0, "%s: exit %d: %s", cmd, rc, out);
    if (rc) return;
    const size_t n = (size_t)HF_T * (size_t)p.n_vocab;
    const bitnet_numerics nums[2] = {BITNET_NUMERICS_COMPAT, BITNET_NUMERICS_EXACT};
    for (int k = 0; k < 2; k++) {
        float *a = hf_logits_path(dir, nums[k]);
        float *b = hf_logits_path(gguf, nums[k]);
        CHECKF(a && b, "%s: no logits", dir);
        if (a && b) {
            float worst = 0;
            for (size_t i = 0; i < n; i++) {
                float d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
                if (!(d <= worst)) worst = d; /* NaN counts as a difference */
            }
            CHECKF(memcmp(a, b, n * sizeof *a) == 0,
                   "%s (%s): direct and converted logits differ (max |d| %g)", dir,
                   k ? "exact" : "compat", worst);
        }
        free(a);
        free(b);
    }
    printf("%s x%d: direct == converted i2_s (compat and exact)\n", bn_hf_variant_name(v), shards);
}

int main(void) {
    const char *bin = test_env("BITNET_BIN", "bin/bitnet");
    if (access(bin, X_OK) != 0) SKIP("%s not built", bin);
    const char *tmp = test_tmpdir("hf_convert");
    if (strlen(tmp) >= sizeof base) SKIP("build path too long");
    memcpy(base, tmp, strlen(tmp) + 1);
    check_variant(bin, BN_HF_PACKED_AUTOBITLINEAR, 1, 11);
    check_variant(bin, BN_HF_PACKED_BITLINEAR, 1, 12);
    check_variant(bin, BN_HF_BF16_ONLINE, 1, 13);
    check_variant(bin, BN_HF_PACKED_AUTOBITLINEAR, 3, 14);
    check_variant(bin, BN_HF_BF16_ONLINE, 2, 15);
    TEST_END();
}
