/* bitnet serve: an OpenAI-compatible HTTP server over libbitnet.
 * tools/cmd_serve.c parses the flags into bn_serve_opts and calls
 * bn_serve_run; docs/server.md describes endpoints, flags and limits. */
#ifndef BN_SERVE_SERVER_H
#define BN_SERVE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "chat.h"
#include "openai.h"

typedef struct bn_serve_opts {
    const char *model_path;
    const char *host;        /* default 127.0.0.1 */
    int port;                /* 0: any free port (the log line says which) */
    const char *alias;       /* the model's name in responses (default: the file's base name) */
    const char *api_key;     /* NULL: no authentication */
    const char *cors_origin; /* NULL: no CORS headers */
    const char *isa;
    bool chat_format_set;
    bn_chat_format chat_format;
    int32_t n_slots;       /* -np */
    int32_t n_ctx;         /* -c: total over the slots (0: the model's, capped at 4096 per slot) */
    int32_t n_threads;     /* -t (0: physical cores) */
    int32_t queue_max;     /* requests waiting beyond the slots */
    int32_t prefill_chunk; /* prompt tokens per step */
    bn_serve_limits limits;
    double read_timeout_s;  /* to read one request, headers and body */
    double drain_timeout_s; /* SIGTERM: time given to running requests */
    int32_t max_connections;
    bitnet_numerics numerics;
    bool use_mmap, mlock, check_tensors;
    bool metrics; /* serve /metrics */
    bool log_json;
    int log_level; /* 0 error, 1 warn, 2 info, 3 debug */
} bn_serve_opts;

void bn_serve_default_opts(bn_serve_opts *o);

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int bn_serve_run(const bn_serve_opts *o);

#endif
