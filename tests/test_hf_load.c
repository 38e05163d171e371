/* Hugging Face directories load to exactly the model of the GGUF fixture of
 * the same parameters: every variant (packed autobitlinear, packed bitlinear,
 * bf16 masters ternarized at load) and sharded checkpoints give bit-identical
 * logits, for BitNet (bitnet-b1.58) and Llama (llama vs llama-hf). The test
 * also shows it would catch the three classic import bugs: the other meaning
 * of weight_scale, interleaved unpacking, and the wrong RoPE pairing. */
#include <math.h>

#include "chat.h"
#include "hf_testutil.h"
#include "model.h"
#include "quantize.h"
#include "safetensors.h"
#include "safetensors_writer.h"
#include "st_index.h"

static char base[4096];

static float max_diff(const float *a, const float *b, size_t n) {
    float d = 0;
    for (size_t i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

/* Bit for bit, or (llama) within tol: its q/k rows are permuted between the
 * GGUF and HF layouts, which reorders the float sums of q.k (the integer
 * BitLinear outputs are the same, only in another row order). */
static void check_same(const char *what, const float *ref, const float *got, size_t n, float tol) {
    CHECKF(got != NULL, "%s: no logits", what);
    if (!got || !ref) return;
    if (tol == 0)
        CHECKF(memcmp(ref, got, n * sizeof *ref) == 0, "%s: logits differ (max |d| %g)", what,
               (double)max_diff(ref, got, n));
    else
        CHECKF(max_diff(ref, got, n) <= tol, "%s: logits differ by %g (> %g)", what,
               (double)max_diff(ref, got, n), (double)tol);
}

static void check_differs(const char *what, const float *ref, const float *got, size_t n) {
    CHECKF(got != NULL, "%s: no logits", what);
    if (!got || !ref) return;
    CHECKF(max_diff(ref, got, n) > 1e-3f, "%s: logits are the same: the test cannot see the bug",
           what);
}

/* Re-packs every U8 tensor of dir/model.safetensors with rows interleaved
 * (row 4r + i from bits 2i of packed[r]) instead of in blocks. */
static int write_interleaved(const char *dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    bn_safetensors *st = NULL;
    if (bn_st_open(path, false, &st)) return 0;
    bn_st_writer *w = bn_st_writer_new();
    uint8_t **bufs = calloc(st->n_tensors, sizeof *bufs);
    int ok = w && bufs;
    for (size_t k = 0; ok && k < st->n_tensors; k++) {
        const bn_st_tensor *t = &st->tensors[k];
        const void *data = t->data;
        if (t->dtype == BN_ST_U8) {
            const int64_t R = t->shape[0], K = t->shape[1];
            uint8_t *out = bufs[k] = calloc((size_t)(R * K), 1);
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < K; c++)
                    for (int i = 0; i < 4; i++) {
                        const int64_t row = i * R + r; /* block order: where the code is */
                        const int v = (t->data[r * K + c] >> (2 * i)) & 3;
                        const int64_t pr = row / 4, pi = row % 4; /* interleaved position */
                        out[pr * K + c] |= (uint8_t)(v << (2 * pi));
                    }
            data = out;
        }
        ok = bn_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, data, t->nbytes) ==
             BITNET_OK;
    }
    char tmp[4500];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    ok = ok && bn_st_writer_write(w, tmp) == BITNET_OK; /* before closing: w points into st */
    for (size_t k = 0; bufs && k < st->n_tensors; k++) free(bufs[k]);
    bn_st_close(st);
    bn_st_writer_free(w);
    free(bufs);
    return ok && rename(tmp, path) == 0;
}

static void dir_for(char *buf, size_t n, const char *arch, bn_hf_variant v, int shards) {
    snprintf(buf, n, "%s/%s-%s-%d", base, arch, bn_hf_variant_name(v), shards);
}

