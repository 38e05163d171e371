/* Escaping for every format a report string reaches. The strings come from
 * the suite (prompts, names), from models (architecture names, generated
 * text) and from other programs (a baseline's error message), so they may
 * hold anything: markup, table separators, control characters, invalid
 * UTF-8. Each writer prints them only through these. Invalid UTF-8 becomes
 * U+FFFD in every format. */
#include <string.h>

#include "report.h"
#include "utf8.h"
#include "vutil.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Calls emit for each character: ASCII as itself, a valid UTF-8 sequence as
 * one unit (len > 1), anything invalid as U+FFFD. */
typedef void (*emit_fn)(FILE *f, const char *s, size_t len);

static void each_char(FILE *f, const char *s, emit_fn emit) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = bn_utf8_valid_seq((const unsigned char *)s + i, n - i);
        if (k == 0) {
            emit(f, REPLACEMENT, 3);
            i++;
        } else {
            emit(f, s + i, k);
            i += k;
        }
    }
}

static void md_char(FILE *f, const char *s, size_t len) {
    unsigned char c = (unsigned char)s[0];
    if (len > 1) {
        fwrite(s, 1, len, f);
    } else if (c == '\n' || c == '\r' || c == '\t') {
        fputc(' ', f); /* a newline would end the table row */
    } else if (c < 0x20 || c == 0x7f) {
        /* control characters: dropped */
    } else if (c == '&') {
        fputs("&amp;", f);
    } else if (strchr("\\|`*_[]<>#~", c)) {
        fputc('\\', f); /* CommonMark: any ASCII punctuation may be backslash-escaped */
        fputc(c, f);
    } else {
        fputc(c, f);
    }
}

void rj_md(FILE *f, const char *s) { each_char(f, s, md_char); }

/* Inside a code span backslashes are literal, so the two characters that
 * matter (the span's own backtick and the table's pipe) are replaced. */
static void md_code_char(FILE *f, const char *s, size_t len) {
    unsigned char c = (unsigned char)s[0];
    if (len > 1)
        fwrite(s, 1, len, f);
    else if (c == '`')
        fputc('\'', f);
    else if (c == '|')
        fputs("\\|", f); /* GFM tables split on | even inside code spans */
    else if (c < 0x20 || c == 0x7f)
        fputc(' ', f);
    else
        fputc(c, f);
}

void rj_md_code(FILE *f, const char *s) {
    fputc('`', f);
    each_char(f, s, md_code_char);
    fputc('`', f);
}

/* HTML and XML text and attribute values (always double-quoted). */
static void markup_char(FILE *f, const char *s, size_t len, bool xml) {
    unsigned char c = (unsigned char)s[0];
    if (len > 1) {
        /* XML 1.0 excludes U+FFFE and U+FFFF */
        if (xml && len == 3 && c == 0xEF && (unsigned char)s[1] == 0xBF &&
            (unsigned char)s[2] >= 0xBE)
            fputs(REPLACEMENT, f);
        else
            fwrite(s, 1, len, f);
        return;
    }
    switch (c) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    case '\n': fputs(xml ? "&#10;" : "\n", f); break;
    case '\t': fputs(xml ? "&#9;" : "\t", f); break;
    case '\r': fputs(xml ? "&#13;" : "", f); break;
    default:
        if (c >= 0x20 && c != 0x7f) fputc(c, f); /* other controls are not allowed: dropped */
    }
}

static void html_char(FILE *f, const char *s, size_t len) { markup_char(f, s, len, false); }
static void xml_char(FILE *f, const char *s, size_t len) { markup_char(f, s, len, true); }

void rj_html(FILE *f, const char *s) { each_char(f, s, html_char); }
void rj_xml(FILE *f, const char *s) { each_char(f, s, xml_char); }
