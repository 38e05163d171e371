/*
 * bitnet.h - the public C API of libbitnet, an inference engine for ternary
 * ("1.58-bit") language models such as BitNet b1.58.
 *
 * This header is the contract. Anything not declared here is internal.
 *
 * Objects and their lifetimes
 *   bitnet_model    weights + tokenizer, read-only once loaded; may be shared by
 *                   several contexts (each context used by one thread at a time).
 *                   Constructor: bitnet_model_load(). Destructor: bitnet_model_free().
 *   bitnet_context  KV cache, scratch buffers, logits and the numerics mode.
 *                   The KV cache holds up to n_seq_max sequences (one by
 *                   default), decoded together with bitnet_decode_batch().
 *                   Constructor: bitnet_context_new(). Destructor: bitnet_context_free().
 *   bitnet_sampler  token sampling state (RNG, repetition history).
 *                   Constructor: bitnet_sampler_new(). Destructor: bitnet_sampler_free().
 *   Freeing NULL is a harmless no-op for every destructor.
 *
 * Errors
 *   Functions that can fail return a bitnet_status (BITNET_OK == 0, errors < 0);
 *   constructors return NULL. In both cases bitnet_get_last_error() returns a
 *   message for the calling thread that names the file, the field and the value
 *   or byte offset at fault. The library never exits, aborts or prints: messages
 *   go to the log callback given in the model parameters (none by default).
 *
 * Typical use
 *   bitnet_model_params mp = bitnet_model_default_params();
 *   bitnet_model *m = bitnet_model_load("model.gguf", &mp);
 *   if (!m) { fprintf(stderr, "%s\n", bitnet_get_last_error()); return 1; }
 *   bitnet_context_params cp = bitnet_context_default_params();
 *   bitnet_context *c = bitnet_context_new(m, &cp);
 *   bitnet_inference_params ip = bitnet_inference_default_params();
 *   ip.on_piece = print_piece;                 // streams the generated text
 *   bitnet_inference(c, "The capital of France is", &ip, NULL);
 *   bitnet_context_free(c);
 *   bitnet_model_free(m);
 */
#ifndef BITNET_H
#define BITNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define BITNET_API
#else
#define BITNET_API __attribute__((visibility("default")))
#endif

/* Bumped whenever a struct layout or a function signature in this header
 * changes incompatibly. Compare with bitnet_abi_version() at run time. */
#define BITNET_ABI_VERSION 3
#define BITNET_VERSION_STRING "0.1.0"

typedef int32_t bitnet_token;
typedef int32_t bitnet_seq_id; /* a sequence of a context's KV cache: 0..n_seq_max-1 */
typedef int32_t bitnet_pos;    /* a token's position in its sequence: 0, 1, ... */
typedef struct bitnet_model bitnet_model;
typedef struct bitnet_context bitnet_context;
typedef struct bitnet_sampler bitnet_sampler;

/* ---------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------- */

/* Append-only: values never change meaning. */
typedef enum bitnet_status {
    BITNET_OK = 0,
    BITNET_ERR_INVALID_ARGUMENT = -1, /* a NULL pointer, an out-of-range parameter */
    BITNET_ERR_IO = -2,               /* open, stat, read or mmap failed */
    BITNET_ERR_FORMAT = -3,           /* the file is malformed (bad magic, bad field value) */
    BITNET_ERR_TRUNCATED = -4,        /* the file ends before data it declares */
    BITNET_ERR_VERSION = -5,          /* unsupported format version */
    BITNET_ERR_UNSUPPORTED = -6,      /* well-formed, but a type or architecture we cannot run */
    BITNET_ERR_NOMEM = -7,            /* an allocation failed */
    BITNET_ERR_CONTEXT_FULL = -8,     /* the tokens do not fit in the context window */
    BITNET_ERR_INPUT = -9,            /* invalid run-time input (token id out of range, ...) */
    BITNET_ERR_ABORTED = -10,         /* the abort callback asked to stop */
    BITNET_ERR_BUFFER_TOO_SMALL = -11,
    BITNET_ERR_INTERNAL = -12, /* a bug in libbitnet: please report it */
} bitnet_status;

/* A static English name for a status code ("ok", "file is malformed", ...). */
BITNET_API const char *bitnet_status_str(bitnet_status status);

