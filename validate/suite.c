/* Making a suite's fixtures: generating them with `bitnet fixture` (cached by
 * arguments), deriving the deliberately corrupted ones, hashing them. The
 * suite file itself is read by suite_parse.c. */
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "subproc.h"
#include "types.h"

/* ---- derivations: deliberate corruptions for the negative tests ---- */

bool fixture_shuffle_tensor(const char *src, const char *dst, const char *tensor, uint64_t seed,
                            verr *e) {
    bn_gguf *g = NULL;
    if (bn_gguf_open(src, false, &g) != BITNET_OK) {
        verr_set(e, "%s", bitnet_get_last_error());
        return false;
    }
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, tensor);
    if (!t) {
        verr_set(e, "%s: no tensor '%s' to shuffle", src, tensor);
        bn_gguf_close(g);
        return false;
    }
    uint8_t *copy = malloc(g->size);
    if (!copy) {
        bn_gguf_close(g);
        return false;
    }
    memcpy(copy, g->base, g->size);
    uint8_t *data = copy + (t->data - g->base);
    /* Permute whole elements: for I2_S the packed code bytes (leaving the scale
     * in the tail intact, so the values stay ternary and finite); for other
     * types whole blocks. The matrix then holds the right values in the wrong
     * places - what a wrong layout or a bad repack would produce. */
    size_t unit = 1, count = t->nbytes;
    if (t->type == BN_TYPE_I2_S) {
        count = t->nbytes - BN_I2S_TAIL;
    } else {
        const bn_type_traits *tr = bn_type_get(t->type);
        unit = tr && tr->type_size ? tr->type_size : 1;
        count = t->nbytes / unit;
    }
    uint64_t st = seed;
    uint8_t tmp[256];
    for (size_t i = count - 1; i > 0 && unit <= sizeof tmp; i--) {
        size_t j = (size_t)(vu_splitmix(&st) % (i + 1));
        memcpy(tmp, data + i * unit, unit);
        memcpy(data + i * unit, data + j * unit, unit);
        memcpy(data + j * unit, tmp, unit);
    }
    bool ok = vu_write_file(dst, (const char *)copy, g->size);
    if (!ok) verr_set(e, "%s: cannot write", dst);
    free(copy);
    bn_gguf_close(g);
    return ok;
}

bool fixture_relabel_arch(const char *src, const char *dst, const char *arch, verr *e) {
    bn_gguf *g = NULL;
    if (bn_gguf_open(src, true, &g) != BITNET_OK) {
        verr_set(e, "%s", bitnet_get_last_error());
        return false;
    }
    bn_gguf_str old;
    if (bn_gguf_get_str(g, "general.architecture", &old) != BITNET_OK || old.len >= 64) {
        verr_set(e, "%s: no general.architecture", src);
        bn_gguf_close(g);
        return false;
    }
    char prefix[72];
    snprintf(prefix, sizeof prefix, "%.*s.", (int)old.len, old.ptr);
    size_t plen = strlen(prefix);
    bn_gguf_writer *w = bn_gguf_writer_new();
    bool ok = w != NULL;
    for (uint64_t i = 0; ok && i < g->n_kv; i++) {
        bn_gguf_kv kv = g->kv[i];
        char key[256];
        if (strcmp(kv.key, "general.architecture") == 0) {
            ok = bn_gguf_set_str(w, kv.key, arch) == BITNET_OK;
            continue;
        }
        if (strcmp(kv.key, "general.alignment") == 0) continue; /* the writer sets its own */
        if (strncmp(kv.key, prefix, plen) == 0) {
            snprintf(key, sizeof key, "%s.%s", arch, kv.key + plen);
            kv.key = key;
        }
        ok = bn_gguf_set_kv_copy(w, &kv) == BITNET_OK;
    }
    for (uint64_t i = 0; ok && i < g->n_tensors; i++) {
        const bn_gguf_tensor *t = &g->tensors[i];
        ok = bn_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, false) ==
             BITNET_OK;
    }
    if (ok) ok = bn_gguf_write(w, dst) == BITNET_OK;
    if (!ok) verr_set(e, "%s -> %s: %s", src, dst, bitnet_get_last_error());
    bn_gguf_writer_free(w);
    bn_gguf_close(g);
    return ok;
}

/* ---- making the fixtures ---- */

static vfixture *find(vsuite *s, const char *name) {
    for (int i = 0; i < s->n_fixtures; i++)
        if (strcmp(s->fixtures[i].name, name) == 0) return &s->fixtures[i];
    return NULL;
}

