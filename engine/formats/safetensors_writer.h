/* A small safetensors writer (fixtures of Hugging Face directories): tensors
 * are laid out in call order, the header lists them in that order with
 * __metadata__ {"format": "pt"} (which transformers expects) and is padded with
 * spaces to a multiple of 8 bytes, so every tensor starts 8-byte aligned.
 * The file is written through atomic_file.h: whole or not at all. */
#ifndef BN_SAFETENSORS_WRITER_H
#define BN_SAFETENSORS_WRITER_H

#include <stdint.h>

#include "bitnet.h"
#include "safetensors.h"

typedef struct bn_st_writer bn_st_writer;

bn_st_writer *bn_st_writer_new(void);
void bn_st_writer_free(bn_st_writer *w);

/* Adds a tensor; `data` (nbytes, checked against dtype and shape) is not
 * copied and must stay valid until bn_st_writer_write. Names are 1 to
 * BN_ST_MAX_NAME printable ASCII bytes without '"' or '\\' (nothing to
 * escape), each name once. */
bitnet_status bn_st_writer_add(bn_st_writer *w, const char *name, bn_st_dtype dtype, int n_dims,
                               const int64_t *shape, const void *data, uint64_t nbytes);
/* Bytes of tensor data added so far (the index's metadata.total_size). */
uint64_t bn_st_writer_data_bytes(const bn_st_writer *w);
bitnet_status bn_st_writer_write(const bn_st_writer *w, const char *path);

#endif
