/* The model loader rejects inconsistent files before running anything, with a
 * message naming the key or tensor (catalogue G10, G11, G20, G21). */
#include "bitnet.h"
#include "model_builder.h"
#include "testutil.h"

static char path[4200];

/* Builds the spec, loads it, and checks the status and a message substring. */
static void expect_fail(const model_spec *s, const char *needle, const char *what) {
    CHECKF(build_model(path, s), "builder failed for %s", what);
    bitnet_model_params mp = bitnet_model_default_params();
    mp.check_tensors = true;
    bitnet_model *m = bitnet_model_load(path, &mp);
    CHECKF(m == NULL, "%s: the model loaded", what);
    const char *err = bitnet_get_last_error();
    CHECKF(strstr(err, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, needle);
    CHECKF(strstr(err, path) != NULL, "%s: message \"%s\" lacks the file name", what, err);
    bitnet_model_free(m);
}

int main(void) {
    snprintf(path, sizeof path, "%s/model.gguf", test_tmpdir("model_bad"));

    /* the unbroken model loads and runs, for every architecture */
    const char *archs[] = {"bitnet", "bitnet-b1.58", "bitnet-25", "llama"};
    for (size_t i = 0; i < 4; i++) {
        model_spec s = model_spec_default(archs[i]);
        if (!strcmp(archs[i], "bitnet-b1.58") || !strcmp(archs[i], "bitnet-25")) s.n_rot = 32;
        s.with_output = !strcmp(archs[i], "llama");
        CHECK(build_model(path, &s));
        bitnet_model *m = bitnet_model_load(path, NULL);
        CHECKF(m != NULL, "%s: %s", archs[i], bitnet_get_last_error());
        if (!m) continue;
        bitnet_context *ctx = bitnet_context_new(m, NULL);
        CHECK(ctx != NULL);
        bitnet_token toks[3] = {1, 300, 301};
        CHECK(bitnet_decode(ctx, toks, 3, false) == BITNET_OK);
        const float *l = bitnet_get_logits_ith(ctx, -1);
        CHECK(l && isfinite(l[0]));
        /* runtime input errors */
        bitnet_token bad = 100000;
        CHECK(bitnet_decode(ctx, &bad, 1, false) == BITNET_ERR_INPUT);
        CHECK(strstr(bitnet_get_last_error(), "100000") != NULL);
        CHECK(bitnet_kv_truncate(ctx, 99) == BITNET_ERR_INVALID_ARGUMENT);
        bitnet_context_free(ctx);
        bitnet_model_free(m);
    }

    model_spec s;
    /* G10: required key missing; right key, wrong type */
    s = model_spec_default("bitnet");
    s.omit_key = "bitnet.block_count";
    expect_fail(&s, "bitnet.block_count", "missing block_count");
    s = model_spec_default("bitnet");
    s.omit_key = "bitnet.attention.layer_norm_rms_epsilon";
    expect_fail(&s, "layer_norm_rms_epsilon", "missing epsilon");
    s = model_spec_default("bitnet");
    s.key_as_string = "bitnet.block_count";
    expect_fail(&s, "bitnet.block_count", "block_count as string");

    /* a NUL inside a string used as a name: "llama\0junk" is not "llama"
     * (issue 9, finding 20) */
    s = model_spec_default("llama\0junk");
    s.arch_len = 10;
    s.with_output = true;
    expect_fail(&s, "NUL byte at offset 5", "architecture with a NUL");

    /* G11: hyper-parameters out of range or inconsistent */
    s = model_spec_default("bitnet");
    s.n_head = 0;
    expect_fail(&s, "attention.head_count", "zero heads");
    s = model_spec_default("bitnet");
    s.n_head = 3; /* 128 % 3 != 0 */
    s.n_head_kv = 3;
    expect_fail(&s, "head_count", "embd not a multiple of heads");
    s = model_spec_default("bitnet");
    s.n_head_kv = 3; /* 4 % 3 != 0 */
    expect_fail(&s, "head_count_kv", "kv heads not a divisor");
    s = model_spec_default("bitnet");
    s.n_head_kv = 8; /* more kv heads than heads */
    expect_fail(&s, "head_count_kv", "kv heads > heads");
    /* a head dimension above 1024 would overrun the per-head stack tables */
    s = model_spec_default("bitnet");
    s.n_embd = 2048;
    s.n_head = 1;
    s.n_head_kv = 1;
    expect_fail(&s, "head dimension 2048", "head dimension above 1024");
    s = model_spec_default("bitnet");
    s.n_ctx = 0;
    expect_fail(&s, "context_length", "zero context");
    s = model_spec_default("bitnet");
    s.rope_base = NAN;
    expect_fail(&s, "rope.freq_base", "NaN rope base");
    s = model_spec_default("bitnet");
    s.rope_base = -5;
    expect_fail(&s, "rope.freq_base", "negative rope base");
    s = model_spec_default("bitnet");
    s.eps = 0;
    expect_fail(&s, "layer_norm_rms_epsilon", "zero epsilon");
    s = model_spec_default("bitnet-b1.58");
    s.n_rot = 16; /* must equal the head dimension 32 */
    expect_fail(&s, "rope.dimension_count", "rope dims != head dim");
    s = model_spec_default("bitnet");
    s.vocab_size_key = 1000;
    expect_fail(&s, "vocab_size", "vocab_size disagrees with the tokenizer");
    s = model_spec_default("gpt-neox");
    expect_fail(&s, "gpt-neox", "unknown architecture");

    /* G20: missing tensor, shape mismatch with the hyper-parameters */
    s = model_spec_default("bitnet");
    s.drop_tensor = "blk.1.ffn_down.weight";
    expect_fail(&s, "blk.1.ffn_down.weight", "missing tensor");
    s = model_spec_default("bitnet");
    s.drop_tensor = "blk.0.attn_sub_norm.weight";
    expect_fail(&s, "attn_sub_norm", "missing sub-norm");
    s = model_spec_default("bitnet");
    s.reshape_tensor = "blk.0.attn_k.weight";
    expect_fail(&s, "blk.0.attn_k.weight", "misshapen tensor");
    s = model_spec_default("bitnet");
    s.reshape_tensor = "token_embd.weight";
    expect_fail(&s, "token_embd.weight", "embedding rows != vocabulary");

    /* G21: ternary payload: scale 0, NaN, negative; code 3 (with check_tensors) */
    s = model_spec_default("bitnet");
    s.i2s_scale = -1.0f;
    expect_fail(&s, "scale", "negative I2_S scale");
    s = model_spec_default("bitnet");
    s.i2s_scale = NAN;
    expect_fail(&s, "scale", "NaN I2_S scale");
    s = model_spec_default("bitnet");
    s.i2s_code3 = true;
    expect_fail(&s, "code 3", "I2_S code 3");

    /* a vocab-only load of a full model works, and has no context */
    s = model_spec_default("bitnet");
    CHECK(build_model(path, &s));
    bitnet_model_params mp = bitnet_model_default_params();
    mp.vocab_only = true;
    bitnet_model *m = bitnet_model_load(path, &mp);
    CHECK(m != NULL);
    CHECK(bitnet_context_new(m, NULL) == NULL);
    CHECK(strstr(bitnet_get_last_error(), "vocab-only") != NULL);
    bitnet_model_free(m);

    /* context parameter validation */
    m = bitnet_model_load(path, NULL);
    bitnet_context_params cp = bitnet_context_default_params();
    cp.isa = "sparc";
    CHECK(bitnet_context_new(m, &cp) == NULL);
    CHECK(strstr(bitnet_get_last_error(), "sparc") != NULL);
    cp = bitnet_context_default_params();
    cp.n_ctx = 4;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    CHECK(ctx != NULL);
    bitnet_token five[5] = {1, 2, 3, 4, 5};
    CHECK(bitnet_decode(ctx, five, 5, false) == BITNET_ERR_CONTEXT_FULL);
    CHECK(bitnet_n_past(ctx) == 0);
    CHECK(bitnet_decode(ctx, five, 4, false) == BITNET_OK);
    CHECK(bitnet_decode(ctx, five, 1, false) == BITNET_ERR_CONTEXT_FULL);
    /* a prompt longer than the context: the message says what to change, in
     * the user's terms (issue 9, finding 22: it named bitnet_decode) */
    bitnet_kv_truncate(ctx, 0);
    CHECK(bitnet_inference_tokens(ctx, five, 5, NULL, NULL) == BITNET_ERR_CONTEXT_FULL);
    const char *msg = bitnet_get_last_error();
    CHECKF(strstr(msg, "5 tokens") && strstr(msg, "-c") && !strstr(msg, "bitnet_decode"), "%s", msg);
    bitnet_context_free(ctx);
    bitnet_model_free(m);
    TEST_END();
}
