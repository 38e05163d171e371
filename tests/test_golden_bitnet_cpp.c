/* Agreement with the original bitnet.cpp on the fixture it quantized
 * (../shared/fixtures/bitnet-cpp/tiny-i2_s.gguf, README beside it):
 *   - tokenization of the five recorded strings: exact ids;
 *   - `bitnet perplexity -c 128` within 1% of the recorded final PPL;
 *   - against tiny-i2_s.kld (bitnet.cpp's log-probabilities): mean KLD <= 0.01
 *     and the same top token at >= 90% of positions;
 *   - greedy completions: reported per prompt (match, or the first diverging
 *     token and the logit margin there), not required to match: random-weight
 *     models are chaotic under int8 activation quantization, so near-ties flip.
 * Skips when ../shared is absent. */
#include <cjson/cJSON.h>

#include "bitnet.h"
#include "testutil.h"

static const char *fixture(const char *name) {
    static char buf[4][4096];
    static int slot;
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/bitnet-cpp/%s", name);
    const char *p = test_shared_path(rel);
    if (!p) return NULL;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s", p);
    return buf[slot];
}

static void check_tokenize(const bitnet_model *m, const cJSON *cases) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        const cJSON *ids = cJSON_GetObjectItem(c, "ids");
        bitnet_token got[256];
        int32_t n = bitnet_tokenize(m, text, -1, got, 256, true, true);
        int want = cJSON_GetArraySize(ids);
        bool same = n == want;
        for (int i = 0; same && i < n; i++) same = got[i] == cJSON_GetArrayItem(ids, i)->valueint;
        CHECKF(same, "tokenize \"%s\": %d ids, expected %d", text, n, want);
    }
}

/* Runs a CLI command and returns the number after `key` in its output. */
static double cli_number(const char *args, const char *key) {
    static char out[1 << 16];
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "%s %s", test_env("BITNET_BIN", "bitnet"), args);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0, "%s exited %d", cmd, rc);
    const char *p = strstr(out, key);
    CHECKF(p != NULL, "no '%s' in the output of %s:\n%s", key, cmd, out);
    return p ? atof(p + strlen(key)) : NAN;
}

/* Greedy generation with our engine, compared with bitnet.cpp's text. */
static void report_greedy(bitnet_model *m, const cJSON *greedy) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 256;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    CHECK(ctx != NULL);
    if (!ctx) return;
    const int32_t V = bitnet_model_n_vocab(m);
    int matches = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, greedy) {
        const char *prompt = cJSON_GetObjectItem(g, "prompt")->valuestring;
        const char *want = cJSON_GetObjectItem(g, "completion")->valuestring;
        size_t want_len = strlen(want);
        while (want_len && want[want_len - 1] == '\n') want_len--; /* llama-cli's trailing lines */
        bitnet_token toks[512];
        int32_t n = bitnet_tokenize(m, prompt, -1, toks, 512, true, true);
        bitnet_kv_truncate(ctx, 0);
        CHECK(bitnet_decode(ctx, toks, n, false) == BITNET_OK);
        size_t off = 0;
        int diverged_at = -1;
        double margin = 0.0, own_margin_min = 1e30;
        for (int step = 0; step < 32; step++) {
            const float *l = bitnet_get_logits_ith(ctx, -1);
            int32_t best = 0, second = -1;
            for (int32_t i = 1; i < V; i++)
                if (l[i] > l[best]) best = i;
            for (int32_t i = 0; i < V; i++)
                if (i != best && (second < 0 || l[i] > l[second])) second = i;
            if (l[best] - l[second] < own_margin_min) own_margin_min = l[best] - l[second];
            char piece[256];
            int32_t pl = bitnet_token_to_piece(m, best, piece, sizeof piece, false);
            if (pl < 0) pl = 0;
            if (diverged_at < 0 && (off + (size_t)pl > want_len || memcmp(want + off, piece, (size_t)pl) != 0)) {
                diverged_at = step;
                /* the token bitnet.cpp most likely chose: the highest-logit token
                 * whose text continues the recorded completion */
                float alt = -INFINITY;
                for (int32_t i = 0; i < V; i++) {
                    char p2[256];
                    int32_t l2 = bitnet_token_to_piece(m, i, p2, sizeof p2, false);
                    if (l2 > 0 && off + (size_t)l2 <= want_len && !memcmp(want + off, p2, (size_t)l2) && l[i] > alt)
                        alt = l[i];
                }
                margin = l[best] - alt;
            }
            off += (size_t)pl;
            CHECK(bitnet_decode(ctx, &best, 1, false) == BITNET_OK);
        }
        if (diverged_at < 0 && off == want_len) {
            matches++;
            printf("greedy \"%s\": identical to bitnet.cpp (32 tokens; smallest top-2 margin %.4f)\n",
                   prompt, own_margin_min);
        } else {
            printf("greedy \"%s\": diverges from bitnet.cpp at generated token %d; logit margin "
                   "between our token and bitnet.cpp's there: %.4f\n",
                   prompt, diverged_at, margin);
        }
    }
    printf("greedy: %d of %d completions identical to bitnet.cpp\n", matches, cJSON_GetArraySize(greedy));
    bitnet_context_free(ctx);
}

