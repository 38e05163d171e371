/* The forward pass against an independent, deliberately plain implementation
 * written here from the math (double precision, weights dequantized, the
 * int8 activation quantization of spec 1.2 reproduced), for every
 * architecture; prefill (one batch) against decode (one token at a time);
 * and every ISA against the scalar reference. The reference is also run with
 * the wrong FFN activation and the wrong RoPE pairing to show that the
 * comparison would catch those bugs. */
#include "bitnet.h"
#include "model.h"
#include "model_builder.h"
#include "testutil.h"

typedef struct ref_opts {
    bool swap_activation; /* SiLU <-> ReLU²: a deliberate bug */
    bool swap_rope;       /* NEOX <-> NORM: a deliberate bug */
} ref_opts;

static double *weight_matrix(const bn_weight *w) {
    double *m = malloc(sizeof(double) * (size_t)(w->n_in * w->n_out));
    float *row = malloc(sizeof(float) * (size_t)w->n_in);
    for (int64_t r = 0; r < w->n_out; r++) {
        bn_weight_row_to_float(w, r, row);
        for (int64_t k = 0; k < w->n_in; k++) m[r * w->n_in + k] = row[k];
    }
    free(row);
    return m;
}

/* y = W x with the activation quantized like bitnet.cpp when W is ternary */
static void ref_linear(const bn_weight *w, const double *x, double *y) {
    double *W = weight_matrix(w);
    const int64_t K = w->n_in;
    double *xin = malloc(sizeof(double) * (size_t)K);
    memcpy(xin, x, sizeof(double) * (size_t)K);
    double dequant = 1.0;
    if (w->type == BN_TYPE_I2_S) {
        float xf[8192];
        double max = 1e-5;
        for (int64_t k = 0; k < K; k++) {
            xf[k] = (float)x[k];
            if (fabs((double)xf[k]) > max) max = fabs((double)xf[k]);
        }
        float s = (float)(127.0 / max);
        for (int64_t k = 0; k < K; k++) {
            float v = rintf(xf[k] * s); /* round half to even (default rounding mode) */
            xin[k] = v > 127 ? 127 : v < -128 ? -128 : v;
        }
        dequant = 1.0 / (double)s;
        /* the codes times the scale are in W already */
    }
    for (int64_t r = 0; r < w->n_out; r++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++) acc += W[r * K + k] * xin[k];
        y[r] = acc * dequant * (w->has_post_scale ? w->post_scale : 1.0) + (w->bias ? w->bias[r] : 0.0);
    }
    free(W);
    free(xin);
}

static void ref_rmsnorm(double *y, const double *x, const float *w, int64_t n, double eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    double scale = 1.0 / sqrt(ss / (double)n + eps);
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
}

static void ref_rope(double *v, int heads, int hd, int n_rot, int pos, double base, bn_rope_kind kind) {
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < n_rot / 2; i++) {
            double th = pos * pow(base, -2.0 * i / n_rot);
            int a = kind == BN_ROPE_NEOX ? i : 2 * i, b = kind == BN_ROPE_NEOX ? i + n_rot / 2 : 2 * i + 1;
            double x0 = v[h * hd + a], x1 = v[h * hd + b];
            v[h * hd + a] = x0 * cos(th) - x1 * sin(th);
            v[h * hd + b] = x0 * sin(th) + x1 * cos(th);
        }
}

