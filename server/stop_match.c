/* Stop-string scanning (see stop_match.h). */
#include "stop_match.h"

#include <string.h>

/* First occurrence of needle[0..m) in text[0..len) (memmem is not in C11). */
static const char *find(const char *text, size_t len, const char *needle, size_t m) {
    if (m == 0 || m > len) return NULL;
    for (const char *p = text; (p = memchr(p, needle[0], len - m + 1 - (size_t)(p - text))); p++)
        if (!memcmp(p, needle, m)) return p;
    return NULL;
}

/* Length of the longest proper prefix of `stop` that is a suffix of text. */
static size_t partial_tail(const char *text, size_t len, const char *stop) {
    size_t n = strlen(stop);
    size_t k = n - 1 < len ? n - 1 : len;
    for (; k > 0; k--)
        if (!memcmp(text + len - k, stop, k)) return k;
    return 0;
}

size_t bn_stop_scan(const char *pending, size_t len, char *const *stops, int32_t n_stop,
                    bool *found) {
    *found = false;
    size_t first = len;
    for (int32_t i = 0; i < n_stop; i++) {
        const char *hit = find(pending, len, stops[i], strlen(stops[i]));
        if (hit && (size_t)(hit - pending) < first) {
            first = (size_t)(hit - pending);
            *found = true;
        }
    }
    if (*found) return first;
    size_t hold = 0;
    for (int32_t i = 0; i < n_stop; i++) {
        size_t k = partial_tail(pending, len, stops[i]);
        if (k > hold) hold = k;
    }
    return len - hold;
}
