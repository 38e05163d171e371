/* bitnet_model_load_from_buffer (the WebAssembly build's loader) against
 * bitnet_model_load of the same file: the same model and bit-identical
 * logits; bad buffers give errors naming the buffer, never a crash. */
#include "bitnet.h"
#include "fixture.h"
#include "testutil.h"

static float *prefill_logits(bitnet_model *m, int *n_out) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 1;
    cp.isa = "ref";
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    CHECK(ctx != NULL);
    if (!ctx) return NULL;
    const bitnet_token prompt[] = {1, 20, 31, 7, 99};
    const int n = 5, V = bitnet_model_n_vocab(m);
    float *out = NULL;
    if (bitnet_decode(ctx, prompt, n, true) == BITNET_OK &&
        (out = malloc(sizeof *out * (size_t)(n * V))))
        memcpy(out, bitnet_get_logits(ctx), sizeof *out * (size_t)(n * V));
    CHECK(out != NULL);
    *n_out = n * V;
    bitnet_context_free(ctx);
    return out;
}

static void test_same_as_file(const char *path) {
    size_t size = 0;
    char *data = test_read_file(path, &size);
    CHECK(data != NULL);
    if (!data) return;
    bitnet_model *a = bitnet_model_load(path, NULL);
    bitnet_model *b = bitnet_model_load_from_buffer(data, size, "fixture-in-memory", NULL);
    CHECKF(a && b, "%s", bitnet_get_last_error());
    if (a && b) {
        CHECK(bitnet_model_n_vocab(a) == bitnet_model_n_vocab(b));
        CHECK(bitnet_model_n_layer(a) == bitnet_model_n_layer(b));
        CHECK(bitnet_model_size(a) == bitnet_model_size(b));
        CHECK(strcmp(bitnet_model_arch(a), bitnet_model_arch(b)) == 0);
        int na = 0, nb = 0;
        float *la = prefill_logits(a, &na), *lb = prefill_logits(b, &nb);
        CHECK(la && lb && na == nb && memcmp(la, lb, sizeof *la * (size_t)na) == 0);
        free(la);
        free(lb);
    }
    bitnet_model_free(a);
    bitnet_model_free(b); /* before the buffer: the weights point into it */
    free(data);
}

static void expect_error(const void *data, size_t size, const char *name, const char *want) {
    bitnet_model *m = bitnet_model_load_from_buffer(data, size, name, NULL);
    CHECK(m == NULL);
    const char *err = bitnet_get_last_error();
    CHECKF(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
    bitnet_model_free(m);
}

static void test_bad_buffers(const char *path) {
    expect_error(NULL, 100, "null.gguf", "null.gguf: model buffer is NULL");
    expect_error("GGUF", 4, "short.gguf", "short.gguf: 4 bytes is shorter than a GGUF header");
    static const char text[] = "not a gguf file, only some text";
    expect_error(text, sizeof text, "text.gguf", "text.gguf: bad magic");
    expect_error(text, sizeof text, NULL, "<memory>: bad magic");
    size_t size = 0;
    char *data = test_read_file(path, &size);
    CHECK(data != NULL);
    if (!data) return;
    /* cut inside the tensor data, then inside the metadata */
    expect_error(data, size - 100, "cut.gguf", "cut.gguf");
    expect_error(data, 200, "cut-meta.gguf", "cut-meta.gguf");
    free(data);
}

int main(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/model.gguf", test_tmpdir("load_buffer"));
    bn_fixture_params p;
    bn_fixture_default_params(&p);
    CHECK(bn_fixture_write(&p, path, NULL) == BITNET_OK);
    test_same_as_file(path);
    test_bad_buffers(path);
    TEST_END();
}
