/* No report output can be invalid (issue 9, finding 17 and "no JSON output
 * can be invalid"): a report document full of hostile values - markup, table
 * separators, newlines, control characters, invalid UTF-8 (what a model or a
 * baseline's error message can produce), U+FFFF, NaN and infinite metrics -
 * goes through every writer; report.json parses back with cJSON, NaN/inf as
 * null, valid strings unchanged, and is valid UTF-8; junit.xml is
 * well-formed XML; report.md tables keep their columns; report.html has no
 * markup it did not write. A failed write leaves no file. */
#include <cjson/cJSON.h>
#include <ctype.h>

#include "report.h"
#include "testutil.h"

static const char *hostile[] = {
    "<script>alert(1)</script>",
    "a|b\n| injected | row |",
    "quote\" apostrophe' amp& lt< gt> backtick` star* under_ [link](x)",
    "ctl\x01\x02\x1b[31m\x7f tab\t cr\r nl\n",
    "]]> <!-- --> <![CDATA[x]]>",
    "bad utf8: \xC3\x28 \xFF \xED\xA0\x80 cut\xE2\x82",
    "nonchar \xEF\xBF\xBF and \xEF\xBF\xBE, emoji \xF0\x9F\x99\x82",
    "&amp; &#0; &lt;",
};
#define N_HOSTILE ((int)(sizeof hostile / sizeof hostile[0]))

/* Well-formed UTF-8 by the definition of RFC 3629 (written here again, not
 * taken from the code under test). */
static bool utf8_ok(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return false;
        unsigned cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

static bool is_valid(const char *s) { return utf8_ok((const unsigned char *)s, strlen(s)); }

static cJSON *hostile_report(void) {
    cJSON *r = report_new(hostile[0], hostile[1], ".");
    cJSON *impls = cJSON_AddArrayToObject(r, "implementations");
    cJSON *fixtures = cJSON_AddArrayToObject(r, "fixtures");
    cJSON *checks = cJSON_AddArrayToObject(r, "checks");
    cJSON *speed = cJSON_AddObjectToObject(r, "speed");
    cJSON_AddNumberToObject(speed, "reps", NAN);
    cJSON_AddNumberToObject(speed, "read_bandwidth_gbs", INFINITY);
    cJSON *entries = cJSON_AddArrayToObject(speed, "entries");
    static const char *kinds[] = {"logits", "greedy", "speed"};
    static const char *statuses[] = {"pass", "fail", "skipped", "error"};
    for (int i = 0; i < N_HOSTILE; i++) {
        const char *s = hostile[i];
        cJSON *im = cJSON_CreateObject();
        cJSON_AddStringToObject(im, "name", s);
        cJSON_AddStringToObject(im, "status", i % 2 ? "available" : s);
        cJSON_AddStringToObject(im, "version", s);
        cJSON_AddStringToObject(im, "reason", s);
        cJSON_AddItemToArray(impls, im);
        cJSON *fx = cJSON_CreateObject();
        cJSON_AddStringToObject(fx, "name", s);
        cJSON_AddStringToObject(fx, "arch", s);
        cJSON_AddStringToObject(fx, "sha256", s);
        cJSON_AddStringToObject(fx, "status", "skipped");
        cJSON_AddStringToObject(fx, "reason", s);
        cJSON_AddStringToObject(fx, "reference", s);
        cJSON_AddNumberToObject(fx, "bytes", NAN);
        cJSON_AddItemToArray(fixtures, fx);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", s);
        cJSON_AddStringToObject(c, "kind", i < 3 ? kinds[i] : s);
        cJSON_AddStringToObject(c, "fixture", s);
        cJSON_AddStringToObject(c, "impl", s);
        cJSON_AddStringToObject(c, "reference", s);
        cJSON_AddStringToObject(c, "status", statuses[i % 4]);
        cJSON_AddStringToObject(c, "reason", s);
        cJSON *m = cJSON_AddObjectToObject(c, "metrics");
        cJSON_AddNumberToObject(m, "kld_mean", NAN);
        cJSON_AddNumberToObject(m, "kld_p99", INFINITY);
        cJSON_AddNumberToObject(m, "kld_max", -INFINITY);
        cJSON_AddNumberToObject(m, "top1", 0.5);
        cJSON_AddNumberToObject(m, "identical", NAN);
        cJSON *p = cJSON_AddArrayToObject(c, "prompts");
        cJSON *po = cJSON_CreateObject();
        cJSON_AddStringToObject(po, "prompt", s);
        cJSON_AddItemToArray(p, po);
        cJSON_AddItemToArray(checks, c);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "fixture", s);
        cJSON_AddStringToObject(e, "impl", s);
        cJSON_AddStringToObject(e, "test", s);
        cJSON_AddNumberToObject(e, "median_ts", NAN);
        cJSON_AddNumberToObject(e, "rel_spread", INFINITY);
        cJSON_AddItemToArray(entries, e);
    }
    cJSON *plots = cJSON_AddObjectToObject(r, "plots");
    cJSON_AddStringToObject(plots, "note", hostile[0]);
    report_finish(r);
    return r;
}

