/* KL-divergence base files (llama-perplexity's "_logits_"): every record's
 * scale and minimum and every token id are validated, naming the file, chunk,
 * position and value (issue 9, finding 11); before, a NaN or negative scale
 * or an infinite minimum gave "-nan"/0/inf KLD with exit 0. */
#include "model_builder.h"
#include "testutil.h"

static char out[1 << 16];
static char cmd[1 << 14];

enum { N_CTX = 8, N_CHUNK = 2, N_SCORED = N_CTX - 1 - N_CTX / 2 };

typedef struct kld_case {
    const char *name;
    int chunk, pos;     /* record to break (-1: none) */
    float scale, min;   /* its values */
    int bad_token;      /* token id written at chunk 0, position 3 (0: keep) */
    long truncate;      /* bytes to cut off the end */
    const char *expect; /* in the message */
} kld_case;

static bool write_kld(const char *path, int32_t n_vocab, const kld_case *c) {
    const int nv = 2 * ((n_vocab + 1) / 2) + 4;
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    uint32_t n_ctx = N_CTX;
    int32_t n_chunk = N_CHUNK;
    bool ok = fwrite("_logits_", 1, 8, f) == 8 && fwrite(&n_ctx, 4, 1, f) == 1 &&
              fwrite(&n_vocab, 4, 1, f) == 1 && fwrite(&n_chunk, 4, 1, f) == 1;
    for (int i = 0; ok && i < N_CTX * N_CHUNK; i++) {
        int32_t t = 259 + i % 50;
        if (c->bad_token && i == 3) t = c->bad_token;
        ok = fwrite(&t, 4, 1, f) == 1;
    }
    uint16_t *rec = calloc((size_t)nv, 2);
    for (int ch = 0; ok && ch < N_CHUNK; ch++)
        for (int p = 0; ok && p < N_SCORED; p++) {
            float scale = 1e-4f, min = -12.0f;
            if (ch == c->chunk && p == c->pos) {
                scale = c->scale;
                min = c->min;
            }
            memcpy(rec, &scale, 4);
            memcpy(rec + 2, &min, 4);
            for (int i = 0; i < n_vocab; i++) rec[4 + i] = (uint16_t)(i * 37 % 60000);
            ok = fwrite(rec, 2, (size_t)nv, f) == (size_t)nv;
        }
    free(rec);
    long end = ftell(f);
    if (fclose(f) != 0) ok = false;
    if (ok && c->truncate) ok = truncate(path, end - c->truncate) == 0;
    return ok;
}

int main(void) {
    const char *dir = test_tmpdir("kld_bad");
    char model[4200], base[4300];
    snprintf(model, sizeof model, "%s/m.gguf", dir);
    snprintf(base, sizeof base, "%s/base.kld", dir);
    model_spec s = model_spec_default("bitnet");
    CHECK(build_model(model, &s));
    const int32_t n_vocab = 3 + 256 + s.n_extra_tokens;
    const kld_case cases[] = {
        {"valid", -1, 0, 0, 0, 0, 0, NULL},
        {"NaN scale", 1, 2, NAN, -12.0f, 0, 0,
         "chunk 1, scored position 2 (token 6): scale is not finite"},
        {"negative scale", 0, 1, -1e-4f, -12.0f, 0, 0,
         "chunk 0, scored position 1 (token 5): scale is negative"},
        {"inf scale", 0, 0, INFINITY, -12.0f, 0, 0, "scale is not finite (scale inf"},
        {"-inf minimum", 1, 0, 1e-4f, -INFINITY, 0, 0,
         "chunk 1, scored position 0 (token 4): minimum log-probability is not finite"},
        {"NaN minimum", 0, 2, 1e-4f, NAN, 0, 0, "minimum log-probability is not finite"},
        {"positive minimum", 0, 2, 1e-4f, 3.0f, 0, 0,
         "minimum log-probability is positive (scale 0.0001, minimum 3)"},
        {"token beyond the vocabulary", -1, 0, 0, 0, 100000, 0,
         "chunk 0, position 3: token id 100000 is outside the vocabulary [0, 320)"},
        {"negative token", -1, 0, 0, 0, -5, 0, "token id -5 is outside"},
        {"truncated", -1, 0, 0, 0, 0, 7, "does not match its header"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const kld_case *c = &cases[k];
        CHECK(write_kld(base, n_vocab, c));
        snprintf(cmd, sizeof cmd,
                 "%s perplexity -m '%s' --kl-divergence-base '%s' -t 1 --json 2>&1",
                 test_env("BITNET_BIN", "bitnet"), model, base);
        int rc = test_run(cmd, out, sizeof out);
        if (!c->expect) {
            CHECKF(rc == 0 && strstr(out, "\"mean_kld\""), "%s: exit %d\n%s", c->name, rc, out);
        } else {
            CHECKF(rc == 1 && strstr(out, c->expect) && strstr(out, "base.kld"),
                   "%s: exit %d, expected '%s' in:\n%s", c->name, rc, c->expect, out);
            CHECKF(!strstr(out, "mean_kld"), "%s: a result was printed:\n%s", c->name, out);
        }
    }
    /* a device without a size: the header is checked first, nothing more is read */
    snprintf(cmd, sizeof cmd, "%s perplexity -m '%s' --kl-divergence-base /dev/zero -t 1 2>&1",
             test_env("BITNET_BIN", "bitnet"), model);
    CHECK(test_run(cmd, out, sizeof out) == 1 && strstr(out, "magic _logits_"));
    TEST_END();
}
