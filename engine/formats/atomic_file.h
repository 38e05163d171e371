/* Output files that appear whole or not at all: written under a temporary
 * name in the target's directory and renamed over the target on success, so
 * a failed or interrupted write never leaves a truncated file behind (nor
 * destroys the previous one). A target that exists and is not a regular
 * file (/dev/stdout, a FIFO) is written in place. */
#ifndef BN_ATOMIC_FILE_H
#define BN_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

#include "bitnet.h"

typedef struct bn_atomic_file {
    FILE *f;        /* write here */
    char *path;     /* the target */
    char *tmp_path; /* NULL when writing in place */
} bn_atomic_file;

/* Opens the temporary file; on failure sets the last error (naming path). */
bitnet_status bn_atomic_open(bn_atomic_file *af, const char *path);
/* Closes and renames into place when ok is true (and every write and the
 * close succeeded); otherwise removes the temporary file. Either way af is
 * released. Returns BITNET_OK or BITNET_ERR_IO naming the path. */
bitnet_status bn_atomic_close(bn_atomic_file *af, bool ok);

#endif
