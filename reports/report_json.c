/* The document itself: environment capture, summary and exit code, and the
 * JSON file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bitnet.h"
#include "report.h"
#include "subproc.h"
#include "utf8.h"
#include "vutil.h"

const char *rj_str(const cJSON *o, const char *key) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    return s ? s : "";
}

double rj_num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

void rj_logit_cells(FILE *f, const cJSON *m, const char *sep) {
    RJ_NUM(f, rj_num(m, "kld_mean"), "%.2e");
    fputs(sep, f);
    RJ_NUM(f, rj_num(m, "kld_p99"), "%.2e");
    fputs(sep, f);
    RJ_NUM(f, rj_num(m, "kld_max"), "%.2e");
    fputs(sep, f);
    RJ_NUM(f, 100 * rj_num(m, "top1"), "%.1f%%");
    fputs(sep, f);
    RJ_NUM(f, rj_num(m, "nmse"), "%.2e");
    fputs(sep, f);
    RJ_NUM(f, rj_num(m, "max_abs_err"), "%.3g");
    fputs(sep, f);
    RJ_NUM(f, 100 * rj_num(m, "ppl_delta_rel"), "%+.3f%%");
}

/* The value after "key\t: " in /proc/cpuinfo's first processor block. */
static bool cpuinfo_field(const char *text, const char *key, char *out, size_t size) {
    const char *p = strstr(text, key);
    if (!p) return false;
    p = strchr(p, ':');
    if (!p) return false;
    p++;
    while (*p == ' ') p++;
    size_t n = strcspn(p, "\n");
    if (n >= size) n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static void trim_nl(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = '\0';
}

static cJSON *machine_json(void) {
    cJSON *m = cJSON_CreateObject();
    struct utsname u;
    if (uname(&u) == 0) {
        cJSON_AddStringToObject(m, "hostname", u.nodename);
        cJSON_AddStringToObject(m, "kernel", u.release);
        cJSON_AddStringToObject(m, "arch", u.machine);
    }
    char *ci = vu_read_file("/proc/cpuinfo", NULL);
    char buf[8192];
    if (ci && cpuinfo_field(ci, "model name", buf, sizeof buf))
        cJSON_AddStringToObject(m, "cpu", buf);
    if (ci && cpuinfo_field(ci, "flags", buf, sizeof buf)) {
        /* only the flags that select kernels; the full list is noise */
        static const char *want[] = {"sse4_2",   "avx",      "avx2",     "fma",      "f16c",
                                     "avx512f",  "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
                                     "avx_vnni", "amx_int8", NULL};
        cJSON *flags = cJSON_AddArrayToObject(m, "cpu_flags");
        for (int i = 0; want[i]; i++) {
            char pat[40];
            snprintf(pat, sizeof pat, " %s ", want[i]);
            char padded[8200];
            snprintf(padded, sizeof padded, " %s ", buf);
            if (strstr(padded, pat)) cJSON_AddItemToArray(flags, cJSON_CreateString(want[i]));
        }
    }
    free(ci);
    cJSON_AddNumberToObject(m, "online_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    char *mi = vu_read_file("/proc/meminfo", NULL);
    if (mi && cpuinfo_field(mi, "MemTotal", buf, sizeof buf))
        cJSON_AddNumberToObject(m, "mem_total_kib", atof(buf));
    free(mi);
    char *gov = vu_read_file("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", NULL);
    if (gov) {
        trim_nl(gov);
        cJSON_AddStringToObject(m, "governor", gov);
    } else {
        cJSON_AddStringToObject(m, "governor", "unknown (no cpufreq)");
    }
    free(gov);
    double load[3];
    if (getloadavg(load, 3) == 3) {
        cJSON *l = cJSON_AddArrayToObject(m, "loadavg_start");
        for (int i = 0; i < 3; i++) cJSON_AddItemToArray(l, cJSON_CreateNumber(load[i]));
    }
    return m;
}

static cJSON *build_json(const char *src) {
    cJSON *b = cJSON_CreateObject();
#ifdef __VERSION__
    cJSON_AddStringToObject(b, "compiler", "cc " __VERSION__);
#endif
    cJSON_AddStringToObject(b, "libbitnet_version", bitnet_version());
    cJSON_AddStringToObject(b, "system_info", bitnet_system_info());
    char *argv1[] = {"git", "-C", (char *)src, "rev-parse", "HEAD", NULL};
    vstr out = {0};
    if (sp_run(argv1, NULL, 10, NULL, &out, NULL) == 0 && out.s) {
        trim_nl(out.s);
        cJSON_AddStringToObject(b, "git_commit", out.s);
        vs_free(&out);
        char *argv2[] = {"git", "-C", (char *)src, "status", "--porcelain", "-uno", NULL};
        if (sp_run(argv2, NULL, 10, NULL, &out, NULL) == 0)
            cJSON_AddBoolToObject(b, "git_dirty", out.len > 0);
    } else {
        cJSON_AddNullToObject(b, "git_commit");
    }
    vs_free(&out);
    return b;
}

cJSON *report_new(const char *suite_name, const char *suite_path, const char *source_dir) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "schema", REPORT_SCHEMA);
    char ts[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(r, "created", ts);
    cJSON *s = cJSON_AddObjectToObject(r, "suite");
    cJSON_AddStringToObject(s, "name", suite_name);
    cJSON_AddStringToObject(s, "path", suite_path);
    cJSON_AddItemToObject(r, "machine", machine_json());
    cJSON_AddItemToObject(r, "build", build_json(source_dir));
    return r;
}

int report_finish(cJSON *root) {
    int pass = 0, fail = 0, skipped = 0, error = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "checks")) {
        const char *st = rj_str(c, "status");
        if (!strcmp(st, "pass"))
            pass++;
        else if (!strcmp(st, "fail"))
            fail++;
        else if (!strcmp(st, "skipped"))
            skipped++;
        else
            error++;
    }
    /* nothing verified at all (every fixture absent) is not a pass */
    int code = fail ? 1 : (error || pass == 0) ? 2 : 0;
    cJSON *s = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddNumberToObject(s, "pass", pass);
    cJSON_AddNumberToObject(s, "fail", fail);
    cJSON_AddNumberToObject(s, "skipped", skipped);
    cJSON_AddNumberToObject(s, "error", error);
    cJSON_AddStringToObject(s, "result", code == 0 ? "pass" : code == 1 ? "fail" : "error");
    cJSON_AddNumberToObject(s, "exit_code", code);
    double load[3];
    if (getloadavg(load, 3) == 3) {
        cJSON *l = cJSON_AddArrayToObject(cJSON_GetObjectItem(root, "machine"), "loadavg_end");
        for (int i = 0; i < 3; i++) cJSON_AddItemToArray(l, cJSON_CreateNumber(load[i]));
    }
    return code;
}

