#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void bn_log(const bn_logger *logger, bitnet_log_level level, const char *fmt, ...) {
    if (!logger || !logger->callback) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    logger->callback(level, line, logger->user_data);
}
