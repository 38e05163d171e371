/* Shared by every libFuzzer target in fuzz/: the entry points libFuzzer calls
 * and the invariant check. A target is fuzz/fuzz_NAME.c plus one
 * bn_fuzz_target() line in fuzz/CMakeLists.txt (see fuzz/README.md). */
#ifndef BN_FUZZ_H
#define BN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A violated invariant of an accepted input: abort, so that libFuzzer and the
 * corpus replay both report the input that caused it. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
