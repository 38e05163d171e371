/* Streams generated pieces to the caller's callback in whole UTF-8
 * characters: the bytes of a character split across tokens (byte-fallback
 * pieces) are held back until it is complete, or until the final flush. */
#ifndef BN_STREAM_H
#define BN_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "bitnet.h"

typedef struct bn_stream {
    char buf[256]; /* held-back bytes + the newest piece */
    size_t len;
    bool cancelled;                 /* the callback returned false: it is never called again */
    bitnet_piece_callback on_piece; /* may be NULL */
    void *user_data;
} bn_stream;

/* Adds a piece (for token `tok`) and emits the complete part of the pending
 * text; `flush` emits everything held. Returns false once cancelled. */
bool bn_stream_push(bn_stream *st, const char *piece, size_t n, bitnet_token tok, bool flush);

#endif
