/* Every setting of `bitnet serve` in one table: name, type, default, flags,
 * environment variable (BITNET_ + the key in capitals) and config-file key.
 * Values come from four sources, each overriding the one before:
 *
 *   defaults < config file (--config FILE or BITNET_CONFIG) < BITNET_* < flags
 *
 * The config file is YAML read with libyaml, restricted to one flat mapping
 * of keys to scalars (no anchors, aliases, tags, nesting or second
 * documents): libyaml reports the line of every value, so an error can name
 * "serve.yaml:12". Values are typed by the table, never by YAML's own rules
 * (`no` is not a boolean, `"8080"` is not an integer).
 *
 * A bad value from any source is refused, even one a higher source
 * overrides: the message names the key and where the value came from
 * ("env BITNET_PORT: 'http' is not an integer"). Nothing here reads the
 * process environment or prints on its own: the caller passes envp and
 * gets messages in a buffer, so every path is testable. No global state. */
#ifndef BN_SERVER_CONFIG_H
#define BN_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BN_SRV_CONFIG_MAX_FILE_BYTES ((size_t)1 << 20) /* a config file is small */
#define BN_SRV_PATH_MAX 4096
#define BN_SRV_MAX_SETTINGS 40

typedef enum bn_srv_type {
    BN_SRV_STR,   /* char field[size] */
    BN_SRV_INT,   /* long long, in [min, max] */
    BN_SRV_FLOAT, /* double, finite, in [fmin, fmax] */
    BN_SRV_BOOL,  /* bool: true/false (1/0 in the environment) */
    BN_SRV_ENUM,  /* int: index into choices */
} bn_srv_type;

typedef enum bn_srv_source {
    BN_SRV_FROM_DEFAULT = 0,
    BN_SRV_FROM_FILE,
    BN_SRV_FROM_ENV,
    BN_SRV_FROM_FLAG,
} bn_srv_source;

typedef enum bn_srv_log_format { BN_SRV_LOG_TEXT = 0, BN_SRV_LOG_JSON } bn_srv_log_format;
typedef enum bn_srv_log_level {
    BN_SRV_LOG_ERROR = 0,
    BN_SRV_LOG_WARN,
    BN_SRV_LOG_INFO,
    BN_SRV_LOG_DEBUG,
} bn_srv_log_level;
typedef enum bn_srv_numerics { BN_SRV_NUMERICS_COMPAT = 0, BN_SRV_NUMERICS_EXACT } bn_srv_numerics;

/* Where one value came from: "default", "flag --port", "env BITNET_PORT",
 * "serve.yaml:12". */
typedef struct bn_srv_origin {
    bn_srv_source source;
    char where[BN_SRV_PATH_MAX + 32];
} bn_srv_origin;

typedef struct bn_srv_config {
    /* model and engine */
    char model[BN_SRV_PATH_MAX];
    char alias[256];        /* the model id in /v1/models; "": the file name */
    char chat_template[32]; /* "": detected from the model */
    long long n_ctx;        /* KV cells for all slots together; 0: training context */
    long long n_batch;      /* prompt tokens per decode step (prefill chunk) */
    long long n_threads;    /* 0: the library's default (physical cores) */
    char isa[16];           /* "auto" or an ISA this CPU and build run */
    int numerics;           /* bn_srv_numerics */
    bool mmap, mlock, check_tensors;
    /* HTTP */
    char host[256];
    long long port; /* 0: any free port (tests) */
    long long n_threads_http;
    long long n_parallel; /* slots decoded together */
    long long queue_size; /* requests waiting for a slot; beyond it 503 + Retry-After */
    long long max_body_bytes, max_prompt_tokens, max_tokens, max_stop;
    long long timeout;    /* seconds a connection may stay idle or trickle (slowloris) */
    double drain_timeout; /* seconds SIGTERM waits for in-flight work */
    char api_key[512];    /* "": no authentication */
    char api_key_file[BN_SRV_PATH_MAX];
    char cors[512]; /* "": no CORS headers; "*" or one origin */
    bool metrics;   /* serve /metrics */
    int log_format; /* bn_srv_log_format */
    int log_level;  /* bn_srv_log_level */

    /* meta: not settings */
    char config_file[BN_SRV_PATH_MAX];         /* "" when none was read */
    bool print_config;                         /* --print-config */
    bn_srv_origin origin[BN_SRV_MAX_SETTINGS]; /* by setting index */
} bn_srv_config;

typedef struct bn_srv_setting {
    const char *key; /* config-file key; the env name is BITNET_<KEY> */
    bn_srv_type type;
    size_t offset;   /* of the field in bn_srv_config */
    size_t size;     /* BN_SRV_STR: the field's size */
    const char *def; /* the default, as text: parsed like any other source */
    const char *flag_short, *flag_long;
    const char *flag_off; /* BN_SRV_BOOL: the flag that sets false */
    long long min, max;
    double fmin, fmax;
    const char *const *choices; /* BN_SRV_ENUM, NULL-terminated */
    bool secret;                /* never printed */
    /* Extra check of a string value; false with the reason in why. */
    bool (*check)(const char *value, char *why, size_t why_size);
    const char *help;
} bn_srv_setting;

/* The table, for --help, --print-config, docs and tests. */
const bn_srv_setting *bn_srv_settings(size_t *count);
/* Index of a key in the table, or -1. */
int bn_srv_setting_find(const char *key);

typedef enum bn_srv_config_status {
    BN_SRV_CONFIG_OK = 0,
    BN_SRV_CONFIG_HELP,  /* -h/--help: print bn_srv_config_usage, exit 0 */
    BN_SRV_CONFIG_ERROR, /* the message is in err: exit 2 */
} bn_srv_config_status;

/* Fills cfg from defaults, the config file, envp (NULL-terminated
 * "NAME=value" strings, as main's third argument or `environ`) and
 * argv[1..argc) (the subcommand's arguments, argv[0] being its name).
 * Besides the settings' flags, argv may hold --config FILE, --print-config
 * and -h/--help. A model is required unless --print-config or --help is
 * given. api_key_file, when set, is read into api_key (at most 4 KiB, one
 * line). On error, err gets one line naming the key and the source. */
bn_srv_config_status bn_srv_config_load(int argc, char **argv, char **envp, bn_srv_config *cfg,
                                        char *err, size_t err_size);

/* The config-file step alone, on text in memory (the fuzz target's entry):
 * applies the file's settings to cfg, naming `name` in errors. On failure
 * cfg may hold some of the file's values: discard it. */
bool bn_srv_config_apply_yaml(bn_srv_config *cfg, const char *text, size_t len, const char *name,
                              char *err, size_t err_size);

/* Whether two configurations hold the same values (sources not compared). */
bool bn_srv_config_equal(const bn_srv_config *a, const bn_srv_config *b);

/* Resets cfg to the defaults. */
void bn_srv_config_defaults(bn_srv_config *cfg);

/* Writes the configuration as a config file that loads back to the same
 * values, each line commented with its source; secrets are shown only as
 * set or unset. Returns false on a write error. */
bool bn_srv_config_print(const bn_srv_config *cfg, FILE *out);

/* The flags, environment names and defaults, for `bitnet serve --help`. */
void bn_srv_config_usage(FILE *out);

#endif
