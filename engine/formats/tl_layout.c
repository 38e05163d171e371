/* TL1 / TL2 byte layouts (tl_layout.h, docs/formats.md).
 *
 * Each encoder and decoder walks the same loop nest, the order in which
 * bitnet.cpp's converter emits bytes, so the two cannot disagree about
 * where a value lives: `visit_*` computes, for every byte of the span, which
 * weights it holds, and the encoder writes while the decoder reads. */
#include "tl_layout.h"

#include <inttypes.h>
#include <string.h>

#include "error.h"
#include "types.h"

#define TL_TAIL 32 /* float32 scale + 28 zero bytes */

size_t bn_tl1_nbytes(int64_t M, int64_t K) {
    const int64_t ne[2] = {K, M};
    uint64_t n = 0;
    if (M < 1 || K < 1 || !bn_type_nbytes(BN_TYPE_TL1, ne, 2, &n) || n > SIZE_MAX) return 0;
    return (size_t)n;
}

size_t bn_tl2_nbytes(int64_t M, int64_t K) {
    const int64_t ne[2] = {K, M};
    uint64_t n = 0;
    if (M < 1 || K < 1 || !bn_type_nbytes(BN_TYPE_TL2, ne, 2, &n) || n > SIZE_MAX) return 0;
    return (size_t)n;
}

size_t bn_tl1_scale_offset(int64_t M, int64_t K) {
    size_t n = bn_tl1_nbytes(M, K);
    return n ? n - TL_TAIL : 0;
}

size_t bn_tl2_scale_offset(int64_t M, int64_t K) {
    size_t n = bn_tl2_nbytes(M, K);
    return n ? n - TL_TAIL : 0;
}

/* ---------------------------------------------------------------------------
 * Shape rules
 * ------------------------------------------------------------------------- */

#define SHAPE_FAIL(...) bn_fail(BITNET_ERR_FORMAT, __VA_ARGS__)

static bitnet_status check_common(const char *type, int64_t M, int64_t K, const bn_tl_params *p) {
    if (M < 1 || K < 1 || M > (int64_t)1 << 31 || K > (int64_t)1 << 31)
        return SHAPE_FAIL("%s: shape M = %" PRId64 ", K = %" PRId64 " is out of range", type, M, K);
    if (p->bm_tile < 1 || p->bk < 1 || p->bm_sub < 1)
        return SHAPE_FAIL("%s: BM = %d, BK = %d, bm = %d: all must be positive", type, p->bm_tile,
                          p->bk, p->bm_sub);
    if (M % p->bm_tile != 0)
        return SHAPE_FAIL("%s: M = %" PRId64 " is not a multiple of BM = %d", type, M, p->bm_tile);
    if (p->bm_tile % p->bm_sub != 0)
        return SHAPE_FAIL("%s: BM = %d is not a multiple of bm = %d", type, p->bm_tile, p->bm_sub);
    return BITNET_OK;
}

bitnet_status bn_tl1_check(int64_t M, int64_t K, const bn_tl_params *p) {
    bitnet_status st = check_common("TL1", M, K, p);
    if (st) return st;
    if (p->bm_sub != 32 && p->bm_sub != 64)
        return SHAPE_FAIL("TL1: bm = %d must be 32 or 64 (bitnet.cpp's codegen_tl1.py)", p->bm_sub);
    const int by = 256 / p->bm_sub; /* columns per group */
    if (K % p->bk != 0)
        return SHAPE_FAIL("TL1: K = %" PRId64 " is not a multiple of BK = %d", K, p->bk);
    if (p->bk % by != 0)
        return SHAPE_FAIL("TL1: BK = %d is not a multiple of 256/bm = %d", p->bk, by);
    return BITNET_OK;
}

