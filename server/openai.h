/* The OpenAI wire format: request bodies in (strict JSON, every field checked
 * and named in the error), response bodies and SSE chunks out. */
#ifndef BN_SERVE_OPENAI_H
#define BN_SERVE_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "request.h"

/* Limits a request is checked against (docs/server.md lists them). */
typedef struct bn_serve_limits {
    size_t max_body;      /* bytes of a request body */
    int32_t max_tokens;   /* most tokens one request may ask to generate (also the default) */
    int32_t max_prompt;   /* most prompt tokens (<= the slot context - 1) */
    int32_t max_stop;     /* number of stop strings */
    int32_t max_stop_len; /* bytes of one stop string */
    int32_t max_messages; /* chat messages */
} bn_serve_limits;

/* An error answer: HTTP status, OpenAI error type, the offending field. */
typedef struct bn_api_error {
    int status;
    const char *type; /* "invalid_request_error", "authentication_error", ... */
    char param[64];   /* "" when no single field is at fault */
    char message[512];
} bn_api_error;

bool bn_api_fail(bn_api_error *e, int status, const char *type, const char *param, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

/* Parses a /v1/completions or /v1/chat/completions body into r->p and
 * r->prompt (tokenized; the chat messages rendered in `fmt` first). */
bool bn_openai_parse_request(const char *body, size_t len, const bn_serve_limits *lim,
                             const bitnet_model *model, bn_chat_format fmt, bn_request *r,
                             bn_api_error *err);

/* Text made safe for JSON: invalid UTF-8 and NUL bytes become U+FFFD.
 * Returns a malloc'd NUL-terminated copy (NULL when out of memory). */
char *bn_serve_clean_text(const char *s, size_t n);

/* Response bodies (malloc'd, NUL-terminated; NULL when out of memory). */
char *bn_openai_error_json(const bn_api_error *e);
/* A finished request, non-streaming. */
char *bn_openai_response_json(const bn_request *r, const bitnet_model *model,
                              const char *model_name, int64_t created);

/* One SSE event "data: {...}\n\n" of a stream: `text` with log-probability
 * entries lp[0..n_lp); finish (BN_FINISH_NONE while running); role_chunk:
 * the chat stream's first chunk (role only). */
char *bn_openai_chunk_sse(const bn_request *r, const bitnet_model *model, const char *model_name,
                          int64_t created, const char *text, size_t n, const bn_token_logprob *lp,
                          int32_t n_lp, bn_finish finish, bool role_chunk);
/* The final usage chunk (stream_options.include_usage). */
char *bn_openai_usage_sse(const bn_request *r, const char *model_name, int64_t created);

#endif
