/* gnuplot plots, PNG and SVG each: throughput per implementation, logit
 * error per position, speed history. We write the data and a .gp script next
 * to the report (so a reader can re-plot) and run gnuplot with a timeout. No
 * gnuplot: a note in the report, not a failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "subproc.h"
#include "vutil.h"

typedef struct plot_out {
    cJSON *files;
    const char *dir;
    const char *terminal_png;
    int failures;
    char last_error[512];
} plot_out;

/* gnuplot string literal: single quotes, no quote inside */
static void gp_str(FILE *f, const char *s) {
    fputc('\'', f);
    /* single-quoted gnuplot strings end at a quote or a newline; '_' would
     * start a subscript */
    for (; *s; s++) fputc(*s == '_' ? '-' : (*s == '\'' || (unsigned char)*s < 0x20) ? ' ' : *s, f);
    fputc('\'', f);
}

/* Inside a double-quoted data-file label: no quote, backslash or newline. */
static void dat_label(FILE *f, const char *s) {
    for (; *s; s++) fputc((*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? ' ' : *s, f);
}

static void run_gp(plot_out *po, const char *name, const char *title) {
    char gp[4200];
    snprintf(gp, sizeof gp, "%s.gp", name);
    char *argv[] = {"gnuplot", gp, NULL};
    vstr err = {0};
    int rc = sp_run(argv, po->dir, 60, NULL, NULL, &err);
    char png[4200], svg[4200];
    snprintf(png, sizeof png, "%s/%s.png", po->dir, name);
    snprintf(svg, sizeof svg, "%s/%s.svg", po->dir, name);
    if (rc == 0 && vu_file_exists(png) && vu_file_exists(svg)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "title", title);
        snprintf(png, sizeof png, "%s.png", name);
        snprintf(svg, sizeof svg, "%s.svg", name);
        cJSON_AddStringToObject(o, "png", png);
        cJSON_AddStringToObject(o, "svg", svg);
        cJSON_AddStringToObject(o, "script", gp);
        cJSON_AddItemToArray(po->files, o);
    } else {
        po->failures++;
        char sb[64];
        snprintf(po->last_error, sizeof po->last_error, "gnuplot %s (%s): %.300s", gp,
                 sp_status_str(rc, sb, sizeof sb), err.s ? err.s : "");
    }
    vs_free(&err);
}

static FILE *open_in(const plot_out *po, const char *name, const char *ext) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s.%s", po->dir, name, ext);
    return fopen(p, "w");
}

/* Both outputs from one script: the PNG, then the same plot as SVG. */
static void gp_header(FILE *g, const plot_out *po, const char *name, int w, int h) {
    fprintf(g, "set terminal %s size %d,%d\nset output '%s.png'\n", po->terminal_png, w, h, name);
}

static void gp_footer(FILE *g, const char *name, int w, int h) {
    fprintf(
        g,
        "set terminal svg size %d,%d dynamic background rgb 'white'\nset output '%s.svg'\nreplot\n",
        w, h, name);
}

static void plot_throughput(plot_out *po, const cJSON *root) {
    const cJSON *entries = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "speed"), "entries");
    /* implementations (columns) and fixture/test groups (rows) */
    const char *impls[16];
    int ni = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        const char *im = rj_str(e, "impl");
        if (!strcmp(im, "libbitnet")) continue;
        bool seen = false;
        for (int i = 0; i < ni; i++) seen |= !strcmp(impls[i], im);
        if (!seen && ni < 16) impls[ni++] = im;
    }
    if (!ni) return;
    FILE *d = open_in(po, "throughput", "dat");
    if (!d) return;
    /* one row per (fixture, test): label, then median min max per impl */
    const cJSON *a;
    int rows = 0;
    cJSON_ArrayForEach(a, entries) {
        if (strcmp(rj_str(a, "impl"), impls[0])) continue;
        fputc('"', d);
        dat_label(d, rj_str(a, "fixture"));
        fputc(' ', d);
        dat_label(d, rj_str(a, "test"));
        fputc('"', d);
        for (int i = 0; i < ni; i++) {
            double med = NAN, lo = NAN, hi = NAN;
            cJSON_ArrayForEach(e, entries) {
                if (!strcmp(rj_str(e, "impl"), impls[i]) &&
                    !strcmp(rj_str(e, "fixture"), rj_str(a, "fixture")) &&
                    !strcmp(rj_str(e, "test"), rj_str(a, "test"))) {
                    med = rj_num(e, "median_ts");
                    lo = rj_num(e, "min_ts");
                    hi = rj_num(e, "max_ts");
                }
            }
            if (isnan(med))
                fprintf(d, " NaN NaN NaN");
            else
                fprintf(d, " %g %g %g", med, lo, hi);
        }
        fprintf(d, "\n");
        rows++;
    }
    fclose(d);
    FILE *g = open_in(po, "throughput", "gp");
    if (!g) return;
    int w = 200 + rows * 90 * (ni > 2 ? ni : 2) / 2;
    if (w < 800) w = 800;
    gp_header(g, po, "throughput", w, 480);
    fprintf(g, "set title 'Throughput per implementation (median, min-max bars)'\n"
               "set ylabel 'tokens / s'\nset logscale y\nset style data histogram\n"
               "set style histogram errorbars gap 1 lw 1\nset style fill solid 0.6 border -1\n"
               "set xtics rotate by -30 font ',8'\nset key outside right top\nset grid ytics\nset "
               "datafile missing 'NaN'\n"
               "plot ");
    for (int i = 0; i < ni; i++) {
        fprintf(g, "%s'throughput.dat' using %d:%d:%d%s title ", i ? ", " : "", 2 + 3 * i,
                3 + 3 * i, 4 + 3 * i, i == 0 ? ":xtic(1)" : "");
        gp_str(g, impls[i]);
    }
    fprintf(g, "\n");
    gp_footer(g, "throughput", w, 480);
    fclose(g);
    run_gp(po, "throughput", "Throughput per implementation");
}

