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
/* Writes everything into dir, each file under a temporary name renamed into
 * place (a failure leaves no half-written file). False when report.json,
 * report.md, junit.xml, report.html or the history could not be written
 * (named on stderr): the caller makes that a setup error. Plots that cannot
 * be made (no gnuplot) are noted in the reports, not a failure. */
bool report_write_all(cJSON *root, const char *dir);

/* Individual renderers (exposed for tests). report.json: numbers that are
 * NaN or infinite are written as null, strings that are not valid UTF-8 get
 * U+FFFD for each invalid byte, so the file is always valid JSON. */
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

/* A number, or a dash when absent or not finite (a macro so the format stays
 * a literal). */
#define RJ_NUM(f, v, fmt)                                                                          \
    do {                                                                                           \
        double v_ = (v);                                                                           \
        if (!isfinite(v_))                                                                         \
            fputs("–", f);                                                                         \
        else                                                                                       \
            fprintf(f, fmt, v_);                                                                   \
    } while (0)

/* The logit-agreement columns of a check's metrics (KLD mean, p99, max,
 * top-1, NMSE, max abs error, PPL delta) with `sep` between them: one list
 * for the Markdown and HTML tables. */
void rj_logit_cells(FILE *f, const cJSON *metrics, const char *sep);

/* Untrusted strings, escaped for each format (report_escape.c); invalid
 * UTF-8 becomes U+FFFD. rj_md: Markdown text, also inside a table cell;
 * rj_md_code: the same as a code span (with its backticks); rj_html: HTML
 * text or a double-quoted attribute; rj_xml: XML text or attribute. */
void rj_md(FILE *f, const char *s);
/* Makes a document printable as valid JSON, in place: NaN/inf numbers become
 * null, invalid UTF-8 in strings U+FFFD. False when out of memory. */
bool rj_sanitize(cJSON *node);
void rj_md_code(FILE *f, const char *s);
void rj_html(FILE *f, const char *s);
void rj_xml(FILE *f, const char *s);

#endif