/* Every string in a parsed document is valid UTF-8; counts the nulls. */
static void walk(const cJSON *n, int *nulls) {
    for (; n; n = n->next) {
        if (n->string) CHECKF(is_valid(n->string), "invalid UTF-8 key");
        if (cJSON_IsString(n)) CHECKF(is_valid(n->valuestring), "invalid UTF-8 string");
        if (cJSON_IsNull(n)) (*nulls)++;
        walk(n->child, nulls);
    }
}

static void check_json(const char *path) {
    size_t len = 0;
    char *text = test_read_file(path, &len);
    CHECKF(text != NULL, "%s not written", path);
    if (!text) return;
    CHECKF(utf8_ok((const unsigned char *)text, len), "report.json is not valid UTF-8");
    cJSON *j = cJSON_ParseWithLength(text, len);
    CHECKF(j != NULL, "report.json does not parse");
    if (j) {
        int nulls = 0;
        walk(j, &nulls);
        CHECKF(nulls >= 6 * N_HOSTILE, "NaN/inf not written as null (%d nulls)", nulls);
        /* valid strings come back unchanged */
        const cJSON *c;
        int i = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "checks")) {
            const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(c, "fixture"));
            if (is_valid(hostile[i]))
                CHECKF(f && !strcmp(f, hostile[i]), "string %d changed: %s", i, f ? f : "(none)");
            else
                CHECKF(f && strstr(f, "\xEF\xBF\xBD"), "string %d: no U+FFFD", i);
            i++;
        }
        CHECK(i == N_HOSTILE);
    }
    cJSON_Delete(j);
    free(text);
}

/* The markup must contain no tag or entity it did not write itself. */
static void check_markup(const char *path, const char *what) {
    size_t len = 0;
    char *text = test_read_file(path, &len);
    CHECKF(text != NULL, "%s not written", path);
    if (!text) return;
    CHECKF(utf8_ok((const unsigned char *)text, len), "%s is not valid UTF-8", what);
    CHECKF(!strstr(text, "<script"), "%s: raw <script>", what);
    CHECKF(!strstr(text, "<!--") && !strstr(text, "<![CDATA["), "%s: raw comment/CDATA", what);
    CHECKF(!strstr(text, "&#0;") || strstr(text, "&amp;#0;"), "%s: raw &#0;", what);
    CHECKF(!strstr(text, "\xEF\xBF\xBF") || !strcmp(what, "html"), "%s: U+FFFF", what);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < 0x20 && ch != '\n' && ch != '\t') {
            CHECKF(false, "%s: control byte 0x%02x at %zu", what, ch, i);
            break;
        }
        if (ch == '&') {
            /* an entity: &name; or &#digits; */
            size_t k = i + 1;
            if (text[k] == '#') k++;
            while (k < len && (isalnum((unsigned char)text[k]))) k++;
            if (text[k] != ';' || k == i + 1) {
                CHECKF(false, "%s: bare & at %zu: %.20s", what, i, text + i);
                break;
            }
        }
    }
    CHECKF(strstr(text, "&lt;script&gt;") != NULL, "%s: the hostile tag is missing", what);
    free(text);
}