static void plot_logit_error(plot_out *po, const cJSON *root) {
    FILE *d = open_in(po, "logit_error", "dat");
    if (!d) return;
    int blocks = 0;
    char titles[16][160];
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "checks")) {
        const cJSON *pp = cJSON_GetObjectItem(c, "per_position");
        if (!pp || strcmp(rj_str(c, "kind"), "logits") || blocks >= 16) continue;
        snprintf(titles[blocks], sizeof titles[0], "%s: %s vs %s", rj_str(c, "fixture"),
                 rj_str(c, "impl"), rj_str(c, "reference"));
        const cJSON *kld = cJSON_GetObjectItem(pp, "kld");
        int i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, kld) {
            double x = v->valuedouble;
            fprintf(d, "%d %g\n", i++, x > 1e-12 ? x : 1e-12); /* log axis: clamp exact zeros */
        }
        fprintf(d, "\n\n");
        blocks++;
    }
    fclose(d);
    if (!blocks) return;
    FILE *g = open_in(po, "logit_error", "gp");
    if (!g) return;
    gp_header(g, po, "logit_error", 1000, 520);
    fprintf(g, "set title 'Logit error per position: KL(reference || implementation)'\n"
               "set xlabel 'position'\nset ylabel 'KLD (nats), 1e-12 = identical'\nset logscale y\n"
               "set key outside right top font ',8'\nset grid\nplot ");
    for (int b = 0; b < blocks; b++) {
        fprintf(g, "%s'logit_error.dat' index %d using 1:2 with linespoints pt 7 ps 0.4 title ",
                b ? ", " : "", b);
        gp_str(g, titles[b]);
    }
    fprintf(g, "\n");
    gp_footer(g, "logit_error", 1000, 520);
    fclose(g);
    run_gp(po, "logit_error", "Logit error per position");
}

static void plot_history(plot_out *po, const char *history) {
    char *text = vu_read_file(history, NULL);
    if (!text) return;
    /* series: (fixture, test) of the primary "libbitnet" alias */
    char series[16][160];
    int ns = 0, runs = 0;
    FILE *d = open_in(po, "speed_history", "dat");
    if (!d) {
        free(text);
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int s = 0; s < (pass ? ns : 1); s++) {
            runs = 0;
            char *save = NULL, *copy = strdup(text);
            for (char *line = strtok_r(copy, "\n", &save); line;
                 line = strtok_r(NULL, "\n", &save)) {
                cJSON *h = cJSON_Parse(line);
                if (!h) continue;
                runs++;
                const cJSON *e;
                cJSON_ArrayForEach(e, cJSON_GetObjectItem(h, "speed")) {
                    if (strcmp(rj_str(e, "impl"), "libbitnet")) continue;
                    char key[160];
                    snprintf(key, sizeof key, "%s %s", rj_str(e, "fixture"), rj_str(e, "test"));
                    if (!pass) {
                        bool seen = false;
                        for (int i = 0; i < ns; i++) seen |= !strcmp(series[i], key);
                        if (!seen && ns < 16) snprintf(series[ns++], sizeof series[0], "%s", key);
                    } else if (!strcmp(series[s], key)) {
                        fprintf(d, "%d %g\n", runs, rj_num(e, "median_ts"));
                    }
                }
                cJSON_Delete(h);
            }
            free(copy);
            if (pass) fprintf(d, "\n\n");
        }
    }
    fclose(d);
    free(text);
    if (!ns) return;
    FILE *g = open_in(po, "speed_history", "gp");
    if (!g) return;
    gp_header(g, po, "speed_history", 1000, 480);
    fprintf(g, "set title 'Speed history (primary libbitnet, median t/s per run)'\nset xlabel 'run "
               "(history.jsonl line)'\n"
               "set ylabel 'tokens / s'\nset logscale y\nset key outside right top font ',8'\nset "
               "grid\nplot ");
    for (int s = 0; s < ns; s++) {
        fprintf(g, "%s'speed_history.dat' index %d using 1:2 with linespoints pt 7 title ",
                s ? ", " : "", s);
        gp_str(g, series[s]);
    }
    fprintf(g, "\n");
    gp_footer(g, "speed_history", 1000, 480);
    fclose(g);
    run_gp(po, "speed_history", "Speed history");
}

void report_plots(cJSON *root, const char *dir, const char *history) {
    cJSON *plots = cJSON_AddObjectToObject(root, "plots");
    plot_out po = {.files = cJSON_AddArrayToObject(plots, "files"), .dir = dir};
    char *probe_argv[] = {"gnuplot", "-e", "set terminal pngcairo", NULL};
    vstr err = {0};
    int rc = sp_run(probe_argv, NULL, 20, NULL, NULL, &err);
    if (rc == SP_SPAWN_FAILED || rc == 127) {
        cJSON_AddStringToObject(plots, "note",
                                "no plots: gnuplot is not installed (apt-get install gnuplot-nox)");
        vs_free(&err);
        return;
    }
    /* pngcairo draws antialiased text; the libgd png terminal is the fallback */
    po.terminal_png = (rc == 0 && !(err.s && strstr(err.s, "unknown"))) ? "pngcairo" : "png";
    vs_free(&err);
    plot_throughput(&po, root);
    plot_logit_error(&po, root);
    plot_history(&po, history);
    if (po.failures) cJSON_AddStringToObject(plots, "note", po.last_error);
}
