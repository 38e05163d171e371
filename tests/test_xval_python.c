/* Cross-validation of libbitnet against the independent Python reference
 * (baseline/python, JSON-lines runner), and proof that the comparison can fail.
 *
 *   1. Logits: tiny random fixtures (bitnet and bitnet-b1.58, I2_S) evaluated
 *      teacher-forced on a fixed 48-token sequence by both implementations in
 *      compat mode: mean KL divergence <= 0.01 and the same top token at >= 90%
 *      of positions (the tolerances of the bitnet.cpp golden test). Random
 *      ternary models are chaotic under int8 activation quantization, so
 *      exact equality is not a fair demand here (docs/fixtures.md).
 *   2. Sensitivity: a copy of each fixture with the 2-bit codes of one matrix
 *      shuffled, run by the engine and compared with the reference on the
 *      ORIGINAL file, must fail those same tolerances. The reference run on the
 *      corrupted copy must still agree with the engine on it, so the failure
 *      is the corruption and nothing else.
 *   3. Layer level, no float noise: the same float vector quantized by the C
 *      kernel and by the reference (q, scale and Σq identical), then the same
 *      int8 vector through one ternary matrix in both (integer sums Σ t·q equal
 *      for every row). Flipping ONE 2-bit code of that matrix in a copy of the
 *      file must make exactly that row differ, by (new - old)·q_k.
 *
 * Skips (exit 77) when the Python environment (BITNET_PYTHON with numpy) or
 * the bitnet CLI is missing. Takes about a second on one core. */
#include <cjson/cJSON.h>

#include "bitnet.h"
#include "gguf.h"
#include "kernels.h"
#include "model.h"
#include "testutil.h"
#include "types.h"

#define N_TOK 48
#define MAX_KLD 0.01
#define MIN_TOP1 0.90

static char tmp[4096];
static char src[4096];

typedef struct {
    double mean_kld, max_kld, top1;
} agreement;

static bool agreement_ok(agreement a) { return a.mean_kld <= MAX_KLD && a.top1 >= MIN_TOP1; }

/* KL(P_ref || P_test) per position from raw logits, in double, and top-1
 * agreement (argmax, lowest id on ties, as both implementations break them). */
static agreement compare_logits(const float *ref, const float *test, int n, int V) {
    agreement a = {0, 0, 0};
    int same = 0;
    for (int t = 0; t < n; t++) {
        const float *r = ref + (size_t)t * V, *s = test + (size_t)t * V;
        double mr = r[0], ms = s[0];
        int ar = 0, as = 0;
        for (int i = 1; i < V; i++) {
            if (r[i] > mr) mr = r[i], ar = i;
            if (s[i] > ms) ms = s[i], as = i;
        }
        double zr = 0, zs = 0;
        for (int i = 0; i < V; i++) zr += exp(r[i] - mr), zs += exp(s[i] - ms);
        const double lzr = log(zr), lzs = log(zs);
        double kl = 0;
        for (int i = 0; i < V; i++) {
            const double lr = r[i] - mr - lzr, ls = s[i] - ms - lzs;
            kl += exp(lr) * (lr - ls);
        }
        a.mean_kld += kl / n;
        if (kl > a.max_kld) a.max_kld = kl;
        same += ar == as;
    }
    a.top1 = (double)same / n;
    return a;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f) ok = fclose(f) == 0 && ok;
    CHECKF(ok, "cannot write %s", path);
}

/* File offset and size of the packed 2-bit codes of an I2_S matrix (the
 * per-tensor scale tail after them is left alone). */
static bool locate_codes(const char *path, const char *name, size_t *off, size_t *len, int64_t *K) {
    bn_gguf *g = NULL;
    if (bn_gguf_open(path, false, &g) != BITNET_OK) return false;
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, name);
    bool ok = t && t->type == BN_TYPE_I2_S && t->n_dims == 2;
    if (ok) {
        *off = (size_t)(t->data - g->base);
        *len = (size_t)(t->ne[0] * t->ne[1] / 4);
        *K = t->ne[0];
    }
    bn_gguf_close(g);
    return ok;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Copy of `in` with the code bytes of `name` permuted (Fisher-Yates, fixed
 * seed): the same multiset of ternary values, in the wrong places - what a
 * converter with a wrong block layout or row order would produce. */