bitnet_status bn_tl2_check(int64_t M, int64_t K, const bn_tl_params *p) {
    bitnet_status st = check_common("TL2", M, K, p);
    if (st) return st;
    if (p->bm_sub != 32)
        return SHAPE_FAIL("TL2: bm = %d must be 32 (the only value bitnet.cpp's codegen_tl2.py "
                          "and converter accept)",
                          p->bm_sub);
    if (p->bk % 24 != 0)
        return SHAPE_FAIL("TL2: BK = %d is not a multiple of 24 (the sign bits cover 24 columns)",
                          p->bk);
    const int64_t K2 = K % p->bk;
    if (K2 % 32 != 0)
        return SHAPE_FAIL("TL2: K = %" PRId64 " leaves K2 = K mod BK = %" PRId64
                          " columns, not a multiple of 32",
                          K, K2);
    const size_t span = bn_tl2_nbytes(M, K);
    const uint64_t K3 = (uint64_t)(K - K2);
    const uint64_t data = (uint64_t)M * K3 / 6 + (uint64_t)M * K3 / 24 + (uint64_t)M * K2 / 4;
    if (!span || data > span - TL_TAIL)
        return SHAPE_FAIL(
            "TL2: M = %" PRId64 ", K = %" PRId64 ", BK = %d: the packed data (%" PRIu64
            " bytes) does not fit the span rule's %zu bytes (K2 = %" PRId64 " > 256?)",
            M, K, p->bk, data, span ? span - TL_TAIL : (size_t)0, K2);
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * TL1: byte order [M/BM][K/BK][BM/bm][BK/by][bm/16][by/4][16 rows], each
 * byte two column pairs (pair code 3·w0 + w1 + 4, first pair high nibble).
 * ------------------------------------------------------------------------- */

static int pair_code(const int8_t *w) { return 3 * w[0] + w[1] + 4; }

static bool pair_values(int c, int8_t *w) {
    if (c > 8) return false;
    w[0] = (int8_t)(c / 3 - 1);
    w[1] = (int8_t)(c % 3 - 1);
    return true;
}

/* Calls at(byte offset, row, first column) for every code byte; the byte
 * holds columns col..col+3 of the row. */
#define TL1_LOOP(M, K, p, ...)                                                                     \
    do {                                                                                           \
        const int64_t BM_ = (p)->bm_tile, BK_ = (p)->bk, bm_ = (p)->bm_sub, by_ = 256 / bm_;       \
        size_t off = 0;                                                                            \
        for (int64_t t = 0; t < (M) / BM_; t++)                                                    \
            for (int64_t kb = 0; kb < (K) / BK_; kb++)                                             \
                for (int64_t s = 0; s < BM_ / bm_; s++)                                            \
                    for (int64_t g = 0; g < BK_ / by_; g++)                                        \
                        for (int64_t u = 0; u < bm_ / 16; u++)                                     \
                            for (int64_t q = 0; q < by_ / 4; q++)                                  \
                                for (int64_t i = 0; i < 16; i++, off++) {                          \
                                    const int64_t row = t * BM_ + s * bm_ + u * 16 + i;            \
                                    const int64_t col = kb * BK_ + g * by_ + 4 * q;                \
                                    __VA_ARGS__                                                    \
                                }                                                                  \
    } while (0)

bitnet_status bn_tl1_encode(const int8_t *codes, float scale, int64_t M, int64_t K,
                            const bn_tl_params *p, uint8_t *dst, size_t dst_size) {
    bitnet_status st = bn_tl1_check(M, K, p);
    if (st) return st;
    const size_t span = bn_tl1_nbytes(M, K);
    if (!span || dst_size != span)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "TL1: the buffer has %zu bytes, the span %zu",
                       dst_size, span);
    memset(dst, 0, span);
    TL1_LOOP(M, K, p, {
        const int8_t *w = codes + row * K + col;
        dst[off] = (uint8_t)(pair_code(w) << 4 | pair_code(w + 2));
    });
    memcpy(dst + span - TL_TAIL, &scale, sizeof scale); /* little-endian hosts, like the reader */
    return BITNET_OK;
}

