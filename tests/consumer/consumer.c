/* A downstream program built against an installed libbitnet (tests/consumer/run.sh):
 *   consumer MODEL PROMPT N
 * checks that the header and the library it runs with agree, then prints N
 * greedy tokens of text generated from PROMPT, as `bitnet run --temp 0` does. */
#include <bitnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool print_piece(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    (void)user_data;
    return fwrite(piece, 1, len, stdout) == len;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: consumer MODEL PROMPT N\n");
        return 2;
    }
    if (bitnet_abi_version() != BITNET_ABI_VERSION ||
        strcmp(bitnet_version(), BITNET_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header ABI %d / %s, library ABI %d / %s\n", BITNET_ABI_VERSION,
                BITNET_VERSION_STRING, bitnet_abi_version(), bitnet_version());
        return 1;
    }
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_model *model = bitnet_model_load(argv[1], &mp);
    if (!model) {
        fprintf(stderr, "consumer: %s\n", bitnet_get_last_error());
        return 1;
    }
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_threads = 1;
    bitnet_context *ctx = bitnet_context_new(model, &cp);
    if (!ctx) {
        fprintf(stderr, "consumer: %s\n", bitnet_get_last_error());
        bitnet_model_free(model);
        return 1;
    }
    bitnet_inference_params ip = bitnet_inference_default_params();
    ip.n_predict = atoi(argv[3]);
    ip.sampling.temperature = 0.0f;
    ip.on_piece = print_piece;
    bitnet_status st = bitnet_inference(ctx, argv[2], &ip, NULL);
    if (st != BITNET_OK) fprintf(stderr, "consumer: %s\n", bitnet_get_last_error());
    bitnet_context_free(ctx);
    bitnet_model_free(model);
    return st == BITNET_OK ? 0 : 1;
}