static bool write_shuffled(const char *in, const char *out, const char *name) {
    size_t off, len, n;
    int64_t K;
    if (!locate_codes(in, name, &off, &len, &K)) return false;
    uint8_t *buf = (uint8_t *)test_read_file(in, &n);
    if (!buf) return false;
    uint8_t *c = buf + off;
    uint64_t seed = 42;
    for (size_t i = len - 1; i > 0; i--) {
        size_t j = (size_t)(splitmix(&seed) % (i + 1));
        uint8_t tmpb = c[i];
        c[i] = c[j];
        c[j] = tmpb;
    }
    write_file(out, buf, n);
    free(buf);
    return true;
}

/* Copy of `in` with one 2-bit code (row `row`, column `k`) of `name` changed;
 * returns the code change (new - old), 0 on failure. Layout (spec 2.2): value
 * j of a 128-value block is in byte j % 32 of the block, bits 7-6 for
 * j / 32 == 0 down to bits 1-0 for j / 32 == 3; a row is K/4 bytes. */
static int write_flipped(const char *in, const char *out, const char *name, int64_t row,
                         int64_t k) {
    size_t off, len, n;
    int64_t K;
    if (!locate_codes(in, name, &off, &len, &K)) return 0;
    uint8_t *buf = (uint8_t *)test_read_file(in, &n);
    if (!buf) return 0;
    const int64_t j = k % 128;
    uint8_t *byte = buf + off + row * (K / 4) + (k / 128) * 32 + j % 32;
    const int shift = 6 - 2 * (int)(j / 32);
    const int old = (*byte >> shift) & 3;
    const int nw = old == 0 ? 2 : 0; /* -1 -> +1, or 0/+1 -> -1: always a valid code */
    *byte = (uint8_t)((*byte & ~(3 << shift)) | (nw << shift));
    write_file(out, buf, n);
    free(buf);
    return nw - old;
}

/* Teacher-forced logits of the engine (compat mode, one thread). */
static float *engine_logits(const char *path, const bitnet_token *toks, int n, int *V) {
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_model *m = bitnet_model_load(path, &mp);
    CHECKF(m != NULL, "load %s: %s", path, bitnet_get_last_error());
    if (!m) return NULL;
    bitnet_context_params cp = bitnet_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 1;
    cp.numerics = BITNET_NUMERICS_COMPAT;
    bitnet_context *ctx = bitnet_context_new(m, &cp);
    CHECK(ctx != NULL);
    float *out = NULL;
    *V = bitnet_model_n_vocab(m);
    if (ctx && bitnet_decode(ctx, toks, n, true) == BITNET_OK && bitnet_get_n_outputs(ctx) == n) {
        out = malloc(sizeof(float) * (size_t)n * (size_t)*V);
        memcpy(out, bitnet_get_logits(ctx), sizeof(float) * (size_t)n * (size_t)*V);
    }
    CHECKF(out != NULL, "decode on %s failed: %s", path, bitnet_get_last_error());
    bitnet_context_free(ctx);
    bitnet_model_free(m);
    return out;
}

/* The reference's full logits file, written by a "logits" request. */
static float *ref_logits(const char *path, int n, int V) {
    size_t len = 0;
    float *l = (float *)test_read_file(path, &len);
    CHECKF(l && len == sizeof(float) * (size_t)n * (size_t)V, "%s: %zu bytes, want %d x %d floats",
           path, len, n, V);
    return l;
}

/* ---- requests to the Python runner, all written before it starts (the
 * int8 inputs come from the C quantizer, which runs first) ---- */

static FILE *req;

/* A JSON string literal (paths may hold quotes or backslashes). */
static void put_json_str(const char *v) {
    fputc('"', req);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') fputc('\\', req);
        if ((unsigned char)*v < 0x20)
            fprintf(req, "\\u%04x", *v);
        else
            fputc(*v, req);
    }
    fputc('"', req);
}

