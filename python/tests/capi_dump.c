/* The C side of the Python package's tests (python/tests/test_abi.py, test_context.py):
 *   capi_dump layout                    struct sizes and field offsets of bitnet.h, as JSON
 *   capi_dump logits MODEL IDS THREADS MODE
 *       decodes comma-separated token ids and writes float32 logits to stdout, raw:
 *       MODE all: one call with all_logits (a row per token); last: one call, the
 *       last row; steps: one call per token, the last row of each
 * so the ctypes structs and the zero-copy logits are checked against the C compiler
 * and the C API, not against themselves. */
#include <bitnet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(S, f)                                                                                \
    printf("%s\"%s\": [%zu, %zu]", first++ ? ", " : "", #f, offsetof(S, f), sizeof(((S *)0)->f))
#define BEGIN(S)                                                                                   \
    (printf("%s\"%s\": {\"sizeof\": %zu, \"fields\": {", n_struct++ ? ", " : "", #S, sizeof(S)),   \
     first = 0)
#define END() printf("}}")

static int layout(void) {
    int n_struct = 0, first;
    printf("{");
    BEGIN(bitnet_model_params);
    FIELD(bitnet_model_params, log_callback);
    FIELD(bitnet_model_params, log_user_data);
    FIELD(bitnet_model_params, use_mmap);
    FIELD(bitnet_model_params, vocab_only);
    FIELD(bitnet_model_params, check_tensors);
    FIELD(bitnet_model_params, use_mlock);
    FIELD(bitnet_model_params, kernel_config);
    FIELD(bitnet_model_params, i2s_block);
    END();
    BEGIN(bitnet_context_params);
    FIELD(bitnet_context_params, n_ctx);
    FIELD(bitnet_context_params, n_batch);
    FIELD(bitnet_context_params, n_threads);
    FIELD(bitnet_context_params, numerics);
    FIELD(bitnet_context_params, isa);
    FIELD(bitnet_context_params, abort_callback);
    FIELD(bitnet_context_params, abort_user_data);
    FIELD(bitnet_context_params, head_q8);
    FIELD(bitnet_context_params, n_seq_max);
    FIELD(bitnet_context_params, device);
    END();
    BEGIN(bitnet_sampler_params);
    FIELD(bitnet_sampler_params, temperature);
    FIELD(bitnet_sampler_params, top_k);
    FIELD(bitnet_sampler_params, top_p);
    FIELD(bitnet_sampler_params, min_p);
    FIELD(bitnet_sampler_params, repeat_penalty);
    FIELD(bitnet_sampler_params, repeat_last_n);
    FIELD(bitnet_sampler_params, seed);
    END();
    BEGIN(bitnet_inference_params);
    FIELD(bitnet_inference_params, n_predict);
    FIELD(bitnet_inference_params, parse_special);
    FIELD(bitnet_inference_params, ignore_eos);
    FIELD(bitnet_inference_params, sampling);
    FIELD(bitnet_inference_params, on_piece);
    FIELD(bitnet_inference_params, user_data);
    END();
    BEGIN(bitnet_inference_stats);
    FIELD(bitnet_inference_stats, n_prompt);
    FIELD(bitnet_inference_stats, n_generated);
    FIELD(bitnet_inference_stats, t_prompt_ms);
    FIELD(bitnet_inference_stats, t_gen_ms);
    FIELD(bitnet_inference_stats, stop_reason);
    FIELD(bitnet_inference_stats, last_token);
    END();
    BEGIN(bitnet_chat_message);
    FIELD(bitnet_chat_message, role);
    FIELD(bitnet_chat_message, content);
    END();
    printf("}\n");
    return 0;
}

static int logits(const char *path, const char *ids, int threads, const char *mode) {
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_model *m = bitnet_model_load(path, &mp);
    if (!m) {
        fprintf(stderr, "capi_dump: %s\n", bitnet_get_last_error());
        return 1;
    }
    bitnet_token toks[512];
    int32_t n = 0;
    for (const char *p = ids; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || n == 512) {
            fprintf(stderr, "capi_dump: bad token list '%s'\n", ids);
            bitnet_model_free(m);
            return 2;
        }
        toks[n++] = (bitnet_token)v;
        p = *end ? end + 1 : end;
    }
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_threads = threads;
    bitnet_context *c = bitnet_context_new(m, &cp);
    int rc = c ? 0 : 1;
    size_t n_vocab = (size_t)bitnet_model_n_vocab(m);
    bool steps = !strcmp(mode, "steps"), all = !strcmp(mode, "all");
    for (int32_t i = 0; rc == 0 && i < (steps ? n : 1); i++) {
        if (bitnet_decode(c, steps ? toks + i : toks, steps ? 1 : n, all) != BITNET_OK) {
            rc = 1;
            break;
        }
        size_t count = (size_t)bitnet_get_n_outputs(c) * n_vocab;
        if (fwrite(bitnet_get_logits(c), sizeof(float), count, stdout) != count) rc = 1;
    }
    if (rc) fprintf(stderr, "capi_dump: %s\n", bitnet_get_last_error());
    bitnet_context_free(c);
    bitnet_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "layout")) return layout();
    if (argc == 6 && !strcmp(argv[1], "logits"))
        return logits(argv[2], argv[3], atoi(argv[4]), argv[5]);
    fprintf(stderr,
            "usage: capi_dump layout | capi_dump logits MODEL IDS THREADS all|last|steps\n");
    return 2;
}
