/* Loading bitnet.cpp's TL1 / TL2 projections (docs/formats.md).
 *
 * A TL tensor is decoded once at load and repacked into the engine's I2_S
 * layout (codes + the tensor's one scale), so every ISA's I2_S kernels run
 * it, prefill and decode, with the same integers as the I2_S file of the same
 * weights. The byte order depends on BM/BK/bm (tl_layout.h), taken for each
 * shape (M, K), in this order:
 *   1. the file's metadata, keys bitnet.tl.<M>x<K>.bm / .bk / .bmm (u32;
 *      what our writers record; all three or none);
 *   2. the kernel_config.ini the user passed (bitnet_model_params.
 *      kernel_config, `--kernel-config`): the section with m == M, k == K;
 *      when the file has keys too they must agree;
 *   3. bitnet.cpp's parameters for the shapes it generates kernels for
 *      (tl_presets.h).
 * None of them: an error naming the tensor, its shape and the three sources. */
#ifndef BN_TL_LOAD_H
#define BN_TL_LOAD_H

#include "gguf.h"
#include "kernel_config.h"
#include "log.h"
#include "model.h"
#include "tl_layout.h"

/* "bitnet.tl.<M>x<K>.<field>", field "bm", "bk" or "bmm" (snprintf semantics). */
int bn_tl_meta_key(char *buf, size_t size, int64_t M, int64_t K, const char *field);

typedef struct bn_tl_source {
    const bn_gguf *file;
    const bn_kernel_config *ini; /* NULL: none given */
    const bn_logger *log;
} bn_tl_source;

/* BM/BK/bm of (type, M, K) for `tensor` (used in messages); *from says which
 * source gave them ("metadata", the ini's path, "bitnet.cpp preset <model>"). */
bitnet_status bn_tl_resolve_params(const bn_tl_source *src, const char *tensor, uint32_t type,
                                   int64_t M, int64_t K, bn_tl_params *p, const char **from);

/* w has name, type (TL1 or TL2), n_in (K), n_out (M) and data (the span in the
 * file, t->nbytes bytes) set. On success w->data, row_bytes, scale and type
 * (I2_S) are replaced and w->owned holds the new memory (also on failure,
 * for the caller to free). Errors name the file and the tensor: a span other
 * than the rule's, a shape the parameters do not fit, a code that is not
 * ternary, K not a multiple of 128 (the I2_S kernels' block). */
bitnet_status bn_tl_load(const bn_tl_source *src, uint64_t nbytes, bn_weight *w);

#endif
