/* The device choice is checked before anything is allocated, so that asking
 * for CUDA where it cannot run is a clear error and never a silent CPU run. */
#include "device.h"

#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_probe.h"
#include "error.h"

bitnet_status bn_device_check(const char *device) {
    const char *source = "device";
    if (!device || !*device) {
        const char *env = getenv("BITNET_DEVICE");
        if (!env || !*env) return BITNET_OK;
        device = env;
        source = "BITNET_DEVICE";
    }
    if (strcmp(device, "cpu") == 0) return BITNET_OK;
    if (strcmp(device, "cuda") != 0)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s '%s' is unknown (choose cpu or cuda)",
                       source, device);
    char name[256], why[512];
    if (!bn_cuda_probe(name, sizeof name, why, sizeof why))
        return bn_fail(BITNET_ERR_UNSUPPORTED, "%s cuda: %s", source, why);
    return bn_fail(BITNET_ERR_UNSUPPORTED,
                   "%s cuda: %s is present, but contexts do not run on it yet: the device "
                   "forward pass (engine/cuda) is unverified and not wired in (docs/cuda.md); "
                   "use cpu",
                   source, name[0] ? name : "a CUDA device");
}
