#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

static _Thread_local long fail_countdown = -1;
static _Thread_local int fail_sticky;

void bn_alloc_fail_after(long n, int sticky) {
    fail_countdown = n;
    fail_sticky = sticky;
}

/* True when the fault injector says this allocation must fail. */
static int injected_failure(void) {
    if (fail_countdown < 0) return 0;
    if (fail_countdown == 0) {
        if (!fail_sticky) fail_countdown = -1;
        return 1;
    }
    fail_countdown--;
    return 0;
}

static void *nomem(size_t size) {
    bn_fail(BITNET_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    return NULL;
}

void *bn_malloc(size_t size) {
    if (injected_failure()) return nomem(size);
    void *p = malloc(size ? size : 1);
    return p ? p : nomem(size);
}

void *bn_calloc(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return nomem(SIZE_MAX);
    if (injected_failure()) return nomem(total);
    void *p = calloc(total ? total : 1, 1);
    return p ? p : nomem(total);
}

void *bn_realloc(void *ptr, size_t size) {
    if (injected_failure()) return nomem(size);
    void *p = realloc(ptr, size ? size : 1);
    return p ? p : nomem(size);
}

void *bn_malloc_array(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return nomem(SIZE_MAX);
    return bn_malloc(total);
}

void *bn_aligned_alloc(size_t size) {
    if (injected_failure()) return nomem(size);
    size_t rounded = (size + 63) & ~(size_t)63;
    if (rounded < size) return nomem(size);
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    return p ? p : nomem(size);
}

void bn_aligned_free(void *ptr) { free(ptr); }

void bn_free(void *ptr) { free(ptr); }

char *bn_strndup(const char *s, size_t n) {
    char *d = bn_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *bn_strdup(const char *s) { return bn_strndup(s, strlen(s)); }
