/* Logging through the embedder's callback; the library never prints. */
#ifndef BN_LOG_H
#define BN_LOG_H

#include "bitnet.h"
#include "error.h"

typedef struct bn_logger {
    bitnet_log_callback callback; /* NULL: silent */
    void *user_data;
} bn_logger;

void bn_log(const bn_logger *logger, bitnet_log_level level, const char *fmt, ...) BN_PRINTF(3, 4);

#define BN_LOG_ERROR(lg, ...) bn_log((lg), BITNET_LOG_ERROR, __VA_ARGS__)
#define BN_LOG_WARN(lg, ...) bn_log((lg), BITNET_LOG_WARN, __VA_ARGS__)
#define BN_LOG_INFO(lg, ...) bn_log((lg), BITNET_LOG_INFO, __VA_ARGS__)
#define BN_LOG_DEBUG(lg, ...) bn_log((lg), BITNET_LOG_DEBUG, __VA_ARGS__)

#endif
