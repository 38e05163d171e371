/* bitnet serve: reads the settings (server/config.c: defaults < config file
 * < BITNET_* < flags) and runs the server (server/server.c). Built only when
 * libmicrohttpd is found (BITNET_HAVE_SERVE). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "server.h"

extern char **environ;

/* The settings as the server takes them. */
static void to_opts(const bn_srv_config *c, bn_serve_opts *o) {
    bn_serve_default_opts(o);
    o->model_path = c->model;
    o->host = c->host;
    o->port = (int)c->port;
    o->alias = c->alias[0] ? c->alias : NULL;
    o->api_key = c->api_key[0] ? c->api_key : NULL;
    o->cors_origin = c->cors[0] ? c->cors : NULL;
    o->isa = strcmp(c->isa, "auto") ? c->isa : NULL;
    o->chat_format_set =
        c->chat_template[0] && bn_chat_format_parse(c->chat_template, &o->chat_format);
    o->n_slots = (int32_t)c->n_parallel;
    o->n_ctx = (int32_t)c->n_ctx;
    o->n_threads = (int32_t)c->n_threads;
    o->queue_max = (int32_t)c->queue_size;
    o->prefill_chunk = (int32_t)c->n_batch;
    o->limits.max_body = (size_t)c->max_body_bytes;
    o->limits.max_tokens = (int32_t)c->max_tokens;
    o->limits.max_prompt = (int32_t)c->max_prompt_tokens; /* 0: the slot's context */
    o->limits.max_stop = (int32_t)c->max_stop;
    o->read_timeout_s = (double)c->timeout;
    o->drain_timeout_s = c->drain_timeout;
    o->numerics =
        c->numerics == BN_SRV_NUMERICS_EXACT ? BITNET_NUMERICS_EXACT : BITNET_NUMERICS_COMPAT;
    o->use_mmap = c->mmap;
    o->mlock = c->mlock;
    o->check_tensors = c->check_tensors;
    o->metrics = c->metrics;
    o->log_json = c->log_format == BN_SRV_LOG_JSON;
    o->log_level = c->log_level;
}

int cmd_serve(int argc, char **argv) {
    bn_srv_config *cfg = calloc(1, sizeof *cfg); /* large: paths and sources */
    if (!cfg) {
        fprintf(stderr, "bitnet serve: out of memory\n");
        return CLI_RUNTIME;
    }
    char err[1024];
    int rc = -1;
    switch (bn_srv_config_load(argc, argv, environ, cfg, err, sizeof err)) {
    case BN_SRV_CONFIG_HELP:
        bn_srv_config_usage(stdout);
        rc = cli_finish_stdout("serve");
        break;
    case BN_SRV_CONFIG_ERROR:
        fprintf(stderr, "bitnet serve: %s\n", err);
        rc = CLI_USAGE;
        break;
    case BN_SRV_CONFIG_OK: break;
    }
    if (rc < 0 && cfg->print_config)
        rc = bn_srv_config_print(cfg, stdout) ? cli_finish_stdout("serve") : CLI_RUNTIME;
    if (rc < 0) {
        bn_serve_opts o;
        to_opts(cfg, &o);
        if (o.n_ctx && o.n_ctx / o.n_slots < 8) {
            fprintf(stderr,
                    "bitnet serve: --ctx-size %d over %d slots leaves fewer than 8 tokens a slot\n",
                    o.n_ctx, o.n_slots);
            rc = CLI_USAGE;
        } else {
            rc = bn_serve_run(&o);
        }
    }
    free(cfg);
    return rc;
}
