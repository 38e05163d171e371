/* kernel_config.ini parser (kernel_config.h). Untrusted input: every line is
 * checked before it is used, and every error names the file and line. */
#include "kernel_config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "error.h"
#include "file_map.h"

enum { KEY_M, KEY_K, KEY_BM, KEY_BK, KEY_BMM, N_KEYS };
static const char *const key_names[N_KEYS] = {"m", "k", "bm", "bk", "bmm"};

typedef struct section {
    char name[65];
    int line;
    int64_t v[N_KEYS];
    bool have[N_KEYS];
} section;

typedef struct parser {
    const char *name;
    bn_kernel_config *cfg;
    section cur;
    bool in_section;
    /* section names seen, for duplicates (at most MAX_SECTIONS of 65 bytes) */
    char (*names)[65];
} parser;

#define FAIL(p, line, ...) fail_at(p, line, __VA_ARGS__)

static bitnet_status BN_PRINTF(3, 4) fail_at(const parser *p, int line, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bn_fail(BITNET_ERR_FORMAT, "%s: line %d: %s", p->name, line, msg);
}

static const char *trim(const char *s, const char *e, const char **end) {
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    *end = e;
    return s;
}

/* Closes the current section: every key present, (m, k) not seen before. */
static bitnet_status end_section(parser *p) {
    if (!p->in_section) return BITNET_OK;
    section *s = &p->cur;
    for (int k = 0; k < N_KEYS; k++)
        if (!s->have[k])
            return FAIL(p, s->line, "section [%s] has no key '%s' (needs m, k, bm, bk, bmm)",
                        s->name, key_names[k]);
    bn_kernel_config *c = p->cfg;
    for (size_t i = 0; i < c->n; i++)
        if (c->entries[i].m == s->v[KEY_M] && c->entries[i].k == s->v[KEY_K])
            return FAIL(p, s->line,
                        "section [%s] repeats the shape m = %" PRId64 ", k = %" PRId64
                        " of the section at line %d",
                        s->name, s->v[KEY_M], s->v[KEY_K], c->entries[i].line);
    c->entries[c->n++] = (bn_kernel_config_entry){
        .m = s->v[KEY_M],
        .k = s->v[KEY_K],
        .p = {.bm_tile = (int)s->v[KEY_BM], .bk = (int)s->v[KEY_BK], .bm_sub = (int)s->v[KEY_BMM]},
        .line = s->line};
    p->in_section = false;
    return BITNET_OK;
}

static bitnet_status start_section(parser *p, int line, const char *s, const char *e) {
    bitnet_status st = end_section(p);
    if (st) return st;
    /* s points at '[' */
    if (e - s < 2 || e[-1] != ']') return FAIL(p, line, "a section header must end with ']'");
    const char *ne;
    const char *n = trim(s + 1, e - 1, &ne);
    const size_t len = (size_t)(ne - n);
    if (len == 0 || len > 64)
        return FAIL(p, line, "the section name must have 1 to 64 characters (has %zu)", len);
    if (memchr(n, '[', len) || memchr(n, ']', len))
        return FAIL(p, line, "the section name holds a bracket");
    if (p->cfg->n >= BN_KERNEL_CONFIG_MAX_SECTIONS)
        return FAIL(p, line, "more than %d sections", BN_KERNEL_CONFIG_MAX_SECTIONS);
    memset(&p->cur, 0, sizeof p->cur);
    memcpy(p->cur.name, n, len);
    if (!strcasecmp(p->cur.name, "DEFAULT"))
        return FAIL(p, line, "a [DEFAULT] section is not supported (give every key per section)");
    for (size_t i = 0; i < p->cfg->n; i++)
        if (!strcmp(p->names[i], p->cur.name))
            return FAIL(p, line, "section [%s] appears twice (first at line %d)", p->cur.name,
                        p->cfg->entries[i].line);
    memcpy(p->names[p->cfg->n], p->cur.name, sizeof p->cur.name);
    p->cur.line = line;
    p->in_section = true;
    return BITNET_OK;
}