/* JSON has no NaN or infinity and must be UTF-8: NaN/inf numbers become
 * null, each invalid byte of a string U+FFFD (a model's text, a baseline's
 * message and a cut prompt can all hold invalid UTF-8). */
bool rj_sanitize(cJSON *n) {
    for (; n; n = n->next) {
        if (cJSON_IsNumber(n) && !isfinite(n->valuedouble)) {
            n->type = cJSON_NULL;
        } else if (cJSON_IsString(n) && n->valuestring) {
            const char *s = n->valuestring;
            size_t len = strlen(s), bad = 0;
            for (size_t i = 0; i < len;) {
                size_t k = bn_utf8_valid_seq((const unsigned char *)s + i, len - i);
                bad += k == 0;
                i += k ? k : 1;
            }
            if (bad) {
                char *fixed = malloc(len + 2 * bad + 1);
                if (!fixed) return false;
                size_t w = 0;
                for (size_t i = 0; i < len;) {
                    size_t k = bn_utf8_valid_seq((const unsigned char *)s + i, len - i);
                    if (k) {
                        memcpy(fixed + w, s + i, k);
                        w += k;
                        i += k;
                    } else {
                        memcpy(fixed + w, "\xEF\xBF\xBD", 3);
                        w += 3;
                        i++;
                    }
                }
                fixed[w] = '\0';
                cJSON_free(n->valuestring);
                n->valuestring = fixed; /* cJSON frees it with free(), its default allocator */
            }
        }
        if (n->child && !rj_sanitize(n->child)) return false;
    }
    return true;
}

bool report_write_json(const cJSON *root, const char *path) {
    cJSON *copy = cJSON_Duplicate(root, true);
    if (!copy || !rj_sanitize(copy)) {
        cJSON_Delete(copy);
        return false;
    }
    char *text = cJSON_Print(copy);
    cJSON_Delete(copy);
    if (!text) return false;
    bool ok = vu_write_file(path, text, strlen(text));
    free(text);
    return ok;
}

bool report_write_all(cJSON *root, const char *dir) {
    char path[4200], hist[4200];
    bool ok = true;
    snprintf(hist, sizeof hist, "%s/history.jsonl", dir);
    /* history first, so the trend plot includes this run */
    if (!report_history_append(root, hist)) {
        fprintf(stderr, "bitnet-validate: cannot append to %s\n", hist);
        ok = false;
    }
    report_plots(root, dir, hist);
    static const char *const names[] = {"report.json", "report.md", "junit.xml", "report.html"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        bool done = i == 0   ? report_write_json(root, path)
                    : i == 1 ? report_write_md(root, path)
                    : i == 2 ? report_write_junit(root, path)
                             : report_write_html(root, dir, path);
        if (!done) {
            fprintf(stderr, "bitnet-validate: cannot write %s\n", path);
            ok = false;
        }
    }
    return ok;
}
