/* Reading a suite file, which is untrusted input: the text is bounded (size,
 * nesting depth, UTF-8, no NUL) before cJSON sees it, every key must be
 * known, every value is checked for type, integrality and range before it is
 * converted, names are restricted to a charset that is safe as a file name
 * and in every report format, and nothing that would make a check silently
 * vanish (an empty prompt list, n_tokens 1) is accepted. Limits: suite.h.
 * Messages read "FILE: KEY.PATH: what is wrong". */
#include <cjson/cJSON.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "suite.h"

typedef struct sctx {
    const char *file; /* for messages */
    verr *e;
} sctx;

static bool fail(sctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(sctx *c, const char *where, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    verr_set(c->e, "%s: %s%s%s", c->file, where, where[0] ? ": " : "", msg);
    return false;
}

/* A key path: parent.key, or parent[i]. Paths are at most a few levels of
 * known keys and tolerance names (<= 63 bytes), so a cut one is unusual, and
 * still names the place. */
static void key_path(char *out, size_t size, const char *parent, const char *key) {
    if (snprintf(out, size, "%s%s%s", parent, parent[0] ? "." : "", key) >= (int)size)
        out[size - 1] = '\0';
}

static void index_path(char *out, size_t size, const char *parent, int i) {
    if (snprintf(out, size, "%s[%d]", parent, i) >= (int)size) out[size - 1] = '\0';
}

/* A value as a message shows it: numbers as written, strings quoted and cut,
 * anything unprintable as '?'. */
static void describe(const cJSON *v, char *buf, size_t size) {
    if (cJSON_IsNumber(v)) {
        snprintf(buf, size, "%.15g", v->valuedouble);
    } else if (cJSON_IsString(v)) {
        size_t w = 0;
        if (size < 8) {
            snprintf(buf, size, "\"\"");
            return;
        }
        buf[w++] = '"';
        const char *s = v->valuestring;
        size_t n = 0;
        for (; s[n] && n < 40 && w + 5 < size; n++)
            buf[w++] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
        if (s[n]) buf[w++] = '.', buf[w++] = '.', buf[w++] = '.';
        buf[w++] = '"';
        buf[w] = '\0';
    } else {
        snprintf(buf, size, "%s",
                 cJSON_IsArray(v)    ? "an array"
                 : cJSON_IsObject(v) ? "an object"
                 : cJSON_IsTrue(v)   ? "true"
                 : cJSON_IsFalse(v)  ? "false"
                                     : "null");
    }
}

/* Every member of o must be one of allowed[], and appear once. A duplicate
 * of an allowed key shows up within the first n_allowed + 1 members, so this
 * stays linear in the size of the object. */
static bool check_keys(sctx *c, const cJSON *o, const char *where, const char *const *allowed,
                       int n_allowed) {
    const cJSON *it;
    cJSON_ArrayForEach(it, o) {
        bool known = false;
        for (int i = 0; i < n_allowed && !known; i++) known = !strcmp(it->string, allowed[i]);
        if (!known) {
            cJSON k = {.type = cJSON_String, .valuestring = it->string};
            char d[64], list[256] = "";
            describe(&k, d, sizeof d);
            for (int i = 0, w = 0; i < n_allowed && w < (int)sizeof list; i++)
                w += snprintf(list + w, sizeof list - (size_t)w, "%s%s", i ? ", " : "", allowed[i]);
            return fail(c, where, "unknown key %s (known: %s)", d, list);
        }
        for (const cJSON *p = o->child; p != it; p = p->next)
            if (!strcmp(p->string, it->string))
                return fail(c, where, "duplicate key \"%s\"", it->string);
    }
    return true;
}

static bool want_object(sctx *c, const cJSON *v, const char *where) {
    if (cJSON_IsObject(v)) return true;
    char d[64];
    describe(v, d, sizeof d);
    return fail(c, where, "must be an object, got %s", d);
}

/* An integer member in lo..hi; absent leaves *out alone. */
static bool get_int(sctx *c, const cJSON *o, const char *key, const char *parent, double lo,
                    double hi, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return true;
    char where[256];
    key_path(where, sizeof where, parent, key);
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(x) || x != floor(x) || x < lo || x > hi) {
        char d[64];
        describe(v, d, sizeof d);
        return fail(c, where, "must be an integer in %.0f..%.0f, got %s", lo, hi, d);
    }
    *out = (int64_t)x; /* exact: integral and within range */
    return true;
}