static bitnet_status key_value(parser *p, int line, const char *s, const char *e) {
    const char *sep = s;
    while (sep < e && *sep != '=' && *sep != ':') sep++;
    if (sep == e)
        return FAIL(p, line, "expected 'key = value', a [section] or a comment, got '%.*s'",
                    (int)(e - s > 60 ? 60 : e - s), s);
    const char *ke, *ve;
    const char *k = trim(s, sep, &ke), *v = trim(sep + 1, e, &ve);
    const size_t klen = (size_t)(ke - k);
    int key = -1;
    for (int i = 0; i < N_KEYS; i++)
        if (strlen(key_names[i]) == klen && !strncasecmp(k, key_names[i], klen)) key = i;
    if (key < 0)
        return FAIL(p, line, "unknown key '%.*s' (known: m, k, bm, bk, bmm)",
                    (int)(klen > 60 ? 60 : klen), k);
    if (!p->in_section) return FAIL(p, line, "key '%s' comes before any [section]", key_names[key]);
    if (p->cur.have[key])
        return FAIL(p, line, "key '%s' appears twice in section [%s]", key_names[key], p->cur.name);
    int64_t x = 0;
    const char *d = v;
    if (d == ve) return FAIL(p, line, "key '%s' has no value", key_names[key]);
    for (; d < ve; d++) {
        if (*d < '0' || *d > '9' || x > (INT64_C(1) << 31))
            return FAIL(p, line, "key '%s': '%.*s' is not an integer in [1, 2147483647]",
                        key_names[key], (int)(ve - v > 40 ? 40 : ve - v), v);
        x = x * 10 + (*d - '0');
    }
    if (x < 1 || x > INT32_MAX)
        return FAIL(p, line, "key '%s': %" PRId64 " is not in [1, 2147483647]", key_names[key], x);
    p->cur.v[key] = x;
    p->cur.have[key] = true;
    return BITNET_OK;
}

static bitnet_status parse_line(parser *p, int line, const char *s, const char *e) {
    if (e - s > BN_KERNEL_CONFIG_MAX_LINE)
        return FAIL(p, line, "the line is longer than %d bytes", BN_KERNEL_CONFIG_MAX_LINE);
    for (const char *c = s; c < e; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t' && *c != '\r')
            return FAIL(p, line, "control byte 0x%02x at column %d", (unsigned char)*c,
                        (int)(c - s) + 1);
    const char *te;
    const char *t = trim(s, e, &te);
    if (t == te || *t == '#' || *t == ';') return BITNET_OK;
    if (t != s)
        return FAIL(p, line, "an indented line (a continuation in ConfigParser) is not supported");
    if (*t == '[') return start_section(p, line, t, te);
    return key_value(p, line, t, te);
}

bitnet_status bn_kernel_config_parse(const char *text, size_t len, const char *name,
                                     bn_kernel_config *out) {
    memset(out, 0, sizeof *out);
    if (!name) name = "kernel_config.ini";
    if (len > BN_KERNEL_CONFIG_MAX_BYTES)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: %zu bytes, more than the %u a kernel_config.ini may have", name, len,
                       BN_KERNEL_CONFIG_MAX_BYTES);
    /* upper bound on sections: one per line that can hold "[x]" */
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += text[i] == '\n';
    if (cap > BN_KERNEL_CONFIG_MAX_SECTIONS) cap = BN_KERNEL_CONFIG_MAX_SECTIONS;
    bn_kernel_config c = {0};
    parser p = {.name = name, .cfg = &c};
    c.entries = bn_malloc_array(cap, sizeof *c.entries);
    p.names = bn_malloc_array(cap, sizeof *p.names);
    c.path = bn_strdup(name);
    bitnet_status st = c.entries && p.names && c.path ? BITNET_OK : BITNET_ERR_NOMEM;
    const char *s = text, *end = text + len;
    int line = 1;
    while (!st && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        st = parse_line(&p, line, s, e);
        s = nl ? nl + 1 : end;
        line++;
    }
    if (!st) st = end_section(&p);
    if (!st && c.n == 0)
        st = bn_fail(BITNET_ERR_FORMAT, "%s: no [section] with m, k, bm, bk, bmm", name);
    bn_free(p.names);
    if (st) {
        bn_kernel_config_free(&c);
        return st;
    }
    *out = c;
    return BITNET_OK;
}

bitnet_status bn_kernel_config_load(const char *path, bn_kernel_config *out) {
    memset(out, 0, sizeof *out);
    bn_file_map f;
    bitnet_status st = bn_file_map_open(path, true, 0, "a kernel_config.ini", &f);
    if (st) return st;
    st = bn_kernel_config_parse((const char *)f.base, (size_t)f.size, path, out);
    bn_file_map_close(&f);
    return st;
}

void bn_kernel_config_free(bn_kernel_config *c) {
    if (!c) return;
    bn_free(c->entries);
    bn_free(c->path);
    memset(c, 0, sizeof *c);
}

const bn_kernel_config_entry *bn_kernel_config_find(const bn_kernel_config *c, int64_t m,
                                                    int64_t k) {
    for (size_t i = 0; c && i < c->n; i++)
        if (c->entries[i].m == m && c->entries[i].k == k) return &c->entries[i];
    return NULL;
}
