/* Each subcommand's options and its parse-only step. A parser fills the
 * options from argv without opening files, allocating or printing: errors go
 * to args->error (the command prints them and exits CLI_USAGE). Repeated
 * single-value flags: the last one wins (as in llama.cpp); bench's list flags
 * (-m, -p, -n, -t) add to their list instead. */
#ifndef BN_CLI_OPTIONS_H
#define BN_CLI_OPTIONS_H

#include "chat.h"
#include "cli_args.h"
#include "fixture.h"
#include "gguf_export.h"

typedef struct run_options {
    const char *model, *prompt, *prompt_file, *isa, *chat_template, *system, *device;
    long long n_predict, n_ctx, threads;
    cli_sampling_opts sampling;
    bool ignore_eos, parse_special, chat, head_q8;
    bn_chat_format chat_format; /* from --chat-template when given */
    bitnet_numerics numerics;
    cli_model_opts load;
} run_options;

typedef struct chat_options {
    const char *model, *system, *chat_template, *isa;
    long long n_predict, n_ctx, threads;
    cli_sampling_opts sampling; /* its last_n unused: chat has no --repeat-last-n */
    bn_chat_format chat_format;
    cli_model_opts load;
} chat_options;

typedef struct tokenize_options {
    const char *model, *text, *file;
    bool add_bos, parse_special, pieces;
    cli_model_opts load;
} tokenize_options;

typedef struct perplexity_options {
    const char *model, *text_file, *kld_base, *isa;
    long long n_ctx, n_chunks, threads;
    bool json, head_q8;
    bitnet_numerics numerics;
    cli_model_opts load;
} perplexity_options;

typedef struct inspect_options {
    const char *model;
    cli_model_opts load;
} inspect_options;

#define BENCH_MAX_LIST 16
typedef enum bench_format { BENCH_MD, BENCH_JSON, BENCH_CSV } bench_format;
typedef struct bench_options {
    const char *models[BENCH_MAX_LIST];
    int n_models;
    long long pp[BENCH_MAX_LIST], tg[BENCH_MAX_LIST], th[BENCH_MAX_LIST], reps;
    int n_pp, n_tg, n_th;
    const char *isa, *device;
    bench_format format;
    bool bandwidth, head_q8;
    bitnet_numerics numerics;
    cli_model_opts load;
} bench_options;

typedef struct fixture_options {
    bn_fixture_params params;
    const char *out;
    bool quiet;
    bool hf;          /* --format hf: a Hugging Face directory */
    int hf_variant;   /* bn_hf_variant */
    int32_t n_shards; /* --shards (hf) */
} fixture_options;

/* convert and quantize (tools/cli_export.c has what they share) */
typedef struct export_options {
    const char *src, *out;
    bn_export_params params; /* progress unset: the command sets it */
    bool quiet;
    cli_model_opts load;
} export_options;

cli_parse_status cli_parse_run_args(int argc, char **argv, run_options *o, cli_args *args);
cli_parse_status cli_parse_chat_args(int argc, char **argv, chat_options *o, cli_args *args);
cli_parse_status cli_parse_tokenize_args(int argc, char **argv, tokenize_options *o,
                                         cli_args *args);
cli_parse_status cli_parse_perplexity_args(int argc, char **argv, perplexity_options *o,
                                           cli_args *args);
cli_parse_status cli_parse_inspect_args(int argc, char **argv, inspect_options *o, cli_args *args);
cli_parse_status cli_parse_bench_args(int argc, char **argv, bench_options *o, cli_args *args);
cli_parse_status cli_parse_fixture_args(int argc, char **argv, fixture_options *o, cli_args *args);
cli_parse_status cli_parse_convert_args(int argc, char **argv, export_options *o, cli_args *args);
cli_parse_status cli_parse_quantize_args(int argc, char **argv, export_options *o, cli_args *args);

#endif
