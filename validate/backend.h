/* One interface for every implementation the harness compares (design §3):
 * libbitnet in-process (one backend per ISA), the Python reference through its
 * JSON-lines runner, bitnet.cpp through its command-line tools.
 *
 * A backend loads one model at a time and answers what it can; an operation it
 * cannot do is a NULL function pointer, which the harness reports as
 * "skipped: <backend> cannot ...". Every failure comes back as a message in a
 * verr so it becomes a report entry, never an exit. */
#ifndef BV_BACKEND_H
#define BV_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "kld.h"
#include "vutil.h"

/* Teacher-forced logits: n_pos rows of n_vocab raw logits. */
typedef struct vb_logits {
    int32_t n_pos, n_vocab;
    float *data;
} vb_logits;

/* Greedy continuation: tokens and, per step, the top-1 minus top-2 logit
 * margin the backend saw (NAN when it cannot tell, e.g. bitnet.cpp). */
typedef struct vb_gen {
    int32_t n;
    int32_t *tokens;
    float *margins;
    char *text; /* the detokenized continuation, when known */
} vb_gen;

/* One measured repetition: tokens per second for each test (0 = not run). */
typedef struct vb_speed {
    double pp_tps, tg_tps;
} vb_speed;

typedef struct vb_bench_req {
    int32_t n_prompt, n_gen, threads;
} vb_bench_req;

typedef struct vbackend vbackend;
struct vbackend {
    char name[64];     /* "libbitnet-avx2", "python-ref", "bitnet.cpp" */
    char kind[16];     /* "libbitnet", "python", "bitnet.cpp" */
    char version[256]; /* what it says about itself (system info, python version) */
    void *impl;

    int (*load)(vbackend *b, const char *model_path, verr *e);
    void (*unload)(vbackend *b);
    void (*destroy)(vbackend *b);

    /* Optional operations. */
    int (*tokenize)(vbackend *b, const char *text, int32_t **tokens, int32_t *n, verr *e);
    int (*logits)(vbackend *b, const int32_t *tokens, int32_t n, vb_logits *out, verr *e);
    int (*generate)(vbackend *b, const int32_t *prompt, int32_t n_prompt, int32_t n_predict,
                    vb_gen *out, verr *e);
    /* Text in, text out (bitnet.cpp's llama-cli cannot take token ids). */
    int (*generate_text)(vbackend *b, const char *prompt, int32_t n_predict, vb_gen *out, verr *e);
    /* Log-probabilities of a text file as llama-perplexity's KL base file. */
    int (*logprobs_file)(vbackend *b, const char *text_path, int32_t n_ctx, int32_t n_chunks,
                         kld_file *out, verr *e);
    int (*bench)(vbackend *b, const vb_bench_req *req, vb_speed *out, verr *e);
};

void vb_logits_free(vb_logits *l);
void vb_gen_free(vb_gen *g);

/* Constructors. threads applies to correctness runs. */
vbackend *vb_libbitnet_new(const char *isa, int32_t threads, bool exact_numerics);
/* python: the interpreter; pkg_dir: the directory holding bitnet_ref/. */
vbackend *vb_python_new(const char *python, const char *pkg_dir, double timeout_s, bool exact,
                        verr *e);
/* Any runner of the JSON-lines protocol (baseline/python/README.md). */
typedef struct vb_jsonl_spec {
    const char *python, *pkg_dir; /* interpreter; its working directory */
    const char *module;           /* run as `python -m module` */
    const char *name, *kind;      /* the backend's name and kind in reports */
    const char *label;            /* prefix of its messages */
    double timeout_s;             /* per request */
    double hello_timeout_s;       /* the first answer (imports); 0: 60 s */
    bool exact;                   /* ask for the runner's exact numerics */
} vb_jsonl_spec;
vbackend *vb_jsonl_new(const vb_jsonl_spec *spec, verr *e);
/* transformers (baseline/transformers/tf_runner.py): python is the venv's
 * interpreter, pkg_dir baseline/transformers. */
vbackend *vb_transformers_new(const char *python, const char *pkg_dir, double timeout_s, verr *e);
/* dir holds llama-cli, llama-perplexity, llama-bench, llama-tokenize. NULL with
 * a message when the directory lacks them. */
vbackend *vb_bitnetcpp_new(const char *dir, int32_t threads, double timeout_s, verr *e);

#endif
