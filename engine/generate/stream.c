/* Streaming generated text in whole UTF-8 characters (see stream.h). */
#include "stream.h"

#include <string.h>

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8
 * sequence: bytes of an unfinished character are held back for the next piece.
 * Invalid bytes are passed through (they can never be completed). */
static size_t complete_utf8_prefix(const char *s, size_t n) {
    size_t i = n;
    /* look back at most 3 bytes for the lead byte of the last character */
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (c >= 0xF8) need = 1; /* invalid lead: emit */
        i = back < need ? n - back : n;
        break;
    }
    return i;
}

static bool stream_emit(bn_stream *st, const char *text, size_t n, bitnet_token tok) {
    if (st->cancelled) return false;
    if (st->on_piece && !st->on_piece(text, n, tok, st->user_data)) st->cancelled = true;
    return !st->cancelled;
}

bool bn_stream_push(bn_stream *st, const char *piece, size_t n, bitnet_token tok, bool flush) {
    if (st->cancelled) return false;
    if (st->len + n > sizeof st->buf) { /* a very long piece: flush what we hold */
        if (st->len && !stream_emit(st, st->buf, st->len, tok)) return false;
        st->len = 0;
        if (n > sizeof st->buf) return stream_emit(st, piece, n, tok);
    }
    memcpy(st->buf + st->len, piece, n);
    st->len += n;
    size_t ready = flush ? st->len : complete_utf8_prefix(st->buf, st->len);
    if (ready == 0) return true;
    bool go_on = stream_emit(st, st->buf, ready, tok);
    memmove(st->buf, st->buf + ready, st->len - ready);
    st->len -= ready;
    return go_on;
}
