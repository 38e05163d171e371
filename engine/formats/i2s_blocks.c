/* I2_S 64-value blocks (i2s_blocks.h). */
#include "i2s_blocks.h"

#include <string.h>

#include "error.h"
#include "types.h"

bitnet_status bn_i2s_block_resolve(const bn_gguf *g, int32_t requested, bool has_i2s,
                                   const bn_logger *log, int *block) {
    if (requested != 0 && requested != 64 && requested != 128)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                       "i2s_block %d (--i2s-block): must be 64 or 128 (0: from the file)",
                       (int)requested);
    if (bn_gguf_find(g, BN_I2S_BLOCK_KEY)) {
        uint32_t v = 0;
        bitnet_status st = bn_gguf_get_u32(g, BN_I2S_BLOCK_KEY, &v);
        if (st) return st;
        if (v != 64 && v != 128)
            return bn_fail(BITNET_ERR_FORMAT, "%s: metadata key '%s' = %u: must be 64 or 128",
                           g->path, BN_I2S_BLOCK_KEY, v);
        if (requested && (uint32_t)requested != v)
            return bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                           "%s: --i2s-block %d contradicts the file's %s = %u", g->path,
                           (int)requested, BN_I2S_BLOCK_KEY, v);
        *block = (int)v;
        return BITNET_OK;
    }
    if (requested) {
        *block = requested;
        return BITNET_OK;
    }
    *block = 128;
    if (has_i2s)
        BN_LOG_INFO(log,
                    "%s: the file does not say which I2_S block layout it has (%s absent): "
                    "reading 128-value blocks (bitnet.cpp x86 builds, its Python writer, the "
                    "published files); a file quantized by an ARM build of bitnet.cpp since "
                    "2025-11 has 64-value blocks: load it with --i2s-block 64",
                    g->path, BN_I2S_BLOCK_KEY);
    return BITNET_OK;
}

static int code64(const uint8_t *data, int64_t e) {
    const int64_t block = e / 64;
    const int j = (int)(e % 64);
    return data[block * 16 + j % 16] >> (6 - 2 * (j / 16)) & 3;
}

void bn_i2s64_pack(const int8_t *codes, int64_t n, float scale, uint8_t *out) {
    memset(out, 0, (size_t)(n / 4));
    for (int64_t e = 0; e < n; e++) {
        const int j = (int)(e % 64);
        out[e / 64 * 16 + j % 16] |= (uint8_t)((codes[e] + 1) << (6 - 2 * (j / 16)));
    }
    memcpy(out + n / 4, &scale, sizeof scale);
    memset(out + n / 4 + 4, 0, BN_I2S_TAIL - 4);
}

void bn_i2s64_to_i2s128(const uint8_t *src, int64_t n, uint8_t *dst) {
    memset(dst, 0, (size_t)(n / 4));
    for (int64_t e = 0; e < n; e++) {
        const int j = (int)(e % BN_I2S_BLOCK);
        dst[e / BN_I2S_BLOCK * 32 + j % 32] |= (uint8_t)(code64(src, e) << (6 - 2 * (j / 32)));
    }
}
