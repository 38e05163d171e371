/* K16 repacking (cuda_layout.h): done once at load on the host, so the
 * device never sees the I2_S byte layout. */
#include "cuda_layout.h"

#include <string.h>

#include "../types.h"

bool bn_k16_repack_i2s(const uint8_t *src, int64_t K, int64_t n_rows, uint32_t *dst) {
    if (K <= 0 || K % BN_I2S_BLOCK != 0 || n_rows < 0) return false;
    const int64_t words = bn_k16_row_words(K);
    for (int64_t r = 0; r < n_rows; r++) {
        const uint8_t *row = src + r * (K / 4); /* [K/128][32] bytes */
        uint32_t *out = dst + r * words;        /* [K/16] words */
        memset(out, 0, (size_t)words * sizeof *out);
        for (int64_t k = 0; k < K; k++)
            out[k / 16] |= (uint32_t)bn_i2s_code(row, k) << (2 * (k % 16));
    }
    return true;
}