/* One architecture: GGUF reference, then every variant and sharding. */
static void check_arch(const char *arch) {
    bn_fixture_params p;
    hf_params(&p, arch);
    char gguf[4200], dir[4200];
    snprintf(gguf, sizeof gguf, "%s/%s.gguf", base, arch);
    CHECKF(bn_fixture_write(&p, gguf, NULL) == BITNET_OK, "gguf: %s", bitnet_get_last_error());
    const bitnet_numerics nums[2] = {BITNET_NUMERICS_COMPAT, BITNET_NUMERICS_EXACT};
    float *ref[2] = {hf_logits_path(gguf, nums[0]), hf_logits_path(gguf, nums[1])};
    CHECK(ref[0] && ref[1]);
    const size_t n = (size_t)HF_T * (size_t)p.n_vocab;
    const struct {
        bn_hf_variant v;
        int shards;
    } cases[] = {{BN_HF_PACKED_AUTOBITLINEAR, 1}, {BN_HF_PACKED_BITLINEAR, 1},
                 {BN_HF_BF16_ONLINE, 1},          {BN_HF_PACKED_AUTOBITLINEAR, 3},
                 {BN_HF_PACKED_BITLINEAR, 2},     {BN_HF_BF16_ONLINE, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dir_for(dir, sizeof dir, arch, cases[c].v, cases[c].shards);
        bitnet_status st = bn_fixture_write_hf(&p, cases[c].v, cases[c].shards, dir, NULL);
        CHECKF(st == BITNET_OK, "%s: %s", dir, bitnet_get_last_error());
        for (int k = 0; k < 2; k++) {
            float *l = hf_logits_path(dir, nums[k]);
            char what[4300];
            snprintf(what, sizeof what, "%s (%s)", dir, k ? "exact" : "compat");
            check_same(what, ref[k], l, n, strcmp(arch, "llama") ? 0.0f : 1e-4f);
            free(l);
        }
    }

    /* the bitlinear file read as autobitlinear: weight_scale multiplied
     * where it divides */
    char swapped[4300];
    dir_for(dir, sizeof dir, arch, BN_HF_PACKED_BITLINEAR, 1);
    snprintf(swapped, sizeof swapped, "%s-swapped", dir);
    CHECK(hf_copy_dir(dir, swapped));
    char cfg_path[4400];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", swapped);
    cJSON *cfg = hf_json_read(cfg_path);
    CHECK(cfg != NULL);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cfg, "quantization_config"), "linear_class",
                              cJSON_CreateString("autobitlinear"));
    CHECK(hf_json_write(cfg_path, cfg));
    cJSON_Delete(cfg);
    float *l = hf_logits_path(swapped, nums[1]);
    check_differs("bitlinear read as autobitlinear", ref[1], l, n);
    free(l);

    /* rows packed interleaved (4r + i) instead of in blocks (i*R + r) */
    char inter[4300];
    dir_for(dir, sizeof dir, arch, BN_HF_PACKED_AUTOBITLINEAR, 1);
    snprintf(inter, sizeof inter, "%s-interleaved", dir);
    CHECK(hf_copy_dir(dir, inter));
    CHECK(write_interleaved(inter));
    l = hf_logits_path(inter, nums[1]);
    check_differs("interleaved packing", ref[1], l, n);
    free(l);

    /* the HF layout needs NEOX pairing: adjacent pairs are wrong */
    bitnet_model *m = bitnet_model_load(dir, NULL);
    CHECK(m != NULL);
    if (m) {
        CHECK(m->arch->rope == BN_ROPE_NEOX);
        if (!strcmp(arch, "llama")) {
            m->arch = bn_arch_find("llama");
            CHECK(m->arch && m->arch->rope == BN_ROPE_NORM);
            l = hf_logits(m, nums[1]);
            check_differs("llama HF weights with adjacent RoPE pairs", ref[1], l, n);
            free(l);
        }
        bitnet_model_free(m);
    }
    free(ref[0]);
    free(ref[1]);
}

