/* The report: one cJSON document (schema "bitnet-validate/1", documented in
 * docs/validation.md) built during the run, then rendered as report.json,
 * report.md, report.html, gnuplot plots, junit.xml and a history line. */
#ifndef BV_REPORT_H
#define BV_REPORT_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#define REPORT_SCHEMA "bitnet-validate/1"

/* A new document with schema, time, machine (CPU, flags, memory, governor,
 * load), build (compiler, libbitnet, git commit and dirty state). */
cJSON *report_new(const char *suite_name, const char *suite_path, const char *source_dir);
/* Counts the checks into "summary" and returns the exit code: 1 if any check
 * failed, else 2 if any errored, else 0. */
int report_finish(cJSON *root);
/* Writes everything into dir; a renderer that fails notes it on stderr and in
 * the other files, but never changes the exit code. */
void report_write_all(cJSON *root, const char *dir);

/* Individual renderers (exposed for tests). */
bool report_write_json(const cJSON *root, const char *path);
bool report_write_md(const cJSON *root, const char *path);
bool report_write_junit(const cJSON *root, const char *path);
bool report_write_html(const cJSON *root, const char *dir, const char *path);
/* Plots: writes .dat/.gp files and runs gnuplot; records what it made (or why
 * not) under root.plots. history: the history file for the trend plot. */
void report_plots(cJSON *root, const char *dir, const char *history);
bool report_history_append(const cJSON *root, const char *path);

/* Helpers shared by the renderers. */
const char *rj_str(const cJSON *o, const char *key); /* "" when absent */
double rj_num(const cJSON *o, const char *key);      /* NAN when absent */

/* A number, or a dash when absent (a macro so the format stays a literal). */
#define RJ_NUM(f, v, fmt)                                                                          \
    do {                                                                                           \
        double v_ = (v);                                                                           \
        if (isnan(v_))                                                                             \
            fputs("–", f);                                                                         \
        else                                                                                       \
            fprintf(f, fmt, v_);                                                                   \
    } while (0)

/* The logit-agreement columns of a check's metrics (KLD mean, p99, max,
 * top-1, NMSE, max abs error, PPL delta) with `sep` between them: one list
 * for the Markdown and HTML tables. */
void rj_logit_cells(FILE *f, const cJSON *metrics, const char *sep);

#endif
