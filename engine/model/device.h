/* Which device a context's forward pass runs on (bitnet_context_params.device,
 * $BITNET_DEVICE). */
#ifndef BN_DEVICE_H
#define BN_DEVICE_H

#include "bitnet.h"

/* BITNET_OK when the forward pass can run on `device` (NULL: $BITNET_DEVICE,
 * else "cpu"). Only "cpu" can today: "cuda" fails with the reason (built
 * without CUDA; no CUDA device, with the runtime's error string; or no
 * contexts on the device yet), an unknown name with the choices. The CUDA
 * runtime is loaded only when "cuda" is asked for. */
bitnet_status bn_device_check(const char *device);

#endif
