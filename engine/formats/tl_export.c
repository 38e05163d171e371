/* TL1/TL2 writing helpers (tl_export.h). */
#include "tl_export.h"

#include "error.h"
#include "tl_load.h"
#include "tl_presets.h"
#include "types.h"

bitnet_status bn_tl_writer_params(uint32_t type, int64_t M, int64_t K, bn_tl_params *p) {
    const bn_tl_preset *pr = bn_tl_preset_find(type, M, K);
    if (pr) {
        *p = pr->p;
        return BITNET_OK;
    }
    return bn_tl_default_params(type, M, K, p);
}

bitnet_status bn_tl_write_meta(bn_gguf_writer *w, int64_t M, int64_t K, const bn_tl_params *p) {
    static const char *const fields[3] = {"bm", "bk", "bmm"};
    const int values[3] = {p->bm_tile, p->bk, p->bm_sub};
    char key[96];
    for (int i = 0; i < 3; i++) {
        bn_tl_meta_key(key, sizeof key, M, K, fields[i]);
        const bitnet_status st = bn_gguf_set_u32(w, key, (uint32_t)values[i]);
        if (st) return st;
    }
    return BITNET_OK;
}

bitnet_status bn_tl_encode(uint32_t type, const int8_t *codes, float scale, int64_t M, int64_t K,
                           const bn_tl_params *p, uint8_t *dst, size_t dst_size) {
    if (type == BN_TYPE_TL1) return bn_tl1_encode(codes, scale, M, K, p, dst, dst_size);
    if (type == BN_TYPE_TL2) return bn_tl2_encode(codes, scale, M, K, p, dst, dst_size);
    return bn_fail(BITNET_ERR_INTERNAL, "bn_tl_encode: %s is not a TL type", bn_type_name(type));
}
