/* Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), for text that must be valid before it is trusted or
 * written out as JSON. The tokenizers' stepping (tokenizer_utf8.c) is
 * deliberately lenient, like llama.cpp's; this is not. */
#ifndef BN_UTF8_H
#define BN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid sequence at s[0..len) (1..4), or 0 when it is invalid
 * or cut short. */
size_t bn_utf8_valid_seq(const unsigned char *s, size_t len);

/* Whether s[0..len) is valid UTF-8; on false, *bad (if non-NULL) is the
 * offset of the first invalid byte. */
bool bn_utf8_valid(const char *s, size_t len, size_t *bad);

#endif