static bool get_i32(sctx *c, const cJSON *o, const char *key, const char *parent, int32_t lo,
                    int32_t hi, int32_t *out) {
    int64_t x = *out;
    if (!get_int(c, o, key, parent, lo, hi, &x)) return false;
    *out = (int32_t)x;
    return true;
}

static bool get_num(sctx *c, const cJSON *o, const char *key, const char *parent, double lo,
                    double hi, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return true;
    char where[256];
    key_path(where, sizeof where, parent, key);
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(x) || x < lo || x > hi) {
        char d[64];
        describe(v, d, sizeof d);
        return fail(c, where, "must be a number in %g..%g, got %s", lo, hi, d);
    }
    *out = x;
    return true;
}

bool suite_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > BV_SUITE_NAME_MAX || name[0] == '.' || name[0] == '-') return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

enum { STR_ANY = 0, STR_NAME = 1 };

/* A string member that fits out (size bytes, NUL included) without being
 * cut; STR_NAME: also suite_name_ok. Absent: *present false (when given). */
static bool get_str(sctx *c, const cJSON *o, const char *key, const char *parent, int kind,
                    char *out, size_t size, bool *present) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (present) *present = v != NULL;
    if (!v) return true;
    char where[256], d[64];
    key_path(where, sizeof where, parent, key);
    describe(v, d, sizeof d);
    if (!cJSON_IsString(v)) return fail(c, where, "must be a string, got %s", d);
    size_t n = strlen(v->valuestring);
    if (kind == STR_NAME && !suite_name_ok(v->valuestring))
        return fail(c, where,
                    "%s is not a valid name (1-%d characters of A-Z a-z 0-9 . _ -, not starting "
                    "with '.' or '-')",
                    d, BV_SUITE_NAME_MAX);
    if (n == 0) return fail(c, where, "must not be empty");
    if (n >= size) return fail(c, where, "longer than %zu bytes", size - 1);
    memcpy(out, v->valuestring, n + 1);
    return true;
}

/* A non-empty array of non-empty strings, each under max_len bytes. */
static bool get_str_array(sctx *c, const cJSON *a, const char *where, int max_items, size_t max_len,
                          char ***out, int *n_out) {
    char d[64];
    describe(a, d, sizeof d);
    if (!cJSON_IsArray(a)) return fail(c, where, "must be an array of strings, got %s", d);
    int count = cJSON_GetArraySize(a);
    if (count == 0) return fail(c, where, "must not be empty");
    if (count > max_items) return fail(c, where, "has %d entries, at most %d", count, max_items);
    char **v = calloc((size_t)count + 1, sizeof *v);
    if (!v) return fail(c, where, "out of memory");
    int n = 0;
    const cJSON *it;
    bool ok = true;
    cJSON_ArrayForEach(it, a) {
        char at[256];
        index_path(at, sizeof at, where, n);
        describe(it, d, sizeof d);
        if (!cJSON_IsString(it)) {
            ok = fail(c, at, "must be a string, got %s", d);
        } else if (!it->valuestring[0]) {
            ok = fail(c, at, "must not be empty");
        } else if (strlen(it->valuestring) > max_len) {
            ok = fail(c, at, "longer than %zu bytes", max_len);
        } else if (!(v[n++] = strdup(it->valuestring))) {
            ok = fail(c, at, "out of memory");
        }
        if (!ok) break;
    }
    if (!ok) {
        for (int i = 0; i < n; i++) free(v[i]);
        free(v);
        return false;
    }
    *out = v;
    *n_out = n;
    return true;
}

