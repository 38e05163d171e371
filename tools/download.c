/* dl_fetch: see download.h. One libcurl easy transfer (a second one only
 * when the server refuses the Range with 416); the hash is taken over the
 * finished FILE.part, so a resumed file is checked as a whole. */
#include "download.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vutil.h" /* vu_sha256_file */

bool dl_is_sha256(const char *s) {
    size_t n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n])) return false;
    return n == 64;
}

/* State of one transfer, shared by the header and body callbacks. */
typedef struct xfer {
    FILE *f;         /* FILE.part, opened for appending */
    uint64_t offset; /* bytes of FILE.part before this transfer */
    int status;      /* status of the response whose headers are being read */
    bool body_started, bad_status, bad_range, write_failed;
    char linked_etag[72], etag[72]; /* sha256 candidates, from any response of the redirect chain */
    long long content_range_start;  /* -1: no Content-Range */
    long long linked_size;          /* X-Linked-Size, -1 when absent */
    const dl_request *req;
} xfer;

static void set_error(dl_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(dl_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

/* Copies a header value without quotes or a W/ prefix, lowercased, when it
 * is a 64-hex-digit SHA-256 (an ETag that is not one is ignored). */
static void keep_sha_value(const char *v, size_t n, char out[72]) {
    while (n && isspace((unsigned char)v[n - 1])) n--;
    while (n && isspace((unsigned char)*v)) v++, n--;
    if (n >= 2 && v[0] == 'W' && v[1] == '/') v += 2, n -= 2;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
    if (n != 64) return;
    char buf[65];
    for (size_t i = 0; i < 64; i++) buf[i] = (char)tolower((unsigned char)v[i]);
    buf[64] = '\0';
    if (dl_is_sha256(buf)) memcpy(out, buf, 65);
}

static bool header_is(const char *line, size_t n, const char *name, const char **value,
                      size_t *vlen) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) || line[k] != ':') return false;
    *value = line + k + 1;
    *vlen = n - k - 1;
    return true;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *user) {
    xfer *x = user;
    size_t n = size * nitems;
    const char *v;
    size_t vn;
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) { /* a new response (after a redirect) */
        const char *sp = memchr(line, ' ', n);
        x->status = sp ? atoi(sp + 1) : 0;
        x->content_range_start = -1;
    } else if (header_is(line, n, "X-Linked-Etag", &v, &vn)) {
        keep_sha_value(v, vn, x->linked_etag);
    } else if (header_is(line, n, "ETag", &v, &vn)) {
        keep_sha_value(v, vn, x->etag);
    } else if (header_is(line, n, "X-Linked-Size", &v, &vn)) {
        char buf[32];
        size_t m = vn < sizeof buf - 1 ? vn : sizeof buf - 1;
        memcpy(buf, v, m);
        buf[m] = '\0';
        char *end;
        long long s = strtoll(buf, &end, 10);
        if (end != buf && s >= 0) x->linked_size = s;
    } else if (header_is(line, n, "Content-Range", &v, &vn)) {
        /* "bytes START-END/TOTAL" */
        char buf[96];
        size_t m = vn < sizeof buf - 1 ? vn : sizeof buf - 1;
        memcpy(buf, v, m);
        buf[m] = '\0';
        long long start;
        if (sscanf(buf, " bytes %lld-", &start) == 1 && start >= 0) x->content_range_start = start;
    }
    return n;
}

/* The first body byte decides what the answer means for FILE.part: 206 from
 * the offset we asked appends, 200 starts over, anything else is refused. */
static bool start_body(xfer *x) {
    x->body_started = true;
    if (x->status == 206) {
        if (x->content_range_start != (long long)x->offset) {
            x->bad_range = true;
            return false;
        }
        return true;
    }
    if (x->status != 200) {
        x->bad_status = true;
        return false;
    }
    if (x->offset) { /* the server ignored Range: the whole file comes again */
        if (fflush(x->f) || ftruncate(fileno(x->f), 0) || fseek(x->f, 0, SEEK_SET)) {
            x->write_failed = true;
            return false;
        }
        x->offset = 0;
    }
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    xfer *x = user;
    size_t n = size * nmemb;
    if (!x->body_started && !start_body(x)) return 0;
    if (fwrite(data, 1, n, x->f) != n) {
        x->write_failed = true;
        return 0;
    }
    return n;
}

static int on_progress(void *user, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un) {
    (void)ut, (void)un;
    xfer *x = user;
    double mib = (double)(x->offset + (uint64_t)now) / (1 << 20);
    if (total > 0)
        fprintf(stderr, "\rbitnet pull: %.1f / %.1f MiB (%3.0f%%)", mib,
                (double)(x->offset + (uint64_t)total) / (1 << 20),
                100.0 * (double)(x->offset + (uint64_t)now) /
                    (double)(x->offset + (uint64_t)total));
    else
        fprintf(stderr, "\rbitnet pull: %.1f MiB", mib);
    return 0;
}