/* Tokenizer, special tokens, chat format, metadata and the sharded layout. */
static void check_dir_details(void) {
    char dir[4200], path[4300];
    dir_for(dir, sizeof dir, "bitnet-b1.58", BN_HF_PACKED_AUTOBITLINEAR, 3);
    /* weight and scale in different shards */
    snprintf(path, sizeof path, "%s/%s", dir, BN_ST_INDEX_NAME);
    cJSON *ix = hf_json_read(path);
    const cJSON *map = cJSON_GetObjectItem(ix, "weight_map");
    const cJSON *w = cJSON_GetObjectItem(map, "model.layers.0.self_attn.q_proj.weight");
    const cJSON *s = cJSON_GetObjectItem(map, "model.layers.0.self_attn.q_proj.weight_scale");
    CHECK(cJSON_IsString(w) && cJSON_IsString(s) && strcmp(w->valuestring, s->valuestring) != 0);
    cJSON_Delete(ix);

    /* config.json as the path works too */
    snprintf(path, sizeof path, "%s/config.json", dir);
    bitnet_model *m = bitnet_model_load(path, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    if (!m) return;
    CHECK(!strcmp(bitnet_model_arch(m), "bitnet-b1.58"));
    char buf[128];
    CHECK(bitnet_model_meta_str(m, "hf.architecture", buf, sizeof buf) > 0 &&
          !strcmp(buf, "BitNetForCausalLM"));
    CHECK(bitnet_model_meta_str(m, "hf.chat_format", buf, sizeof buf) > 0 &&
          !strcmp(buf, "bitnet"));
    CHECK(bn_chat_format_detect(m) == BN_CHAT_BITNET);
    const bitnet_token bos = bitnet_token_bos(m), eos = bitnet_token_eos(m);
    char piece[64];
    CHECK(bitnet_token_to_piece(m, bos, piece, sizeof piece, true) > 0 &&
          !strcmp(piece, "<|begin_of_text|>"));
    CHECK(bitnet_token_to_piece(m, eos, piece, sizeof piece, true) > 0 &&
          !strcmp(piece, "<|end_of_text|>"));
    const bitnet_token eot =
        bitnet_tokenize(m, "<|eot_id|>", -1, (bitnet_token[4]){0}, 4, false, true);
    CHECK(eot == 1);
    bitnet_token t[64];
    const char *text = "Hello world, 12345 tokens!";
    const int32_t nt = bitnet_tokenize(m, text, -1, t, 64, true, false);
    CHECK(nt > 2 && t[0] == bos);
    char back[128];
    CHECK(bitnet_detokenize(m, t, nt, back, sizeof back, true, false) > 0 && !strcmp(back, text));
    bitnet_model_free(m);

    /* vocab_only loads without the safetensors */
    bitnet_model_params mp = bitnet_model_default_params();
    mp.vocab_only = true;
    m = bitnet_model_load(dir, &mp);
    CHECK(m != NULL && bitnet_model_n_vocab(m) == 512);
    bitnet_model_free(m);
}

/* Online ternarization rounds half to even, as torch.round: with mean|w| = 1
 * the values +-0.5 give 0 (half away from zero would give +-1). */
static void check_round_half_even(void) {
    int8_t q[4];
    float s = 0;
    const float ties[4] = {0.5f, -0.5f, 1.5f, 2.5f};
    bn_ternarize_absmean(ties, 4, q, &s);
    /* mean 1.25: 0.5 * 0.8 = 0.4 -> 0, 1.5 * 0.8 = 1.2 -> 1, 2.5 * 0.8 = 2 -> 1 */
    CHECK(q[0] == 0 && q[1] == 0 && q[2] == 1 && q[3] == 1 && s == 1.25f);
    const float exact[4] = {0.5f, -0.5f, 1.5f, 1.5f}; /* mean exactly 1: w*s = w */
    bn_ternarize_absmean(exact, 4, q, &s);
    CHECK(s == 1.0f);
    CHECKF(q[0] == 0 && q[1] == 0, "0.5 and -0.5 must round to 0 (half to even), got %d %d", q[0],
           q[1]);
    CHECK(q[2] == 1 && q[3] == 1);
}

int main(void) {
    check_round_half_even();
    snprintf(base, sizeof base, "%s", test_tmpdir("hf_load"));
    check_arch("bitnet-b1.58");
    check_arch("llama");
    check_dir_details();
    TEST_END();
}
