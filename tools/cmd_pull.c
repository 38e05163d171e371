/* bitnet pull: download a model file with resume and SHA-256 verification
 * (tools/download.c). URL form: any http(s) URL. REPO form: a Hugging Face
 * repository `org/name[:file]`, fetched from its resolve URL; the hash then
 * comes from the hub's X-Linked-Etag (or a 64-hex ETag) unless --sha256 is
 * given, and a download with neither is refused. docs/cli.md. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"
#include "download.h"

#define CMD "pull"
/* what REPO without :FILE fetches: the file name of Microsoft's GGUF repo */
#define PULL_DEFAULT_FILE "ggml-model-i2_s.gguf"
#define PULL_DEFAULT_ENDPOINT "https://huggingface.co"

typedef struct pull_options {
    const char *source, *out, *sha256, *revision;
    bool quiet;
} pull_options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet pull URL|REPO [-o FILE] [--sha256 HEX] [options]\n"
            "  URL                     an http:// or https:// address\n"
            "  REPO                    a Hugging Face repository, org/name[:file] (file default\n"
            "                          " PULL_DEFAULT_FILE "); $HF_ENDPOINT replaces\n"
            "                          " PULL_DEFAULT_ENDPOINT
            ", $HF_TOKEN is sent as a bearer token\n"
            "  -o, --output FILE       where to write (default: the URL's last path segment);\n"
            "                          the download goes to FILE.part, renamed on success\n"
            "      --sha256 HEX        the expected SHA-256 (default for REPO: the hub's)\n"
            "      --revision REV      REPO's branch, tag or commit (default main)\n"
            "  -q, --quiet             print nothing on success\n"
            "A FILE.part left by an interrupted run is resumed with an HTTP Range request.\n"
            "A hash mismatch removes FILE.part and exits 1.\n"
            "\n"
            "examples:\n"
            "  bitnet pull microsoft/bitnet-b1.58-2B-4T-gguf -o model.gguf\n"
            "  bitnet pull microsoft/bitnet-b1.58-2B-4T-gguf:ggml-model-i2_s.gguf --revision main\n"
            "  bitnet pull "
            "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/"
            "ggml-model-i2_s.gguf\n");
}

