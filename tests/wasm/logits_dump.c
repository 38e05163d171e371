/* logits_dump MODEL PROMPT N_GEN OUT [ISA]: the logits a build computes, for
 * tests/wasm/compare_logits.mjs to hold the WebAssembly build against the
 * native scalar reference. Built twice (native and emcc, same source); the
 * model is read into memory and loaded with bitnet_model_load_from_buffer,
 * the path the browser takes.
 *
 * Prefill of the prompt keeping every position's logits, then N_GEN greedy
 * steps of one token (the decode path). OUT (little-endian):
 *   int32 n_vocab, n_prompt, n_gen;
 *   float logits[n_prompt + n_gen][n_vocab]  (prompt rows, then the row each
 *                                             greedy step was chosen from);
 *   int32 tokens[n_prompt + n_gen]           (prompt, then the greedy picks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet.h"

static int fail(const char *what) {
    fprintf(stderr, "logits_dump: %s: %s\n", what, bitnet_get_last_error());
    return 1;
}

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: logits_dump MODEL PROMPT N_GEN OUT [ISA]\n");
        return 2;
    }
    const int n_gen = atoi(argv[3]);
    size_t size = 0;
    unsigned char *data = read_file(argv[1], &size);
    if (!data) {
        fprintf(stderr, "logits_dump: cannot read %s\n", argv[1]);
        return 1;
    }
    bitnet_model *m = bitnet_model_load_from_buffer(data, size, argv[1], NULL);
    if (!m) return fail("load");
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 256;
    cp.n_threads = 1;
    cp.isa = argc > 5 ? argv[5] : NULL;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    if (!ctx) return fail("context");
    const int n_vocab = bitnet_model_n_vocab(m);
    bitnet_token tokens[256];
    const int n_prompt = bitnet_tokenize(m, argv[2], -1, tokens, 128, true, true);
    if (n_prompt <= 0 || n_gen < 0 || n_prompt + n_gen > 256) return fail("tokenize");
    float *rows = malloc(sizeof(float) * (size_t)n_vocab * (size_t)(n_prompt + n_gen));
    if (!rows) return fail("logits buffer");
    if (bitnet_decode(ctx, tokens, n_prompt, true)) return fail("prefill");
    memcpy(rows, bitnet_get_logits(ctx), sizeof(float) * (size_t)n_vocab * (size_t)n_prompt);
    for (int i = 0; i < n_gen; i++) {
        float *row = rows + (size_t)n_vocab * (size_t)(n_prompt + i);
        if (i > 0) {
            if (bitnet_decode(ctx, &tokens[n_prompt + i - 1], 1, false)) return fail("decode");
            memcpy(row, bitnet_get_logits_ith(ctx, -1), sizeof(float) * (size_t)n_vocab);
        } else {
            memcpy(row, rows + (size_t)n_vocab * (size_t)(n_prompt - 1),
                   sizeof(float) * (size_t)n_vocab);
        }
        tokens[n_prompt + i] = argmax(row, n_vocab);
    }
    FILE *out = fopen(argv[4], "wb");
    const int32_t head[3] = {n_vocab, n_prompt, n_gen};
    const size_t n_rows = (size_t)(n_prompt + n_gen);
    if (!out || fwrite(head, sizeof head, 1, out) != 1 ||
        fwrite(rows, sizeof(float) * (size_t)n_vocab, n_rows, out) != n_rows ||
        fwrite(tokens, sizeof(int32_t), n_rows, out) != n_rows || fclose(out) != 0) {
        fprintf(stderr, "logits_dump: cannot write %s\n", argv[4]);
        return 1;
    }
    printf("%s: isa %s, %d prompt tokens, %d greedy\n", argv[1], bitnet_context_isa(ctx), n_prompt,
           n_gen);
    free(rows);
    bitnet_context_free(ctx);
    bitnet_model_free(m);
    free(data);
    return 0;
}
