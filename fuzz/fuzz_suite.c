/* libFuzzer target: bitnet-validate's suite reader (validate/suite_parse.c)
 * from memory. A rejected input leaves a message naming the file and nothing
 * allocated; an accepted suite satisfies every documented limit of suite.h:
 * valid unique names, exactly one way to make each fixture, references to
 * other fixtures of the suite, and every check setting in its range (so no
 * check can have vanished and no value was converted out of range). */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "suite.h"
#include "utf8.h"

#define NAME "fuzz/suite.json"

static bool valid_utf8(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = bn_utf8_valid_seq((const unsigned char *)s + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

static bool names_fixture(const vsuite *s, int self, const char *name) {
    for (int j = 0; j < s->n_fixtures; j++)
        if (j != self && !strcmp(s->fixtures[j].name, name)) return true;
    return false;
}

static void check_tolerance(const vtol *t) {
    FUZZ_ASSERT(t->name[0] && suite_name_ok(t->name));
    const double v[] = {t->kld_mean_max, t->kld_p99_max, t->nmse_max, t->ppl_rel_max,
                        t->near_tie_eps};
    for (int i = 0; i < 5; i++)
        FUZZ_ASSERT(isfinite(v[i]) && v[i] >= 0 && v[i] <= BV_SUITE_TOL_MAX);
    FUZZ_ASSERT(isfinite(t->top1_min) && t->top1_min >= 0 && t->top1_min <= 1);
    FUZZ_ASSERT(t->greedy == GREEDY_EXACT || t->greedy == GREEDY_NEAR_TIE ||
                t->greedy == GREEDY_INFO);
}

static void check_fixture(const vsuite *s, int i) {
    const vfixture *f = &s->fixtures[i];
    FUZZ_ASSERT(suite_name_ok(f->name));
    for (int j = 0; j < i; j++) FUZZ_ASSERT(strcmp(s->fixtures[j].name, f->name) != 0);
    int kinds = (f->gen_args != NULL) + (f->src_path[0] != 0) + (f->derive_from[0] != 0);
    FUZZ_ASSERT(kinds == 1);
    if (f->gen_args) {
        FUZZ_ASSERT(f->n_gen_args >= 1 && f->n_gen_args <= BV_SUITE_MAX_GEN_ARGS);
        for (int k = 0; k < f->n_gen_args; k++)
            FUZZ_ASSERT(f->gen_args[k] && f->gen_args[k][0] && strlen(f->gen_args[k]) <= 255);
        FUZZ_ASSERT(f->gen_args[f->n_gen_args] == NULL);
    }
    if (f->derive_from[0]) {
        FUZZ_ASSERT(names_fixture(s, i, f->derive_from));
        FUZZ_ASSERT(f->shuffle_tensor[0] || f->relabel_arch[0]);
        FUZZ_ASSERT(!f->relabel_arch[0] || suite_name_ok(f->relabel_arch));
        FUZZ_ASSERT(f->shuffle_seed <= (1ull << 53));
    }
    if (f->reference[0]) FUZZ_ASSERT(names_fixture(s, i, f->reference));
    check_tolerance(&f->tol);
    FUZZ_ASSERT(f->logits_n == 0 ||
                (f->logits_n >= BV_SUITE_LOGITS_MIN && f->logits_n <= BV_SUITE_LOGITS_MAX));
    FUZZ_ASSERT(f->logits_seed >= 0);
    FUZZ_ASSERT(f->n_prompts >= 0 && f->n_prompts <= BV_SUITE_MAX_PROMPTS);
    FUZZ_ASSERT((f->n_prompts == 0) == (f->prompts == NULL));
    for (int k = 0; k < f->n_prompts; k++) {
        const char *p = f->prompts[k];
        FUZZ_ASSERT(p && p[0] && strlen(p) <= BV_SUITE_PROMPT_MAX && valid_utf8(p));
    }
    FUZZ_ASSERT(f->n_predict >= 1 && f->n_predict <= BV_SUITE_PREDICT_MAX);
    FUZZ_ASSERT(f->pp >= 0 && f->pp <= BV_SUITE_PP_MAX && f->tg >= 0 && f->tg <= BV_SUITE_TG_MAX);
    FUZZ_ASSERT(f->kld_ctx == 0 ||
                (f->kld_ctx >= BV_SUITE_KLD_CTX_MIN && f->kld_ctx <= BV_SUITE_KLD_CTX_MAX));
    FUZZ_ASSERT(!f->kld_text || (f->kld_text[0] && valid_utf8(f->kld_text)));
    FUZZ_ASSERT(!f->ready && !f->skip_reason[0] && !f->path[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vsuite s;
    verr e = {{0}};
    if (!suite_parse((const char *)data, size, NAME, &s, &e)) {
        /* a message that names the file, and nothing left allocated */
        FUZZ_ASSERT(!strncmp(e.msg, NAME ": ", strlen(NAME) + 2) && e.msg[strlen(NAME) + 2]);
        FUZZ_ASSERT(s.fixtures == NULL && s.n_fixtures == 0);
        return 0;
    }
    FUZZ_ASSERT(size <= BV_SUITE_MAX_BYTES);
    FUZZ_ASSERT(!strcmp(s.path, NAME));
    FUZZ_ASSERT(!s.name[0] || suite_name_ok(s.name));
    FUZZ_ASSERT(s.threads >= 1 && s.threads <= 1024 && s.reps >= 1 && s.reps <= 1000);
    FUZZ_ASSERT(s.n_fixtures >= 1 && s.n_fixtures <= BV_SUITE_MAX_FIXTURES);
    for (int i = 0; i < s.n_fixtures; i++) check_fixture(&s, i);
    suite_free(&s);
    return 0;
}
