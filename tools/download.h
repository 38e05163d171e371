/* HTTP(S) download into FILE.part with resume (a Range request for the bytes
 * already there), SHA-256 verification and an atomic rename to FILE; libcurl
 * does the transfer. Used by `bitnet pull` (tools/cmd_pull.c, docs/cli.md). */
#ifndef BN_DOWNLOAD_H
#define BN_DOWNLOAD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dl_request {
    const char *url;
    const char *out;     /* FILE; the transfer goes to FILE.part */
    const char *sha256;  /* 64 hex digits to verify, or NULL: the server's, when it gives one */
    const char *bearer;  /* Authorization: Bearer TOKEN, or NULL */
    bool require_sha256; /* refuse when neither the caller nor the server gives a hash */
    bool progress;       /* a progress line on stderr (the caller checks for a TTY) */
} dl_request;

typedef struct dl_result {
    int http_status;        /* of the last response; 0 when none came */
    uint64_t bytes;         /* size of FILE on success */
    uint64_t resumed_from;  /* bytes of FILE.part kept by a 206 answer (0: from the start) */
    bool restarted;         /* a .part existed but the server answered 200: started over */
    char sha256[65];        /* of FILE on success */
    const char *sha_source; /* "--sha256", "X-Linked-Etag", "ETag" or NULL (unverified) */
    char error[512];        /* on failure: one line naming the URL or file and what went wrong */
} dl_result;

/* The caller runs curl_global_init(CURL_GLOBAL_DEFAULT) once before the
 * first call (libcurl's rule: before any other thread exists).
 * 0 on success (FILE in place, verified when a hash was known); otherwise 1
 * with r->error set. A hash mismatch deletes FILE.part; a transfer error
 * keeps it so that a second run resumes. */
int dl_fetch(const dl_request *req, dl_result *r);

/* True when s is 64 hex digits (either case). */
bool dl_is_sha256(const char *s);

#endif
