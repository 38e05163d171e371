/* Checks against bitnet.cpp, when a build was given: tokenization (exact),
 * greedy text from llama-cli against libbitnet's detokenized greedy tokens,
 * and llama-perplexity's log-probabilities (KL-divergence base file) against
 * libbitnet's logits on the very tokens bitnet.cpp evaluated. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet.h"
#include "bitnetcpp_parse.h"
#include "compare.h"
#include "run.h"

/* Exact token ids per prompt, libbitnet against a baseline's tokenizer
 * (bitnet.cpp's llama-tokenize, transformers' AutoTokenizer). */
void run_tokenize_check(vrun *r, vfixture *f, vbackend *base, vbackend *lib) {
    int same = 0, n = 0;
    char first[512] = "";
    for (int p = 0; p < f->n_prompts; p++) {
        int32_t *a = NULL, *b = NULL, na = 0, nb = 0;
        verr e = {{0}};
        if (base->tokenize(base, f->prompts[p], &a, &na, &e) != 0) {
            run_add_check(r, "tokenize", f->name, lib->name, base->name, "error", "%s", e.msg);
            return;
        }
        if (lib->tokenize(lib, f->prompts[p], &b, &nb, &e) != 0) {
            free(a);
            run_add_check(r, "tokenize", f->name, lib->name, base->name, "error", "%s", e.msg);
            return;
        }
        n++;
        int i = 0;
        while (i < na && i < nb && a[i] == b[i]) i++;
        if (i == na && na == nb)
            same++;
        else if (!first[0])
            snprintf(first, sizeof first, "\"%.30s\": differs at token %d (%s %d, ours %d)",
                     f->prompts[p], i, base->name, i < na ? a[i] : -1, i < nb ? b[i] : -1);
        free(a);
        free(b);
    }
    run_add_check(r, "tokenize", f->name, lib->name, base->name, same == n ? "pass" : "fail",
                  "%d/%d prompts tokenized identically%s%s", same, n, first[0] ? "; " : "", first);
}

/* Greedy text: bitnet.cpp gives only text, so the first differing byte is
 * mapped to our token that produced it, and that token's margin decides
 * near-tie or diverged. */
static void greedy_text_check(vrun *r, vfixture *f, vbackend *bc, vbackend *lib,
                              bitnet_model *meta) {
    int ident = 0, ties = 0, div = 0;
    char worst[512] = "";
    for (int p = 0; p < f->n_prompts; p++) {
        int32_t *toks = NULL, nt = 0;
        verr e = {{0}};
        vb_gen ours = {0}, theirs = {0};
        if (lib->tokenize(lib, f->prompts[p], &toks, &nt, &e) != 0 ||
            lib->generate(lib, toks, nt, f->n_predict, &ours, &e) != 0 ||
            bc->generate_text(bc, f->prompts[p], f->n_predict, &theirs, &e) != 0) {
            run_add_check(r, "greedy-text", f->name, lib->name, "bitnet.cpp", "error", "%s", e.msg);
            free(toks);
            vb_gen_free(&ours);
            vb_gen_free(&theirs);
            return;
        }
        const char *a = theirs.text ? theirs.text : "", *b = ours.text ? ours.text : "";
        size_t la = strlen(a), lb = strlen(b);
        while (lb && (b[lb - 1] == '\n' || b[lb - 1] == '\r')) lb--;
        size_t i = 0;
        while (i < la && i < lb && a[i] == b[i]) i++;
        if (i == la && i == lb) {
            ident++;
        } else {
            /* which of our tokens holds byte i */
            size_t off = 0;
            int32_t k = 0;
            for (; k < ours.n; k++) {
                char piece[256];
                int32_t n = bitnet_token_to_piece(meta, ours.tokens[k], piece, sizeof piece, false);
                if (n < 0) n = 0;
                if (off + (size_t)n > i) break;
                off += (size_t)n;
            }
            float m = k < ours.n ? ours.margins[k] : NAN;
            bool tie = !isnan(m) && m < f->tol.near_tie_eps;
            if (tie)
                ties++;
            else
                div++;
            if (!worst[0] || !tie)
                snprintf(worst, sizeof worst,
                         "\"%.24s\": %s at byte %zu (our token %d, margin %.3g)", f->prompts[p],
                         tie ? "near-tie" : "diverged", i, k, m);
        }
        free(toks);
        vb_gen_free(&ours);
        vb_gen_free(&theirs);
    }
    int n = ident + ties + div;
    bool fail = (f->tol.greedy == GREEDY_EXACT && ident < n) ||
                (f->tol.greedy == GREEDY_NEAR_TIE && div > 0);
    cJSON *c =
        run_add_check(r, "greedy-text", f->name, lib->name, "bitnet.cpp", fail ? "fail" : "pass",
                      "%d/%d identical text, %d near-tie, %d diverged%s%s", ident, n, ties, div,
                      worst[0] ? "; " : "", worst);
    cJSON *m = cJSON_AddObjectToObject(c, "metrics");
    cJSON_AddNumberToObject(m, "identical", ident);
    cJSON_AddNumberToObject(m, "near_tie", ties);
    cJSON_AddNumberToObject(m, "diverged", div);
}