bitnet_status bn_tl1_decode(const uint8_t *src, size_t src_size, int64_t M, int64_t K,
                            const bn_tl_params *p, int8_t *codes, float *scale) {
    bitnet_status st = bn_tl1_check(M, K, p);
    if (st) return st;
    const size_t span = bn_tl1_nbytes(M, K);
    if (!span || src_size < span)
        return bn_fail(BITNET_ERR_FORMAT, "TL1: %zu bytes, the span rule needs %zu", src_size,
                       span);
    bool ok = true;
    size_t bad = 0;
    TL1_LOOP(M, K, p, {
        int8_t *w = codes + row * K + col;
        const uint8_t b = src[off];
        if (!pair_values(b >> 4, w) || !pair_values(b & 15, w + 2)) {
            if (ok) bad = off;
            ok = false;
            memset(w, 0, 4);
        }
    });
    if (!ok)
        return bn_fail(BITNET_ERR_FORMAT,
                       "TL1: byte %zu (0x%02x) holds a pair code above 8, which is not ternary",
                       bad, src[bad]);
    memcpy(scale, src + span - TL_TAIL, sizeof *scale);
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * TL2. Inside every 32-byte row vector the four 8-row chunks are stored in
 * the order 0, 2, 1, 3 (rows 0-7, 16-23, 8-15, 24-31): row r of a 32-row
 * sub-block sits at byte tl2_pos(r). The map is its own inverse.
 * ------------------------------------------------------------------------- */

static int tl2_pos(int r) {
    static const int chunk[4] = {0, 2, 1, 3};
    return chunk[r / 8] * 8 + r % 8;
}

/* balanced ternary of a column triple: 9·w0 + 3·w1 + w2 in [-13, 13] */
static int triple_value(const int8_t *w) { return 9 * w[0] + 3 * w[1] + w[2]; }

static void triple_values(int v, int8_t *w) {
    const int d = v + 13; /* base-3 digits w + 1 */
    w[0] = (int8_t)(d / 9 - 1);
    w[1] = (int8_t)(d / 3 % 3 - 1);
    w[2] = (int8_t)(d % 3 - 1);
}

typedef struct tl2_geom {
    int64_t M, K, K3, K2, BM, BK;
    size_t sign_at, two_at; /* section offsets */
} tl2_geom;

static tl2_geom tl2_geometry(int64_t M, int64_t K, const bn_tl_params *p) {
    tl2_geom g = {.M = M, .K = K, .BM = p->bm_tile, .BK = p->bk};
    g.K2 = K % p->bk;
    g.K3 = K - g.K2;
    g.sign_at = (size_t)(M * g.K3 / 6);
    g.two_at = g.sign_at + (size_t)(M * g.K3 / 24);
    return g;
}

/* Index nibbles: [M/BM][K3/BK][BM/32][BK/6] steps of 32 bytes; the byte of
 * row r holds |v| of the triples at col and col + 3. */
#define TL2_INDEX_LOOP(g, ...)                                                                     \
    do {                                                                                           \
        size_t base = 0;                                                                           \
        for (int64_t t = 0; t < (g).M / (g).BM; t++)                                               \
            for (int64_t kb = 0; kb < (g).K3 / (g).BK; kb++)                                       \
                for (int64_t s = 0; s < (g).BM / 32; s++)                                          \
                    for (int64_t gi = 0; gi < (g).BK / 6; gi++, base += 32)                        \
                        for (int r = 0; r < 32; r++) {                                             \
                            const size_t off = base + (size_t)tl2_pos(r);                          \
                            const int64_t row = t * (g).BM + s * 32 + r;                           \
                            const int64_t col = kb * (g).BK + 6 * gi;                              \
                            __VA_ARGS__                                                            \
                        }                                                                          \
    } while (0)

/* Sign words: [M/BM][K3/BK][BM/32][BK/24] steps of 16 little-endian uint16;
 * triple q (0..7, columns col + 3q) of row r is bit 15 - (2q + r/16) of word
 * r % 16. */
#define TL2_SIGN_LOOP(g, ...)                                                                      \
    do {                                                                                           \
        size_t base = (g).sign_at;                                                                 \
        for (int64_t t = 0; t < (g).M / (g).BM; t++)                                               \
            for (int64_t kb = 0; kb < (g).K3 / (g).BK; kb++)                                       \
                for (int64_t s = 0; s < (g).BM / 32; s++)                                          \
                    for (int64_t h = 0; h < (g).BK / 24; h++, base += 32)                          \
                        for (int r = 0; r < 32; r++)                                               \
                            for (int q = 0; q < 8; q++) {                                          \
                                const size_t word = base + 2 * (size_t)(r % 16);                   \
                                const int bit = 15 - (2 * q + r / 16);                             \
                                const int64_t row = t * (g).BM + s * 32 + r;                       \
                                const int64_t col = kb * (g).BK + 24 * h + 3 * q;                  \
                                __VA_ARGS__                                                        \
                            }                                                                      \
    } while (0)

/* Two part: [M/BM][K2/32][BM/32][8] steps of 32 bytes; the byte of row r
 * holds the pairs at col and col + 2 (TL1's pair code). */
#define TL2_TWO_LOOP(g, ...)                                                                       \
    do {                                                                                           \
        size_t base = (g).two_at;                                                                  \
        for (int64_t t = 0; t < (g).M / (g).BM; t++)                                               \
            for (int64_t blk = 0; blk < (g).K2 / 32; blk++)                                        \
                for (int64_t s = 0; s < (g).BM / 32; s++)                                          \
                    for (int64_t gi = 0; gi < 8; gi++, base += 32)                                 \
                        for (int r = 0; r < 32; r++) {                                             \
                            const size_t off = base + (size_t)tl2_pos(r);                          \
                            const int64_t row = t * (g).BM + s * 32 + r;                           \
                            const int64_t col = (g).K3 + 32 * blk + 4 * gi;                        \
                            __VA_ARGS__                                                            \
                        }                                                                          \
    } while (0)

bitnet_status bn_tl2_encode(const int8_t *codes, float scale, int64_t M, int64_t K,
                            const bn_tl_params *p, uint8_t *dst, size_t dst_size) {
    bitnet_status st = bn_tl2_check(M, K, p);
    if (st) return st;
    const size_t span = bn_tl2_nbytes(M, K);
    if (dst_size != span)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "TL2: the buffer has %zu bytes, the span %zu",
                       dst_size, span);
    memset(dst, 0, span);
    const tl2_geom g = tl2_geometry(M, K, p);
    TL2_INDEX_LOOP(g, {
        const int8_t *w = codes + row * K + col;
        const int v0 = triple_value(w), v1 = triple_value(w + 3);
        dst[off] = (uint8_t)((v0 < 0 ? -v0 : v0) << 4 | (v1 < 0 ? -v1 : v1));
    });
    TL2_SIGN_LOOP(g, {
        if (triple_value(codes + row * K + col) < 0)
            dst[word + (bit >> 3)] |= (uint8_t)(1u << (bit & 7));
    });
    TL2_TWO_LOOP(g, {
        const int8_t *w = codes + row * K + col;
        dst[off] = (uint8_t)(pair_code(w) << 4 | pair_code(w + 2));
    });
    memcpy(dst + span - TL_TAIL, &scale, sizeof scale);
    return BITNET_OK;
}