/* Every row of a Markdown table has as many unescaped '|' as its header. */
static int pipes(const char *line, size_t n) {
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\\') {
            i++;
            continue;
        }
        count += line[i] == '|';
    }
    return count;
}

static void check_md(const char *path) {
    size_t len = 0;
    char *text = test_read_file(path, &len);
    CHECKF(text != NULL, "%s not written", path);
    if (!text) return;
    CHECKF(utf8_ok((const unsigned char *)text, len), "report.md is not valid UTF-8");
    /* outside code spans every '<' is backslash-escaped (inside, it is text) */
    bool code = false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\\' && !code) {
            i++;
        } else if (text[i] == '`') {
            code = !code;
        } else if (text[i] == '\n') {
            code = false; /* code spans never cross our lines */
        } else if (text[i] == '<' && !code) {
            CHECKF(false, "report.md: raw '<' at %zu: %.30s", i, text + i);
            break;
        }
    }
    int header = -1, rows = 0, prev = -1;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (line[0] == '|') {
            int p = pipes(line, n);
            if (!strncmp(line, "|---", 4))
                header = prev;
            else if (header >= 0) {
                CHECKF(p == header, "table row with %d columns, header %d: %.*s", p - 1, header - 1,
                       (int)(n > 120 ? 120 : n), line);
                rows++;
            }
            prev = p;
        } else {
            header = prev = -1;
        }
        line += n + (nl ? 1 : 0);
    }
    CHECKF(rows >= 4 * N_HOSTILE, "only %d table rows", rows);
    free(text);
}

int main(void) {
    const char *tmp = test_tmpdir("report_escape");
    char dir[1024];
    if (strlen(tmp) >= sizeof dir) SKIP("build path too long");
    memcpy(dir, tmp, strlen(tmp) + 1);
    cJSON *r = hostile_report();
    char p[1200];

    snprintf(p, sizeof p, "%s/report.json", dir);
    CHECK(report_write_json(r, p));
    check_json(p);

    snprintf(p, sizeof p, "%s/junit.xml", dir);
    CHECK(report_write_junit(r, p));
    check_markup(p, "junit");
    if (access("/usr/bin/xmllint", X_OK) == 0) {
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "xmllint --noout %s", p);
        CHECKF(test_run(cmd, NULL, 0) == 0, "xmllint rejects %s", p);
    }

    snprintf(p, sizeof p, "%s/report.html", dir);
    CHECK(report_write_html(r, dir, p));
    check_markup(p, "html");

    snprintf(p, sizeof p, "%s/report.md", dir);
    CHECK(report_write_md(r, p));
    check_md(p);

    snprintf(p, sizeof p, "%s/history.jsonl", dir);
    remove(p);
    CHECK(report_history_append(r, p) && report_history_append(r, p));
    size_t len = 0;
    char *h = test_read_file(p, &len);
    CHECK(h && utf8_ok((const unsigned char *)h, len));
    int lines = 0;
    for (char *line = h; h && *line; lines++) {
        char *nl = strchr(line, '\n');
        CHECK(nl != NULL);
        if (!nl) break;
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        CHECKF(j != NULL, "history line %d does not parse", lines);
        cJSON_Delete(j);
        line = nl + 1;
    }
    CHECK(lines == 2);
    free(h);

    /* a report that cannot be written fails and leaves nothing */
    snprintf(p, sizeof p, "%s/no-such-dir/report.json", dir);
    CHECK(!report_write_json(r, p));
    CHECK(access(p, F_OK) != 0);
    char cmd[1400], out[256] = "";
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", dir);
    test_run(cmd, out, sizeof out);
    CHECKF(atoi(out) == 0, "temporary files left in %s", dir);
    cJSON_Delete(r);
    TEST_END();
}