int main(void) {
    const char *model_path = fixture("tiny-i2_s.gguf");
    const char *golden_path = fixture("tiny-i2_s.golden.json");
    const char *kld_path = fixture("tiny-i2_s.kld");
    const char *text_path = fixture("eval-text.txt");
    if (!model_path || !golden_path || !kld_path || !text_path)
        SKIP("../shared/fixtures/bitnet-cpp is absent (set BITNET_SHARED_DIR)");
    char mp[4200], kp[4200], tp[4200];
    snprintf(mp, sizeof mp, "%s", model_path);
    snprintf(kp, sizeof kp, "%s", kld_path);
    snprintf(tp, sizeof tp, "%s", text_path);

    char *json = test_read_file(golden_path, NULL);
    cJSON *golden = json ? cJSON_Parse(json) : NULL;
    CHECK(golden != NULL);
    if (!golden) TEST_END();

    bitnet_model *m = bitnet_model_load(mp, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    if (!m) TEST_END();
    check_tokenize(m, cJSON_GetObjectItem(golden, "tokenize"));

    /* perplexity, same chunking as llama-perplexity */
    char args[16384];
    snprintf(args, sizeof args, "perplexity -m '%s' -f '%s' -c 128", mp, tp);
    double ppl = cli_number(args, "Final estimate: PPL = ");
    double want_ppl = cJSON_GetObjectItem(cJSON_GetObjectItem(golden, "perplexity"), "ppl")->valuedouble;
    double rel = fabs(ppl - want_ppl) / want_ppl;
    printf("perplexity: ours %.4f, bitnet.cpp %.4f, relative difference %.4f%%\n", ppl, want_ppl, 100 * rel);
    CHECKF(rel <= 0.01, "PPL %.4f vs bitnet.cpp %.4f (%.3f%%)", ppl, want_ppl, 100 * rel);

    /* logits against bitnet.cpp's saved log-probabilities */
    snprintf(args, sizeof args, "perplexity -m '%s' --kl-divergence-base '%s'", mp, kp);
    double kld = cli_number(args, "Mean    KLD: ");
    double top = cli_number(args, "Same top p: ");
    printf("KL divergence vs bitnet.cpp: mean %.6f, same top token %.3f%%\n", kld, top);
    CHECKF(kld <= 0.01, "mean KLD %.6f", kld);
    CHECKF(top >= 90.0, "same top %.3f%%", top);

    report_greedy(m, cJSON_GetObjectItem(golden, "greedy"));
    bitnet_model_free(m);
    cJSON_Delete(golden);
    free(json);
    TEST_END();
}
