/* What a writer of TL1/TL2 tensors needs (the fixture generator and
 * `bitnet convert --type tl1|tl2`): BM/BK/bm for a shape, and the metadata
 * keys that let tl_load.c read the file back without a kernel_config.ini. */
#ifndef BN_TL_EXPORT_H
#define BN_TL_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "tl_layout.h"

/* bitnet.cpp's preset where it has a kernel of `type` for (M, K), so the
 * bytes are what its converter writes; else bn_tl_default_params. Fails with
 * the layout rule when the shape has no valid parameters. */
bitnet_status bn_tl_writer_params(uint32_t type, int64_t M, int64_t K, bn_tl_params *p);

/* bitnet.tl.<M>x<K>.bm / .bk / .bmm (the names tl_load.c reads). */
bitnet_status bn_tl_write_meta(bn_gguf_writer *w, int64_t M, int64_t K, const bn_tl_params *p);

/* codes [M][K] -> the TL1 or TL2 span dst[dst_size] with parameters p. */
bitnet_status bn_tl_encode(uint32_t type, const int8_t *codes, float scale, int64_t M, int64_t K,
                           const bn_tl_params *p, uint8_t *dst, size_t dst_size);

#endif
