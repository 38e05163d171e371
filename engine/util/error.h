/* Thread-local last-error message and the helpers that set it. */
#ifndef BN_ERROR_H
#define BN_ERROR_H

#include "bitnet.h"

#if defined(__GNUC__)
#define BN_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define BN_PRINTF(fmt_idx, arg_idx)
#endif

/* Sets the calling thread's last error and returns `status`, so that a
 * failing function can end with `return bn_fail(BITNET_ERR_FORMAT, ...)`. */
bitnet_status bn_fail(bitnet_status status, const char *fmt, ...) BN_PRINTF(2, 3);

/* Prefixes the current message with "context: " (used when an inner function
 * failed without knowing, say, the file name). */
void bn_error_prefix(const char *fmt, ...) BN_PRINTF(1, 2);

void bn_clear_error(void);

#endif
