#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { BN_ERROR_MAX = 1024 };

static _Thread_local char last_error[BN_ERROR_MAX];

bitnet_status bn_fail(bitnet_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void bn_error_prefix(const char *fmt, ...) {
    char prefix[BN_ERROR_MAX];
    char old[BN_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    /* prefix + ": " + old message, cut to the buffer */
    size_t n = strlen(prefix);
    if (n > sizeof last_error - 3) n = sizeof last_error - 3;
    memcpy(last_error, prefix, n);
    memcpy(last_error + n, ": ", 2);
    size_t room = sizeof last_error - n - 3, old_len = strlen(old);
    if (old_len > room) old_len = room;
    memcpy(last_error + n + 2, old, old_len);
    last_error[n + 2 + old_len] = '\0';
}

void bn_clear_error(void) { last_error[0] = '\0'; }

const char *bitnet_get_last_error(void) { return last_error; }

const char *bitnet_status_str(bitnet_status status) {
    switch (status) {
    case BITNET_OK: return "ok";
    case BITNET_ERR_INVALID_ARGUMENT: return "invalid argument";
    case BITNET_ERR_IO: return "input/output error";
    case BITNET_ERR_FORMAT: return "file is malformed";
    case BITNET_ERR_TRUNCATED: return "file is truncated";
    case BITNET_ERR_VERSION: return "unsupported format version";
    case BITNET_ERR_UNSUPPORTED: return "unsupported model or tensor type";
    case BITNET_ERR_NOMEM: return "out of memory";
    case BITNET_ERR_CONTEXT_FULL: return "context window is full";
    case BITNET_ERR_INPUT: return "invalid input";
    case BITNET_ERR_ABORTED: return "aborted";
    case BITNET_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case BITNET_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
