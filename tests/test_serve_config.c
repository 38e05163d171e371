/* bitnet serve's configuration (server/config.c): defaults, the precedence
 * flags > env > file > defaults with each value's source, the exact
 * messages for bad values from each source, the YAML subset, the API key
 * file, --print-config round trips, and docs/server.md naming every key. */
#include "testutil.h"

#include <ctype.h>

#include "config.h"

static char tmp_path[8192];

static const char *write_file(const char *name, const char *text, size_t len) {
    snprintf(tmp_path, sizeof tmp_path, "%s/%s", test_tmpdir("serve_config"), name);
    FILE *f = fopen(tmp_path, "wb");
    if (!f) return NULL;
    fwrite(text, 1, len, f);
    fclose(f);
    return tmp_path;
}
#define WRITE(name, text) write_file(name, text, strlen(text))

static bn_srv_config cfg;
static char err[1024];

/* Loads from an argv (NULL-terminated list after "serve") and an envp. */
static bn_srv_config_status load(const char *const *args, const char *const *env) {
    char *argv[64] = {"serve"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++) argv[argc] = (char *)args[argc - 1];
    return bn_srv_config_load(argc, argv, (char **)env, &cfg, err, sizeof err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *where(const char *key) { return cfg.origin[bn_srv_setting_find(key)].where; }

/* Expects an error whose message is exactly `want`. */
#define CHECK_ERR(args, env, want)                                                                 \
    do {                                                                                           \
        bn_srv_config_status st_ = load(args, env);                                                \
        CHECKF(st_ == BN_SRV_CONFIG_ERROR && !strcmp(err, want),                                   \
               "status %d, got '%s', "                                                             \
               "want '%s'",                                                                        \
               st_, err, want);                                                                    \
    } while (0)

static bool yaml_err(const char *text, const char *want) {
    bn_srv_config_defaults(&cfg);
    err[0] = '\0';
    bool ok = bn_srv_config_apply_yaml(&cfg, text, strlen(text), "s.yaml", err, sizeof err);
    if (ok || strcmp(err, want)) {
        fprintf(stderr, "yaml '%s': %s '%s', want '%s'\n", text, ok ? "accepted" : "got", err,
                want);
        return false;
    }
    return true;
}

static void test_defaults(void) {
    CHECK(load(ARGS("-m", "model.gguf"), ENV("HOME=/root")) == BN_SRV_CONFIG_OK);
    CHECK(!strcmp(cfg.host, "127.0.0.1") && cfg.port == 8080 && cfg.n_parallel == 1);
    CHECK(cfg.mmap && !cfg.mlock && cfg.metrics && cfg.max_tokens == 1024);
    CHECK(cfg.drain_timeout == 25 && !strcmp(cfg.isa, "auto") && cfg.numerics == 0);
    CHECK(!strcmp(where("port"), "default") && !strcmp(where("model"), "flag -m"));
    /* every default passes the checks any source's value goes through */
    size_t n = 0;
    const bn_srv_setting *s = bn_srv_settings(&n);
    CHECK(n >= 25);
    for (size_t i = 0; i < n; i++) {
        char text[512];
        snprintf(text, sizeof text, s[i].type == BN_SRV_STR ? "%s: \"%s\"\n" : "%s: %s\n", s[i].key,
                 s[i].def);
        bn_srv_config_defaults(&cfg);
        bool ok = bn_srv_config_apply_yaml(&cfg, text, strlen(text), "d.yaml", err, sizeof err);
        CHECKF(ok, "default of %s: %s", s[i].key, err);
        CHECK(bn_srv_setting_find(s[i].key) == (int)i);
    }
}

static void test_precedence(void) {
    const char *file = WRITE("p.yaml", "# comment\nport: 1000\nhost: 0.0.0.0\nmmap: false\n");
    char path[4096];
    snprintf(path, sizeof path, "%s", file);
    CHECK(load(ARGS("--config", path, "-m", "m"), ENV("BITNET_PORT=2000")) == BN_SRV_CONFIG_OK);
    CHECK(cfg.port == 2000 && !strcmp(where("port"), "env BITNET_PORT"));
    char want[4200];
    snprintf(want, sizeof want, "%s:3", path);
    CHECKF(!strcmp(cfg.host, "0.0.0.0") && !strcmp(where("host"), want), "%s", where("host"));
    CHECK(!strcmp(cfg.config_file, path) && !cfg.mmap);

    CHECK(load(ARGS("--port", "3000", "--config", path, "-m", "m"), ENV("BITNET_PORT=2000")) ==
          BN_SRV_CONFIG_OK);
    CHECK(cfg.port == 3000 && !strcmp(where("port"), "flag --port"));
    snprintf(want, sizeof want, "%s:2", path);
    CHECK(load(ARGS("-m", "m"), ENV("A=b", NULL)) == BN_SRV_CONFIG_OK && cfg.port == 8080);

    /* the file may also come from BITNET_CONFIG; a flag beats the file */
    char env_config[4200];
    snprintf(env_config, sizeof env_config, "BITNET_CONFIG=%s", path);
    CHECK(load(ARGS("-m", "m", "--mmap"), ENV(env_config)) == BN_SRV_CONFIG_OK);
    CHECK(cfg.port == 1000 && !strcmp(where("port"), want) && cfg.mmap &&
          !strcmp(where("mmap"), "flag --mmap"));

    /* repeated flags: the last wins; booleans have a way back */
    CHECK(load(ARGS("-m", "m", "-np", "2", "--parallel", "4", "--no-metrics", "--metrics",
                    "--no-mmap"),
               ENV("BITNET_MLOCK=1", "BITNET_CHECK_TENSORS=false")) == BN_SRV_CONFIG_OK);
    CHECK(cfg.n_parallel == 4 && !strcmp(where("n_parallel"), "flag --parallel"));
    CHECK(cfg.metrics && !cfg.mmap && cfg.mlock && !cfg.check_tensors);
    /* two entries of one name in envp: the first wins, as getenv finds */
    CHECK(load(ARGS("-m", "m"), ENV("BITNET_PORT=5", "BITNET_PORT=6")) == BN_SRV_CONFIG_OK &&
          cfg.port == 5);
    /* other BITNET_ variables belong to other tools */
    CHECK(load(ARGS("-m", "m"), ENV("BITNET_SHARED_DIR=/x")) == BN_SRV_CONFIG_OK);
    /* the model may come from the environment */
    CHECK(load(NULL, ENV("BITNET_MODEL=/models/a.gguf")) == BN_SRV_CONFIG_OK &&
          !strcmp(cfg.model, "/models/a.gguf") && !strcmp(where("model"), "env BITNET_MODEL"));
}

static void test_bad_values(void) {
    CHECK_ERR(ARGS("-m", "m", "--port", "http"), NULL,
              "port: 'http' is not an integer (from flag --port)");
    CHECK_ERR(ARGS("-m", "m"), ENV("BITNET_PORT=70000"),
              "port: 70000 is out of range [0, 65535] (from env BITNET_PORT)");
    CHECK_ERR(ARGS("-m", "m"), ENV("BITNET_PORT="),
              "port: '' is not an integer (from env BITNET_PORT)");
    CHECK_ERR(ARGS("-m", "m"), ENV("BITNET_PORT= 80"),
              "port: ' 80' is not an integer (from env BITNET_PORT)");
    CHECK_ERR(ARGS("-m", "m", "-np", "99999999999999999999"), NULL,
              "n_parallel: '99999999999999999999' is not an integer (from flag -np)");
    CHECK_ERR(ARGS("-m", "m", "--threads", "-1"), NULL,
              "n_threads: -1 is out of range [0, 1024] (from flag --threads)");
    CHECK_ERR(ARGS("-m", "m", "--drain-timeout", "nan"), NULL,
              "drain_timeout: 'nan' is not a finite decimal number (from flag --drain-timeout)");
    CHECK_ERR(ARGS("-m", "m", "--drain-timeout", "0x10"), NULL,
              "drain_timeout: '0x10' is not a finite decimal number (from flag --drain-timeout)");
    CHECK_ERR(ARGS("-m", "m"), ENV("BITNET_MMAP=yes"),
              "mmap: 'yes' is not true or false (or 1 or 0) (from env BITNET_MMAP)");
    CHECK_ERR(ARGS("-m", "m", "--log-format", "xml"), NULL,
              "log_format: 'xml' is not one of text, json (from flag --log-format)");
    CHECK_ERR(ARGS("-m", "m", "--host", "a b"), NULL,
              "host: 'a b' has the character ' ', not allowed in a host name or address (from "
              "flag --host)");
    CHECK_ERR(ARGS("-m", "m", "--cors", "https://x.org/path"), NULL,
              "cors: 'https://x.org/path' is not \"*\" or an origin like "
              "https://example.com[:port] (from flag --cors)");
    CHECK(load(ARGS("-m", "m", "--cors", "http://localhost:3000"), NULL) == BN_SRV_CONFIG_OK);
    CHECK_ERR(ARGS("-m", "m", "--chat-template", "jinja"), NULL,
              "chat_template: 'jinja' is not one of bitnet, llama3, falcon3, chatml (or \"\" to "
              "detect it) (from flag --chat-template)");
    CHECK(load(ARGS("-m", "m", "--isa", "ref"), NULL) == BN_SRV_CONFIG_OK);
    CHECK(load(ARGS("-m", "m", "--isa", "sse9"), NULL) == BN_SRV_CONFIG_ERROR &&
          strstr(err, "isa: 'sse9' is not auto or an ISA this CPU and build run") &&
          strstr(err, "(from flag --isa)"));
    CHECK_ERR(ARGS("-m", "m", "--api-key", "a\nb"), NULL,
              "api_key: control character 0x0a at byte 1 (from flag --api-key)");
    CHECK_ERR(ARGS("-m", "m", "--alias", "\xff"), NULL,
              "alias: invalid UTF-8 at byte 0 (from flag --alias)");
    char longv[400];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    CHECK_ERR(ARGS("-m", "m", "--alias", longv), NULL,
              "alias: 399 bytes long, at most 255 (from flag --alias)");
    /* a bad value is refused even where a higher source overrides it */
    CHECK_ERR(ARGS("-m", "m", "--port", "80"), ENV("BITNET_PORT=x"),
              "port: 'x' is not an integer (from env BITNET_PORT)");

    /* flag syntax */
    CHECK_ERR(ARGS("-m", "m", "--prot", "80"), NULL, "unknown option '--prot'");
    CHECK_ERR(ARGS("-m", "m", "extra"), NULL, "unexpected argument 'extra'");
    CHECK_ERR(ARGS("-m", "m", "--port"), NULL, "--port needs a value");
    CHECK_ERR(ARGS("-m", "m", "--config"), NULL, "--config needs a file");
    /* the whole configuration */
    CHECK_ERR(ARGS("--port", "80"), NULL,
              "model: no model given (-m FILE, BITNET_MODEL or the config key model)");
    CHECK_ERR(ARGS("-m", "m", "-c", "4", "-np", "8"), NULL,
              "n_ctx 4 (from flag -c) is less than n_parallel 8 (from flag -np): every slot "
              "needs context");
    CHECK_ERR(ARGS("-m", "m", "--max-prompt-tokens", "5000"), NULL,
              "max_prompt_tokens 5000 (from flag --max-prompt-tokens) is more than n_ctx 4096 "
              "(from default)");
    CHECK_ERR(ARGS("-m", "m", "--api-key", "k", "--api-key-file", "/k"), NULL,
              "api_key (from flag --api-key) and api_key_file (from flag --api-key-file): give "
              "one, not both");
    CHECK_ERR(ARGS("-m", "m"), ENV("BITNET_CONFIG="), "BITNET_CONFIG is set but empty");
    CHECK(load(ARGS("--config", "/nonexistent/s.yaml"), NULL) == BN_SRV_CONFIG_ERROR &&
          strstr(err, "config file: ") && strstr(err, "/nonexistent/s.yaml"));
    CHECK(load(ARGS("--config", "/"), NULL) == BN_SRV_CONFIG_ERROR && strstr(err, "director"));
}

static void test_yaml_subset(void) {
    CHECK(yaml_err("port: 1\nhost: x\nport: 2\n",
                   "s.yaml:3: duplicate key 'port' (first set on line 1)"));
    CHECK(yaml_err("# c\n\nprot: 80\n", "s.yaml:3: unknown key 'prot' (bitnet serve --help "
                                        "lists them)"));
    CHECK(yaml_err("port: abc\n", "port: 'abc' is not an integer (from s.yaml:1)"));
    CHECK(yaml_err("host: x\nport: \"8080\"\n",
                   "port: expected a number, got the quoted string \"8080\" (from s.yaml:2)"));
    CHECK(yaml_err("mmap: no\n", "mmap: 'no' is not true or false (from s.yaml:1)"));
    CHECK(yaml_err("mmap: 1\n", "mmap: '1' is not true or false (from s.yaml:1)"));
    CHECK(yaml_err("port:\n", "s.yaml:1: port has no value (write \"\" for an empty string)"));
    CHECK(yaml_err("api_key: ~\n",
                   "s.yaml:1: api_key has no value (write \"\" for an empty string)"));
    CHECK(yaml_err("port: &a 1\n", "s.yaml:1: anchor 'a' not allowed in a config file"));
    CHECK(yaml_err("port: !!int 80\n",
                   "s.yaml:1: tag 'tag:yaml.org,2002:int' not allowed in a config file"));
    CHECK(yaml_err("port: *a\n", "s.yaml:1: an alias as the value of port is not allowed in a "
                                 "config file"));
    CHECK(yaml_err("host:\n  - a\n", "s.yaml:2: a list as the value of host is not allowed in a "
                                     "config file"));
    CHECK(yaml_err("host:\n  name: a\n",
                   "s.yaml:2: host: the value must be a single value, not a mapping"));
    CHECK(yaml_err("? {a: 1}\n: 2\n", "s.yaml:1: a mapping as a key is not allowed in a config "
                                      "file"));
    CHECK(yaml_err("- port\n", "s.yaml:1: a list is not allowed in a config file"));
    CHECK(yaml_err("just text\n",
                   "s.yaml:1: the file must be a mapping of key: value lines, not 'just text'"));
    CHECK(yaml_err("---\nport: 1\n---\nport: 2\n",
                   "s.yaml:3: a second YAML document; a config file has one"));
    CHECK(yaml_err("port: [1]\n", "s.yaml:1: a list as the value of port is not allowed in a "
                                  "config file"));
    CHECK(yaml_err("port: [1\n", "s.yaml:2:1: YAML: did not find expected ',' or ']' while "
                                 "parsing a flow sequence"));
    CHECK(yaml_err("host: 'open\n", "s.yaml:2:1: YAML: found unexpected end of stream while "
                                    "scanning a quoted scalar"));
    CHECK(yaml_err("host: a\n port: 1\n", "s.yaml:2:6: YAML: mapping values are not allowed "
                                          "in this context"));
    CHECK(yaml_err("host: \"a\\tb\"\n", "host: control character 0x09 at byte 1 (from s.yaml:1)"));
    CHECK(yaml_err("host: \xc3\x28\n", "s.yaml: invalid UTF-8 at byte 6"));
    bn_srv_config_defaults(&cfg);
    CHECK(!bn_srv_config_apply_yaml(&cfg, "port: 1\0\n", 9, "s.yaml", err, sizeof err) &&
          !strcmp(err, "s.yaml: NUL byte at offset 7"));
    /* accepted: flow style, quoted strings, a BOM, a comment-only file */
    bn_srv_config_defaults(&cfg);
    const char *flow = "\xef\xbb\xbf{port: 9000, host: \"::1\", 'alias': 'it''s'}\n";
    CHECKF(bn_srv_config_apply_yaml(&cfg, flow, strlen(flow), "s.yaml", err, sizeof err), "%s",
           err);
    CHECK(cfg.port == 9000 && !strcmp(cfg.host, "::1") && !strcmp(cfg.alias, "it's"));
    /* an enum name may be quoted (Helm's `quote` writes it so) */
    CHECKF(bn_srv_config_apply_yaml(&cfg, "log_format: \"json\"\n", 19, "s.yaml", err, sizeof err),
           "%s", err);
    CHECK(cfg.log_format == BN_SRV_LOG_JSON);
    CHECK(bn_srv_config_apply_yaml(&cfg, "# only a comment\n", 17, "s.yaml", err, sizeof err));
    CHECK(bn_srv_config_apply_yaml(&cfg, "", 0, "s.yaml", err, sizeof err) && cfg.port == 9000);

    /* the size cap holds before anything is parsed */
    size_t big = BN_SRV_CONFIG_MAX_FILE_BYTES + 1;
    char *huge = malloc(big);
    CHECK(huge != NULL);
    if (huge) {
        memset(huge, '#', big);
        const char *path = write_file("huge.yaml", huge, big);
        char p2[4096];
        snprintf(p2, sizeof p2, "%s", path);
        char want[4300];
        snprintf(want, sizeof want, "%s: 1048577 bytes, more than a config file may have (1048576)",
                 p2);
        CHECK_ERR(ARGS("--config", p2, "-m", "m"), NULL, want);
        free(huge);
    }
    /* a file's error names the file and line */
    const char *path = WRITE("bad.yaml", "host: 0.0.0.0\n\nn_parallel: 0\n");
    char p3[4096], want[4300];
    snprintf(p3, sizeof p3, "%s", path);
    snprintf(want, sizeof want, "n_parallel: 0 is out of range [1, 256] (from %s:3)", p3);
    CHECK_ERR(ARGS("--config", p3, "-m", "m"), NULL, want);
}

static void test_api_key_file(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s", WRITE("key", "s3cret\n"));
    CHECK(load(ARGS("-m", "m", "--api-key-file", path), NULL) == BN_SRV_CONFIG_OK);
    CHECK(!strcmp(cfg.api_key, "s3cret"));
    char want[4300];
    snprintf(want, sizeof want, "file %s", path);
    CHECK(!strcmp(where("api_key"), want));
    snprintf(path, sizeof path, "%s", WRITE("key2", "a\nb\n"));
    snprintf(want, sizeof want, "api_key: control character 0x0a at byte 1 (from file %s)", path);
    CHECK_ERR(ARGS("-m", "m", "--api-key-file", path), NULL, want);
    snprintf(path, sizeof path, "%s", WRITE("key3", "\n"));
    snprintf(want, sizeof want,
             "api_key_file: %s must hold one key of 1 to 511 bytes (from flag --api-key-file)",
             path);
    CHECK_ERR(ARGS("-m", "m", "--api-key-file", path), NULL, want);
}

static char *print_to_string(const bn_srv_config *c) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(out && bn_srv_config_print(c, out));
    fclose(out);
    return text;
}

static void test_print(void) {
    CHECK(load(ARGS("-m", "/m/a \"b\".gguf", "--print-config", "--api-key", "hunter2", "-np", "3",
                    "--drain-timeout", "0.1", "--numerics", "exact", "--no-mmap"),
               ENV("BITNET_HOST=::", "BITNET_LOG_FORMAT=json")) == BN_SRV_CONFIG_OK);
    CHECK(cfg.print_config);
    char *text = print_to_string(&cfg);
    CHECK(text && !strstr(text, "hunter2"));
    CHECK(text && strstr(text, "# api_key: (set, not shown)  # flag --api-key\n"));
    CHECK(text && strstr(text, "n_parallel: 3  # flag -np\n"));
    CHECK(text && strstr(text, "host: \"::\"  # env BITNET_HOST\n"));
    CHECK(text && strstr(text, "model: \"/m/a \\\"b\\\".gguf\"  # flag -m\n"));
    CHECK(text && strstr(text, "port: 8080  # default\n"));
    /* the printed text is a config file that loads back to the same values */
    bn_srv_config again;
    bn_srv_config_defaults(&again);
    memcpy(again.api_key, cfg.api_key, sizeof cfg.api_key);
    CHECKF(text && bn_srv_config_apply_yaml(&again, text, strlen(text), "printed", err, sizeof err),
           "%s", err);
    CHECK(bn_srv_config_equal(&cfg, &again));
    again.port++;
    CHECK(!bn_srv_config_equal(&cfg, &again));
    free(text);
    /* --print-config without a model is fine: it shows what is missing */
    CHECK(load(ARGS("--print-config"), NULL) == BN_SRV_CONFIG_OK && !cfg.model[0]);
}

static void test_help_and_docs(void) {
    CHECK(load(ARGS("--help", "--port", "x"), NULL) == BN_SRV_CONFIG_HELP);
    char *usage = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&usage, &len);
    bn_srv_config_usage(out);
    fclose(out);

    char docs_path[4096];
    snprintf(docs_path, sizeof docs_path, "%s/docs/server.md", test_env("BITNET_SOURCE_DIR", "."));
    FILE *f = fopen(docs_path, "rb");
    static char docs[1 << 18];
    size_t n_docs = f ? fread(docs, 1, sizeof docs - 1, f) : 0;
    if (f) fclose(f);
    docs[n_docs] = '\0';
    CHECKF(n_docs > 0, "cannot read %s", docs_path);

    size_t n = 0;
    const bn_srv_setting *s = bn_srv_settings(&n);
    for (size_t i = 0; i < n; i++) {
        char env[64] = "BITNET_", key[80];
        for (size_t k = 0; s[i].key[k]; k++) env[7 + k] = (char)toupper((unsigned char)s[i].key[k]);
        snprintf(key, sizeof key, "`%s`", s[i].key);
        CHECKF(usage && strstr(usage, env) && strstr(usage, s[i].flag_long), "usage: %s", env);
        CHECKF(strstr(docs, key) && strstr(docs, env) && strstr(docs, s[i].flag_long),
               "docs/server.md does not list %s / %s / %s", key, env, s[i].flag_long);
    }
    free(usage);
}

int main(void) {
    test_defaults();
    test_precedence();
    test_bad_values();
    test_yaml_subset();
    test_api_key_file();
    test_print();
    test_help_and_docs();
    TEST_END();
}
