/* The UTF-8 streaming of generated text (engine/generate/stream.c): characters split
 * across pieces are held back until complete, and a callback that returned
 * false is never called again, not even for the final flush (issue 9,
 * finding 18: it used to be called once more with the held-back bytes). */
#include "stream.h"
#include "testutil.h"

typedef struct calls {
    int n;
    int stop_after; /* return false on this call (1-based); 0: never */
    char text[512];
    size_t len;
} calls;

static bool record(const char *piece, size_t len, bitnet_token token, void *user_data) {
    (void)token;
    calls *c = user_data;
    c->n++;
    if (c->len + len < sizeof c->text) {
        memcpy(c->text + c->len, piece, len);
        c->len += len;
    }
    return c->stop_after == 0 || c->n < c->stop_after;
}

static bn_stream stream_for(calls *c) {
    bn_stream st = {.len = 0, .cancelled = false, .on_piece = record, .user_data = c};
    return st;
}

int main(void) {
    /* "€" (E2 82 AC) split over three pieces: one emission, whole */
    {
        calls c = {0};
        bn_stream st = stream_for(&c);
        CHECK(bn_stream_push(&st, "a\xE2", 2, 1, false));
        CHECK(c.n == 1 && c.len == 1 && c.text[0] == 'a');
        CHECK(bn_stream_push(&st, "\x82", 1, 2, false));
        CHECK(c.n == 1);
        CHECK(bn_stream_push(&st, "\xAC", 1, 3, false));
        CHECK(c.n == 2 && c.len == 4 && memcmp(c.text, "a\xE2\x82\xAC", 4) == 0);
        CHECK(st.len == 0);
    }
    /* the final flush hands over an unfinished character as it is */
    {
        calls c = {0};
        bn_stream st = stream_for(&c);
        CHECK(bn_stream_push(&st, "b\xF0\x9F", 3, 1, false));
        CHECK(c.n == 1 && st.len == 2);
        CHECK(bn_stream_push(&st, "", 0, -1, true));
        CHECK(c.n == 2 && c.len == 3);
    }
    /* cancelled with bytes held back: no call after the one that said stop */
    {
        calls c = {.stop_after = 1};
        bn_stream st = stream_for(&c);
        CHECK(!bn_stream_push(&st, "stop\xE2\x82", 6, 1, false));
        CHECK(c.n == 1 && st.cancelled && st.len == 2);
        CHECK(!bn_stream_push(&st, "", 0, -1, true));
        CHECKF(c.n == 1, "callback called %d times after returning false", c.n - 1);
        CHECK(!bn_stream_push(&st, "more", 4, 2, false));
        CHECK(c.n == 1);
    }
    /* a piece longer than the buffer: what is held goes first, then the piece */
    {
        calls c = {0};
        bn_stream st = stream_for(&c);
        char big[300];
        memset(big, 'x', sizeof big);
        CHECK(bn_stream_push(&st, "\xC3", 1, 1, false));
        CHECK(c.n == 0);
        CHECK(bn_stream_push(&st, big, sizeof big, 2, false));
        CHECK(c.n == 2 && c.len == 301);
    }
    /* no callback: pieces are consumed */
    {
        bn_stream st = {.len = 0, .cancelled = false, .on_piece = NULL, .user_data = NULL};
        CHECK(bn_stream_push(&st, "abc", 3, 1, false));
        CHECK(st.len == 0);
    }
    TEST_END();
}