/* The message of the last failure on the calling thread ("" if none).
 * Valid until the next libbitnet call on this thread. */
BITNET_API const char *bitnet_get_last_error(void);

BITNET_API int bitnet_abi_version(void);
BITNET_API const char *bitnet_version(void);

/* A one-line description of the build and the machine: selected ISA, the ISAs
 * this CPU supports, OpenMP, compiler. */
BITNET_API const char *bitnet_system_info(void);

/* Whether kernels for `isa` ("ref", "avx2", "avx512", "amx", "neon", "wasm") are compiled in
 * and usable on this CPU. */
BITNET_API bool bitnet_isa_supported(const char *isa);

/* The ISA a context gets when none is asked for: $BITNET_ISA if set (and
 * supported), otherwise the best one this CPU supports. */
BITNET_API const char *bitnet_isa_default(void);

/* ---------------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------------- */

typedef enum bitnet_log_level {
    BITNET_LOG_ERROR = 0,
    BITNET_LOG_WARN = 1,
    BITNET_LOG_INFO = 2,
    BITNET_LOG_DEBUG = 3,
} bitnet_log_level;

/* `message` is one line without the trailing newline. */
typedef void (*bitnet_log_callback)(bitnet_log_level level, const char *message,
                                    void *user_data);

/* ---------------------------------------------------------------------------
 * Model
 * ------------------------------------------------------------------------- */

typedef struct bitnet_model_params {
    bitnet_log_callback log_callback; /* NULL: the library stays silent */
    void *log_user_data;
    bool use_mmap;      /* map the file read-only (default); false reads it into memory */
    bool vocab_only;    /* load metadata and the tokenizer only (vocab files have no weights) */
    bool check_tensors; /* scan every weight at load: ternary codes, scales, NaN/Inf (slower) */
    bool use_mlock;     /* lock the weights in RAM (mlock); failure is a warning, not an error */
    /* ABI 2 appended the fields below (the ones above keep their offsets);
     * always start from bitnet_model_default_params(). */
    /* bitnet.cpp's kernel_config.ini for TL1/TL2 files whose BM/BK/bm neither
     * the file's metadata nor the built-in presets give (docs/formats.md);
     * NULL (default): none. */
    const char *kernel_config;
    /* I2_S block layout when the file does not record it: 0 (default) reads
     * 128-value blocks and logs that it assumed so; 64 for files quantized
     * by bitnet.cpp's ARM builds since 2025-11; 128. */
    int32_t i2s_block;
} bitnet_model_params;

BITNET_API bitnet_model_params bitnet_model_default_params(void);

/* Loads a GGUF file or a Hugging Face model directory (or its config.json;
 * docs/formats.md). Every field is validated before use; on failure returns
 * NULL and bitnet_get_last_error() says what is wrong and where. */
BITNET_API bitnet_model *bitnet_model_load(const char *path, const bitnet_model_params *params);
/* Loads a GGUF image already in memory (a browser's ArrayBuffer copied into
 * the WASM heap, an embedded model): the same validation as a file, messages
 * name `name` (NULL: "<memory>"). No copy is made: the weights point into
 * `data`, which must stay valid and unchanged until bitnet_model_free.
 * use_mmap and use_mlock are ignored. */
BITNET_API bitnet_model *bitnet_model_load_from_buffer(const void *data, size_t size,
                                                       const char *name,
                                                       const bitnet_model_params *params);
BITNET_API void bitnet_model_free(bitnet_model *model);

BITNET_API const char *bitnet_model_arch(const bitnet_model *model); /* "bitnet", ... */
BITNET_API int32_t bitnet_model_n_vocab(const bitnet_model *model);
BITNET_API int32_t bitnet_model_n_ctx_train(const bitnet_model *model);
BITNET_API int32_t bitnet_model_n_embd(const bitnet_model *model);
BITNET_API int32_t bitnet_model_n_layer(const bitnet_model *model);
BITNET_API int32_t bitnet_model_n_head(const bitnet_model *model);
BITNET_API int32_t bitnet_model_n_head_kv(const bitnet_model *model);
/* Bytes of tensor data and number of weights. */
BITNET_API uint64_t bitnet_model_size(const bitnet_model *model);
BITNET_API uint64_t bitnet_model_n_params(const bitnet_model *model);