/* A text long enough for n_chunks chunks of n_ctx tokens: the prompts over
 * and over (generated fixtures have synthetic vocabularies, so any text
 * tokenizes). A suite can name its own text ("kld": {"text": FILE}). */
static bool kld_text_file(vrun *r, vfixture *f, char *path, size_t size, int32_t chars) {
    if (f->kld_text) {
        snprintf(path, size, "%s", f->kld_text);
        return true;
    }
    snprintf(path, size, "%s/kld-text-%s.txt", r->out_dir, f->name);
    FILE *o = fopen(path, "w");
    if (!o) return false;
    for (int32_t w = 0, i = 0; w < chars && f->n_prompts > 0; i++)
        w += fprintf(o, "%s. ", f->prompts[i % f->n_prompts]);
    return fclose(o) == 0;
}

static void kld_check(vrun *r, vfixture *f, vbackend *bc, vbackend *lib, bitnet_model *meta) {
    char text[4200];
    int32_t ctx = f->kld_ctx, chunks = r->quick ? 2 : 4;
    if (!kld_text_file(r, f, text, sizeof text, ctx * chunks * 12)) {
        run_add_check(r, "logits-kld", f->name, lib->name, "bitnet.cpp", "error",
                      "cannot write a text file");
        return;
    }
    kld_file kf;
    verr e = {{0}};
    if (bc->logprobs_file(bc, text, ctx, chunks, &kf, &e) != 0) {
        run_add_check(r, "logits-kld", f->name, lib->name, "bitnet.cpp", "error", "%s", e.msg);
        return;
    }
    kld_stats st;
    memset(&st, 0, sizeof st);
    int32_t nv = bitnet_model_n_vocab(meta);
    bool ok = kf.n_vocab == nv;
    int32_t *chunk = malloc(sizeof(int32_t) * kf.n_ctx);
    for (int c = 0; ok && chunk && c < kf.n_chunk; c++) {
        memcpy(chunk, kf.tokens + (size_t)c * kf.n_ctx, sizeof(int32_t) * kf.n_ctx);
        /* llama-perplexity puts BOS first in each chunk when the model adds it */
        if (bitnet_add_bos(meta)) chunk[0] = bitnet_token_bos(meta);
        vb_logits lg = {0};
        if (lib->logits(lib, chunk, (int32_t)kf.n_ctx, &lg, &e) != 0) {
            ok = false;
            break;
        }
        int first = (int)kf.n_ctx / 2;
        for (int p = 0; p < kf.n_scored; p++)
            kld_add(&st, lg.data + (size_t)(first + p) * nv, nv, kld_record(&kf, c, p),
                    chunk[first + p + 1]);
        vb_logits_free(&lg);
    }
    free(chunk);
    if (!ok) {
        run_add_check(r, "logits-kld", f->name, lib->name, "bitnet.cpp", "error", "%s",
                      kf.n_vocab != nv ? "vocabulary sizes differ" : e.msg);
    } else {
        double kld, kld_err, top1 = st.count ? (double)st.n_same_top / st.count : 0;
        kld_mean_err(st.sum_kld, st.sum_kld2, st.count, &kld, &kld_err);
        double p99 = kld_percentile(&st, 0.99), kmax = kld_percentile(&st, 1.0);
        double ppl = exp(st.sum_nll / st.count), ppl_base = exp(st.sum_nll_base / st.count);
        bool fail = kld > f->tol.kld_mean_max || top1 < f->tol.top1_min;
        cJSON *c = run_add_check(
            r, "logits-kld", f->name, lib->name, "bitnet.cpp", fail ? "fail" : "pass",
            "KLD mean %.3g ± %.2g, p99 %.3g, same top %.1f%%, PPL %.4g vs %.4g (%zu positions; "
            "bitnet.cpp's log-probs are stored in 16 bits)",
            kld, kld_err, p99, 100 * top1, ppl, ppl_base, st.count);
        cJSON *m = cJSON_AddObjectToObject(c, "metrics");
        cJSON_AddNumberToObject(m, "n_positions", (double)st.count);
        cJSON_AddNumberToObject(m, "kld_mean", kld);
        cJSON_AddNumberToObject(m, "kld_p99", p99);
        cJSON_AddNumberToObject(m, "kld_max", kmax);
        cJSON_AddNumberToObject(m, "top1", top1);
        cJSON_AddNumberToObject(m, "ppl_ref", ppl_base);
        cJSON_AddNumberToObject(m, "ppl_test", ppl);
        cJSON_AddNumberToObject(m, "ppl_delta_rel", ppl / ppl_base - 1);
    }
    kld_stats_free(&st);
    kld_file_free(&kf);
}