/* Logits [n][V] of every position, computed token by token. */
static double *ref_forward(const bitnet_model *m, const bitnet_token *toks, int n, ref_opts o) {
    const bn_hparams *hp = &m->hp;
    const int E = hp->n_embd, F = hp->n_ff, HD = hp->head_dim, H = hp->n_head, HKV = hp->n_head_kv;
    const int V = hp->n_vocab;
    bn_ffn_act act = m->arch->ffn_act;
    if (o.swap_activation) act = act == BN_FFN_SILU ? BN_FFN_RELU2 : BN_FFN_SILU;
    bn_rope_kind rk = m->arch->rope;
    if (o.swap_rope) rk = rk == BN_ROPE_NEOX ? BN_ROPE_NORM : BN_ROPE_NEOX;
    double *K = calloc((size_t)hp->n_layer * n * HKV * HD, sizeof(double));
    double *Vc = calloc((size_t)hp->n_layer * n * HKV * HD, sizeof(double));
    double *logits = calloc((size_t)n * V, sizeof(double));
    double *x = calloc((size_t)E, sizeof(double)), *xn = calloc((size_t)(F > E ? F : E), sizeof(double));
    double *q = calloc((size_t)H * HD, sizeof(double)), *att = calloc((size_t)H * HD, sizeof(double));
    double *g = calloc((size_t)F, sizeof(double)), *u = calloc((size_t)F, sizeof(double));
    double *tmp = calloc((size_t)(F > E ? F : E), sizeof(double));
    float row[8192];
    for (int p = 0; p < n; p++) {
        bn_weight_row_to_float(&m->tok_embd, toks[p], row);
        for (int i = 0; i < E; i++) x[i] = row[i];
        for (int l = 0; l < hp->n_layer; l++) {
            const bn_layer *L = &m->layers[l];
            double *Kl = K + (size_t)l * n * HKV * HD, *Vl = Vc + (size_t)l * n * HKV * HD;
            ref_rmsnorm(xn, x, L->attn_norm, E, hp->rms_eps);
            ref_linear(&L->wq, xn, q);
            ref_linear(&L->wk, xn, Kl + (size_t)p * HKV * HD);
            ref_linear(&L->wv, xn, Vl + (size_t)p * HKV * HD);
            ref_rope(q, H, HD, hp->n_rot, p, hp->rope_base, rk);
            ref_rope(Kl + (size_t)p * HKV * HD, HKV, HD, hp->n_rot, p, hp->rope_base, rk);
            for (int h = 0; h < H; h++) {
                int gk = h / (H / HKV);
                double sc[4096], mx = -1e300, sum = 0;
                for (int j = 0; j <= p; j++) {
                    double d = 0;
                    for (int i = 0; i < HD; i++) d += q[h * HD + i] * Kl[(size_t)j * HKV * HD + gk * HD + i];
                    sc[j] = d / sqrt((double)HD);
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int j = 0; j <= p; j++) sum += (sc[j] = exp(sc[j] - mx));
                for (int i = 0; i < HD; i++) {
                    double a = 0;
                    for (int j = 0; j <= p; j++) a += sc[j] / sum * Vl[(size_t)j * HKV * HD + gk * HD + i];
                    att[h * HD + i] = a;
                }
            }
            if (m->arch->sub_norms) ref_rmsnorm(att, att, L->attn_sub_norm, H * HD, hp->rms_eps);
            ref_linear(&L->wo, att, tmp);
            for (int i = 0; i < E; i++) x[i] += tmp[i];
            ref_rmsnorm(xn, x, L->ffn_norm, E, hp->rms_eps);
            ref_linear(&L->ffn_gate, xn, g);
            ref_linear(&L->ffn_up, xn, u);
            for (int i = 0; i < F; i++) {
                double a = act == BN_FFN_SILU ? g[i] / (1 + exp(-g[i])) : (g[i] > 0 ? g[i] * g[i] : 0);
                g[i] = a * u[i];
            }
            if (m->arch->sub_norms) ref_rmsnorm(g, g, L->ffn_sub_norm, F, hp->rms_eps);
            ref_linear(&L->ffn_down, g, tmp);
            for (int i = 0; i < E; i++) x[i] += tmp[i];
        }
        ref_rmsnorm(xn, x, m->output_norm, E, hp->rms_eps);
        ref_linear(&m->output, xn, logits + (size_t)p * V);
    }
    free(K); free(Vc); free(x); free(xn); free(q); free(att); free(g); free(u); free(tmp);
    return logits;
}

/* max |a-b| over the logits, relative to the spread of b */
static double max_rel_err(const float *a, const double *b, size_t n) {
    double err = 0, lo = 1e300, hi = -1e300;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)a[i] - b[i]));
        lo = fmin(lo, b[i]);
        hi = fmax(hi, b[i]);
    }
    return err / (hi - lo);
}

/* a double copy, freed at exit (test-sized) */
static double *to_double(const float *a, size_t n) {
    static double *buf;
    static size_t cap;
    if (n > cap) {
        free(buf);
        buf = malloc(n * sizeof *buf);
        cap = n;
    }
    for (size_t i = 0; i < n; i++) buf[i] = a[i];
    return buf;
}

static bool g_head_q8; /* engine_logits with the optional 8-bit head */