/* Copies a metadata value, formatted as text, into buf (snprintf semantics).
 * Returns the length of the full text, or -1 if the key is absent. Arrays are
 * shown as "[n items]". */
BITNET_API int32_t bitnet_model_meta_str(const bitnet_model *model, const char *key, char *buf,
                                         size_t buf_size);

/* ---------------------------------------------------------------------------
 * Tokenizer
 * ------------------------------------------------------------------------- */

BITNET_API bitnet_token bitnet_token_bos(const bitnet_model *model); /* -1 if none */
BITNET_API bitnet_token bitnet_token_eos(const bitnet_model *model); /* -1 if none */
/* End-of-generation: EOS, end-of-turn (<|eot_id|>) and the like. */
BITNET_API bool bitnet_token_is_eog(const bitnet_model *model, bitnet_token token);
/* Whether tokenizing with add_special prepends BOS (tokenizer.ggml.add_bos_token). */
BITNET_API bool bitnet_add_bos(const bitnet_model *model);

/* Tokenizes `text_len` bytes of `text` (text_len < 0: up to the NUL).
 * add_special: add BOS/EOS as the model's metadata asks.
 * parse_special: recognise the text of control tokens ("<|eot_id|>") as those tokens.
 * Returns the number of tokens written. If n_tokens_max is too small, writes
 * nothing and returns minus the number needed. On error returns INT32_MIN. */
BITNET_API int32_t bitnet_tokenize(const bitnet_model *model, const char *text, int32_t text_len,
                                   bitnet_token *tokens, int32_t n_tokens_max, bool add_special,
                                   bool parse_special);

/* The text of one token. special: render control tokens as their text (else
 * they give ""). Returns the length (no NUL is written beyond it unless room),
 * minus the length needed if buf is too small, INT32_MIN on error. */
BITNET_API int32_t bitnet_token_to_piece(const bitnet_model *model, bitnet_token token, char *buf,
                                         int32_t buf_len, bool special);

/* The text of a token sequence, NUL-terminated. remove_special: drop a leading
 * BOS / trailing EOS. unparse_special: render control tokens as text.
 * Returns the length, or minus the length needed (+1 for the NUL) if too small,
 * INT32_MIN on error. */
BITNET_API int32_t bitnet_detokenize(const bitnet_model *model, const bitnet_token *tokens,
                                     int32_t n_tokens, char *text, int32_t text_len_max,
                                     bool remove_special, bool unparse_special);

/* ---------------------------------------------------------------------------
 * Context and evaluation
 * ------------------------------------------------------------------------- */

typedef enum bitnet_numerics {
    /* Reproduce bitnet.cpp's float roundings (F16 KV cache, Q and softmax
     * probabilities rounded to F16, F16 hidden state before an F16 head) so that
     * greedy tokens match it. The default. */
    BITNET_NUMERICS_COMPAT = 0,
    /* F32 everywhere outside the integer ternary products: the ideal math, to
     * measure how far compat is from it. */
    BITNET_NUMERICS_EXACT = 1,
} bitnet_numerics;

typedef struct bitnet_context_params {
    int32_t n_ctx;     /* context window in tokens; 0: the model's training context */
    int32_t n_batch;   /* most tokens per bitnet_decode() that keeps all logits (default 512) */
    int32_t n_threads; /* 0: the number of physical cores */
    bitnet_numerics numerics;
    const char
        *isa; /* NULL: bitnet_isa_default(); else "ref", "avx2", "avx512", "amx", "neon", "wasm" */
    /* Polled between layers; returning true makes bitnet_decode() stop with
     * BITNET_ERR_ABORTED (the tokens of that call are then not in the cache). */
    bool (*abort_callback)(void *user_data);
    void *abort_user_data;
    /* Output head in 8 bits (default false): the head is quantized to int8
     * with one scale per row when the context is created (n_vocab × n_embd
     * bytes more memory) and the logits are int8 dot products against the
     * int8-quantized final hidden state. About half the bytes per generated
     * token for an F16 head; changes the logits slightly (docs/performance.md
     * gives the perplexity change), so it is off by default and is not
     * bitnet.cpp-compatible. */
    bool head_q8;
    /* ABI 2 appended the field below. */
    /* Most sequences the KV cache holds at once, 1..64 (default 1; 0 means
     * 1): sequence ids 0..n_seq_max-1 for bitnet_decode_batch(). All of them
     * share the n_ctx cells of the cache (a cell shared by bitnet_kv_seq_cp()
     * counts once); memory grows by n_seq_max x n_ctx x 4 bytes. */
    int32_t n_seq_max;
    /* ABI 3 appended the field below. */
    /* Where the forward pass runs: "cpu", or "cuda" (docs/cuda.md); NULL
     * (default): $BITNET_DEVICE if set, else "cpu". This version has CUDA
     * kernels, but contexts do not run on the device yet, so "cuda" fails
     * with the reason (built without CUDA, no CUDA device with the
     * runtime's error, or not on the device yet) and nothing falls back to
     * the CPU silently. */
    const char *device;
} bitnet_context_params;

