/* TL1 / TL2 projections repacked to I2_S at load (tl_load.h). */
#include "tl_load.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "quantize.h"
#include "tl_presets.h"
#include "types.h"

int bn_tl_meta_key(char *buf, size_t size, int64_t M, int64_t K, const char *field) {
    return snprintf(buf, size, "bitnet.tl.%" PRId64 "x%" PRId64 ".%s", M, K, field);
}

/* The three metadata keys of (M, K): 1 found, 0 none, or an error. */
static int meta_params(const bn_gguf *g, int64_t M, int64_t K, bn_tl_params *p, bitnet_status *st) {
    static const char *const fields[3] = {"bm", "bk", "bmm"};
    int *dst[3] = {&p->bm_tile, &p->bk, &p->bm_sub};
    int found = 0;
    char key[96];
    for (int i = 0; i < 3; i++)
        found += bn_gguf_find(g, (bn_tl_meta_key(key, sizeof key, M, K, fields[i]), key)) != NULL;
    if (found == 0) return 0;
    for (int i = 0; i < 3; i++) {
        bn_tl_meta_key(key, sizeof key, M, K, fields[i]);
        if (found != 3 && !bn_gguf_find(g, key)) {
            *st = bn_fail(BITNET_ERR_FORMAT,
                          "%s: metadata key '%s' is missing (the other keys of this shape are "
                          "present: all three or none)",
                          g->path, key);
            return -1;
        }
        uint32_t v = 0;
        if ((*st = bn_gguf_get_u32(g, key, &v))) return -1;
        if (v < 1 || v > INT32_MAX) {
            *st = bn_fail(BITNET_ERR_FORMAT, "%s: metadata key '%s' = %u is not in [1, 2^31)",
                          g->path, key, v);
            return -1;
        }
        *dst[i] = (int)v;
    }
    return 1;
}

static bool same_params(const bn_tl_params *a, const bn_tl_params *b) {
    return a->bm_tile == b->bm_tile && a->bk == b->bk && a->bm_sub == b->bm_sub;
}

bitnet_status bn_tl_resolve_params(const bn_tl_source *src, const char *tensor, uint32_t type,
                                   int64_t M, int64_t K, bn_tl_params *p, const char **from) {
    const bn_gguf *g = src->file;
    const char *tn = type == BN_TYPE_TL1 ? "TL1" : "TL2";
    const bn_kernel_config_entry *e = bn_kernel_config_find(src->ini, M, K);
    bitnet_status st = BITNET_OK;
    const int meta = meta_params(g, M, K, p, &st);
    if (meta < 0) return st;
    if (meta > 0) {
        if (e && !same_params(&e->p, p))
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: %s tensor '%s' (M = %" PRId64 ", K = %" PRId64
                           "): the file's metadata says BM/BK/bm %d/%d/%d but %s line %d says "
                           "%d/%d/%d",
                           g->path, tn, tensor, M, K, p->bm_tile, p->bk, p->bm_sub, src->ini->path,
                           e->line, e->p.bm_tile, e->p.bk, e->p.bm_sub);
        *from = "the file's metadata";
        return BITNET_OK;
    }
    if (e) {
        *p = e->p;
        *from = src->ini->path;
        return BITNET_OK;
    }
    const bn_tl_preset *pr = bn_tl_preset_find(type, M, K);
    if (pr) {
        *p = pr->p;
        *from = pr->model;
        return BITNET_OK;
    }
    char key[96];
    bn_tl_meta_key(key, sizeof key, M, K, "bm");
    return bn_fail(BITNET_ERR_FORMAT,
                   "%s: %s tensor '%s' (M = %" PRId64 ", K = %" PRId64
                   "): no BM/BK/bm for this shape: the file has no key '%s', bitnet.cpp's "
                   "presets have no %s kernel of this shape, and %s",
                   g->path, tn, tensor, M, K, key, tn,
                   src->ini ? "the kernel_config.ini given has no section for it"
                            : "no kernel_config.ini was given (--kernel-config FILE: the "
                              "include/kernel_config.ini bitnet.cpp's converter read)");
}

bitnet_status bn_tl_load(const bn_tl_source *src, uint64_t nbytes, bn_weight *w) {
    const bn_gguf *g = src->file;
    const bool tl1 = w->type == BN_TYPE_TL1;
    const char *tn = tl1 ? "TL1" : "TL2";
    const int64_t M = w->n_out, K = w->n_in;
    const size_t span = tl1 ? bn_tl1_nbytes(M, K) : bn_tl2_nbytes(M, K);
    if (!span || span != nbytes)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: %s tensor '%s' (M = %" PRId64 ", K = %" PRId64 ") spans %" PRIu64
                       " bytes, the %s span rule gives %zu",
                       g->path, tn, w->name, M, K, nbytes, tn, span);
    bn_tl_params p;
    const char *from = NULL;
    bitnet_status st = bn_tl_resolve_params(src, w->name, w->type, M, K, &p, &from);
    if (st) return st;
    if (K % BN_I2S_BLOCK != 0)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: %s tensor '%s': K = %" PRId64
                       " is not a multiple of 128, which the I2_S kernels it is repacked for need",
                       g->path, tn, w->name, K);
    uint64_t n = 0;
    if (bn_mul_overflow_u64((uint64_t)M, (uint64_t)K, &n) || n > SIZE_MAX / 2)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s tensor '%s' is too large", g->path, tn, w->name);
    int8_t *codes = bn_malloc((size_t)n); /* [M][K] */
    /* 64-byte aligned like the file's data (the SIMD kernels' row loads);
     * bn_aligned_free is free(), so the model's bn_free of w->owned is right */
    uint8_t *packed = bn_aligned_alloc((size_t)bn_i2s_nbytes((int64_t)n));
    w->owned = packed;
    if (!codes || !packed) {
        bn_free(codes);
        return BITNET_ERR_NOMEM;
    }
    float scale = 0.0f;
    st = tl1 ? bn_tl1_decode(w->data, span, M, K, &p, codes, &scale)
             : bn_tl2_decode(w->data, span, M, K, &p, codes, &scale);
    if (st) {
        bn_error_prefix("%s: %s tensor '%s' (BM/BK/bm %d/%d/%d from %s): ", g->path, tn, w->name,
                        p.bm_tile, p.bk, p.bm_sub, from);
        bn_free(codes);
        return st;
    }
    bn_i2s_pack(codes, (int64_t)n, scale, packed);
    bn_free(codes);
    w->type = BN_TYPE_I2_S;
    w->data = packed;
    w->row_bytes = (size_t)K / 4;
    w->scale = scale;
    BN_LOG_DEBUG(src->log, "%s: %s tensor '%s': BM/BK/bm %d/%d/%d from %s, repacked to i2_s",
                 g->path, tn, w->name, p.bm_tile, p.bk, p.bm_sub, from);
    return BITNET_OK;
}
