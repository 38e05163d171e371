/* bitnet serve's settings: the table, the four sources and their checks
 * (config.h says the rules). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "bitnet.h"
#include "chat.h"
#include "file_map.h"
#include "utf8.h"

/* Writes a message (printf-style) and returns false. */
static bool fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return false;
}

/* ---------------------------------------------------------------------------
 * Checks of string values
 * ------------------------------------------------------------------------- */

static bool check_host(const char *v, char *why, size_t n) {
    if (!*v) return fail(why, n, "is empty");
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:_[]", *p))
            return fail(why, n,
                        "'%s' has the character '%c', not allowed in a host name or address", v,
                        *p);
    return true;
}

/* "", "*" or one origin "http(s)://host[:port]" (a browser sends exactly
 * that in Origin, without a path). */
static bool check_cors(const char *v, char *why, size_t n) {
    if (!*v || !strcmp(v, "*")) return true;
    const char *rest = NULL;
    if (!strncmp(v, "http://", 7)) rest = v + 7;
    if (!strncmp(v, "https://", 8)) rest = v + 8;
    if (!rest || !*rest || strchr(rest, '/'))
        return fail(why, n, "'%s' is not \"*\" or an origin like https://example.com[:port]", v);
    return check_host(rest, why, n);
}

static bool check_isa(const char *v, char *why, size_t n) {
    if (!strcmp(v, "auto") || bitnet_isa_supported(v)) return true;
    return fail(why, n, "'%s' is not auto or an ISA this CPU and build run (%s)", v,
                bitnet_system_info());
}

static bool check_chat_template(const char *v, char *why, size_t n) {
    bn_chat_format f;
    if (!*v || bn_chat_format_parse(v, &f)) return true;
    return fail(why, n, "'%s' is not one of %s, %s, %s, %s (or \"\" to detect it)", v,
                bn_chat_format_name(BN_CHAT_BITNET), bn_chat_format_name(BN_CHAT_LLAMA3),
                bn_chat_format_name(BN_CHAT_FALCON3), bn_chat_format_name(BN_CHAT_CHATML));
}

/* ---------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------- */

static const char *const numerics_names[] = {"compat", "exact", NULL};
static const char *const log_format_names[] = {"text", "json", NULL};
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};