BITNET_API bitnet_context_params bitnet_context_default_params(void);
BITNET_API bitnet_context *bitnet_context_new(const bitnet_model *model,
                                              const bitnet_context_params *params);
BITNET_API void bitnet_context_free(bitnet_context *ctx);

BITNET_API const bitnet_model *bitnet_context_model(const bitnet_context *ctx);
BITNET_API int32_t bitnet_context_n_ctx(const bitnet_context *ctx);
BITNET_API const char *bitnet_context_isa(const bitnet_context *ctx);
BITNET_API int32_t bitnet_context_n_threads(const bitnet_context *ctx);
/* Bytes the context allocated (KV cache + scratch + logits). */
BITNET_API uint64_t bitnet_context_memory(const bitnet_context *ctx);

/* Evaluates n_tokens tokens of sequence 0 appended after the n_past tokens
 * it already holds (positions n_past .. n_past+n_tokens-1); the same as
 * bitnet_decode_batch() with one sequence.
 * all_logits: keep the logits of every token of this call (then n_tokens must
 *   be <= n_batch); otherwise only the logits of the last token are kept.
 * Returns BITNET_OK, BITNET_ERR_CONTEXT_FULL (nothing evaluated),
 * BITNET_ERR_INPUT (a token id out of range), BITNET_ERR_ABORTED. */
BITNET_API bitnet_status bitnet_decode(bitnet_context *ctx, const bitnet_token *tokens,
                                       int32_t n_tokens, bool all_logits);

/* Logits of the last bitnet_decode() or bitnet_decode_batch(): n_outputs
 * rows of n_vocab floats, in the order of their tokens. */
BITNET_API const float *bitnet_get_logits(const bitnet_context *ctx);
BITNET_API int32_t bitnet_get_n_outputs(const bitnet_context *ctx);
/* The logits of one token of the last call; i = -1 is the last row.
 * After bitnet_decode(), i is the row (0 is the last token unless all_logits);
 * after bitnet_decode_batch(), i is the token's index in the batch.
 * NULL if out of range or if that token's logits were not kept. */
BITNET_API const float *bitnet_get_logits_ith(const bitnet_context *ctx, int32_t i);

/* Tokens of sequence 0 in the cache. */
BITNET_API int32_t bitnet_n_past(const bitnet_context *ctx);
/* Keeps the first n_keep tokens of sequence 0 (0 clears it). */
BITNET_API bitnet_status bitnet_kv_truncate(bitnet_context *ctx, int32_t n_keep);

/* ---------------------------------------------------------------------------
 * Multi-sequence batches
 *
 * One context can hold several independent sequences (n_seq_max in the
 * context parameters), e.g. the streams of a server. A batch carries tokens
 * of any of them; bitnet_decode_batch() evaluates all of them in one pass
 * over the weights, so N sequences decoded together cost little more than
 * one. Each sequence gets the same logits as if it were decoded alone in its
 * own context, in the same chunks (bit for bit, see docs/api.md).
 * ------------------------------------------------------------------------- */

/* A batch of tokens from one or more sequences. Arrays of n_tokens entries,
 * owned by whoever made the batch (bitnet_batch_init allocates them). */
typedef struct bitnet_batch {
    int32_t n_tokens;
    bitnet_token *token;   /* [n_tokens] */
    bitnet_pos *pos;       /* [n_tokens] position of each token in its sequence */
    bitnet_seq_id *seq_id; /* [n_tokens] one sequence per token */
    int8_t *logits; /* [n_tokens] nonzero: keep this token's logits; NULL: the last token's */
} bitnet_batch;