static void req_load(const char *id, const char *path) {
    fprintf(req, "{\"id\":\"%s\",\"op\":\"load\",\"numerics\":\"compat\",\"model\":", id);
    put_json_str(path);
    fputs("}\n", req);
}

static void req_logits(const char *id, const bitnet_token *toks, int n, const char *out) {
    fprintf(req, "{\"id\":\"%s\",\"op\":\"logits\",\"top_k\":1,\"full\":true,\"out\":", id);
    put_json_str(out);
    fputs(",\"tokens\":[", req);
    for (int i = 0; i < n; i++) fprintf(req, "%s%d", i ? "," : "", (int)toks[i]);
    fputs("]}\n", req);
}

/* %.17g of the float widened to double is exact, so the reference gets the
 * very same float32 values (no decimal round trip). */
static void req_quantize(const char *id, const float *x, int64_t n) {
    fprintf(req, "{\"id\":\"%s\",\"op\":\"quantize\",\"x\":[", id);
    for (int64_t i = 0; i < n; i++) fprintf(req, "%s%.17g", i ? "," : "", (double)x[i]);
    fputs("]}\n", req);
}

static void req_linear(const char *id, const char *tensor, const int8_t *q, int64_t n) {
    fprintf(req, "{\"id\":\"%s\",\"op\":\"linear\",\"tensor\":\"%s\",\"q\":[", id, tensor);
    for (int64_t i = 0; i < n; i++) fprintf(req, "%s%d", i ? "," : "", q[i]);
    fputs("]}\n", req);
}

/* Responses by id (each line one JSON object). */
static cJSON *responses[32];
static int n_responses;

static const cJSON *resp(const char *id) {
    for (int i = 0; i < n_responses; i++) {
        const cJSON *r = cJSON_GetObjectItem(responses[i], "id");
        if (cJSON_IsString(r) && !strcmp(r->valuestring, id)) {
            const cJSON *ok = cJSON_GetObjectItem(responses[i], "ok");
            const cJSON *err = cJSON_GetObjectItem(responses[i], "error");
            CHECKF(cJSON_IsTrue(ok), "reference request %s failed: %s", id,
                   cJSON_IsString(err) ? err->valuestring : "?");
            return cJSON_IsTrue(ok) ? responses[i] : NULL;
        }
    }
    CHECKF(false, "no response to reference request %s", id);
    return NULL;
}

/* ---- layer level ---- */

typedef struct {
    int8_t q[1024];
    float scale;
    int32_t sum;
    int64_t n;
} quantized;

/* C and reference quantization of the same vector must be identical. */
static void check_quantize(const char *id, const quantized *c) {
    const cJSON *r = resp(id);
    if (!r) return;
    const cJSON *q = cJSON_GetObjectItem(r, "q");
    CHECKF(cJSON_GetArraySize(q) == c->n, "%s: %d values", id, cJSON_GetArraySize(q));
    int64_t diff = 0;
    for (int64_t i = 0; i < c->n && i < cJSON_GetArraySize(q); i++)
        diff += cJSON_GetArrayItem(q, (int)i)->valueint != c->q[i];
    const double scale = cJSON_GetObjectItem(r, "scale")->valuedouble;
    const int sum = cJSON_GetObjectItem(r, "sum")->valueint;
    CHECKF(diff == 0, "%s: %lld of %lld quantized values differ", id, (long long)diff,
           (long long)c->n);
    CHECKF((float)scale == c->scale, "%s: scale %.9g (reference) vs %.9g (C)", id, scale,
           (double)c->scale);
    CHECKF(sum == c->sum, "%s: sum %d (reference) vs %d (C)", id, sum, (int)c->sum);
    printf("quantize %-12s n=%lld scale=%.9g sum=%d: identical=%s\n", id, (long long)c->n,
           (double)c->scale, (int)c->sum, diff == 0 && sum == c->sum ? "yes" : "NO");
}