static void free_strs(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* ---- tolerances ---- */

/* Built-in tolerance classes, calibrated in docs/validation.md: faithful
 * implementations on random ternary fixtures differ by mean KLD 0.001-0.003
 * with 95-97% top-1 agreement; real bugs give 0.5-5 and under 40%. The bounds
 * sit a few times above the faithful range and far below the buggy one. */
static void tol_builtin(const char *name, vtol *t) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kld_mean_max = 0.02;
    t->kld_p99_max = 0.25;
    t->top1_min = 0.90;
    t->nmse_max = 1e-2;
    /* exact mode (F32 engine vs float64 reference) measured +2.3% on 32
     * scored positions of a random fixture: perplexity of a few dozen
     * positions is noisy, KLD is the sharper test */
    t->ppl_rel_max = 0.05;
    t->greedy = GREEDY_NEAR_TIE;
    t->near_tie_eps = 0.1;
    if (strcmp(name, "peaked") == 0) {
        t->kld_mean_max = 0.01;
        t->top1_min = 0.98;
        t->ppl_rel_max = 0.02;
        t->greedy = GREEDY_EXACT;
    } else if (strcmp(name, "real") == 0) {
        t->top1_min = 0.95;
    } else if (strcmp(name, "hf") == 0) {
        /* Hugging Face fixtures against transformers (float32): two faithful
         * paths with identical codes differ by ~2e-3 / 95% and up to 0.45 logit
         * (research doc §7; libbitnet vs transformers measured 2.6e-3, 94.5%,
         * 0.40 max abs: docs/validation.md), so a greedy divergence where
         * transformers' top-2 gap is under half a logit is a near-tie */
        t->kld_mean_max = 5e-3;
        t->near_tie_eps = 0.5;
    }
}

static bool is_builtin_tol(const char *name) {
    return !strcmp(name, "random") || !strcmp(name, "peaked") || !strcmp(name, "real") ||
           !strcmp(name, "hf");
}

static bool tol_apply(sctx *c, const cJSON *o, const char *where, vtol *t) {
    static const char *const keys[] = {"kld_mean_max", "kld_p99_max",  "top1_min", "nmse_max",
                                       "ppl_rel_max",  "near_tie_eps", "greedy"};
    if (!want_object(c, o, where) || !check_keys(c, o, where, keys, 7)) return false;
    const double big = BV_SUITE_TOL_MAX;
    if (!get_num(c, o, "kld_mean_max", where, 0, big, &t->kld_mean_max) ||
        !get_num(c, o, "kld_p99_max", where, 0, big, &t->kld_p99_max) ||
        !get_num(c, o, "top1_min", where, 0, 1, &t->top1_min) ||
        !get_num(c, o, "nmse_max", where, 0, big, &t->nmse_max) ||
        !get_num(c, o, "ppl_rel_max", where, 0, big, &t->ppl_rel_max) ||
        !get_num(c, o, "near_tie_eps", where, 0, big, &t->near_tie_eps))
        return false;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "greedy");
    if (!g) return true;
    const char *s = cJSON_IsString(g) ? g->valuestring : "";
    if (!strcmp(s, "exact"))
        t->greedy = GREEDY_EXACT;
    else if (!strcmp(s, "near-tie"))
        t->greedy = GREEDY_NEAR_TIE;
    else if (!strcmp(s, "info"))
        t->greedy = GREEDY_INFO;
    else {
        char at[256], d[64];
        key_path(at, sizeof at, where, "greedy");
        describe(g, d, sizeof d);
        return fail(c, at, "must be \"exact\", \"near-tie\" or \"info\", got %s", d);
    }
    return true;
}

/* ---- checks ---- */

/* Which checks a "checks" object switched on or off, so that the merged
 * result can be judged once both levels are applied. */
typedef struct checks_seen {
    bool greedy_on; /* a "greedy" object was given somewhere */
    bool speed_on;
} checks_seen;