static uint64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

/* One transfer into part (appending from its current size). 0, 1 on
 * failure (r->error set), or 2 when the server answered 416 to the Range. */
static int transfer(const dl_request *req, const char *part, xfer *x, dl_result *r) {
    x->offset = file_size(part);
    x->f = fopen(part, "ab");
    if (!x->f) {
        set_error(r, "%s: cannot open for writing: %s", part, strerror(errno));
        return 1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(x->f);
        set_error(r, "%s: libcurl could not start a transfer", req->url);
        return 1;
    }
    char range[48], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    char auth[600];
    if (req->bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", req->bearer);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a stalled server ends the transfer (the .part stays for a resume) */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "libbitnet-pull");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (x->offset) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)x->offset);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    if (req->progress) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    }
    CURLcode rc = curl_easy_perform(c);
    if (req->progress) fputc('\n', stderr);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r->http_status = (int)status;
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    bool close_ok = fclose(x->f) == 0;
    x->f = NULL;
    if (status == 416 && x->offset) return 2;
    if (x->bad_status || (rc == CURLE_OK && status != 200 && status != 206)) {
        set_error(r, "%s: HTTP status %ld", req->url, status);
        return 1;
    }
    if (x->bad_range) {
        set_error(r, "%s: asked for bytes from %llu, the server answered with a different range",
                  req->url, (unsigned long long)x->offset);
        return 1;
    }
    if (x->write_failed || !close_ok) {
        set_error(r, "%s: write failed: %s", part, strerror(errno));
        return 1;
    }
    if (rc != CURLE_OK) {
        set_error(r, "%s: %s (%llu bytes kept in %s; run again to resume)", req->url,
                  errbuf[0] ? errbuf : curl_easy_strerror(rc), (unsigned long long)file_size(part),
                  part);
        return 1;
    }
    return 0;
}

int dl_fetch(const dl_request *req, dl_result *r) {
    memset(r, 0, sizeof *r);
    if (req->sha256 && !dl_is_sha256(req->sha256)) {
        set_error(r, "--sha256: '%s' is not 64 hex digits", req->sha256);
        return 1;
    }
    size_t plen = strlen(req->out) + sizeof ".part";
    char *part = malloc(plen);
    if (!part) {
        set_error(r, "out of memory");
        return 1;
    }
    snprintf(part, plen, "%s.part", req->out);
    xfer x = {.req = req, .linked_size = -1, .content_range_start = -1};
    uint64_t had = file_size(part);
    int t = transfer(req, part, &x, r);
    if (t == 2) { /* 416: the .part does not fit the file there now; start over */
        if (unlink(part) && errno != ENOENT) {
            set_error(r, "%s: cannot remove: %s", part, strerror(errno));
            free(part);
            return 1;
        }
        had = 0;
        xfer again = {.req = req, .linked_size = -1, .content_range_start = -1};
        x = again;
        t = transfer(req, part, &x, r);
        if (t == 2) set_error(r, "%s: HTTP status 416 for a request without Range", req->url);
    }
    if (t) {
        free(part);
        return 1;
    }
    r->resumed_from = x.offset;
    r->restarted = had && !x.offset;
    r->bytes = file_size(part);
    const char *want = req->sha256;
    r->sha_source = want ? "--sha256" : NULL;
    if (!want && x.linked_etag[0]) want = x.linked_etag, r->sha_source = "X-Linked-Etag";
    if (!want && x.etag[0]) want = x.etag, r->sha_source = "ETag";
    bool bad = false;
    if (x.linked_size >= 0 && (uint64_t)x.linked_size != r->bytes) {
        set_error(r, "%s: size %llu bytes, the server's X-Linked-Size says %lld; removed %s",
                  req->url, (unsigned long long)r->bytes, x.linked_size, part);
        bad = true;
    } else if (!vu_sha256_file(part, r->sha256)) {
        set_error(r, "%s: cannot read back: %s", part, strerror(errno));
        free(part);
        return 1;
    } else if (want && strcasecmp(want, r->sha256)) {
        set_error(r, "%s: SHA-256 mismatch: expected %s (%s), got %s; removed %s", req->url, want,
                  r->sha_source, r->sha256, part);
        bad = true;
    } else if (!want && req->require_sha256) {
        set_error(r,
                  "%s: the server gave no SHA-256 (no X-Linked-Etag or ETag of 64 hex digits); "
                  "pass --sha256 HEX; removed %s",
                  req->url, part);
        bad = true;
    }
    if (bad) {
        unlink(part);
        free(part);
        return 1;
    }
    if (rename(part, req->out)) {
        set_error(r, "%s: cannot rename to %s: %s", part, req->out, strerror(errno));
        free(part);
        return 1;
    }
    free(part);
    return 0;
}