/* Σ_k t·q per row with the engine's kernels on the engine's view of the
 * weight: i2s_gemv gives Σ code·q with codes 0/1/2, so Σ t·q = that - Σq
 * (spec 1.3). Both the scalar table and the one the engine picks by default
 * (SIMD on this CPU) are run; they must agree bit for bit. */
static int64_t *c_sums(const bn_weight *w, const quantized *x) {
    CHECK(w->type == BN_TYPE_I2_S && w->n_in == x->n);
    int32_t *raw = malloc(sizeof(int32_t) * (size_t)w->n_out);
    int32_t *raw_ref = malloc(sizeof(int32_t) * (size_t)w->n_out);
    int64_t *s = malloc(sizeof(int64_t) * (size_t)w->n_out);
    bn_kernels_get(NULL)->i2s_gemv(w->data, w->n_in, w->n_out, x->q, raw);
    bn_kernels_ref.i2s_gemv(w->data, w->n_in, w->n_out, x->q, raw_ref);
    CHECKF(!memcmp(raw, raw_ref, sizeof(int32_t) * (size_t)w->n_out),
           "%s: %s and ref kernels differ", w->name, bn_kernels_get(NULL)->isa);
    for (int64_t r = 0; r < w->n_out; r++) s[r] = (int64_t)raw[r] - x->sum;
    free(raw);
    free(raw_ref);
    return s;
}

/* Rows where the C sums differ from the reference's; returns how many, and
 * the first in *first. */
static int64_t sums_differ(const char *id, const int64_t *c, int64_t n_out, int64_t *first,
                           int64_t *delta) {
    const cJSON *r = resp(id);
    if (!r) return -1;
    const cJSON *sums = cJSON_GetObjectItem(r, "sums");
    CHECKF(cJSON_GetArraySize(sums) == n_out, "%s: %d sums, want %lld", id,
           cJSON_GetArraySize(sums), (long long)n_out);
    int64_t n = 0;
    *first = -1;
    for (int64_t i = 0; i < n_out && i < cJSON_GetArraySize(sums); i++) {
        const int64_t ref = (int64_t)cJSON_GetArrayItem(sums, (int)i)->valuedouble;
        if (ref != c[i]) {
            if (n++ == 0) *first = i, *delta = c[i] - ref;
        }
    }
    return n;
}

static quantized quantize_c(const float *x, int64_t n) {
    quantized r, ref;
    r.n = n;
    bn_kernels_get(NULL)->quantize_i8(x, n, r.q, &r.scale, &r.sum);
    bn_kernels_ref.quantize_i8(x, n, ref.q, &ref.scale, &ref.sum);
    CHECKF(!memcmp(r.q, ref.q, (size_t)n) && r.scale == ref.scale && r.sum == ref.sum,
           "quantize_i8: %s and ref kernels differ", bn_kernels_get(NULL)->isa);
    return r;
}