/* Check settings: suite-level "checks" first, then the fixture's own. */
static bool checks_apply(sctx *c, const cJSON *o, const char *where, vfixture *f,
                         checks_seen *seen) {
    if (!o) return true;
    static const char *const keys[] = {"logits", "greedy", "speed", "kld"};
    if (!want_object(c, o, where) || !check_keys(c, o, where, keys, 4)) return false;
    char at[256];

    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "logits");
    key_path(at, sizeof at, where, "logits");
    if (cJSON_IsFalse(l)) {
        f->logits_n = 0;
    } else if (l) {
        static const char *const lk[] = {"n_tokens", "seed"};
        if (!want_object(c, l, at) || !check_keys(c, l, at, lk, 2)) return false;
        if (f->logits_n == 0) f->logits_n = 64; /* switched back on: the default length */
        if (!get_i32(c, l, "n_tokens", at, BV_SUITE_LOGITS_MIN, BV_SUITE_LOGITS_MAX,
                     &f->logits_n) ||
            !get_i32(c, l, "seed", at, 0, INT32_MAX, &f->logits_seed))
            return false;
    }

    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "greedy");
    key_path(at, sizeof at, where, "greedy");
    if (cJSON_IsFalse(g)) {
        free_strs(f->prompts, f->n_prompts);
        f->prompts = NULL;
        f->n_prompts = 0;
        seen->greedy_on = false;
    } else if (g) {
        static const char *const gk[] = {"prompts", "n_predict"};
        if (!want_object(c, g, at) || !check_keys(c, g, at, gk, 2)) return false;
        seen->greedy_on = true;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(g, "prompts");
        if (p) {
            char pat[256];
            key_path(pat, sizeof pat, at, "prompts");
            char **v = NULL;
            int n = 0;
            if (!get_str_array(c, p, pat, BV_SUITE_MAX_PROMPTS, BV_SUITE_PROMPT_MAX, &v, &n))
                return false;
            free_strs(f->prompts, f->n_prompts);
            f->prompts = v;
            f->n_prompts = n;
        }
        if (!get_i32(c, g, "n_predict", at, 1, BV_SUITE_PREDICT_MAX, &f->n_predict)) return false;
    }

    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "speed");
    key_path(at, sizeof at, where, "speed");
    if (cJSON_IsFalse(s)) {
        f->pp = f->tg = 0;
        seen->speed_on = false;
    } else if (s) {
        static const char *const sk[] = {"pp", "tg"};
        if (!want_object(c, s, at) || !check_keys(c, s, at, sk, 2)) return false;
        if (!get_i32(c, s, "pp", at, 0, BV_SUITE_PP_MAX, &f->pp) ||
            !get_i32(c, s, "tg", at, 0, BV_SUITE_TG_MAX, &f->tg))
            return false;
        seen->speed_on = true;
        if (f->pp == 0 && f->tg == 0)
            return fail(c, at,
                        "pp and tg are both 0, which measures nothing (write false to "
                        "turn the speed check off)");
    }

    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kld");
    key_path(at, sizeof at, where, "kld");
    if (cJSON_IsFalse(k)) {
        f->kld_ctx = 0;
    } else if (k) {
        static const char *const kk[] = {"text", "ctx"};
        if (!want_object(c, k, at) || !check_keys(c, k, at, kk, 2)) return false;
        char text[4096];
        bool has_text = false;
        if (!get_str(c, k, "text", at, STR_ANY, text, sizeof text, &has_text)) return false;
        if (has_text) {
            free(f->kld_text);
            if (!(f->kld_text = strdup(text))) return fail(c, at, "out of memory");
        }
        if (f->kld_ctx == 0) f->kld_ctx = 128;
        if (!get_i32(c, k, "ctx", at, BV_SUITE_KLD_CTX_MIN, BV_SUITE_KLD_CTX_MAX, &f->kld_ctx))
            return false;
    }
    return true;
}

static void fixture_defaults(vfixture *f) {
    f->logits_n = 64;
    f->logits_seed = 1;
    f->n_predict = 16;
    f->pp = 64;
    f->tg = 16;
    f->kld_ctx = 128;
    tol_builtin("random", &f->tol);
}

/* ---- fixtures ---- */

