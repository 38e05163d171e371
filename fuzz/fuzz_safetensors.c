/* libFuzzer target for the safetensors reader: bytes -> bn_st_open_memory.
 * An accepted file must satisfy what the reader promises its users: every
 * tensor lies inside the input, its size matches dtype x shape, the tensors
 * tile the data section, lookups find the entry they index, and reading the
 * first and last element through bn_st_read_f32 stays inside the buffer. */
#include <string.h>

#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_safetensors *st = NULL;
    if (bn_st_open_memory(data, size, "fuzz.safetensors", &st) != BITNET_OK) {
        FUZZ_ASSERT(st == NULL);
        return 0;
    }
    uint64_t covered = 0;
    const uint8_t *data_start = data + 8 + st->header_len;
    for (size_t i = 0; i < st->n_tensors; i++) {
        const bn_st_tensor *t = &st->tensors[i];
        FUZZ_ASSERT(bn_st_find(st, t->name) == t);
        FUZZ_ASSERT(t->n_dims >= 0 && t->n_dims <= BN_ST_MAX_DIMS);
        uint64_t n = 1;
        for (int d = 0; d < t->n_dims; d++) {
            FUZZ_ASSERT(t->shape[d] >= 0);
            n *= (uint64_t)t->shape[d];
        }
        FUZZ_ASSERT(n == t->n_elements && n * bn_st_dtype_size(t->dtype) == t->nbytes);
        FUZZ_ASSERT(t->data >= data_start && t->nbytes <= (uint64_t)(data + size - t->data));
        covered += t->nbytes;
        if (t->n_elements) {
            volatile float first = bn_st_read_f32(t, 0),
                           last = bn_st_read_f32(t, t->n_elements - 1);
            (void)first;
            (void)last;
        }
    }
    FUZZ_ASSERT(covered == (uint64_t)(data + size - data_start));
    for (size_t i = 0; i < st->n_meta; i++)
        FUZZ_ASSERT(bn_st_meta_get(st, st->meta[i].key) != NULL);
    bn_st_close(st);
    return 0;
}
