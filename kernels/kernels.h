/* The kernel table: every compute primitive the forward pass calls, one table
 * per instruction set. The scalar reference ("ref") is the truth; every other
 * table starts from it and overrides entries with SIMD versions that tests
 * compare against it (integer results bit for bit, float results within the
 * stated tolerance). The table is chosen once per context (bn_kernels_get). */
#ifndef BN_KERNELS_H
#define BN_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most query rows one attention kernel call takes (attn_scores_f16). */
#define BN_ATT_ROWS 4

typedef struct bn_kernels {
    const char *isa; /* "ref", "avx2", "avx512", "neon" */

    /* Per-token int8 activation quantization, exactly spec 1.2:
     * m = max(1e-5, max|x|) in double, scale = (float)(127/m),
     * q = clamp(round_half_even(x*scale), -128, 127), sum = Σq. */
    void (*quantize_i8)(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);

    /* I2_S (128-value blocks) times int8: raw sums Σ_k code·q with codes in
     * {0,1,2}; the caller subtracts Σq and applies the scales (spec 1.3).
     * w: first of n_rows rows of K/4 bytes each; K % 128 == 0.
     * gemv: one token, out[r].
     * gemm: n_tok tokens (rows of q q_stride bytes apart),
     *       out[t * out_stride + r]. */
    void (*i2s_gemv)(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int32_t *out);
    void (*i2s_gemm)(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int64_t q_stride,
                     int64_t n_tok, int32_t *out, int64_t out_stride);

    /* Block-scaled ternary weights (TQ1_0/TQ2_0 whose 256-value blocks carry
     * different scales, repacked at load into the I2_S code layout): the
     * raw sums of every 256-value block separately, so that the caller can
     * apply each block's scale. Row r starts at w + r·w_stride (the caller
     * may pass a slice of the blocks of longer rows); K % 256 == 0, nb =
     * K / 256; block b of a row is I2_S 128-blocks 2b and 2b+1.
     * gemv: out[r·nb + b] = Σ_{k in block b} code·q[k].
     * gemm: out[(t·n_rows + r)·nb + b], token t at q + t·q_stride.
     * Exact integers (|sum| <= 256·2·128), identical on every ISA. */
    void (*i2s_blk_gemv)(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                         const int8_t *q, int32_t *out);
    void (*i2s_blk_gemm)(const uint8_t *w, int64_t w_stride, int64_t K, int64_t n_rows,
                         const int8_t *q, int64_t q_stride, int64_t n_tok, int32_t *out);

    /* 8-bit rows times int8 (the optional 8-bit output head): raw sums
     * out[r] = Σ_k w[r·K + k] · q[k] over n_rows rows of K unsigned bytes
     * (the head stores each int8 weight plus 128; the caller subtracts
     * 128·Σq). Any K in 1..65536, so that the int32 sums cannot overflow. */
    void (*u8_gemv)(const uint8_t *w, int64_t K, int64_t n_rows, const int8_t *q, int32_t *out);

    /* BitLinear output from raw integer sums (spec 1.3), n values:
     * y[r] = ((float)raw[r] - sum_q) / s_x * s_w, in this order and in float.
     * |raw| < 2^24, so the conversion and subtraction are exact and IEEE
     * division and multiplication give the same bits at every width. */
    void (*scale_i32)(const int32_t *raw, int64_t n, float sum_q, float s_x, float s_w, float *y);

    /* F32 -> F16 of n values, round-to-nearest-even (the KV cache in compat
     * mode); every variant gives the bits of bn_f32_to_f16. */
    void (*f32_to_f16)(const float *x, uint16_t *y, int64_t n);
    /* y[i] = x[i] rounded to F16 and widened back (bn_round_f16): Q of a
     * multi-token batch in compat mode. */
    void (*f32_round_f16)(const float *x, float *y, int64_t n);

    /* Float dot products (f32 accumulation) for the output head and F16/F32
     * projections. */
    float (*dot_f16)(const uint16_t *a, const uint16_t *b, int64_t n);
    float (*dot_f16_f32)(const uint16_t *a, const float *b, int64_t n);
    float (*dot_f32)(const float *a, const float *b, int64_t n);

    /* One F16 row against n_x F32 vectors (x + t·x_stride, t < n_x), the
     * output head of a multi-token batch: out[t] has exactly the bits of
     * dot_f16_f32(a, x + t·x_stride, n) of the same table, so a sequence
     * decoded in a batch gets the logits it gets alone; the row is
     * converted once per group of tokens instead of once per token. */
    void (*dot_f16_f32_multi)(const uint16_t *a, const float *x, int64_t x_stride, int n_x,
                              int64_t n, float *out);
    /* n_rows (1..4) F16 rows (a + r·a_stride) against n_x (1..4) vectors:
     * out[t·out_stride + r] has exactly the bits of dot_f16_f32(a +
     * r·a_stride, x + t·x_stride, n), like dot_f16_f32_multi, but each
     * activation load is shared by the rows (a batch's output head). NULL
     * in a table that has no faster way than dot_f16_f32_multi per row. */
    void (*dot_f16_f32_block)(const uint16_t *a, int64_t a_stride, int n_rows, const float *x,
                              int64_t x_stride, int n_x, int64_t n, float *out, int64_t out_stride);

    /* Attention's two products over one KV head of the F16 cache, for n_q
     * (1..BN_ATT_ROWS) query rows that share it: heads of one group, tokens
     * of one sequence. Each output is one fused multiply-add chain in a
     * fixed order, fmaf(cache value, operand, acc) from acc = 0, so every
     * ISA gives the bits of the reference and a query row gets the same
     * result whichever rows it is grouped with (prefill, decode and
     * multi-sequence batches agree).
     *
     * attn_scores_f16: keys transposed, key j's dimension d at
     * kt[d·kt_stride + j] (j < n_keys consecutive cells, d < hd);
     * s[r][j] = Σ_{d = 0..hd-1} kt[d][j] · q[r][d], in d order.
     *
     * attn_values_f16: value rows, row j's dimension d at v[j·v_stride + d];
     * out[r][d] continues its chain from its current value over rows
     * j = 0..n_keys[r]-1 in order: out[r][d] += v[j][d] · p[r][j] (so a
     * caller can feed one run of cells after another). */
    void (*attn_scores_f16)(const uint16_t *kt, int64_t kt_stride, int n_keys, int hd,
                            const float *const *q, int n_q, float *const *s);
    void (*attn_values_f16)(const uint16_t *v, int64_t v_stride, int hd, const int *n_keys,
                            const float *const *p, int n_q, float *const *out);

    /* Attention's softmax of n scores in place: x[i] = x[i]·scale (float),
     * m = max x[i], e[i] = bn_exp_poly(x[i] − m) (exp_poly.h), Σe in
     * double as bn_fold16's sixteen partial sums, then x[i] =
     * e[i] · (float)(1/Σe). The same bits on every ISA. */
    void (*softmax_f32)(float *x, int64_t n, float scale);

    /* The gated FFN's activation in place over n values:
     * silu_mul: g[i] = (g[i] / (1 + bn_exp_poly(−g[i]))) · u[i];
     * relu2_mul: r = g[i] > 0 ? g[i] : 0, g[i] = (r · r) · u[i].
     * The same bits on every ISA (IEEE division, exp_poly.h). */
    void (*silu_mul)(float *g, const float *u, int64_t n);

    /* RMSNorm of n values: Σx² in double as fold16.h's sixteen partial
     * sums (each square exact in double), mean = (float)(Σ / n),
     * s = 1 / sqrtf(mean + eps), y[i] = (x[i] · s) · w[i] (ggml's rms_norm
     * then mul). y may be x. */
    void (*rmsnorm)(float *y, const float *x, const float *w, int64_t n, float eps);
    void (*relu2_mul)(float *g, const float *u, int64_t n);
} bn_kernels;

/* The scalar reference table (always available). */
extern const bn_kernels bn_kernels_ref;

/* The table for `isa` (NULL: $BITNET_ISA if set, else the best this CPU runs).
 * Returns NULL if that ISA is unknown, not compiled in, or not supported by
 * this CPU; the last error then says which. */
const bn_kernels *bn_kernels_get(const char *isa);

/* Whether this CPU and build can run `isa`. */
bool bn_isa_supported(const char *isa);

/* The best ISA this CPU runs, ignoring $BITNET_ISA. */
const char *bn_isa_best(void);

/* CPU features, for logs and reports ("avx2 fma f16c avx512f avx512bw ..."). */
const char *bn_cpu_features(void);

#endif