static cli_parse_status parse_args(int argc, char **argv, pull_options *o, cli_args *a) {
    memset(o, 0, sizeof *o);
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        if (cli_args_is(a, "-h", "--help"))
            return CLI_PARSE_HELP;
        else if (cli_args_is(a, "-o", "--output")) {
            if (!cli_args_value(a, &o->out)) return CLI_PARSE_ERROR;
        } else if (cli_args_is(a, NULL, "--sha256")) {
            if (!cli_args_value(a, &o->sha256)) return CLI_PARSE_ERROR;
            if (!dl_is_sha256(o->sha256)) {
                cli_args_fail(a, "--sha256: '%s' is not 64 hex digits", o->sha256);
                return CLI_PARSE_ERROR;
            }
        } else if (cli_args_is(a, NULL, "--revision")) {
            if (!cli_args_value(a, &o->revision)) return CLI_PARSE_ERROR;
        } else if (cli_args_is(a, "-q", "--quiet"))
            o->quiet = true;
        else if (a->flag[0] != '-' || !a->flag[1]) {
            if (o->source) {
                cli_args_fail(a, "more than one URL|REPO ('%s' and '%s')", o->source, a->flag);
                return CLI_PARSE_ERROR;
            }
            o->source = a->flag;
        } else
            return cli_args_unknown(a);
    }
    if (!o->source) {
        cli_args_fail(a, "URL|REPO is required");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

static bool is_url(const char *s) {
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* org/name with each part non-empty and made of [A-Za-z0-9._-]. */
static bool repo_part_ok(const char *s, size_t n) {
    if (!n) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
            return false;
    return true;
}

/* The resolve URL of REPO (malloc'd) and, in *file, where its file name
 * starts inside source; NULL after an error message. */
static char *repo_url(const pull_options *o, const char **file) {
    const char *src = o->source, *colon = strchr(src, ':'), *slash = strchr(src, '/');
    size_t repo_len = colon ? (size_t)(colon - src) : strlen(src);
    *file = colon ? colon + 1 : PULL_DEFAULT_FILE;
    if (!slash || slash >= src + repo_len || !repo_part_ok(src, (size_t)(slash - src)) ||
        !repo_part_ok(slash + 1, repo_len - (size_t)(slash - src) - 1)) {
        fprintf(stderr,
                "bitnet " CMD ": '%s' is neither an http(s) URL nor a repository org/name[:file]\n",
                src);
        return NULL;
    }
    if (!**file || strstr(*file, "..") || **file == '/' || strpbrk(*file, "?#% ")) {
        fprintf(stderr, "bitnet " CMD ": '%s': bad file name '%s'\n", src, *file);
        return NULL;
    }
    const char *rev = o->revision ? o->revision : "main";
    if (!repo_part_ok(rev, strlen(rev))) {
        fprintf(stderr, "bitnet " CMD ": --revision: bad value '%s'\n", rev);
        return NULL;
    }
    const char *endpoint = getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = PULL_DEFAULT_ENDPOINT;
    size_t elen = strlen(endpoint);
    while (elen && endpoint[elen - 1] == '/') elen--;
    size_t n = elen + repo_len + strlen(rev) + strlen(*file) + 32;
    char *url = malloc(n);
    if (!url) return NULL;
    snprintf(url, n, "%.*s/%.*s/resolve/%s/%s", (int)elen, endpoint, (int)repo_len, src, rev,
             *file);
    return url;
}

/* The default output name: the last path segment of a URL (before ? or #). */
static char *url_basename(const char *url) {
    const char *p = strstr(url, "://") + 3;
    size_t end = strcspn(p, "?#");
    const char *seg = NULL;
    for (size_t i = 0; i < end; i++)
        if (p[i] == '/') seg = p + i + 1;
    if (!seg || seg == p + end) return NULL;
    return strndup(seg, (size_t)(p + end - seg));
}

int cmd_pull(int argc, char **argv) {
    pull_options o;
    cli_args args;
    const int done = cli_args_outcome(CMD, parse_args(argc, argv, &o, &args), &args, usage);
    if (done >= 0) return done;
    bool repo = !is_url(o.source);
    if (repo && strstr(o.source, "://")) {
        fprintf(stderr, "bitnet " CMD ": '%s': only http:// and https:// are supported\n",
                o.source);
        return CLI_USAGE;
    }
    if (!repo && o.revision) {
        fprintf(stderr, "bitnet " CMD ": --revision applies to REPO, not to a URL\n");
        return CLI_USAGE;
    }
    const char *file = NULL;
    char *url = repo ? repo_url(&o, &file) : strdup(o.source);
    if (!url) return repo ? CLI_USAGE : CLI_RUNTIME;
    char *out = o.out  ? strdup(o.out)
                : repo ? strdup(strrchr(file, '/') ? strrchr(file, '/') + 1 : file)
                       : url_basename(url);
    if (!out) {
        fprintf(stderr, "bitnet " CMD ": %s: no file name in the URL; pass -o FILE\n", url);
        free(url);
        return CLI_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bitnet " CMD ": libcurl could not be initialized\n");
        free(url), free(out);
        return CLI_RUNTIME;
    }
    const char *token = repo ? getenv("HF_TOKEN") : NULL;
    dl_request req = {
        .url = url,
        .out = out,
        .sha256 = o.sha256,
        .bearer = token && *token ? token : NULL,
        .require_sha256 = repo,
        .progress = !o.quiet && isatty(STDERR_FILENO),
    };
    dl_result r;
    int rc = dl_fetch(&req, &r);
    curl_global_cleanup();
    if (rc) {
        fprintf(stderr, "bitnet " CMD ": %s\n", r.error);
    } else if (!o.quiet) {
        if (r.restarted)
            fprintf(stderr,
                    "bitnet " CMD ": the server ignored the Range request; downloaded again\n");
        else if (r.resumed_from)
            fprintf(stderr, "bitnet " CMD ": resumed at byte %llu\n",
                    (unsigned long long)r.resumed_from);
        if (!r.sha_source)
            fprintf(stderr, "bitnet " CMD ": warning: not verified (no --sha256 and the server "
                            "gave no SHA-256)\n");
        printf("%s  %s  (%llu bytes, sha256 %s)\n", r.sha256, out, (unsigned long long)r.bytes,
               r.sha_source ? r.sha_source : "not verified");
    }
    free(url);
    free(out);
    if (rc) return CLI_RUNTIME;
    return cli_finish_stdout(CMD);
}
