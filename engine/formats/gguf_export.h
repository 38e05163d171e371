/* Writing a loaded model as a GGUF file (`bitnet convert`, `bitnet
 * quantize`): from a struct bitnet_model, whatever it was loaded from, to a
 * file bitnet.cpp's loader reads (arch names, metadata keys and tensor names
 * of spec 2.6-2.7), with the projections in the requested type.
 *
 * Projections:
 *   - ternary in memory (I2_S, a repacked TQ file): the codes and the scale
 *     are re-encoded as they are: lossless into I2_S, TQ1_0 and TQ2_0 (up to
 *     F16 of the scale for TQ, F16 of code·scale for F16; the result counts
 *     the tensors where that rounding changed something);
 *   - block-scaled TQ: into TQ1_0/TQ2_0/F32 exactly (F16 rounds); refused
 *     for I2_S, which holds one scale per tensor;
 *   - float (F32/F16/BF16 GGUF): written as float for F32/F16, otherwise
 *     ternarized first (bn_ternarize_mode).
 * Token embedding and output head: copied as stored, or re-quantized to F32,
 * F16, Q8_0 or Q6_K row by row. Norms, biases and scalar multipliers are
 * copied.
 *
 * The file appears whole or not at all (gguf writer + atomic_file.h); each
 * output tensor is produced while the file is written, so at most one is in
 * memory at a time. Progress goes to a callback; the library never prints. */
#ifndef BN_GGUF_EXPORT_H
#define BN_GGUF_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"
#include "gguf.h"
#include "model.h"

/* How float projections become ternary. */
typedef enum bn_ternarize_mode {
    /* presigned when every non-zero value has the same magnitude (an F32 file
     * of already-ternarized weights, what bitnet.cpp's converters write before
     * llama-quantize: exact), absmean otherwise (master weights, spec 1.1) */
    BN_TERNARIZE_AUTO = 0,
    BN_TERNARIZE_ABSMEAN = 1,   /* bn_ternarize_absmean: what the HF converters do */
    BN_TERNARIZE_PRESIGNED = 2, /* bn_ternarize_presigned: what llama-quantize's I2_S does */
} bn_ternarize_mode;

/* One projection output type. `encode` turns ternary codes into the type's
 * bytes; it is NULL for the float types (written from floats). The TL1/TL2
 * encoders take BM/BK/bm from bn_tl_writer_params (the shape's bitnet.cpp
 * preset, else a default), which the exporter also writes into the
 * metadata. */
typedef struct bn_export_type {
    const char *name;   /* as on the command line */
    uint32_t type;      /* bn_type */
    uint32_t ftype;     /* general.file_type (llama.cpp's LLAMA_FTYPE_MOSTLY_*) */
    bool projection;    /* allowed for --type */
    bool embedding;     /* allowed for --token-embedding-type / --output-tensor-type */
    int64_t k_multiple; /* the input dimension must be a multiple of this */
    bitnet_status (*encode)(const int8_t *codes /* [M][K] */, float scale, int64_t M, int64_t K,
                            uint8_t *dst, size_t dst_size);
} bn_export_type;

/* The row of a name (case-insensitive: "q6_k" and "q6_K"), or NULL. */
const bn_export_type *bn_export_type_find(const char *name);
/* "i2_s, tq1_0, tq2_0, f16, f32" (projection) or "f32, f16, q8_0, q6_k". */
const char *bn_export_type_list(bool projection);

#define BN_EXPORT_KEEP UINT32_MAX /* embedding / head: the type it has in the source */

typedef void (*bn_export_progress_fn)(void *user, uint64_t bytes_done, uint64_t bytes_total,
                                      int32_t tensor, int32_t n_tensors, const char *name);

typedef struct bn_export_params {
    uint32_t type;        /* projections: a bn_type with a projection row */
    uint32_t embd_type;   /* token_embd.weight: BN_EXPORT_KEEP or a type with an embedding row */
    uint32_t output_type; /* output.weight, when the model has its own head: likewise */
    bn_ternarize_mode ternarize;
    const char *name; /* general.name; NULL: the source's, else "bitnet" */
    bn_export_progress_fn progress;
    void *progress_user;
} bn_export_params;

void bn_export_default_params(bn_export_params *p); /* i2_s, keep, keep, auto */

typedef struct bn_export_result {
    int32_t n_tensors;
    int32_t n_codes;         /* projections re-encoded from ternary codes (lossless) */
    int32_t n_presigned;     /* float projections already ternary (exact) */
    int32_t n_absmean;       /* float projections ternarized by absmean (lossy by design) */
    int32_t n_float;         /* projections written as float */
    int32_t n_scale_rounded; /* projections whose scale (or values) F16 could not hold */
    uint64_t file_bytes;
} bn_export_result;

/* Writes the model to `path`. Every shape and type is checked before the
 * file is opened; a failure at any point leaves no file at `path` (nor
 * destroys one that was there). result may be NULL. */
bitnet_status bn_export_gguf(const bitnet_model *m, const bn_export_params *p, const char *path,
                             bn_export_result *result);

/* The architecture's hyper-parameter keys (spec 2.7) and general.*
 * (architecture, name, file_type) in the order the fixture generator has
 * always written them; shared by the fixture generator and the exporter. */
bitnet_status bn_export_hparams(bn_gguf_writer *w, const char *arch, const char *name,
                                const bn_hparams *hp, uint32_t ftype);

/* llama.cpp's general.file_type for a file whose projections are `type`. */
uint32_t bn_export_ftype(uint32_t type);

#endif