bitnet_status bn_tl2_decode(const uint8_t *src, size_t src_size, int64_t M, int64_t K,
                            const bn_tl_params *p, int8_t *codes, float *scale) {
    bitnet_status st = bn_tl2_check(M, K, p);
    if (st) return st;
    const size_t span = bn_tl2_nbytes(M, K);
    if (src_size < span)
        return bn_fail(BITNET_ERR_FORMAT, "TL2: %zu bytes, the span rule needs %zu", src_size,
                       span);
    const tl2_geom g = tl2_geometry(M, K, p);
    size_t bad = SIZE_MAX;
    /* magnitudes first (as +|v|), then the signs flip the negative triples */
    TL2_INDEX_LOOP(g, {
        const uint8_t b = src[off];
        int8_t *w = codes + row * K + col;
        if ((b >> 4) > 13 || (b & 15) > 13) {
            if (bad == SIZE_MAX) bad = off;
            memset(w, 0, 6);
        } else {
            triple_values(b >> 4, w);
            triple_values(b & 15, w + 3);
        }
    });
    if (bad != SIZE_MAX)
        return bn_fail(BITNET_ERR_FORMAT,
                       "TL2: byte %zu (0x%02x) holds a triple magnitude above 13, which is not "
                       "ternary",
                       bad, src[bad]);
    TL2_SIGN_LOOP(g, {
        if (src[word + (bit >> 3)] >> (bit & 7) & 1) {
            int8_t *w = codes + row * K + col;
            for (int j = 0; j < 3; j++) w[j] = (int8_t)-w[j];
        }
    });
    TL2_TWO_LOOP(g, {
        const uint8_t b = src[off];
        int8_t *w = codes + row * K + col;
        if (!pair_values(b >> 4, w) || !pair_values(b & 15, w + 2)) {
            if (bad == SIZE_MAX) bad = off;
            memset(w, 0, 4);
        }
    });
    if (bad != SIZE_MAX)
        return bn_fail(BITNET_ERR_FORMAT,
                       "TL2: byte %zu (0x%02x) of the two-column part holds a pair code above 8, "
                       "which is not ternary",
                       bad, src[bad]);
    memcpy(scale, src + span - TL_TAIL, sizeof *scale);
    return BITNET_OK;
}

/* ---------------------------------------------------------------------------
 * Parameters for shapes bitnet.cpp has no kernels for
 * ------------------------------------------------------------------------- */

bitnet_status bn_tl_default_params(uint32_t type, int64_t M, int64_t K, bn_tl_params *p) {
    const bool tl1 = type == BN_TYPE_TL1;
    if (type != BN_TYPE_TL1 && type != BN_TYPE_TL2)
        return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "%s is not a TL type", bn_type_name(type));
    if (M < 1 || M % 32 != 0 || K < 1 || K % (tl1 ? 8 : 32) != 0)
        return bn_fail(
            BITNET_ERR_INVALID_ARGUMENT,
            "%s needs M a multiple of 32 and K a multiple of %d; the shape is M = %" PRId64
            ", K = %" PRId64,
            tl1 ? "tl1" : "tl2", tl1 ? 8 : 32, M, K);
    p->bm_sub = 32;
    p->bm_tile = 32;
    for (int bm = 256; bm >= 32; bm /= 2)
        if (M % bm == 0) {
            p->bm_tile = bm;
            break;
        }
    if (tl1) {
        p->bk = 8;
        for (int bk = 128; bk >= 8; bk /= 2)
            if (K % bk == 0) {
                p->bk = bk;
                break;
            }
        return bn_tl1_check(M, K, p);
    }
    p->bk = 96;
    return bn_tl2_check(M, K, p);
}
