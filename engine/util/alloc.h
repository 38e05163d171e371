/* The one allocator wrapper: overflow-checked sizes, a clear error on
 * failure, and a fault-injection hook for out-of-memory tests. */
#ifndef BN_ALLOC_H
#define BN_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Return NULL (and set BITNET_ERR_NOMEM as last error) on failure. */
void *bn_malloc(size_t size);
void *bn_calloc(size_t count, size_t size);
void *bn_realloc(void *ptr, size_t size);
/* count * size with an overflow check, then malloc. */
void *bn_malloc_array(size_t count, size_t size);
/* 64-byte aligned, for SIMD buffers; free with bn_aligned_free. */
void *bn_aligned_alloc(size_t size);
void bn_aligned_free(void *ptr);
void bn_free(void *ptr);
char *bn_strndup(const char *s, size_t n);
char *bn_strdup(const char *s);

/* Test hook: make the n-th allocation from now on (on this thread) fail, and
 * every later one too when `sticky`. n < 0 disables. */
void bn_alloc_fail_after(long n, int sticky);

/* Checked arithmetic: return 0 on overflow. */
static inline int bn_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
static inline int bn_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_add_overflow(a, b, out);
}

#endif