static void make_one(vsuite *s, vfixture *f, const char *bitnet_bin, const char *dir, int depth) {
    if (f->ready || f->skip_reason[0]) return;
    if (depth > 4) {
        snprintf(f->skip_reason, sizeof f->skip_reason, "derivation chain too deep");
        return;
    }
    if (f->src_path[0]) {
        if (!vu_file_exists(f->src_path)) {
            snprintf(f->skip_reason, sizeof f->skip_reason, "model file %s is absent", f->src_path);
            return;
        }
        snprintf(f->path, sizeof f->path, "%s", f->src_path);
    } else if (f->gen_args) {
        /* cached by the arguments: the same arguments give the same file */
        vstr key = {0};
        for (int i = 0; i < f->n_gen_args; i++) vs_printf(&key, "%s\n", f->gen_args[i]);
        char hex[65];
        vu_sha256_hex(key.s ? key.s : "", key.len, hex);
        vs_free(&key);
        snprintf(f->path, sizeof f->path, "%s/%s-%.12s.gguf", dir, f->name, hex);
        if (!vu_file_exists(f->path)) {
            char tmp[4200];
            snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
            char **argv = calloc((size_t)f->n_gen_args + 5, sizeof *argv);
            int n = 0;
            argv[n++] = (char *)bitnet_bin;
            argv[n++] = "fixture";
            for (int i = 0; i < f->n_gen_args; i++) argv[n++] = f->gen_args[i];
            argv[n++] = "-o";
            argv[n++] = tmp;
            vstr err = {0};
            int rc = sp_run(argv, NULL, 600, NULL, NULL, &err);
            free(argv);
            if (rc != 0 || rename(tmp, f->path) != 0) {
                char sb[64];
                snprintf(f->skip_reason, sizeof f->skip_reason,
                         "`bitnet fixture` failed (%s): %.300s", sp_status_str(rc, sb, sizeof sb),
                         err.s ? err.s : "");
                char *nl = strchr(f->skip_reason, '\n');
                if (nl) *nl = '\0';
                vs_free(&err);
                remove(tmp);
                return;
            }
            vs_free(&err);
        }
    } else {
        vfixture *from = find(s, f->derive_from);
        make_one(s, from, bitnet_bin, dir, depth + 1);
        if (!from->ready) {
            snprintf(f->skip_reason, sizeof f->skip_reason, "its source fixture %s: %s", from->name,
                     from->skip_reason);
            return;
        }
        char tag[160];
        snprintf(tag, sizeof tag, "%s|%s|%llu|%s", from->sha256, f->shuffle_tensor,
                 (unsigned long long)f->shuffle_seed, f->relabel_arch);
        char hex[65];
        vu_sha256_hex(tag, strlen(tag), hex);
        snprintf(f->path, sizeof f->path, "%s/%s-%.12s.gguf", dir, f->name, hex);
        if (!vu_file_exists(f->path)) {
            verr e = {{0}};
            char tmp[4200];
            snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
            bool ok = true;
            const char *cur = from->path;
            if (f->relabel_arch[0]) {
                ok = fixture_relabel_arch(cur, tmp, f->relabel_arch, &e);
                cur = tmp;
            }
            if (ok && f->shuffle_tensor[0])
                ok = fixture_shuffle_tensor(cur, tmp, f->shuffle_tensor, f->shuffle_seed, &e);
            if (ok && !f->relabel_arch[0] && !f->shuffle_tensor[0]) {
                ok = false;
                verr_set(&e, "derive needs shuffle_tensor or relabel_arch");
            }
            if (!ok || rename(tmp, f->path) != 0) {
                snprintf(f->skip_reason, sizeof f->skip_reason, "cannot derive: %s", e.msg);
                remove(tmp);
                return;
            }
        }
    }
    bool hashed = vu_is_hf_dir(f->path) ? vu_sha256_dir(f->path, f->sha256)
                                        : vu_sha256_file(f->path, f->sha256);
    if (!hashed) {
        snprintf(f->skip_reason, sizeof f->skip_reason, "cannot read %s", f->path);
        return;
    }
    f->ready = true;
}

void suite_prepare(vsuite *s, const char *bitnet_bin, const char *fixture_dir, bool quick) {
    (void)quick;
    vu_mkdir_p(fixture_dir);
    for (int i = 0; i < s->n_fixtures; i++) {
        vfixture *f = &s->fixtures[i];
        make_one(s, f, bitnet_bin, fixture_dir, 0);
        fprintf(stderr, "[fixture] %-28s %s\n", f->name, f->ready ? f->path : f->skip_reason);
    }
    for (int i = 0; i < s->n_fixtures; i++) {
        vfixture *f = &s->fixtures[i];
        if (!f->ready || !f->reference[0]) continue;
        vfixture *r = find(s, f->reference);
        if (!r->ready) {
            snprintf(f->skip_reason, sizeof f->skip_reason, "its reference fixture %s: %s", r->name,
                     r->skip_reason);
            f->ready = false;
        } else {
            snprintf(f->reference_path, sizeof f->reference_path, "%s", r->path);
        }
    }
}
