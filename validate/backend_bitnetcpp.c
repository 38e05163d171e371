/* bitnet.cpp through an existing build's tools (never linked, never copied):
 * llama-tokenize for token ids, llama-cli --temp 0 for greedy text,
 * llama-perplexity --kl-divergence-base for log-probabilities, llama-bench
 * -o json for speed. Each call is a child process with a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "bitnetcpp_parse.h"
#include "subproc.h"

typedef struct bc_impl {
    char dir[4096];
    char model[4096];
    int32_t threads;
    double timeout_s;
} bc_impl;

static void tool(const bc_impl *im, const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", im->dir, name);
}

/* Runs a tool; on failure the message names the tool, the status and the
 * last line of its stderr. */
static int run_tool(const bc_impl *im, char **argv, vstr *out, verr *e) {
    vstr err = {0};
    int rc = sp_run(argv, NULL, im->timeout_s, NULL, out, &err);
    if (rc != 0) {
        char sb[64];
        const char *last = "";
        if (err.s) {
            char *end = err.s + err.len;
            while (end > err.s && (end[-1] == '\n' || end[-1] == '\r')) *--end = '\0';
            const char *nl = strrchr(err.s, '\n');
            last = nl ? nl + 1 : err.s;
        }
        verr_set(e, "%s: %s: %.300s", argv[0], sp_status_str(rc, sb, sizeof sb), last);
    }
    vs_free(&err);
    return rc == 0 ? 0 : -1;
}

static int bc_load(vbackend *b, const char *path, verr *e) {
    bc_impl *im = b->impl;
    if (access(path, R_OK) != 0) {
        verr_set(e, "%s: not readable", path);
        return -1;
    }
    snprintf(im->model, sizeof im->model, "%s", path);
    return 0;
}

static void bc_unload(vbackend *b) { ((bc_impl *)b->impl)->model[0] = '\0'; }

static void bc_destroy(vbackend *b) {
    free(b->impl);
    free(b);
}

static int bc_tokenize(vbackend *b, const char *text, int32_t **tokens, int32_t *n, verr *e) {
    bc_impl *im = b->impl;
    char exe[4200];
    tool(im, "llama-tokenize", exe, sizeof exe);
    char *argv[] = {exe, "-m", im->model, "-p", (char *)text, "--ids", NULL};
    vstr out = {0};
    int rc = run_tool(im, argv, &out, e);
    if (rc == 0) {
        *n = bcpp_parse_ids(out.s ? out.s : "", tokens);
        if (*n < 0) {
            verr_set(e, "llama-tokenize printed no id list");
            rc = -1;
        }
    }
    vs_free(&out);
    return rc;
}

static int bc_generate_text(vbackend *b, const char *prompt, int32_t n_predict, vb_gen *g,
                            verr *e) {
    bc_impl *im = b->impl;
    char exe[4200], n[16], t[16];
    tool(im, "llama-cli", exe, sizeof exe);
    snprintf(n, sizeof n, "%d", n_predict);
    snprintf(t, sizeof t, "%d", im->threads);
    char *argv[] = {
        exe,  "-m",  im->model, "-p", (char *)prompt,        "-n", n, "--temp", "0", "--ignore-eos",
        "-c", "256", "-t",      t,    "--no-display-prompt", NULL};
    vstr out = {0};
    int rc = run_tool(im, argv, &out, e);
    if (rc == 0) g->text = bcpp_clean_completion(out.s ? out.s : "");
    vs_free(&out);
    return rc;
}

static int bc_logprobs_file(vbackend *b, const char *text_path, int32_t n_ctx, int32_t n_chunks,
                            kld_file *kf, verr *e) {
    bc_impl *im = b->impl;
    char exe[4200], c[16], ch[16], t[16], base[256];
    tool(im, "llama-perplexity", exe, sizeof exe);
    snprintf(c, sizeof c, "%d", n_ctx);
    snprintf(ch, sizeof ch, "%d", n_chunks);
    snprintf(t, sizeof t, "%d", im->threads);
    snprintf(base, sizeof base, "/tmp/bitnet-validate-%d.kld", (int)getpid());
    char *argv[] = {exe,        "-m", im->model, "-f", (char *)text_path,      "-c", c,
                    "--chunks", ch,   "-t",      t,    "--kl-divergence-base", base, NULL};
    int rc = run_tool(im, argv, NULL, e);
    if (rc == 0 && kld_file_read(base, kf) != 0) {
        verr_set(e, "%s: unreadable KL-divergence base file", base);
        rc = -1;
    }
    unlink(base);
    return rc;
}

static int bc_bench(vbackend *b, const vb_bench_req *req, vb_speed *sp, verr *e) {
    bc_impl *im = b->impl;
    char exe[4200], p[16], n[16], t[16];
    tool(im, "llama-bench", exe, sizeof exe);
    snprintf(p, sizeof p, "%d", req->n_prompt);
    snprintf(n, sizeof n, "%d", req->n_gen);
    snprintf(t, sizeof t, "%d", req->threads);
    /* -r 1: the harness does the repetitions itself, interleaved with ours */
    char *argv[] = {exe, "-m", im->model, "-p", p, "-n", n, "-t", t, "-r", "1", "-o", "json", NULL};
    vstr out = {0};
    int rc = run_tool(im, argv, &out, e);
    if (rc == 0 && bcpp_parse_bench_json(out.s ? out.s : "", &sp->pp_tps, &sp->tg_tps) != 0) {
        verr_set(e, "llama-bench: no pp/tg result in its JSON");
        rc = -1;
    }
    vs_free(&out);
    return rc;
}

vbackend *vb_bitnetcpp_new(const char *dir, int32_t threads, double timeout_s, verr *e) {
    static const char *tools[] = {"llama-cli", "llama-perplexity", "llama-bench", "llama-tokenize"};
    for (int i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, tools[i]);
        if (access(p, X_OK) != 0) {
            verr_set(e, "%s has no executable %s (give bitnet.cpp's build/bin)", dir, tools[i]);
            return NULL;
        }
    }
    vbackend *b = calloc(1, sizeof *b);
    bc_impl *im = calloc(1, sizeof *im);
    if (!b || !im) {
        free(b);
        free(im);
        verr_set(e, "out of memory");
        return NULL;
    }
    snprintf(im->dir, sizeof im->dir, "%s", dir);
    im->threads = threads;
    im->timeout_s = timeout_s;
    snprintf(b->name, sizeof b->name, "bitnet.cpp");
    snprintf(b->kind, sizeof b->kind, "bitnet.cpp");
    snprintf(b->version, sizeof b->version, "tools in %s", dir);
    b->impl = im;
    b->load = bc_load;
    b->unload = bc_unload;
    b->destroy = bc_destroy;
    b->tokenize = bc_tokenize;
    b->generate_text = bc_generate_text;
    b->logprobs_file = bc_logprobs_file;
    b->bench = bc_bench;
    return b;
}