void run_bitnetcpp_checks(vrun *r, vfixture *f, bitnet_model *meta) {
    vbackend *bc = r->bitnetcpp;
    if (!bc || r->n_libs == 0) return; /* absent: listed once as a skipped baseline */
    vbackend *lib = r->libs[0];
    verr e = {{0}};
    if (vu_is_hf_dir(f->path)) { /* the speed step reads bitnetcpp_skip too */
        snprintf(f->bitnetcpp_skip, sizeof f->bitnetcpp_skip,
                 "skipped, because bitnet.cpp reads GGUF files, not Hugging Face directories "
                 "(convert it first)");
        run_add_check(r, "bitnet.cpp", f->name, "bitnet.cpp", NULL, "skipped", "%s",
                      f->bitnetcpp_skip);
        return;
    }
    if (bc->load(bc, f->path, &e) != 0) {
        run_add_check(r, "bitnet.cpp", f->name, "bitnet.cpp", NULL, "error", "%s", e.msg);
        return;
    }
    /* Probe: a bitnet.cpp build older than the file's architecture (the 2024
     * builds know `bitnet` and `llama`, not `bitnet-b1.58`) cannot load it.
     * That is a limit of the baseline, reported as skipped with its message,
     * not an error of ours. */
    int32_t *probe = NULL, n_probe = 0;
    verr pe = {{0}};
    const char *probe_text = f->n_prompts > 0 ? f->prompts[0] : "Hello";
    if (bc->tokenize(bc, probe_text, &probe, &n_probe, &pe) != 0 && bcpp_cannot_load(pe.msg)) {
        char arch[64] = "";
        bitnet_model_meta_str(meta, "general.architecture", arch, sizeof arch);
        /* the speed step reads this and skips bitnet.cpp on this file too */
        snprintf(f->bitnetcpp_skip, sizeof f->bitnetcpp_skip,
                 "skipped: this bitnet.cpp build cannot load '%s' files (%s)", arch, pe.msg);
        run_add_check(r, "bitnet.cpp", f->name, "bitnet.cpp", NULL, "skipped", "%s",
                      f->bitnetcpp_skip);
        bc->unload(bc);
        return;
    }
    free(probe);
    if (f->n_prompts > 0) run_tokenize_check(r, f, bc, lib);
    if (f->n_prompts > 0 && f->n_predict > 0) greedy_text_check(r, f, bc, lib, meta);
    if (f->kld_ctx >= 8) kld_check(r, f, bc, lib, meta);
    bc->unload(bc);
}
