/* Device selection (bitnet_context_params.device, $BITNET_DEVICE, --device):
 * cpu and the default run as before; cuda is refused with the reason this
 * build and machine give (built without CUDA / no CUDA device: <runtime
 * error> / contexts do not run on it yet), never by a silent CPU run; an
 * unknown name lists the choices. */
#include "bitnet.h"
#include "fixture.h"
#include "testutil.h"

static bool cuda_reason_ok(const char *msg, const char *source) {
    char want[64];
    snprintf(want, sizeof want, "%s cuda: ", source);
    if (strncmp(msg, want, strlen(want)) != 0) return false;
    msg += strlen(want);
    return strncmp(msg, "built without CUDA", 18) == 0 ||
           strncmp(msg, "no CUDA device: ", 16) == 0 ||
           strstr(msg, "contexts do not run on it yet") != NULL;
}

int main(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/random.gguf", test_tmpdir("device"));
    bn_fixture_params fp;
    bn_fixture_default_params(&fp);
    CHECK(bn_fixture_write(&fp, path, NULL) == BITNET_OK);
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    if (!m) TEST_END();

    unsetenv("BITNET_DEVICE");
    bitnet_context_params cp = bitnet_context_default_params();
    CHECK(cp.device == NULL);
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    CHECKF(ctx != NULL, "default device: %s", bitnet_get_last_error());
    bitnet_context_free(ctx);
    cp.device = "cpu";
    ctx = bitnet_context_new(m, &cp);
    CHECKF(ctx != NULL, "cpu: %s", bitnet_get_last_error());
    bitnet_context_free(ctx);

    cp.device = "cuda";
    ctx = bitnet_context_new(m, &cp);
    CHECK(ctx == NULL);
    const char *msg = bitnet_get_last_error();
    CHECKF(cuda_reason_ok(msg, "device"), "cuda: '%s'", msg);
    printf("  device cuda: %s\n", msg);
    bitnet_context_free(ctx);

    cp.device = "tpu";
    CHECK(bitnet_context_new(m, &cp) == NULL);
    msg = bitnet_get_last_error();
    CHECKF(strstr(msg, "'tpu'") && strstr(msg, "cpu or cuda"), "%s", msg);

    /* the environment decides only when the field is NULL */
    setenv("BITNET_DEVICE", "cuda", 1);
    cp.device = NULL;
    CHECK(bitnet_context_new(m, &cp) == NULL);
    msg = bitnet_get_last_error();
    CHECKF(cuda_reason_ok(msg, "BITNET_DEVICE"), "env: '%s'", msg);
    cp.device = "cpu";
    ctx = bitnet_context_new(m, &cp);
    CHECKF(ctx != NULL, "cpu over BITNET_DEVICE=cuda: %s", bitnet_get_last_error());
    bitnet_context_free(ctx);
    setenv("BITNET_DEVICE", "", 1);
    cp.device = NULL;
    ctx = bitnet_context_new(m, &cp);
    CHECKF(ctx != NULL, "empty BITNET_DEVICE: %s", bitnet_get_last_error());
    bitnet_context_free(ctx);
    unsetenv("BITNET_DEVICE");

    /* the CLI: bitnet run --device cuda fails with the same reason, exit 1 */
    char cmd[9000], out[4096];
    snprintf(cmd, sizeof cmd, "%s run -m %s -p hi -n 1 --device cuda 2>&1",
             test_env("BITNET_BIN", "bin/bitnet"), path);
    const int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc != 0 && strstr(out, "device cuda: "), "rc %d: %s", rc, out);
    bitnet_model_free(m);
    TEST_END();
}
