#include "bitnetcpp_parse.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int32_t bcpp_parse_ids(const char *out, int32_t **ids) {
    *ids = NULL;
    const char *open = NULL;
    for (const char *p = out; (p = strchr(p, '[')) != NULL; p++) open = p; /* the last list */
    if (!open || !strchr(open, ']')) return -1;
    int32_t cap = 16, n = 0;
    int32_t *v = malloc(sizeof *v * (size_t)cap);
    if (!v) return -1;
    const char *p = open + 1;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\n') p++;
        if (*p == ']') break;
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p) {
            free(v);
            return -1;
        }
        if (n == cap) {
            int32_t *w = realloc(v, sizeof *v * (size_t)(cap *= 2));
            if (!w) {
                free(v);
                return -1;
            }
            v = w;
        }
        v[n++] = (int32_t)x;
        p = end;
    }
    *ids = v;
    return n;
}

int bcpp_parse_bench_json(const char *out, double *pp_tps, double *tg_tps) {
    *pp_tps = *tg_tps = 0;
    const char *start = strchr(out, '['); /* logs may precede the JSON */
    cJSON *root = start ? cJSON_Parse(start) : NULL;
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return -1;
    }
    int found = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, root) {
        double np = cJSON_GetNumberValue(cJSON_GetObjectItem(run, "n_prompt"));
        double ng = cJSON_GetNumberValue(cJSON_GetObjectItem(run, "n_gen"));
        double ts = cJSON_GetNumberValue(cJSON_GetObjectItem(run, "avg_ts"));
        if (!(ts > 0)) continue;
        if (np > 0 && ng == 0) {
            *pp_tps = ts;
            found++;
        } else if (ng > 0 && np == 0) {
            *tg_tps = ts;
            found++;
        }
    }
    cJSON_Delete(root);
    return found ? 0 : -1;
}

char *bcpp_clean_completion(const char *out) {
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) n--;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, out, n);
    s[n] = '\0';
    return s;
}

bool bcpp_cannot_load(const char *msg) {
    /* the phrasings of llama-cli/-tokenize/-perplexity ("unable to" / "could
     * not load model"), llama-bench ("failed to load model") and the loader
     * itself ("error loading model", "unknown model architecture") */
    static const char *const phrases[] = {"could not load model", "unable to load model",
                                          "failed to load model", "error loading model",
                                          "unknown model architecture"};
    for (int i = 0; i < 5; i++)
        if (strstr(msg, phrases[i])) return true;
    return false;
}