static float *engine_logits(bitnet_model *m, const bitnet_token *toks, int n, bitnet_numerics num,
                            const char *isa, bool one_at_a_time) {
    bitnet_context_params cp = bitnet_context_default_params();
    cp.head_q8 = g_head_q8;
    cp.numerics = num;
    cp.isa = isa;
    cp.n_ctx = 64;
    cp.n_threads = 1;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    if (!ctx) return NULL;
    const int V = bitnet_model_n_vocab(m);
    float *out = malloc(sizeof(float) * (size_t)n * V);
    if (one_at_a_time) {
        for (int i = 0; i < n; i++) {
            CHECK(bitnet_decode(ctx, toks + i, 1, false) == BITNET_OK);
            memcpy(out + (size_t)i * V, bitnet_get_logits_ith(ctx, -1), sizeof(float) * V);
        }
    } else {
        CHECK(bitnet_decode(ctx, toks, n, true) == BITNET_OK);
        CHECK(bitnet_get_n_outputs(ctx) == n);
        memcpy(out, bitnet_get_logits(ctx), sizeof(float) * (size_t)n * V);
    }
    bitnet_context_free(ctx);
    return out;
}

static void check_arch(const char *arch, bool f32_weights) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s%s.gguf", test_tmpdir("forward"), arch, f32_weights ? "-f32" : "");
    model_spec s = model_spec_default(arch);
    if (getenv("TF_SEED")) s.seed = (unsigned)atoi(getenv("TF_SEED"));
    s.with_output = !strcmp(arch, "llama");
    s.f32_weights = f32_weights;
    CHECK(build_model(path, &s));
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    if (!m) return;
    const int n = getenv("TF_N") ? atoi(getenv("TF_N")) : 12, V = bitnet_model_n_vocab(m);
    bitnet_token toks[12] = {1, 260, 270, 3 + 'a', 300, 301, 302, 260, 3 + 'z', 310, 280, 290};

    double *ref = ref_forward(m, toks, n, (ref_opts){0});
    float *exact = engine_logits(m, toks, n, BITNET_NUMERICS_EXACT, "ref", false);
    double e = max_rel_err(exact, ref, (size_t)n * V);
    printf("%-13s %s: exact mode vs double reference: max error %.2e of the logit range\n", arch,
           f32_weights ? "f32 " : "i2_s", e);
    /* float weights: only summation order differs. Ternary weights: the int8
     * activation quantization turns 1-ulp differences near a rounding tie into
     * one-step changes of a quantized value (seen on about half of random
     * seeds, up to 5e-2 of the logit range), so the bound is loose there and
     * the wrong-variant checks below demand a clear margin over it. */
    const double tol = f32_weights ? 1e-5 : 8e-2;
    CHECKF(e < tol, "%s: exact vs reference %.3e", arch, e);
    float *compat = engine_logits(m, toks, n, BITNET_NUMERICS_COMPAT, "ref", false);
    double ec = max_rel_err(compat, ref, (size_t)n * V);
    printf("%-13s %s: compat mode vs double reference: max error %.2e of the logit range\n", arch,
           f32_weights ? "f32 " : "i2_s", ec);
    CHECKF(ec < (f32_weights ? 5e-3 : 1e-1), "%s: compat vs reference %.3e", arch, ec);

    /* the comparison has power: a wrong activation or RoPE pairing is far off */
    double *wrong_act = ref_forward(m, toks, n, (ref_opts){.swap_activation = true});
    double *wrong_rope = ref_forward(m, toks, n, (ref_opts){.swap_rope = true});
    double ea = max_rel_err(exact, wrong_act, (size_t)n * V), er = max_rel_err(exact, wrong_rope, (size_t)n * V);
    printf("%-13s %s: vs reference with the other FFN activation %.2e, other RoPE %.2e\n", arch,
           f32_weights ? "f32 " : "i2_s", ea, er);
    CHECKF(ea > 2 * tol && ea > 1e-2, "%s: activation swap not detected (%.3e)", arch, ea);
    CHECKF(er > 2 * tol && er > 1e-2, "%s: rope swap not detected (%.3e)", arch, er);

    /* prefill (one batch) == decode (one token at a time), every ISA */
    const char *isas[] = {"ref", "avx2", "avx512", "amx", "neon"};
    for (size_t i = 0; i < 4; i++) {
        if (!bitnet_isa_supported(isas[i])) continue;
        for (int num = 0; num < 2; num++) {
            float *batch = engine_logits(m, toks, n, (bitnet_numerics)num, isas[i], false);
            float *single = engine_logits(m, toks, n, (bitnet_numerics)num, isas[i], true);
            /* exact: the same arithmetic either way. compat: bitnet.cpp rounds Q
             * to F16 in multi-token batches only, so the two paths differ by
             * that rounding (and what the int8 quantization makes of it). */
            double d = max_rel_err(batch, to_double(single, (size_t)n * V), (size_t)n * V);
            printf("%-13s %s %-6s %-6s: prefill vs decode %.2e of the logit range\n", arch,
                   f32_weights ? "f32 " : "i2_s", isas[i], num ? "exact" : "compat", d);
            CHECKF(d <= (num ? 1e-6 : f32_weights ? 2e-3 : 8e-2), "%s %s %s: prefill vs decode differ by %.3e", arch, isas[i],
                   num ? "exact" : "compat", d);
            /* ISAs against the scalar reference: the same integers, float sums in another order */
            float *scalar = engine_logits(m, toks, n, (bitnet_numerics)num, "ref", false);
            double di = max_rel_err(batch, to_double(scalar, (size_t)n * V), (size_t)n * V);
            CHECKF(di <= (f32_weights ? 1e-5 : 8e-2), "%s %s %s: differs from ref by %.3e", arch, isas[i], num ? "exact" : "compat", di);
            free(batch);
            free(single);
            free(scalar);
        }
    }

    /* the optional 8-bit head (head_q8): close to the float head, prefill ==
     * decode in exact mode, and every ISA close to ref (its integer dot is
     * bit-exact, tests/test_kernels.c; the hidden state it quantizes carries
     * the ISAs' float differences) */
    g_head_q8 = true;
    for (size_t i = 0; i < 4; i++) {
        if (!bitnet_isa_supported(isas[i])) continue;
        float *q8 = engine_logits(m, toks, n, BITNET_NUMERICS_EXACT, isas[i], false);
        float *q8_single = engine_logits(m, toks, n, BITNET_NUMERICS_EXACT, isas[i], true);
        float *q8_ref = engine_logits(m, toks, n, BITNET_NUMERICS_EXACT, "ref", false);
        CHECK(q8 && q8_single && q8_ref);
        if (!q8 || !q8_single || !q8_ref) break;
        const double vs_float = max_rel_err(q8, to_double(exact, (size_t)n * V), (size_t)n * V);
        const double pd = max_rel_err(q8, to_double(q8_single, (size_t)n * V), (size_t)n * V);
        const double di = max_rel_err(q8, to_double(q8_ref, (size_t)n * V), (size_t)n * V);
        printf("%-13s %s %-6s head_q8: vs float head %.2e, prefill vs decode %.2e, vs ref %.2e\n",
               arch, f32_weights ? "f32 " : "i2_s", isas[i], vs_float, pd, di);
        /* int8 weights and hidden state: about 1/127 of each row's and the
         * hidden state's range per value, averaging out over n_embd */
        CHECKF(vs_float < 5e-2, "%s %s: head_q8 vs float head %.3e", arch, isas[i], vs_float);
        CHECKF(pd <= 1e-6, "%s %s: head_q8 prefill vs decode %.3e", arch, isas[i], pd);
        CHECKF(di <= (f32_weights ? 1e-5 : 8e-2) + (strcmp(isas[i], "ref") ? 2e-2 : 0),
               "%s %s: head_q8 differs from ref by %.3e", arch, isas[i], di);
        if (!strcmp(isas[i], "ref")) CHECK(memcmp(q8, q8_ref, sizeof(float) * (size_t)n * V) == 0);
        free(q8);
        free(q8_single);
        free(q8_ref);
    }
    g_head_q8 = false;
    free(ref); free(exact); free(compat); free(wrong_act); free(wrong_rope);
    bitnet_model_free(m);
}

int main(void) {
    check_arch("bitnet", false);
    check_arch("bitnet-b1.58", false);
    check_arch("llama", false);
    check_arch("bitnet", true);
    check_arch("bitnet-b1.58", true);
    check_arch("llama", true);
    TEST_END();
}
