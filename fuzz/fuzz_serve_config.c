/* libFuzzer target for bitnet serve's config file (server/config.c): YAML
 * read by libyaml, restricted to one flat mapping of known keys. An accepted
 * file must print (--print-config) to text that loads back to the same
 * values; a refused one must say why. */
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_srv_config *cfg = malloc(sizeof *cfg), *again = malloc(sizeof *again);
    FUZZ_ASSERT(cfg && again);
    char err[512] = "";
    bn_srv_config_defaults(cfg);
    if (bn_srv_config_apply_yaml(cfg, (const char *)data, size, "fuzz.yaml", err, sizeof err)) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        FUZZ_ASSERT(out && bn_srv_config_print(cfg, out));
        fclose(out);
        bn_srv_config_defaults(again);
        /* the API key is printed as a comment (secret): carry it over */
        memcpy(again->api_key, cfg->api_key, sizeof cfg->api_key);
        bool ok = bn_srv_config_apply_yaml(again, text, len, "printed", err, sizeof err);
        if (!ok) fprintf(stderr, "reparse failed: %s\n%s", err, text);
        FUZZ_ASSERT(ok);
        FUZZ_ASSERT(bn_srv_config_equal(cfg, again));
        free(text);
    } else {
        FUZZ_ASSERT(err[0] != '\0');
    }
    free(cfg);
    free(again);
    return 0;
}
