/* One harness run: the implementations, the suite, and the report document
 * being filled in (cJSON, written out by reports/). */
#ifndef BV_RUN_H
#define BV_RUN_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "backend.h"
#include "bitnet.h"
#include "compare.h"
#include "suite.h"

#define BV_MAX_IMPLS 8

typedef struct vrun {
    /* options */
    int threads, reps;
    bool quick, verbose;
    double threshold, alpha; /* slowdown gate */
    const char *out_dir;
    /* implementations: libbitnet per ISA first; libs[0] is the primary */
    vbackend *libs[BV_MAX_IMPLS];
    int n_libs;
    int ref_isa_index; /* index of libbitnet-ref in libs, -1 if not run */
    vbackend *python;  /* NULL: unavailable (reason in python_reason) */
    char python_reason[512];
    bool python_wanted;
    bool python_skip_fixture; /* the current fixture is one the reference cannot read */
    vbackend *bitnetcpp;
    char bitnetcpp_reason[512];
    /* transformers, for Hugging Face directory fixtures; NULL: skipped or
     * unavailable, with tf_reason ("skipped, because ..." or the error) */
    vbackend *tf;
    char tf_reason[1200];
    bool tf_error;         /* it was there but could not run: an error, not a skip */
    char bitnet_bin[4200]; /* the bitnet CLI, for the `bitnet bench -o json` cross-check */
    cJSON *against; /* an earlier report (--against report:FILE) or NULL */
    char against_path[4096];
    /* the report */
    cJSON *root, *checks, *speed_entries;
    double bandwidth_gbs;
} vrun;

/* Appends a check; returns it so the caller can add metrics. status is
 * "pass", "fail", "skipped" or "error". */
cJSON *run_add_check(vrun *r, const char *kind, const char *fixture, const char *impl,
                     const char *reference, const char *status, const char *reason_fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Shared by the per-baseline comparisons (run.c, run_transformers.c). */
void run_random_tokens(int32_t *t, int32_t n, int32_t n_vocab, int32_t bos, uint64_t seed);
void run_judge_logits(vrun *r, const vfixture *f, const char *impl, const char *ref,
                      const cmp_logit_stats *s);
/* Greedy: one check per (implementation, reference) pair over all prompts; the
 * worst prompt decides. */
typedef struct greedy_acc {
    cJSON *results;
    int n_identical, n_near_tie, n_diverged;
    char worst[256];
} greedy_acc;
void run_greedy_add(greedy_acc *a, const char *prompt, const vb_gen *ref, const vb_gen *test,
                    float eps);
void run_greedy_finish(vrun *r, const vfixture *f, const char *impl, const char *ref,
                       greedy_acc *a);

void run_fixture(vrun *r, vfixture *f);
void run_tokenize_check(vrun *r, vfixture *f, vbackend *base, vbackend *lib);
void run_bitnetcpp_checks(vrun *r, vfixture *f, bitnet_model *meta);
/* transformers on a Hugging Face directory fixture (run_transformers.c);
 * lib_ok[i]: r->libs[i] has loaded the fixture. */
void run_transformers_checks(vrun *r, vfixture *f, const bool *lib_ok, bitnet_model *meta);
void run_speed(vrun *r, vsuite *s);
void run_against_report(vrun *r);

#endif