#define FIELD(f) offsetof(bn_srv_config, f), sizeof(((bn_srv_config *)0)->f)
#define STR(key, def, s, l, check, help)                                                           \
    { #key, BN_SRV_STR, FIELD(key), def, s, l, NULL, 0, 0, 0, 0, NULL, false, check, help }
#define INT(key, def, s, l, lo, hi, help)                                                          \
    { #key, BN_SRV_INT, FIELD(key), def, s, l, NULL, lo, hi, 0, 0, NULL, false, NULL, help }
#define BOOL(key, def, on, off, help)                                                              \
    { #key, BN_SRV_BOOL, FIELD(key), def, NULL, on, off, 0, 0, 0, 0, NULL, false, NULL, help }
#define ENUM(key, def, l, names, help)                                                             \
    { #key, BN_SRV_ENUM, FIELD(key), def, NULL, l, NULL, 0, 0, 0, 0, names, false, NULL, help }

static const bn_srv_setting settings[] = {
    STR(model, "", "-m", "--model", NULL, "GGUF model file to serve (required)"),
    STR(alias, "", "-a", "--alias", NULL, "model id shown in /v1/models (default: the file name)"),
    STR(chat_template, "", NULL, "--chat-template", check_chat_template,
        "chat format: bitnet, llama3, falcon3, chatml (default: detected from the model)"),
    INT(n_ctx, "4096", "-c", "--ctx-size", 0, 1 << 24,
        "KV cache cells shared by all slots (0: the model's training context)"),
    INT(n_batch, "256", "-b", "--batch-size", 1, 1 << 16,
        "prompt tokens per decode step: longer prompts are processed in chunks"),
    INT(n_threads, "0", "-t", "--threads", 0, 1024, "decode threads (0: physical cores)"),
    STR(isa, "auto", NULL, "--isa", check_isa, "kernels: auto, ref, avx2, avx512, amx, neon"),
    ENUM(numerics, "compat", "--numerics", numerics_names,
         "compat (bitnet.cpp's roundings) or exact (F32 everywhere)"),
    BOOL(mmap, "true", "--mmap", "--no-mmap", "map the model file instead of reading it"),
    BOOL(mlock, "false", "--mlock", "--no-mlock", "lock the weights in RAM"),
    BOOL(check_tensors, "false", "--check-tensors", "--no-check-tensors",
         "scan every weight at load"),
    STR(host, "127.0.0.1", NULL, "--host", check_host, "address to listen on"),
    INT(port, "8080", NULL, "--port", 0, 65535, "TCP port (0: any free port)"),
    INT(n_threads_http, "4", NULL, "--threads-http", 1, 256, "HTTP connection threads"),
    INT(n_parallel, "1", "-np", "--parallel", 1, 256, "slots: sequences decoded together"),
    INT(queue_size, "64", NULL, "--queue-size", 0, 100000,
        "requests waiting for a slot; when full, 503 with Retry-After"),
    INT(max_body_bytes, "1048576", NULL, "--max-body-bytes", 1024, (long long)1 << 30,
        "largest request body (413 beyond)"),
    INT(max_prompt_tokens, "0", NULL, "--max-prompt-tokens", 0, 1 << 24,
        "longest prompt in tokens (0: what a slot's context holds)"),
    INT(max_tokens, "1024", "-n", "--max-tokens", 1, 1 << 24,
        "cap on generated tokens per request, and the default when a request gives none"),
    INT(max_stop, "16", NULL, "--max-stop", 0, 1024, "most stop strings per request"),
    INT(timeout, "60", "-to", "--timeout", 1, 86400,
        "seconds a connection may be idle or send its request slowly"),
    {"drain_timeout", BN_SRV_FLOAT, FIELD(drain_timeout), "25", NULL, "--drain-timeout", NULL, 0, 0,
     0, 3600, NULL, false, NULL,
     "seconds SIGTERM lets in-flight requests finish (under Kubernetes' 30 s grace period)"},
    {"api_key", BN_SRV_STR, FIELD(api_key), "", NULL, "--api-key", NULL, 0, 0, 0, 0, NULL, true,
     NULL, "require 'Authorization: Bearer KEY' (default: no authentication)"},
    STR(api_key_file, "", NULL, "--api-key-file", NULL,
        "read the API key from this file (a mounted secret)"),
    STR(cors, "", NULL, "--cors", check_cors,
        "allowed browser origin: \"*\" or https://host[:port] (default: no CORS)"),
    BOOL(metrics, "true", "--metrics", "--no-metrics", "serve Prometheus metrics on /metrics"),
    ENUM(log_format, "text", "--log-format", log_format_names, "text or json (one object a line)"),
    ENUM(log_level, "info", "--log-level", log_level_names, "error, warn, info or debug"),
};
enum { N_SETTINGS = sizeof settings / sizeof settings[0] };
_Static_assert(N_SETTINGS <= BN_SRV_MAX_SETTINGS, "raise BN_SRV_MAX_SETTINGS");

const bn_srv_setting *bn_srv_settings(size_t *count) {
    if (count) *count = N_SETTINGS;
    return settings;
}

int bn_srv_setting_find(const char *key) {
    for (int i = 0; i < N_SETTINGS; i++)
        if (!strcmp(settings[i].key, key)) return i;
    return -1;
}

static void env_name(const bn_srv_setting *s, char *out, size_t n) {
    size_t k = (size_t)snprintf(out, n, "BITNET_");
    for (const char *p = s->key; *p && k + 1 < n; p++) out[k++] = (char)toupper((unsigned char)*p);
    out[k] = '\0';
}

/* ---------------------------------------------------------------------------
 * One value from one source
 * ------------------------------------------------------------------------- */

static bool parse_int(const char *v, long long *out) {
    if (!*v || !(isdigit((unsigned char)*v) || *v == '-')) return false;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || errno == ERANGE || end == v) return false;
    *out = x;
    return true;
}

static bool parse_float(const char *v, double *out) {
    if (!*v || strspn(v, "0123456789.eE+-") != strlen(v)) return false; /* no hex, inf, nan */
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (*end || errno == ERANGE || !isfinite(x)) return false;
    *out = x;
    return true;
}

/* The kind of text a source hands over: the file says whether a scalar was
 * quoted (a quoted "8080" is a string, not an integer). */
typedef enum text_kind { TEXT_PLAIN, TEXT_QUOTED } text_kind;

static bool set_value(bn_srv_config *cfg, int idx, const char *v, text_kind kind,
                      bn_srv_source source, const char *where, char *err, size_t n) {
    const bn_srv_setting *s = &settings[idx];
    char *field = (char *)cfg + s->offset;
    size_t len = strlen(v), bad = 0;
    char why[400] = "";
    if (!bn_utf8_valid(v, len, &bad))
        return fail(err, n, "%s: invalid UTF-8 at byte %zu (from %s)", s->key, bad, where);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return fail(err, n, "%s: control character 0x%02x at byte %zu (from %s)", s->key,
                        (unsigned char)v[i], i, where);
    /* an enum value is a name, so quoting it ("json") is as good as not */
    if (s->type != BN_SRV_STR && s->type != BN_SRV_ENUM && kind == TEXT_QUOTED)
        return fail(err, n, "%s: expected %s, got the quoted string \"%s\" (from %s)", s->key,
                    s->type == BN_SRV_BOOL ? "true or false" : "a number", v, where);
    switch (s->type) {
    case BN_SRV_STR:
        if (len >= s->size)
            return fail(err, n, "%s: %zu bytes long, at most %zu (from %s)", s->key, len,
                        s->size - 1, where);
        if (s->check && !s->check(v, why, sizeof why))
            return fail(err, n, "%s: %s (from %s)", s->key, why, where);
        memcpy(field, v, len + 1);
        break;
    case BN_SRV_INT: {
        long long x = 0;
        if (!parse_int(v, &x))
            return fail(err, n, "%s: '%s' is not an integer (from %s)", s->key, v, where);
        if (x < s->min || x > s->max)
            return fail(err, n, "%s: %lld is out of range [%lld, %lld] (from %s)", s->key, x,
                        s->min, s->max, where);
        *(long long *)field = x;
        break;
    }
    case BN_SRV_FLOAT: {
        double x = 0;
        if (!parse_float(v, &x))
            return fail(err, n, "%s: '%s' is not a finite decimal number (from %s)", s->key, v,
                        where);
        if (x < s->fmin || x > s->fmax)
            return fail(err, n, "%s: %g is out of range [%g, %g] (from %s)", s->key, x, s->fmin,
                        s->fmax, where);
        *(double *)field = x;
        break;
    }
    case BN_SRV_BOOL: {
        /* The environment also takes 1/0, as shells and Kubernetes write them. */
        bool env = source == BN_SRV_FROM_ENV;
        if (!strcmp(v, "true") || (env && !strcmp(v, "1")))
            *(bool *)field = true;
        else if (!strcmp(v, "false") || (env && !strcmp(v, "0")))
            *(bool *)field = false;
        else
            return fail(err, n, "%s: '%s' is not true or false%s (from %s)", s->key, v,
                        env ? " (or 1 or 0)" : "", where);
        break;
    }
    case BN_SRV_ENUM: {
        int k = 0;
        for (; s->choices[k]; k++)
            if (!strcmp(v, s->choices[k])) break;
        if (!s->choices[k]) {
            size_t used = 0;
            for (int j = 0; s->choices[j]; j++)
                used += (size_t)snprintf(why + used, sizeof why - used, "%s%s", j ? ", " : "",
                                         s->choices[j]);
            return fail(err, n, "%s: '%s' is not one of %s (from %s)", s->key, v, why, where);
        }
        *(int *)field = k;
        break;
    }
    }
    cfg->origin[idx].source = source;
    snprintf(cfg->origin[idx].where, sizeof cfg->origin[idx].where, "%s", where);
    return true;
}

void bn_srv_config_defaults(bn_srv_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    char err[512];
    for (int i = 0; i < N_SETTINGS; i++) {
        /* Defaults pass the same checks (test_serve_config holds them to it);
         * a failing one leaves the field zero. */
        (void)set_value(cfg, i, settings[i].def, TEXT_PLAIN, BN_SRV_FROM_DEFAULT, "default", err,
                        sizeof err);
    }
}

/* ---------------------------------------------------------------------------
 * The config file: one flat YAML mapping of key: scalar
 * ------------------------------------------------------------------------- */

static const char *event_name(yaml_event_type_t t) {
    switch (t) {
    case YAML_SEQUENCE_START_EVENT: return "a list";
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_ALIAS_EVENT: return "an alias";
    case YAML_DOCUMENT_START_EVENT: return "a second document";
    default: return "an unexpected element";
    }
}

/* A YAML 1.1 null written as a plain scalar: a value left empty by mistake
 * must not quietly mean "the default". */
static bool plain_null(const yaml_event_t *e) {
    const char *v = (const char *)e->data.scalar.value;
    return e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
            !strcmp(v, "NULL"));
}

static bool yaml_error(yaml_parser_t *p, const char *name, char *err, size_t n) {
    return fail(err, n, "%s:%zu:%zu: YAML: %s%s%s", name, p->problem_mark.line + 1,
                p->problem_mark.column + 1, p->problem ? p->problem : "syntax error",
                p->context ? " " : "", p->context ? p->context : "");
}

/* A syntax error anywhere is reported before any value is looked at (a
 * stray indent can otherwise make a plain scalar swallow the next line). */
static bool yaml_syntax_ok(const char *text, size_t len, const char *name, char *err, size_t n) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return fail(err, n, "%s: out of memory", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    bool ok = true;
    for (bool end = false; ok && !end;) {
        yaml_event_t e;
        ok = yaml_parser_parse(&p, &e) ? true : yaml_error(&p, name, err, n);
        if (!ok) break;
        end = e.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    return ok;
}

bool bn_srv_config_apply_yaml(bn_srv_config *cfg, const char *text, size_t len, const char *name,
                              char *err, size_t n) {
    size_t bad = 0;
    if (len > BN_SRV_CONFIG_MAX_FILE_BYTES)
        return fail(err, n, "%s: %zu bytes, more than a config file may have (%zu)", name, len,
                    BN_SRV_CONFIG_MAX_FILE_BYTES);
    if (memchr(text, '\0', len))
        return fail(err, n, "%s: NUL byte at offset %zu", name,
                    (size_t)((const char *)memchr(text, '\0', len) - text));
    if (!bn_utf8_valid(text, len, &bad))
        return fail(err, n, "%s: invalid UTF-8 at byte %zu", name, bad);

    if (!yaml_syntax_ok(text, len, name, err, n)) return false;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return fail(err, n, "%s: out of memory", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);

    /* Lines where each key was set in this file, for duplicate messages. */
    size_t seen_line[N_SETTINGS] = {0};
    enum { BEFORE_DOC, BEFORE_MAP, KEY, VALUE, AFTER_MAP, AFTER_DOC } state = BEFORE_DOC;
    int key_idx = -1;
    size_t key_line = 0;
    bool ok = true, done = false;
    while (ok && !done) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            ok = yaml_error(&p, name, err, n);
            break;
        }
        size_t line = e.start_mark.line + 1;
        char where[BN_SRV_PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%zu", name, line);
        const char *anchor = NULL, *tag = NULL;
        if (e.type == YAML_SCALAR_EVENT) {
            anchor = (const char *)e.data.scalar.anchor;
            tag = (const char *)e.data.scalar.tag;
        } else if (e.type == YAML_MAPPING_START_EVENT) {
            anchor = (const char *)e.data.mapping_start.anchor;
            tag = (const char *)e.data.mapping_start.tag;
        } else if (e.type == YAML_SEQUENCE_START_EVENT) {
            anchor = (const char *)e.data.sequence_start.anchor;
            tag = (const char *)e.data.sequence_start.tag;
        }
        if (anchor || tag) {
            ok = fail(err, n, "%s: %s '%s' not allowed in a config file", where,
                      anchor ? "anchor" : "tag", anchor ? anchor : tag);
        } else {
            switch (e.type) {
            case YAML_STREAM_START_EVENT: break;
            case YAML_STREAM_END_EVENT: done = true; break; /* an empty file sets nothing */
            case YAML_DOCUMENT_START_EVENT:
                if (state == BEFORE_DOC)
                    state = BEFORE_MAP;
                else
                    ok = fail(err, n, "%s: a second YAML document; a config file has one", where);
                break;
            case YAML_DOCUMENT_END_EVENT: state = AFTER_DOC; break;
            case YAML_MAPPING_START_EVENT:
                if (state == BEFORE_MAP)
                    state = KEY;
                else if (state == KEY)
                    ok = fail(err, n, "%s: a mapping as a key is not allowed in a config file",
                              where);
                else
                    ok = fail(err, n, "%s: %s: the value must be a single value, not a mapping",
                              where, key_idx >= 0 ? settings[key_idx].key : "?");
                break;
            case YAML_MAPPING_END_EVENT: state = AFTER_MAP; break;
            case YAML_SCALAR_EVENT: {
                const char *v = (const char *)e.data.scalar.value;
                if (state == BEFORE_MAP) {
                    ok = plain_null(&e) ? true
                                        : fail(err, n,
                                               "%s: the file must be a mapping of "
                                               "key: value lines, not '%.40s'",
                                               where, v);
                    state = AFTER_MAP;
                } else if (state == KEY) {
                    key_idx = bn_srv_setting_find(v);
                    key_line = line;
                    if (key_idx < 0)
                        ok = fail(err, n,
                                  "%s: unknown key '%.80s' (bitnet serve --help lists "
                                  "them)",
                                  where, v);
                    else if (seen_line[key_idx])
                        ok = fail(err, n, "%s: duplicate key '%s' (first set on line %zu)", where,
                                  v, seen_line[key_idx]);
                    else
                        seen_line[key_idx] = line;
                    state = VALUE;
                } else if (plain_null(&e)) {
                    ok = fail(err, n, "%s: %s has no value (write \"\" for an empty string)", where,
                              settings[key_idx].key);
                } else {
                    snprintf(where, sizeof where, "%s:%zu", name, key_line);
                    ok = set_value(cfg, key_idx, v,
                                   e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? TEXT_PLAIN
                                                                                  : TEXT_QUOTED,
                                   BN_SRV_FROM_FILE, where, err, n);
                    state = KEY;
                }
                break;
            }
            default: /* a list, an alias */
                ok = fail(err, n, "%s: %s%s%s is not allowed in a config file", where,
                          event_name(e.type),
                          key_idx >= 0 && state == VALUE ? " as the value of " : "",
                          key_idx >= 0 && state == VALUE ? settings[key_idx].key : "");
                break;
            }
        }
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    return ok;
}

static bool apply_file(bn_srv_config *cfg, const char *path, char *err, size_t n) {
    bn_file_map m;
    if (bn_file_map_open(path, true, 0, "a config file", &m) != BITNET_OK)
        return fail(err, n, "config file: %s", bitnet_get_last_error());
    bool ok =
        m.size <= BN_SRV_CONFIG_MAX_FILE_BYTES
            ? bn_srv_config_apply_yaml(cfg, (const char *)m.base, (size_t)m.size, path, err, n)
            : fail(err, n, "%s: %llu bytes, more than a config file may have (%zu)", path,
                   (unsigned long long)m.size, BN_SRV_CONFIG_MAX_FILE_BYTES);
    bn_file_map_close(&m);
    if (ok) snprintf(cfg->config_file, sizeof cfg->config_file, "%s", path);
    return ok;
}

/* ---------------------------------------------------------------------------
 * Environment and flags
 * ------------------------------------------------------------------------- */

/* The value of NAME in envp (the first, as getenv finds), or NULL. */
static const char *env_get(char **envp, const char *name) {
    size_t len = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, name, len) && (*e)[len] == '=') return *e + len + 1;
    return NULL;
}

static bool apply_env(bn_srv_config *cfg, char **envp, char *err, size_t n) {
    for (int i = 0; i < N_SETTINGS; i++) {
        char name[64];
        env_name(&settings[i], name, sizeof name);
        const char *v = env_get(envp, name);
        char where[80];
        snprintf(where, sizeof where, "env %s", name);
        if (v && !set_value(cfg, i, v, TEXT_PLAIN, BN_SRV_FROM_ENV, where, err, n)) return false;
    }
    return true;
}

/* One pass over argv. With apply false it only checks the syntax and finds
 * --config, --print-config and --help (the file must be read before the
 * flags are applied over it); with apply true it sets the values. */
static bn_srv_config_status scan_flags(bn_srv_config *cfg, int argc, char **argv, bool apply,
                                       const char **config_path, char *err, size_t n) {
    bool help = false;
    for (int a = 1; a < argc; a++) {
        const char *f = argv[a];
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            help = true;
            continue;
        }
        if (!strcmp(f, "--print-config")) {
            cfg->print_config = true;
            continue;
        }
        if (!strcmp(f, "--config")) {
            if (a + 1 >= argc) return fail(err, n, "--config needs a file"), BN_SRV_CONFIG_ERROR;
            *config_path = argv[++a];
            continue;
        }
        int idx = -1;
        bool value = true;
        for (int i = 0; i < N_SETTINGS && idx < 0; i++) {
            const bn_srv_setting *s = &settings[i];
            if ((s->flag_short && !strcmp(f, s->flag_short)) || !strcmp(f, s->flag_long))
                idx = i;
            else if (s->flag_off && !strcmp(f, s->flag_off))
                idx = i, value = false;
        }
        if (idx < 0) {
            fail(err, n, f[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", f);
            return BN_SRV_CONFIG_ERROR;
        }
        const char *v = value ? "true" : "false";
        if (settings[idx].type != BN_SRV_BOOL) {
            if (a + 1 >= argc) return fail(err, n, "%s needs a value", f), BN_SRV_CONFIG_ERROR;
            v = argv[++a];
        }
        char where[80];
        snprintf(where, sizeof where, "flag %.60s", f);
        if (apply && !set_value(cfg, idx, v, TEXT_PLAIN, BN_SRV_FROM_FLAG, where, err, n))
            return BN_SRV_CONFIG_ERROR;
    }
    return help ? BN_SRV_CONFIG_HELP : BN_SRV_CONFIG_OK;
}

/* ---------------------------------------------------------------------------
 * Whole-configuration checks
 * ------------------------------------------------------------------------- */

static const char *origin_of(const bn_srv_config *cfg, const char *key) {
    return cfg->origin[bn_srv_setting_find(key)].where;
}

/* An API key file holds one line: the key (a trailing newline is allowed,
 * as `echo KEY > file` and Kubernetes secrets write it). */
static bool read_api_key_file(bn_srv_config *cfg, char *err, size_t n) {
    const char *path = cfg->api_key_file;
    bn_file_map m;
    if (bn_file_map_open(path, false, 1, "an API key", &m) != BITNET_OK)
        return fail(err, n, "api_key_file: %s (from %s)", bitnet_get_last_error(),
                    origin_of(cfg, "api_key_file"));
    size_t len = (size_t)m.size;
    while (len && (m.base[len - 1] == '\n' || m.base[len - 1] == '\r')) len--;
    char key[sizeof cfg->api_key];
    bool ok = len > 0 && len < sizeof key;
    if (ok) {
        memcpy(key, m.base, len);
        key[len] = '\0';
        ok = strlen(key) == len;
    }
    bn_file_map_close(&m);
    if (!ok)
        return fail(err, n, "api_key_file: %s must hold one key of 1 to %zu bytes (from %s)", path,
                    sizeof key - 1, origin_of(cfg, "api_key_file"));
    char where[BN_SRV_PATH_MAX + 32];
    snprintf(where, sizeof where, "file %s", path);
    bn_srv_source src = cfg->origin[bn_srv_setting_find("api_key_file")].source;
    return set_value(cfg, bn_srv_setting_find("api_key"), key, TEXT_QUOTED, src, where, err, n);
}

static bool check_whole(bn_srv_config *cfg, char *err, size_t n) {
    if (!cfg->print_config && !cfg->model[0])
        return fail(err, n,
                    "model: no model given (-m FILE, BITNET_MODEL or the config key "
                    "model)");
    if (cfg->api_key[0] && cfg->api_key_file[0])
        return fail(err, n, "api_key (from %s) and api_key_file (from %s): give one, not both",
                    origin_of(cfg, "api_key"), origin_of(cfg, "api_key_file"));
    if (cfg->n_ctx && cfg->n_ctx < cfg->n_parallel)
        return fail(err, n,
                    "n_ctx %lld (from %s) is less than n_parallel %lld (from %s): every "
                    "slot needs context",
                    cfg->n_ctx, origin_of(cfg, "n_ctx"), cfg->n_parallel,
                    origin_of(cfg, "n_parallel"));
    if (cfg->n_ctx && cfg->max_prompt_tokens > cfg->n_ctx)
        return fail(err, n, "max_prompt_tokens %lld (from %s) is more than n_ctx %lld (from %s)",
                    cfg->max_prompt_tokens, origin_of(cfg, "max_prompt_tokens"), cfg->n_ctx,
                    origin_of(cfg, "n_ctx"));
    if (cfg->api_key_file[0] && !read_api_key_file(cfg, err, n)) return false;
    return true;
}

bn_srv_config_status bn_srv_config_load(int argc, char **argv, char **envp, bn_srv_config *cfg,
                                        char *err, size_t err_size) {
    bn_srv_config_defaults(cfg);
    if (err_size) err[0] = '\0';
    const char *config_path = NULL;
    bn_srv_config_status st = scan_flags(cfg, argc, argv, false, &config_path, err, err_size);
    if (st != BN_SRV_CONFIG_OK) return st;
    if (!config_path) config_path = env_get(envp, "BITNET_CONFIG");
    if (config_path && !*config_path)
        return fail(err, err_size, "BITNET_CONFIG is set but empty"), BN_SRV_CONFIG_ERROR;
    if (config_path && !apply_file(cfg, config_path, err, err_size)) return BN_SRV_CONFIG_ERROR;
    if (!apply_env(cfg, envp, err, err_size)) return BN_SRV_CONFIG_ERROR;
    st = scan_flags(cfg, argc, argv, true, &config_path, err, err_size);
    if (st != BN_SRV_CONFIG_OK) return st;
    return check_whole(cfg, err, err_size) ? BN_SRV_CONFIG_OK : BN_SRV_CONFIG_ERROR;
}

bool bn_srv_config_equal(const bn_srv_config *a, const bn_srv_config *b) {
    for (int i = 0; i < N_SETTINGS; i++) {
        const bn_srv_setting *s = &settings[i];
        const char *x = (const char *)a + s->offset, *y = (const char *)b + s->offset;
        bool same = s->type == BN_SRV_STR     ? !strcmp(x, y)
                    : s->type == BN_SRV_INT   ? *(const long long *)x == *(const long long *)y
                    : s->type == BN_SRV_FLOAT ? *(const double *)x == *(const double *)y
                    : s->type == BN_SRV_BOOL  ? *(const bool *)x == *(const bool *)y
                                              : *(const int *)x == *(const int *)y;
        if (!same) return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

/* A YAML double-quoted string (set_value refused control characters, so
 * only the quote and the backslash need escaping). */
static void put_quoted(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

bool bn_srv_config_print(const bn_srv_config *cfg, FILE *out) {
    fprintf(out, "# bitnet serve configuration: each value with its source\n");
    if (cfg->config_file[0]) {
        fprintf(out, "# config file: ");
        put_quoted(out, cfg->config_file);
        fputc('\n', out);
    }
    for (int i = 0; i < N_SETTINGS; i++) {
        const bn_srv_setting *s = &settings[i];
        const char *field = (const char *)cfg + s->offset;
        const char *from = cfg->origin[i].where[0] ? cfg->origin[i].where : "default";
        if (s->secret) {
            fprintf(out, "# %s: %s  # %s\n", s->key, field[0] ? "(set, not shown)" : "(not set)",
                    from);
            continue;
        }
        fprintf(out, "%s: ", s->key);
        switch (s->type) {
        case BN_SRV_STR: put_quoted(out, field); break;
        case BN_SRV_INT: fprintf(out, "%lld", *(const long long *)field); break;
        case BN_SRV_FLOAT: fprintf(out, "%.17g", *(const double *)field); break;
        case BN_SRV_BOOL: fputs(*(const bool *)field ? "true" : "false", out); break;
        case BN_SRV_ENUM: fputs(s->choices[*(const int *)field], out); break;
        }
        fprintf(out, "  # %s\n", from);
    }
    return !ferror(out);
}

void bn_srv_config_usage(FILE *out) {
    fprintf(out, "usage: bitnet serve -m MODEL [options]\n\n"
                 "Each setting comes from (later wins): its default, the config file\n"
                 "(--config FILE or BITNET_CONFIG), the environment, the flag.\n\n"
                 "      --config FILE        YAML file of key: value lines\n"
                 "      --print-config       print the resulting configuration and exit\n");
    for (int i = 0; i < N_SETTINGS; i++) {
        const bn_srv_setting *s = &settings[i];
        char flags[64], env[64];
        env_name(s, env, sizeof env);
        if (s->type == BN_SRV_BOOL)
            snprintf(flags, sizeof flags, "%s, %s", s->flag_long, s->flag_off);
        else
            snprintf(flags, sizeof flags, "%s%s%s %s", s->flag_short ? s->flag_short : "",
                     s->flag_short ? ", " : "    ", s->flag_long,
                     s->type == BN_SRV_STR    ? "TEXT"
                     : s->type == BN_SRV_ENUM ? "NAME"
                                              : "N");
        fprintf(out, "  %-28s %s\n  %28s key %s, env %s, default %s%s%s\n", flags, s->help, "",
                s->key, env, s->def[0] ? "" : "\"", s->def, s->def[0] ? "" : "\"");
    }
    fprintf(out, "\n"
                 "examples:\n"
                 "  bitnet serve -m model.gguf --port 8080 -np 4 -c 4096\n"
                 "  BITNET_API_KEY_FILE=key.txt bitnet serve -m model.gguf --port 8080 "
                 "--log-format json\n"
                 "  bitnet serve --config serve.yaml\n"
                 "  bitnet serve --config serve.yaml --print-config\n");
}
