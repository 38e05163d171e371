/* Checks against Hugging Face transformers on a Hugging Face directory
 * fixture: tokenization (identical ids from transformers' AutoTokenizer),
 * teacher-forced logits of every libbitnet ISA (KLD, top-1, NMSE, max abs,
 * perplexity, against the fixture's tolerance: class `hf` = mean KLD <= 5e-3,
 * top-1 >= 90%) and greedy tokens (first divergence, near-tie by
 * transformers' own top-2 margin), exactly as against the other baselines.
 * When transformers is not installed the fixture gets one "skipped, because
 * ..." entry: never a pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static void tf_logits(vrun *r, vfixture *f, const bool *lib_ok, bitnet_model *meta) {
    vbackend *tf = r->tf;
    int32_t n = f->logits_n, nv = bitnet_model_n_vocab(meta);
    int32_t *tokens = malloc(sizeof(int32_t) * (size_t)n);
    if (!tokens) return;
    /* the same seeded tokens as the other baselines get (run.c) */
    run_random_tokens(tokens, n, nv, bitnet_add_bos(meta) ? bitnet_token_bos(meta) : -1,
                      (uint64_t)f->logits_seed);
    vb_logits ref = {0};
    verr e = {{0}};
    if (tf->logits(tf, tokens, n, &ref, &e) != 0) {
        run_add_check(r, "logits", f->name, r->libs[0]->name, tf->name, "error", "%s", e.msg);
        free(tokens);
        return;
    }
    for (int i = 0; i < r->n_libs; i++) {
        if (!lib_ok[i]) continue;
        vb_logits lib = {0};
        if (r->libs[i]->logits(r->libs[i], tokens, n, &lib, &e) != 0) {
            run_add_check(r, "logits", f->name, r->libs[i]->name, tf->name, "error", "%s", e.msg);
            continue;
        }
        cmp_logit_stats s;
        if (cmp_logits(&ref, &lib, tokens, &s) != 0)
            run_add_check(r, "logits", f->name, r->libs[i]->name, tf->name, "error",
                          "shapes differ: transformers %d x %d, libbitnet %d x %d", ref.n_pos,
                          ref.n_vocab, lib.n_pos, lib.n_vocab);
        else
            run_judge_logits(r, f, r->libs[i]->name, tf->name, &s);
        cmp_logit_stats_free(&s);
        vb_logits_free(&lib);
    }
    vb_logits_free(&ref);
    free(tokens);
}

static void tf_greedy(vrun *r, vfixture *f, const bool *lib_ok, int primary) {
    vbackend *tf = r->tf, *pb = r->libs[primary];
    greedy_acc acc[BV_MAX_IMPLS];
    memset(acc, 0, sizeof acc);
    for (int i = 0; i < r->n_libs; i++) acc[i].results = cJSON_CreateArray();
    bool failed[BV_MAX_IMPLS] = {0}, tf_failed = false;
    for (int p = 0; p < f->n_prompts && !tf_failed; p++) {
        int32_t *toks = NULL, nt = 0;
        verr e = {{0}};
        /* both sides continue the same ids (the tokenize check compares how
         * each one gets there) */
        if (pb->tokenize(pb, f->prompts[p], &toks, &nt, &e) != 0 || nt == 0) {
            run_add_check(r, "greedy", f->name, pb->name, tf->name, "error",
                          "cannot tokenize prompt %d: %s", p, e.msg);
            free(toks);
            continue;
        }
        vb_gen ref = {0};
        if (tf->generate(tf, toks, nt, f->n_predict, &ref, &e) != 0) {
            run_add_check(r, "greedy", f->name, pb->name, tf->name, "error", "%s", e.msg);
            tf_failed = true;
            free(toks);
            break;
        }
        for (int i = 0; i < r->n_libs; i++) {
            if (!lib_ok[i] || failed[i]) continue;
            vb_gen g = {0};
            if (r->libs[i]->generate(r->libs[i], toks, nt, f->n_predict, &g, &e) != 0) {
                run_add_check(r, "greedy", f->name, r->libs[i]->name, tf->name, "error", "%s",
                              e.msg);
                failed[i] = true;
            } else {
                run_greedy_add(&acc[i], f->prompts[p], &ref, &g, (float)f->tol.near_tie_eps);
            }
            vb_gen_free(&g);
        }
        vb_gen_free(&ref);
        free(toks);
    }
    for (int i = 0; i < r->n_libs; i++) {
        if (lib_ok[i] && !failed[i] && !tf_failed)
            run_greedy_finish(r, f, r->libs[i]->name, tf->name, &acc[i]);
        cJSON_Delete(acc[i].results);
    }
}

void run_transformers_checks(vrun *r, vfixture *f, const bool *lib_ok, bitnet_model *meta) {
    const char *path = f->reference_path[0] ? f->reference_path : f->path;
    if (!vu_is_hf_dir(path)) return; /* transformers reads Hugging Face directories only */
    if (!r->tf) {
        run_add_check(r, "transformers", f->name, "transformers", NULL,
                      r->tf_error ? "error" : "skipped", "%s", r->tf_reason);
        return;
    }
    int primary = -1;
    for (int i = 0; i < r->n_libs && primary < 0; i++)
        if (lib_ok[i]) primary = i;
    if (primary < 0) return; /* libbitnet's load errors are already reported */
    verr e = {{0}};
    if (r->tf->load(r->tf, path, &e) != 0) {
        run_add_check(r, "transformers", f->name, "transformers", NULL, "error",
                      "cannot load %s: %s", path, e.msg);
        return;
    }
    if (f->n_prompts > 0 && r->tf->tokenize) run_tokenize_check(r, f, r->tf, r->libs[primary]);
    if (f->logits_n > 1) tf_logits(r, f, lib_ok, meta);
    if (f->n_prompts > 0 && f->n_predict > 0) tf_greedy(r, f, lib_ok, primary);
    r->tf->unload(r->tf);
}
