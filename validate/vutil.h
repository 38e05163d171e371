/* Small helpers shared by the harness: error buffers, time, files, hashing,
 * growable strings. Nothing here knows about models or reports. */
#ifndef BV_VUTIL_H
#define BV_VUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A failure message a backend hands back; it ends up in the report. */
typedef struct verr {
    char msg[1024];
} verr;

void verr_set(verr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

double vu_now_s(void);                             /* monotonic seconds */
char *vu_read_file(const char *path, size_t *len); /* NUL-terminated; NULL on error */
/* Like vu_read_file, but refuses a file (or a pipe, or /dev/zero) longer than
 * max bytes without reading past max + 1; the message names the path and why. */
char *vu_read_file_max(const char *path, size_t max, size_t *len, verr *e);
/* Writes to a temporary name in the same directory, then renames
 * (engine/formats/atomic_file.c): a failure leaves the old file (or nothing), never a
 * half-written one. */
bool vu_write_file(const char *path, const char *data, size_t len);
bool vu_file_exists(const char *path);
bool vu_mkdir_p(const char *path); /* like mkdir -p */
/* Creates dir if needed and checks that files can be created in it (by
 * creating and removing one); false with a message naming dir and why. */
bool vu_dir_writable(const char *dir, verr *e);
/* SHA-256 of a file as 64 hex chars + NUL; false if unreadable. */
bool vu_sha256_file(const char *path, char hex[65]);
void vu_sha256_hex(const void *data, size_t len, char hex[65]);
/* A Hugging Face model directory: a directory holding config.json. */
bool vu_is_hf_dir(const char *path);
/* SHA-256 of a directory's `sha256sum` listing (its regular files, not hidden,
 * sorted by name, each with its own SHA-256); false if one is unreadable. */
bool vu_sha256_dir(const char *dir, char hex[65]);
/* Directory of the running executable (for the sibling `bitnet` binary). */
bool vu_exe_dir(char *buf, size_t size);
uint64_t vu_splitmix(uint64_t *state);

/* A growable string. */
typedef struct vstr {
    char *s;
    size_t len, cap;
} vstr;
void vs_printf(vstr *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vs_append(vstr *v, const char *s, size_t n);
void vs_free(vstr *v);

#endif