/* Arrays for n_tokens_max tokens (logits zeroed), n_tokens 0. On failure
 * (n_tokens_max outside [1, 2^24], out of memory) every array is NULL. */
BITNET_API bitnet_batch bitnet_batch_init(int32_t n_tokens_max);
/* Frees the arrays and zeroes the struct; NULL is a no-op. */
BITNET_API void bitnet_batch_free(bitnet_batch *batch);

/* Evaluates every token of the batch (all sequences in one pass over the
 * weights: a GEMM over the batch's tokens). A token at position p of sequence
 * s attends to the cells of s at positions < p and to itself, the batch's own
 * earlier tokens of s included. A sequence's tokens come in batch order with
 * consecutive positions continuing its cache (the first one at
 * bitnet_kv_seq_pos_max(ctx, s) + 1); tokens of different sequences may be
 * interleaved. Batches longer than the micro-batch (128 tokens, or n_batch if
 * smaller) run in several passes.
 * Returns BITNET_OK; BITNET_ERR_CONTEXT_FULL (fewer free cells than tokens;
 * nothing evaluated); BITNET_ERR_INPUT (a token id, seq_id or pos that is
 * out of range, skips, repeats or goes back; the message names the batch
 * index; nothing evaluated); BITNET_ERR_INVALID_ARGUMENT (NULL arrays,
 * n_tokens <= 0, more than n_batch tokens flagged for logits);
 * BITNET_ERR_ABORTED (the abort callback; the cache is as before the call).
 * The logits of the tokens flagged in batch->logits are then read with
 * bitnet_get_logits_ith(ctx, i) where i is the token's index IN THE BATCH. */
BITNET_API bitnet_status bitnet_decode_batch(bitnet_context *ctx, const bitnet_batch *batch);

/* KV cache per sequence. Ranges are [p0, p1); p0 < 0: from 0; p1 < 0: to the
 * end. */

/* Removes positions [p0, p1) of sequence seq (seq -1: of every sequence).
 * Only a tail can be removed (a sequence's positions never have a gap):
 * p1 beyond the last position, else BITNET_ERR_UNSUPPORTED and nothing
 * changes. Cells no sequence holds any more become free. */
BITNET_API bitnet_status bitnet_kv_seq_rm(bitnet_context *ctx, bitnet_seq_id seq, bitnet_pos p0,
                                          bitnet_pos p1);
/* Shares src's cells of positions [p0, p1) with dst (no copy: a common
 * prompt prefix computed once). dst must hold exactly positions 0..p0-1
 * (usually: empty, p0 = 0); else BITNET_ERR_INVALID_ARGUMENT. src == dst or
 * an empty range does nothing. */
BITNET_API bitnet_status bitnet_kv_seq_cp(bitnet_context *ctx, bitnet_seq_id src, bitnet_seq_id dst,
                                          bitnet_pos p0, bitnet_pos p1);
/* Highest position held for seq, or -1 if it is empty (or seq is out of range). */
BITNET_API bitnet_pos bitnet_kv_seq_pos_max(const bitnet_context *ctx, bitnet_seq_id seq);
/* Cells in use, a shared cell once (for metrics; the capacity is
 * bitnet_context_n_ctx()). */
BITNET_API int32_t bitnet_kv_cells_used(const bitnet_context *ctx);

/* ---------------------------------------------------------------------------
 * Sampling
 * ------------------------------------------------------------------------- */

#define BITNET_SEED_RANDOM UINT64_MAX

/* Order of application (as llama.cpp): repetition penalty, top-k, top-p,
 * min-p, temperature, then a draw from the remaining distribution.
 * temperature <= 0 is greedy (argmax, lowest id on ties). */
typedef struct bitnet_sampler_params {
    float temperature;     /* default 0.8 */
    int32_t top_k;         /* 0: off; default 40 */
    float top_p;           /* 1: off; default 0.95 */
    float min_p;           /* 0: off; default 0.05 */
    float repeat_penalty;  /* 1: off (default) */
    int32_t repeat_last_n; /* tokens of history the penalty looks at; default 64 */
    uint64_t seed;         /* default 0; BITNET_SEED_RANDOM draws one from the clock */
} bitnet_sampler_params;