int main(void) {
    const char *bin = test_env("BITNET_BIN", "");
    const char *py = test_env("BITNET_PYTHON", "");
    snprintf(src, sizeof src, "%s", test_env("BITNET_SOURCE_DIR", "."));
    if (!py[0] || access(py, X_OK) != 0)
        SKIP("no Python reference environment (BITNET_PYTHON='%s'; run the setup step)", py);
    if (!bin[0] || access(bin, X_OK) != 0) SKIP("bitnet CLI not found (BITNET_BIN='%s')", bin);
    char cmd[16384], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import numpy' 2>&1", py);
    if (test_run(cmd, out, sizeof out) != 0) SKIP("numpy missing in %s: %s", py, out);
    snprintf(tmp, sizeof tmp, "%s", test_tmpdir("xval"));
    printf("engine kernels: %s (BITNET_ISA selects others)\n", bn_kernels_get(NULL)->isa);

    /* 1. fixtures and corrupted copies */
    static const char *archs[2] = {"bitnet", "bitnet-b1.58"};
    /* one shuffled matrix per fixture: the attention output of one, the FFN
     * down projection of the other */
    static const char *shuffled_tensor[2] = {"blk.0.attn_output.weight", "blk.1.ffn_down.weight"};
    char fix[2][4200], shuf[2][4200], flip[4200];
    for (int a = 0; a < 2; a++) {
        snprintf(fix[a], sizeof fix[a], "%s/tiny-%s.gguf", tmp, archs[a]);
        snprintf(shuf[a], sizeof shuf[a], "%s/tiny-%s-shuffled.gguf", tmp, archs[a]);
        snprintf(
            cmd, sizeof cmd,
            "'%s' fixture -q --preset tiny --arch %s --kind random --seed 3 --quant i2_s -o '%s'",
            bin, archs[a], fix[a]);
        int rc = test_run(cmd, NULL, 0);
        CHECKF(rc == 0, "%s: exit %d", cmd, rc);
        if (rc != 0) TEST_END();
        CHECKF(write_shuffled(fix[a], shuf[a], shuffled_tensor[a]), "shuffle %s",
               shuffled_tensor[a]);
    }

    bitnet_token toks[N_TOK];
    for (int i = 0; i < N_TOK; i++) toks[i] = (bitnet_token)(i == 0 ? 1 : 3 + (i * 97 + 13) % 500);

    /* 2. layer-level inputs, quantized by the C kernel. The first is a real
     * activation: the layer-0 attention input of token 300 (embedding row,
     * RMS-normalized, times attn_norm; the graph's math, not necessarily its
     * exact float rounding). The second makes the scale exactly 1 (max 127)
     * and every other product an exact .5 tie of either sign, so any rounding
     * rule but half-to-even shows. The third feeds the FFN down projection. */
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_model *m = bitnet_model_load(fix[0], &mp);
    CHECKF(m != NULL, "load %s: %s", fix[0], bitnet_get_last_error());
    if (!m) TEST_END();
    const int64_t D = m->hp.n_embd, F = m->hp.n_ff;
    CHECK(D <= 1024 && F <= 1024);
    static float x_act[1024], x_ties[1024], x_ffn[1024];
    bn_weight_row_to_float(&m->tok_embd, 300, x_act);
    double ss = 0;
    for (int64_t i = 0; i < D; i++) ss += (double)x_act[i] * x_act[i];
    const float inv = (float)(1.0 / sqrt(ss / (double)D + m->hp.rms_eps));
    for (int64_t i = 0; i < D; i++) x_act[i] = x_act[i] * inv * m->layers[0].attn_norm[i];
    x_ties[0] = 127.0f;
    for (int64_t i = 1; i < D; i++)
        x_ties[i] = (float)((i % 2 ? 1 : -1) * ((double)((i / 2) % 60) + 0.5));
    for (int64_t i = 0; i < F; i++) x_ffn[i] = (float)sin(0.37 * (double)i) * (float)(1 + i % 7);
    const quantized q_act = quantize_c(x_act, D), q_ties = quantize_c(x_ties, D),
                    q_ffn = quantize_c(x_ffn, F);

    /* the flipped code: row 37 of blk.0.attn_q, at the column where the real
     * activation is largest in magnitude (so the change must show) */
    const char *flip_tensor = "blk.0.attn_q.weight";
    const int64_t flip_row = 37;
    int64_t flip_k = 0;
    for (int64_t i = 1; i < D; i++)
        if (abs(q_act.q[i]) > abs(q_act.q[flip_k])) flip_k = i;
    snprintf(flip, sizeof flip, "%s/tiny-bitnet-flipped.gguf", tmp);
    const int flip_delta = write_flipped(fix[0], flip, flip_tensor, flip_row, flip_k);
    CHECKF(flip_delta != 0, "flip a code of %s", flip_tensor);

    /* 3. the reference: one process answers every request. Logits files:
     * 0/1 = the two clean fixtures, 2/3 = their shuffled copies (to show both
     * implementations read the corrupted file alike). */
    char req_path[4300], resp_path[4300], lpath[4][4300];
    snprintf(req_path, sizeof req_path, "%s/requests.jsonl", tmp);
    snprintf(resp_path, sizeof resp_path, "%s/responses.jsonl", tmp);
    for (int i = 0; i < 4; i++) snprintf(lpath[i], sizeof lpath[i], "%s/ref-logits-%d.f32", tmp, i);
    for (int i = 0; i < 4; i++) remove(lpath[i]);
    req = fopen(req_path, "w");
    CHECK(req != NULL);
    if (!req) TEST_END();
    req_load("load-0", fix[0]);
    req_logits("logits-0", toks, N_TOK, lpath[0]);
    req_quantize("q-act", x_act, D);
    req_quantize("q-ties", x_ties, D);
    req_quantize("q-ffn", x_ffn, F);
    req_linear("lin-act", flip_tensor, q_act.q, D);
    req_linear("lin-ties", flip_tensor, q_ties.q, D);
    req_linear("lin-ffn", "blk.0.ffn_down.weight", q_ffn.q, F);
    req_load("load-1", fix[1]);
    req_logits("logits-1", toks, N_TOK, lpath[1]);
    req_load("load-2", shuf[0]);
    req_logits("logits-2", toks, N_TOK, lpath[2]);
    req_load("load-3", shuf[1]);
    req_logits("logits-3", toks, N_TOK, lpath[3]);
    fputs("{\"id\":\"quit\",\"op\":\"quit\"}\n", req);
    CHECK(fclose(req) == 0);
    snprintf(cmd, sizeof cmd,
             "cd '%s/baseline/python' && OMP_NUM_THREADS=1 timeout 120 '%s' -m bitnet_ref.runner < "
             "'%s' > '%s'",
             src, py, req_path, resp_path);
    int rc = test_run(cmd, NULL, 0);
    CHECKF(rc == 0, "reference runner exit %d: %s", rc, cmd);
    char *text = test_read_file(resp_path, NULL);
    CHECKF(text != NULL, "no responses in %s", resp_path);
    for (char *line = text ? strtok(text, "\n") : NULL; line && n_responses < 32;
         line = strtok(NULL, "\n"))
        responses[n_responses++] = cJSON_Parse(line);
    free(text);

    /* 4. layer level: identical quantization, identical integer sums */
    check_quantize("q-act", &q_act);
    check_quantize("q-ties", &q_ties);
    check_quantize("q-ffn", &q_ffn);
    const bn_weight *wq = &m->layers[0].wq, *wd = &m->layers[0].ffn_down;
    int64_t first, delta;
    int64_t *s = c_sums(wq, &q_act);
    int64_t nd = sums_differ("lin-act", s, wq->n_out, &first, &delta);
    CHECKF(nd == 0, "%s, real activation: %lld of %lld rows differ (first %lld)", flip_tensor,
           (long long)nd, (long long)wq->n_out, (long long)first);
    printf("linear %s, real activation: %lld rows, %lld differ\n", flip_tensor,
           (long long)wq->n_out, (long long)nd);
    free(s);
    s = c_sums(wq, &q_ties);
    nd = sums_differ("lin-ties", s, wq->n_out, &first, &delta);
    CHECKF(nd == 0, "%s, ties: %lld rows differ", flip_tensor, (long long)nd);
    free(s);
    s = c_sums(wd, &q_ffn);
    nd = sums_differ("lin-ffn", s, wd->n_out, &first, &delta);
    CHECKF(nd == 0, "blk.0.ffn_down.weight: %lld of %lld rows differ", (long long)nd,
           (long long)wd->n_out);
    printf("linear blk.0.ffn_down.weight: %lld rows, %lld differ\n", (long long)wd->n_out,
           (long long)nd);
    free(s);
    bitnet_model_free(m);

    /* the engine on the flipped file vs the reference on the original: exactly
     * the flipped row differs, by (new code - old code) * q_k */
    m = bitnet_model_load(flip, &mp);
    CHECKF(m != NULL, "load %s: %s", flip, bitnet_get_last_error());
    if (m) {
        wq = &m->layers[0].wq;
        s = c_sums(wq, &q_act);
        nd = sums_differ("lin-act", s, wq->n_out, &first, &delta);
        const int64_t want = (int64_t)flip_delta * q_act.q[flip_k];
        CHECKF(
            nd == 1 && first == flip_row && delta == want,
            "flipped code (row %lld, column %lld): %lld rows differ, first %lld by %lld; want row "
            "%lld by %lld",
            (long long)flip_row, (long long)flip_k, (long long)nd, (long long)first,
            (long long)delta, (long long)flip_row, (long long)want);
        printf("flipped code at row %lld col %lld (code change %+d, q=%d): %lld row(s) differ: row "
               "%lld by "
               "%+lld\n",
               (long long)flip_row, (long long)flip_k, flip_delta, q_act.q[flip_k], (long long)nd,
               (long long)first, (long long)delta);
        free(s);
        bitnet_model_free(m);
    }

    /* 5. logits: clean fixtures pass, shuffled ones fail against the original */
    for (int a = 0; a < 2; a++) {
        char id[32];
        snprintf(id, sizeof id, "logits-%d", a);
        const cJSON *r = resp(id);
        int V = 0;
        float *eng = engine_logits(fix[a], toks, N_TOK, &V);
        float *ref = r ? ref_logits(lpath[a], N_TOK, V) : NULL;
        if (eng && ref) {
            agreement g = compare_logits(ref, eng, N_TOK, V);
            printf("%-13s clean:    mean KLD %.3g (max %.3g), top-1 %.1f%%\n", archs[a], g.mean_kld,
                   g.max_kld, 100 * g.top1);
            CHECKF(agreement_ok(g), "%s: mean KLD %.3g (<= %g), top-1 %.3f (>= %.2f)", archs[a],
                   g.mean_kld, MAX_KLD, g.top1, MIN_TOP1);
        }
        float *bad = engine_logits(shuf[a], toks, N_TOK, &V);
        if (bad && ref) {
            agreement g = compare_logits(ref, bad, N_TOK, V);
            printf("%-13s shuffled %s vs reference on the original: mean KLD %.3g (max %.3g), "
                   "top-1 %.1f%%\n",
                   archs[a], shuffled_tensor[a], g.mean_kld, g.max_kld, 100 * g.top1);
            CHECKF(!agreement_ok(g), "%s: corrupted %s not detected: mean KLD %.3g, top-1 %.3f",
                   archs[a], shuffled_tensor[a], g.mean_kld, g.top1);
        }
        snprintf(id, sizeof id, "logits-%d", a + 2);
        float *ref_bad = resp(id) ? ref_logits(lpath[a + 2], N_TOK, V) : NULL;
        if (bad && ref_bad) {
            agreement g = compare_logits(ref_bad, bad, N_TOK, V);
            printf("%-13s shuffled, both on the shuffled file: mean KLD %.3g, top-1 %.1f%%\n",
                   archs[a], g.mean_kld, 100 * g.top1);
            CHECKF(agreement_ok(g),
                   "%s shuffled copy: the implementations disagree on it too (KLD %.3g)", archs[a],
                   g.mean_kld);
        }
        free(eng);
        free(ref);
        free(bad);
        free(ref_bad);
    }
    /* For the record (no assertion): the single flipped code seen through the
     * logits. It shifts the distributions, but not reliably past the logits
     * tolerances (figures in docs/validation.md), so only the layer-level
     * check can be trusted to catch it; that is why both checks exist. */
    int V = 0;
    float *eng = engine_logits(flip, toks, N_TOK, &V);
    float *ref = resp("logits-0") ? ref_logits(lpath[0], N_TOK, V) : NULL;
    if (eng && ref) {
        agreement g = compare_logits(ref, eng, N_TOK, V);
        printf("bitnet        one flipped code vs reference on the original: mean KLD %.3g, top-1 "
               "%.1f%% (not asserted)\n",
               g.mean_kld, 100 * g.top1);
    }
    free(eng);
    free(ref);
    for (int i = 0; i < n_responses; i++) cJSON_Delete(responses[i]);
    TEST_END();
}
