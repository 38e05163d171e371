/* One harness run: the implementations, the suite, and the report document
 * being filled in (cJSON, written out by reports/). */
#ifndef BV_RUN_H
#define BV_RUN_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "backend.h"
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
    vbackend *bitnetcpp;
    char bitnetcpp_reason[512];
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

void run_fixture(vrun *r, vfixture *f);
void run_speed(vrun *r, vsuite *s);
void run_against_report(vrun *r);

#endif