BITNET_API bitnet_sampler_params bitnet_sampler_default_params(void);
/* Validates the parameters (NaN, negative, top_p outside (0,1], ...): NULL on error. */
BITNET_API bitnet_sampler *bitnet_sampler_new(const bitnet_sampler_params *params);
BITNET_API void bitnet_sampler_free(bitnet_sampler *sampler);
/* Picks a token from n_vocab logits (not modified). The same seed and inputs
 * give the same token on every machine. */
BITNET_API bitnet_token bitnet_sampler_sample(bitnet_sampler *sampler, const float *logits,
                                              int32_t n_vocab);
/* Records a token in the repetition-penalty history (prompt tokens and
 * generated ones). bitnet_sampler_sample() does not record on its own. */
BITNET_API void bitnet_sampler_accept(bitnet_sampler *sampler, bitnet_token token);
BITNET_API void bitnet_sampler_reset(bitnet_sampler *sampler);

/* ---------------------------------------------------------------------------
 * Generation
 * ------------------------------------------------------------------------- */

/* Called with each generated piece of text as soon as it is complete UTF-8
 * (a token that ends inside a multi-byte character is held back and sent with
 * the next one). Return false to stop generating. */
typedef bool (*bitnet_piece_callback)(const char *piece, size_t len, bitnet_token token,
                                      void *user_data);

typedef enum bitnet_stop_reason {
    BITNET_STOP_NONE = 0,
    BITNET_STOP_EOG = 1,          /* an end-of-generation token was sampled */
    BITNET_STOP_N_PREDICT = 2,    /* n_predict tokens were generated */
    BITNET_STOP_CANCELLED = 3,    /* the piece callback returned false */
    BITNET_STOP_CONTEXT_FULL = 4, /* the context window is full */
} bitnet_stop_reason;

typedef struct bitnet_inference_params {
    int32_t n_predict;  /* tokens to generate at most; -1: until EOG or a full context */
    bool parse_special; /* recognise control-token text in the prompt (default true) */
    bool ignore_eos;    /* keep going after end-of-generation tokens */
    bitnet_sampler_params sampling;
    bitnet_piece_callback on_piece; /* may be NULL */
    void *user_data;
} bitnet_inference_params;

typedef struct bitnet_inference_stats {
    int32_t n_prompt;    /* prompt tokens evaluated */
    int32_t n_generated; /* tokens sampled */
    double t_prompt_ms;  /* time to evaluate the prompt */
    double t_gen_ms;     /* time for the generated tokens */
    bitnet_stop_reason stop_reason;
    /* The last sampled token (-1 if none). It is NOT evaluated into the cache:
     * a caller that continues the sequence (chat) passes it first. */
    bitnet_token last_token;
} bitnet_inference_stats;

BITNET_API bitnet_inference_params bitnet_inference_default_params(void);

/* Appends `prompt` to what the context holds and generates. When the context
 * is empty the prompt starts with BOS if the model asks for it; call
 * bitnet_kv_truncate(ctx, 0) first to start over. stats may be NULL. */
BITNET_API bitnet_status bitnet_inference(bitnet_context *ctx, const char *prompt,
                                          const bitnet_inference_params *params,
                                          bitnet_inference_stats *stats);

/* The same, from prompt token ids (nothing is added to them). */
BITNET_API bitnet_status bitnet_inference_tokens(bitnet_context *ctx, const bitnet_token *prompt,
                                                 int32_t n_prompt,
                                                 const bitnet_inference_params *params,
                                                 bitnet_inference_stats *stats);

/* ---------------------------------------------------------------------------
 * Chat
 * ------------------------------------------------------------------------- */

typedef struct bitnet_chat_message {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} bitnet_chat_message;

/* Renders messages with a chat format: tmpl is a format name ("bitnet",
 * "llama3", ...) or NULL for the format this model's file implies.
 * add_assistant: end with the opening of an assistant turn.
 * Returns the length of the text (snprintf semantics), INT32_MIN on error. */
BITNET_API int32_t bitnet_chat_apply_template(const bitnet_model *model, const char *tmpl,
                                              const bitnet_chat_message *messages,
                                              size_t n_messages, bool add_assistant, char *buf,
                                              int32_t buf_len);

#ifdef __cplusplus
}
#endif

#endif /* BITNET_H */