static bool fixture_parse(sctx *c, const cJSON *it, const char *where, const char *dir,
                          const cJSON *tols, const cJSON *checks, vfixture *f) {
    static const char *const keys[] = {"name",      "generate",  "path",   "derive",
                                       "reference", "tolerance", "checks", "description"};
    if (!want_object(c, it, where) || !check_keys(c, it, where, keys, 8)) return false;
    fixture_defaults(f);
    bool has_name = false;
    if (!get_str(c, it, "name", where, STR_NAME, f->name, sizeof f->name, &has_name)) return false;
    if (!has_name) return fail(c, where, "has no \"name\"");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(it, "description");
    if (desc && !cJSON_IsString(desc)) {
        char at[256];
        key_path(at, sizeof at, where, "description");
        return fail(c, at, "must be a string");
    }

    char tname[32] = "random";
    if (!get_str(c, it, "tolerance", where, STR_NAME, tname, sizeof tname, NULL)) return false;
    tol_builtin(tname, &f->tol);
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(tols, tname);
    if (tv) {
        char at[256];
        key_path(at, sizeof at, "tolerances", tname);
        if (!tol_apply(c, tv, at, &f->tol)) return false;
    } else if (!is_builtin_tol(tname)) {
        char at[256];
        key_path(at, sizeof at, where, "tolerance");
        return fail(c, at,
                    "unknown tolerance \"%s\" (built in: random, peaked, real; others go "
                    "in \"tolerances\")",
                    tname);
    }

    const cJSON *args = cJSON_GetObjectItemCaseSensitive(it, "generate");
    if (args) {
        char at[256];
        key_path(at, sizeof at, where, "generate");
        if (!get_str_array(c, args, at, BV_SUITE_MAX_GEN_ARGS, 255, &f->gen_args, &f->n_gen_args))
            return false;
    }
    char p[4096];
    bool has_path = false;
    if (!get_str(c, it, "path", where, STR_ANY, p, sizeof p, &has_path)) return false;
    if (has_path) {
        bool abs = p[0] == '/';
        int w =
            snprintf(f->src_path, sizeof f->src_path, "%s%s%s", abs ? "" : dir, abs ? "" : "/", p);
        if (w < 0 || (size_t)w >= sizeof f->src_path) {
            char at[256];
            key_path(at, sizeof at, where, "path");
            return fail(c, at, "too long once joined to the suite's directory");
        }
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "derive");
    bool has_derive = d != NULL;
    if (d) {
        char at[256];
        key_path(at, sizeof at, where, "derive");
        static const char *const dk[] = {"from", "shuffle_tensor", "relabel_arch", "seed"};
        if (!want_object(c, d, at) || !check_keys(c, d, at, dk, 4)) return false;
        bool has_from = false, has_shuffle = false, has_relabel = false;
        if (!get_str(c, d, "from", at, STR_NAME, f->derive_from, sizeof f->derive_from,
                     &has_from) ||
            !get_str(c, d, "shuffle_tensor", at, STR_ANY, f->shuffle_tensor,
                     sizeof f->shuffle_tensor, &has_shuffle) ||
            !get_str(c, d, "relabel_arch", at, STR_NAME, f->relabel_arch, sizeof f->relabel_arch,
                     &has_relabel))
            return false;
        if (!has_from) return fail(c, at, "has no \"from\"");
        if (!has_shuffle && !has_relabel)
            return fail(c, at, "needs \"shuffle_tensor\" or \"relabel_arch\"");
        int64_t seed = 1;
        /* 2^53: every integer up to it is exact in a JSON number */
        if (!get_int(c, d, "seed", at, 0, 9007199254740992.0, &seed)) return false;
        f->shuffle_seed = (uint64_t)seed;
    }
    int kinds = (args != NULL) + has_path + has_derive;
    if (kinds != 1)
        return fail(c, where, "needs exactly one of \"generate\", \"path\", \"derive\" (has %d)",
                    kinds);
    if (!get_str(c, it, "reference", where, STR_NAME, f->reference, sizeof f->reference, NULL))
        return false;

    checks_seen seen = {0};
    char at[256];
    key_path(at, sizeof at, where, "checks");
    if (!checks_apply(c, checks, "checks", f, &seen) ||
        !checks_apply(c, cJSON_GetObjectItemCaseSensitive(it, "checks"), at, f, &seen))
        return false;
    if (seen.greedy_on && f->n_prompts == 0)
        return fail(c, where,
                    "the greedy check has no prompts (give checks.greedy.prompts, or "
                    "write \"greedy\": false)");
    return true;
}

/* ---- the text ---- */

/* Untrusted JSON goes through the library's strict layer (size, depth, UTF-8,
 * NUL escapes, duplicate keys; engine/util/json_util.c). */
