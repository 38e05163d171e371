/* The bodies of llama-server's /tokenize and /detokenize, below HTTP: a JSON
 * body in, the JSON answer out (or a bn_api_error naming the field), so that
 * the HTTP front end only moves bytes and the fuzzer reaches all of it. */
#ifndef BN_SERVE_TOKENIZE_API_H
#define BN_SERVE_TOKENIZE_API_H

#include <stdbool.h>
#include <stddef.h>

#include "bitnet.h"
#include "openai.h"

/* {"content": string, "add_special": bool, "with_pieces": bool} */
typedef struct bn_tokenize_req {
    char *content; /* malloc'd, NUL-terminated */
    bool add_special, with_pieces;
} bn_tokenize_req;

bool bn_tokenize_parse(const char *body, size_t len, const bn_serve_limits *lim,
                       bn_tokenize_req *out, bn_api_error *err);
void bn_tokenize_req_clear(bn_tokenize_req *t);

/* {"tokens": [ids in [0, n_vocab)]}: *toks is malloc'd ([*n], at least one
 * element allocated so that an empty list is not NULL). */
bool bn_detokenize_parse(const char *body, size_t len, const bn_serve_limits *lim, int32_t n_vocab,
                         bitnet_token **toks, int32_t *n, bn_api_error *err);

/* The whole endpoint: parse, run the tokenizer, render. A malloc'd JSON text
 * ({"tokens": [...]} / {"content": "..."}), or NULL with *err set. */
char *bn_serve_tokenize_json(const char *body, size_t len, const bn_serve_limits *lim,
                             const bitnet_model *model, bn_api_error *err);
char *bn_serve_detokenize_json(const char *body, size_t len, const bn_serve_limits *lim,
                               const bitnet_model *model, bn_api_error *err);

#endif
