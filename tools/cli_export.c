/* Shared by cmd_convert.c and cmd_quantize.c (cli_export.h). */
#include "cli_export.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "types.h"

bool cli_export_type_value(cli_args *a, bool projection, uint32_t *type) {
    const char *v = NULL;
    return cli_args_value(a, &v) && cli_export_type_parse(a, a->flag, v, projection, type);
}

bool cli_export_type_parse(cli_args *a, const char *flag, const char *v, bool projection,
                           uint32_t *type) {
    const bn_export_type *t = bn_export_type_find(v);
    if (t && (projection ? t->projection : t->embedding)) {
        *type = t->type;
        return true;
    }
    return cli_args_fail(a, "%s: '%s' is not one of %s", flag, v, bn_export_type_list(projection));
}

static const char *const ternarize_names[] = {"auto", "absmean", "presigned", NULL};

bool cli_export_common_flag(cli_args *a, export_options *o, bool *ok) {
    *ok = true;
    if (cli_args_is(a, NULL, "--token-embedding-type"))
        *ok = cli_export_type_value(a, false, &o->params.embd_type);
    else if (cli_args_is(a, NULL, "--output-tensor-type"))
        *ok = cli_export_type_value(a, false, &o->params.output_type);
    else if (cli_args_is(a, NULL, "--ternarize")) {
        int k = 0;
        *ok = cli_args_choice(a, ternarize_names, &k);
        if (*ok) o->params.ternarize = (bn_ternarize_mode)k;
    } else if (cli_args_is(a, NULL, "--name"))
        *ok = cli_args_value(a, &o->params.name);
    else if (cli_args_is(a, "-q", "--quiet"))
        o->quiet = true;
    else if (cli_args_model_flag(a, &o->load))
        ;
    else
        return false;
    return true;
}

typedef struct progress_state {
    const char *cmd;
    double t0;
    int last_pct;
} progress_state;

/* One status line on stderr, rewritten in place (only on a terminal). */
static void show_progress(void *user, uint64_t done, uint64_t total, int32_t tensor,
                          int32_t n_tensors, const char *name) {
    progress_state *ps = user;
    const int pct = total ? (int)(done * 100 / total) : 100;
    if (pct == ps->last_pct && tensor != n_tensors) return;
    ps->last_pct = pct;
    fprintf(stderr, "\rbitnet %s: %3d%% [%d/%d] %-32.32s %6.1f s", ps->cmd, pct, tensor, n_tensors,
            name, (cli_now_ms() - ps->t0) / 1000.0);
    if (tensor == n_tensors) fputc('\n', stderr);
    fflush(stderr);
}

static bool is_float_type(uint32_t t) {
    return t == BN_TYPE_F32 || t == BN_TYPE_F16 || t == BN_TYPE_BF16;
}

/* quantize: like llama-quantize, the input holds float projections. */
static bool check_float_source(const char *cmd, const bitnet_model *m, const char *path) {
    for (int il = 0; il < m->hp.n_layer; il++) {
        const bn_layer *L = &m->layers[il];
        const bn_weight *ws[] = {&L->wq,       &L->wk,     &L->wv,      &L->wo,
                                 &L->ffn_gate, &L->ffn_up, &L->ffn_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
            if (is_float_type(ws[i]->type)) continue;
            const bn_gguf_tensor *t = m->file ? bn_gguf_find_tensor(m->file, ws[i]->name) : NULL;
            fprintf(stderr,
                    "bitnet %s: %s: tensor '%s' is %s, not a float type: quantize reads F32, "
                    "F16 or BF16 models (use `bitnet convert` to re-encode a ternary file)\n",
                    cmd, path, ws[i]->name, bn_type_name(t ? t->type : ws[i]->type));
            return false;
        }
    }
    return true;
}

int cli_export_run(const char *cmd, export_options *o, bool float_only) {
    bitnet_model *m = cli_load_model_opts(cmd, o->src, false, &o->load);
    if (!m) return CLI_RUNTIME;
    if (float_only && !check_float_source(cmd, m, o->src)) {
        bitnet_model_free(m);
        return CLI_RUNTIME;
    }
    progress_state ps = {cmd, cli_now_ms(), -1};
    if (isatty(STDERR_FILENO) && !o->quiet) {
        o->params.progress = show_progress;
        o->params.progress_user = &ps;
    }
    bn_export_result r;
    bitnet_status st = bn_export_gguf(m, &o->params, o->out, &r);
    bitnet_model_free(m);
    if (st) {
        fprintf(stderr, "bitnet %s: %s\n", cmd, bitnet_get_last_error());
        return st == BITNET_ERR_INVALID_ARGUMENT ? CLI_USAGE : CLI_RUNTIME;
    }
    if (!o->quiet) {
        printf("wrote %s: %.2f MiB, %d tensors, %.1f s\n", o->out, (double)r.file_bytes / 1048576.0,
               r.n_tensors, (cli_now_ms() - ps.t0) / 1000.0);
        printf("  projections: %d re-encoded from ternary codes, %d float already ternary, %d "
               "ternarized by absmean, %d written as float\n",
               r.n_codes, r.n_presigned, r.n_absmean, r.n_float);
        if (r.n_scale_rounded)
            printf("  note: %d projections had a scale (or values) that F16 rounds: their "
                   "weights changed by that rounding\n",
                   r.n_scale_rounded);
        if (r.n_absmean)
            printf("  note: absmean ternarization of master weights is lossy by design (spec "
                   "1.1): compare the outputs before relying on them\n");
    }
    return cli_finish_stdout(cmd);
}