static cJSON *parse_json(sctx *c, const char *text, size_t len) {
    size_t k = 0;
    while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r' || text[k] == '\n'))
        k++;
    if (k == len) {
        fail(c, "", "empty file (a suite is a JSON object)");
        return NULL;
    }
    char err[256];
    bn_json_limits lim = {.max_bytes = BV_SUITE_MAX_BYTES, .max_depth = BV_SUITE_MAX_DEPTH};
    cJSON *root = bn_json_parse(text, len, &lim, err, sizeof err);
    if (!root) fail(c, "", "%s", err);
    return root;
}

/* ---- the suite ---- */

bool suite_parse(const char *text, size_t len, const char *path, vsuite *s, verr *e) {
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    sctx ctx = {.file = path, .e = e}, *c = &ctx;
    if (len > BV_SUITE_MAX_BYTES)
        return fail(c, "", "larger than %u bytes (the limit for a suite)", BV_SUITE_MAX_BYTES);
    cJSON *root = parse_json(c, text, len);
    if (!root) return false;
    bool ok = false;
    static const char *const keys[] = {"schema", "name",   "description", "threads",
                                       "reps",   "checks", "tolerances",  "fixtures"};
    if (!cJSON_IsObject(root)) {
        fail(c, "", "the top level must be a JSON object");
        goto done;
    }
    if (!check_keys(c, root, "", keys, 8)) goto done;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "bitnet-validate-suite/1") != 0) {
        fail(c, "schema", "must be \"bitnet-validate-suite/1\"");
        goto done;
    }
    if (!get_str(c, root, "name", "", STR_NAME, s->name, sizeof s->name, NULL)) goto done;
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
    if (desc && !cJSON_IsString(desc)) {
        fail(c, "description", "must be a string");
        goto done;
    }
    s->threads = 1;
    s->reps = 5;
    int32_t threads = 1, reps = 5;
    if (!get_i32(c, root, "threads", "", 1, 1024, &threads) ||
        !get_i32(c, root, "reps", "", 1, 1000, &reps))
        goto done;
    s->threads = threads;
    s->reps = reps;
    const cJSON *tols = cJSON_GetObjectItemCaseSensitive(root, "tolerances");
    if (tols) {
        if (!want_object(c, tols, "tolerances")) goto done;
        if (cJSON_GetArraySize(tols) > BV_SUITE_MAX_TOLERANCES) {
            fail(c, "tolerances", "more than %d classes", BV_SUITE_MAX_TOLERANCES);
            goto done;
        }
        const cJSON *t;
        cJSON_ArrayForEach(t, tols) {
            char at[256];
            key_path(at, sizeof at, "tolerances", t->string);
            if (!suite_name_ok(t->string) || strlen(t->string) >= sizeof(((vtol *)0)->name)) {
                fail(c, "tolerances", "\"%.40s\" is not a valid class name", t->string);
                goto done;
            }
            for (const cJSON *p = tols->child; p != t; p = p->next)
                if (!strcmp(p->string, t->string)) {
                    fail(c, "tolerances", "duplicate key \"%s\"", t->string);
                    goto done;
                }
            vtol scratch;
            tol_builtin(t->string, &scratch);
            if (!tol_apply(c, t, at, &scratch)) goto done; /* checked even when unused */
        }
    }
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(root, "checks");
    if (checks && !want_object(c, checks, "checks")) goto done;
    const cJSON *fx = cJSON_GetObjectItemCaseSensitive(root, "fixtures");
    if (!cJSON_IsArray(fx) || cJSON_GetArraySize(fx) == 0) {
        fail(c, "fixtures", "must be a non-empty array");
        goto done;
    }
    if (cJSON_GetArraySize(fx) > BV_SUITE_MAX_FIXTURES) {
        fail(c, "fixtures", "has %d entries, at most %d", cJSON_GetArraySize(fx),
             BV_SUITE_MAX_FIXTURES);
        goto done;
    }
    /* the directory of the suite anchors relative "path" entries */
    char tmp[4096], dir[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(dir, sizeof dir, "%s", dirname(tmp)); /* dirname may write into tmp */
    s->fixtures = calloc((size_t)cJSON_GetArraySize(fx), sizeof *s->fixtures);
    if (!s->fixtures) {
        fail(c, "fixtures", "out of memory");
        goto done;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, fx) {
        char where[64];
        index_path(where, sizeof where, "fixtures", s->n_fixtures);
        vfixture *f = &s->fixtures[s->n_fixtures++];
        if (!fixture_parse(c, it, where, dir, tols, checks, f)) goto done;
        for (int j = 0; j < s->n_fixtures - 1; j++)
            if (!strcmp(s->fixtures[j].name, f->name)) {
                char at[96];
                key_path(at, sizeof at, where, "name");
                fail(c, at, "\"%s\" is already the name of fixtures[%d]", f->name, j);
                goto done;
            }
    }
    /* references must name other fixtures of this suite */
    for (int i = 0; i < s->n_fixtures; i++) {
        const char *names[2] = {s->fixtures[i].derive_from, s->fixtures[i].reference};
        const char *what[2] = {"derive.from", "reference"};
        for (int k = 0; k < 2; k++) {
            if (!names[k][0]) continue;
            bool found = false;
            for (int j = 0; j < s->n_fixtures; j++)
                if (j != i && strcmp(s->fixtures[j].name, names[k]) == 0) found = true;
            if (!found) {
                char at[96];
                snprintf(at, sizeof at, "fixtures[%d].%s", i, what[k]);
                fail(c, at, "\"%s\" is not another fixture of this suite", names[k]);
                goto done;
            }
        }
    }
    ok = true;
done:
    cJSON_Delete(root);
    if (!ok) suite_free(s);
    return ok;
}

