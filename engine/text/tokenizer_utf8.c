/* UTF-8 stepping as llama.cpp's tokenizers do it, and the GPT-2 byte-level
 * alphabet. */
#include "tokenizer_internal.h"

size_t bn_utf8_len(uint8_t lead) {
    /* by the top four bits: 0xxx -> 1, 10xx (a stray continuation) -> 1,
     * 110x -> 2, 1110 -> 3, 1111 -> 4 */
    if (lead < 0xC0) return 1;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    return 4;
}

/* Lenient in the same places as llama.cpp's decoder (overlong forms and
 * surrogates pass), strict where it throws (bad lead or continuation bytes,
 * a sequence cut short), so that the same texts count as valid. */
size_t bn_utf8_decode(const unsigned char *s, size_t len, uint32_t *cpt) {
    if (len == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) {
        *cpt = c;
        return 1;
    }
    size_t n;
    uint32_t v;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0; /* a continuation byte or 0xF8..0xFF as lead */
    }
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cpt = v;
    return n;
}

size_t bn_utf8_encode(uint32_t cpt, char *out) {
    if (cpt < 0x80) {
        out[0] = (char)cpt;
        return 1;
    }
    if (cpt < 0x800) {
        out[0] = (char)(0xC0 | (cpt >> 6));
        out[1] = (char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt < 0x10000) {
        out[0] = (char)(0xE0 | (cpt >> 12));
        out[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | ((cpt >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cpt & 0x3F));
    return 4;
}

/* GPT-2's alphabet: printable Latin-1 bytes stand for themselves; the other
 * 68 (0x00-0x20, 0x7F-0xA0, 0xAD) are moved, in order, to U+0100..U+0143 so
 * that every token is printable text. */
uint32_t bn_bpe_byte_to_cpt(uint8_t b) {
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7F && b <= 0xA0) return 256u + 33 + (b - 0x7Fu);
    if (b == 0xAD) return 256u + 67;
    return b;
}

int bn_bpe_cpt_to_byte(uint32_t cpt) {
    if ((cpt >= 0x21 && cpt <= 0x7E) || (cpt >= 0xA1 && cpt <= 0xAC) ||
        (cpt >= 0xAE && cpt <= 0xFF))
        return (int)cpt;
    if (cpt >= 256 && cpt < 256 + 33) return (int)(cpt - 256);
    if (cpt >= 256 + 33 && cpt < 256 + 67) return (int)(0x7F + (cpt - 256 - 33));
    if (cpt == 256 + 67) return 0xAD;
    return -1;
}
