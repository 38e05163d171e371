/* The suite file: which fixtures to make (by `bitnet fixture` arguments, a
 * path, or derived from another fixture by a deliberate corruption), which
 * checks to run on each, and the tolerances. Format: docs/validation.md. */
#ifndef BV_SUITE_H
#define BV_SUITE_H

#include <stdbool.h>
#include <stdint.h>

#include "vutil.h"

typedef enum greedy_policy {
    GREEDY_EXACT = 0,    /* every token equal */
    GREEDY_NEAR_TIE = 1, /* identical, or the first divergence is a near-tie */
    GREEDY_INFO = 2,     /* reported, never fails */
} greedy_policy;

typedef struct vtol {
    char name[32];
    double kld_mean_max, kld_p99_max, top1_min, nmse_max, ppl_rel_max;
    greedy_policy greedy;
    double near_tie_eps; /* logits: a first divergence with ref top-2 gap below is a near-tie */
} vtol;

typedef struct vfixture {
    char name[64];
    char path[4096]; /* the file, once made */
    char sha256[65];
    /* how to make it: exactly one of these */
    char **gen_args; /* `bitnet fixture` arguments (without -o) */
    int n_gen_args;
    char src_path[4096];
    char derive_from[64];
    char shuffle_tensor[96]; /* derived: permute this tensor's codes */
    uint64_t shuffle_seed;
    char relabel_arch[32]; /* derived: rewrite general.architecture (keys renamed) */
    /* the baselines load this fixture instead (negative tests: "as if the same model") */
    char reference[64];
    char reference_path[4096];
    vtol tol;
    /* checks */
    int32_t logits_n, logits_seed;
    char **prompts;
    int n_prompts;
    int32_t n_predict;
    int32_t pp, tg; /* 0: no speed check */
    char *kld_text; /* text for the bitnet.cpp perplexity/KLD check */
    int32_t kld_ctx;
    /* state */
    bool ready;
    char skip_reason[512];
    /* set when the bitnet.cpp build cannot load this file: every bitnet.cpp
     * step on it (speed included) is skipped with this reason */
    char bitnetcpp_skip[768];
} vfixture;

typedef struct vsuite {
    char name[64];
    char path[4096];
    vfixture *fixtures;
    int n_fixtures;
    int threads, reps;
} vsuite;

/* Limits on a suite file, which is untrusted input (every value is checked
 * to be of the right type, integral where it must be and in range before it
 * is converted; unknown and duplicate keys are refused). Exceeding one is a
 * usage error: suite_load fails with "FILE: KEY.PATH: what is wrong", and
 * bitnet-validate exits 2 before doing any work. */
#define BV_SUITE_MAX_BYTES (1u << 20) /* the whole file */
#define BV_SUITE_MAX_DEPTH 64         /* nested arrays/objects, checked before cJSON sees it */
#define BV_SUITE_MAX_FIXTURES 256
#define BV_SUITE_MAX_TOLERANCES 64
#define BV_SUITE_NAME_MAX 63 /* fixture, suite and tolerance names: [A-Za-z0-9._-], */
                             /* not starting with '.' or '-' (they become file names) */
#define BV_SUITE_MAX_PROMPTS 64
#define BV_SUITE_PROMPT_MAX 4096 /* bytes per greedy prompt */
#define BV_SUITE_MAX_GEN_ARGS 64 /* "generate" arguments, each at most 255 bytes */
#define BV_SUITE_LOGITS_MIN 2    /* checks.logits.n_tokens */
#define BV_SUITE_LOGITS_MAX 4096
#define BV_SUITE_PREDICT_MAX 1024 /* checks.greedy.n_predict (at least 1) */
#define BV_SUITE_PP_MAX 4096      /* checks.speed.pp (0: no prompt test) */
#define BV_SUITE_TG_MAX 1024      /* checks.speed.tg (0: no generation test) */
#define BV_SUITE_KLD_CTX_MIN 8    /* checks.kld.ctx */
#define BV_SUITE_KLD_CTX_MAX 4096
#define BV_SUITE_TOL_MAX 1e6 /* tolerance bounds: finite, 0..this (top1_min 0..1) */

/* Reads and parses a suite; false with a message (a usage error). */
bool suite_load(const char *path, vsuite *s, verr *e);
/* The same on text in memory (len bytes, need not be NUL-terminated); path
 * names it in messages and anchors relative "path" entries. */
bool suite_parse(const char *text, size_t len, const char *path, vsuite *s, verr *e);
/* True when name is a valid fixture/suite/tolerance name (see above). */
bool suite_name_ok(const char *name);
/* A suite for --models: each file with the default checks and `real` tolerances. */
bool suite_from_models(char **paths, int n, vsuite *s, verr *e);
void suite_free(vsuite *s);
/* Makes every fixture (generating into fixture_dir, cached by arguments) and
 * hashes it; a fixture that cannot be made gets skip_reason. bitnet_bin is the
 * `bitnet` CLI. quiet: no progress lines. */
void suite_prepare(vsuite *s, const char *bitnet_bin, const char *fixture_dir, bool quick);

/* Derivations, exposed for tests. */
bool fixture_shuffle_tensor(const char *src, const char *dst, const char *tensor, uint64_t seed,
                            verr *e);
bool fixture_relabel_arch(const char *src, const char *dst, const char *arch, verr *e);

#endif