bool suite_load(const char *path, vsuite *s, verr *e) {
    memset(s, 0, sizeof *s);
    size_t len = 0;
    char *text = vu_read_file_max(path, BV_SUITE_MAX_BYTES, &len, e);
    if (!text) return false;
    bool ok = suite_parse(text, len, path, s, e);
    free(text);
    return ok;
}

bool suite_from_models(char **paths, int n, vsuite *s, verr *e) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "models");
    s->threads = 1;
    s->reps = 5;
    s->fixtures = calloc((size_t)n, sizeof *s->fixtures);
    if (!s->fixtures) {
        verr_set(e, "out of memory");
        return false;
    }
    static const char *prompts[] = {"The capital of France is", "Once upon a time"};
    for (int i = 0; i < n; i++) {
        vfixture *f = &s->fixtures[s->n_fixtures++];
        fixture_defaults(f);
        tol_builtin("real", &f->tol);
        /* the file's base name, made a valid and unique fixture name */
        const char *base = strrchr(paths[i], '/');
        base = base ? base + 1 : paths[i];
        char safe[49];
        size_t w = 0;
        for (size_t k = 0; base[k] && w < sizeof safe - 1; k++, w++) {
            char ch = base[k];
            bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
            safe[w] = ok && !(w == 0 && (ch == '.' || ch == '-')) ? ch : '_';
        }
        safe[w] = '\0';
        snprintf(f->name, sizeof f->name, "%s", w ? safe : "model");
        for (int k = 2, j = 0; j < i; j++)
            if (!strcmp(s->fixtures[j].name, f->name)) {
                snprintf(f->name, sizeof f->name, "%s-%d", w ? safe : "model", k++);
                j = -1; /* look again */
            }
        snprintf(f->src_path, sizeof f->src_path, "%s", paths[i]);
        f->prompts = calloc(3, sizeof *f->prompts);
        for (int k = 0; k < 2 && f->prompts; k++) f->prompts[f->n_prompts++] = strdup(prompts[k]);
        f->n_predict = 32;
        f->pp = 128;
        f->tg = 32;
    }
    return true;
}

void suite_free(vsuite *s) {
    for (int i = 0; i < s->n_fixtures; i++) {
        vfixture *f = &s->fixtures[i];
        free_strs(f->gen_args, f->n_gen_args);
        free_strs(f->prompts, f->n_prompts);
        free(f->kld_text);
    }
    free(s->fixtures);
    memset(s, 0, sizeof *s);
}
