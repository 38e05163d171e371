/* libFuzzer target for bitnet.cpp's kernel_config.ini parser
 * (engine/formats/kernel_config.c). Invariants: a rejected file has a message
 * naming the file; an accepted one has 1..4096 sections, each with positive
 * values, no two for the same (m, k), and every section can be found again
 * by its shape. */
#include <string.h>

#include "bitnet.h"
#include "fuzz.h"
#include "kernel_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_kernel_config c;
    bitnet_status st = bn_kernel_config_parse((const char *)data, size, "fuzz.ini", &c);
    if (st) {
        FUZZ_ASSERT(strstr(bitnet_get_last_error(), "fuzz.ini") != NULL);
        FUZZ_ASSERT(c.n == 0 && c.entries == NULL);
        return 0;
    }
    FUZZ_ASSERT(c.n >= 1 && c.n <= BN_KERNEL_CONFIG_MAX_SECTIONS);
    for (size_t i = 0; i < c.n; i++) {
        const bn_kernel_config_entry *e = &c.entries[i];
        FUZZ_ASSERT(e->m >= 1 && e->k >= 1 && e->p.bm_tile >= 1 && e->p.bk >= 1 &&
                    e->p.bm_sub >= 1 && e->line >= 1);
        FUZZ_ASSERT(bn_kernel_config_find(&c, e->m, e->k) == e);
    }
    bn_kernel_config_free(&c);
    return 0;
}
