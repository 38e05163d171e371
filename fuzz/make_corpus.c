/* Writes the GGUF seed corpus: small valid files that between them use every
 * metadata type, every tensor type the reader accepts, odd alignments and
 * empty tensors, plus regression inputs for bugs found in the reader. Seeds
 * are tiny (under 4 KB) so that libFuzzer mutates structure, not payload.
 *
 *   cc -std=c11 -Iinclude -Iengine -Ikernels -Itests fuzz/make_corpus.c kernels/types.c \
 *      -o make_corpus -lm
 *   ./make_corpus fuzz/corpus/gguf
 *
 * The output is committed; ci/fuzz.sh starts from it and test_fuzz_replay
 * replays it in every test run. */
#include <math.h>
#include <stdio.h>

#include "gguf.h"
#include "gguf_builder.h"
#include "types.h"

static const char *out_dir;
static int n_written;

static void save(gb *b, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    if (gb_save(b, path) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        exit(1);
    }
    n_written++;
    gb_free(b);
}

static void one_tensor(const char *file, uint32_t type, uint32_t n_dims, const uint64_t *ne) {
    gb b = {0};
    int64_t sne[4] = {1, 1, 1, 1};
    for (uint32_t i = 0; i < n_dims; i++) sne[i] = (int64_t)ne[i];
    uint64_t nbytes = 0;
    if (!bn_type_nbytes(type, sne, (int)n_dims, &nbytes)) {
        fprintf(stderr, "make_corpus: bad shape for %s\n", file);
        exit(1);
    }
    gb_header(&b, 3, 1, 1);
    gb_kv_str(&b, "general.architecture", "bitnet");
    gb_tensor(&b, "blk.0.ffn_down.weight", n_dims, ne, type, 0);
    gb_align(&b, 32);
    gb_fill(&b, (size_t)nbytes, (uint8_t)type);
    save(&b, file);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUT_DIR\n");
        return 2;
    }
    out_dir = argv[1];
    gb b = {0};

    gb_header(&b, 3, 0, 0);
    save(&b, "header_only.gguf");
    gb_header(&b, 2, 0, 1);
    gb_kv_str(&b, "general.name", "v2");
    save(&b, "v2.gguf");

    /* one scalar of every type, one array of every element type */
    gb_header(&b, 3, 0, 25);
    gb_key(&b, "s.u8", BN_GGUF_UINT8), gb_u8(&b, 200);
    gb_key(&b, "s.i8", BN_GGUF_INT8), gb_u8(&b, 0x80);
    gb_key(&b, "s.u16", BN_GGUF_UINT16), gb_u16(&b, 65535);
    gb_key(&b, "s.i16", BN_GGUF_INT16), gb_u16(&b, 0x8000);
    gb_key(&b, "s.u32", BN_GGUF_UINT32), gb_u32(&b, 4000000000u);
    gb_key(&b, "s.i32", BN_GGUF_INT32), gb_u32(&b, 0x80000000u);
    gb_key(&b, "s.f32", BN_GGUF_FLOAT32), gb_f32(&b, 1e-6f);
    gb_key(&b, "s.bool", BN_GGUF_BOOL), gb_u8(&b, 1);
    gb_key(&b, "s.str", BN_GGUF_STRING), gb_str(&b, "caf\xc3\xa9");
    gb_key(&b, "s.u64", BN_GGUF_UINT64), gb_u64(&b, UINT64_MAX);
    gb_key(&b, "s.i64", BN_GGUF_INT64), gb_u64(&b, 1ull << 63);
    gb_key(&b, "s.f64", BN_GGUF_FLOAT64), gb_f64(&b, -1e300);
    gb_kv_u32(&b, "general.alignment", 32);
    static const uint32_t elems[] = {BN_GGUF_UINT8,  BN_GGUF_INT8,  BN_GGUF_UINT16,  BN_GGUF_INT16,
                                     BN_GGUF_UINT32, BN_GGUF_INT32, BN_GGUF_FLOAT32, BN_GGUF_BOOL,
                                     BN_GGUF_UINT64, BN_GGUF_INT64, BN_GGUF_FLOAT64};
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 8, 8};
    static const char *const keys[] = {"a.uint8",  "a.int8",  "a.uint16",  "a.int16",
                                       "a.uint32", "a.int32", "a.float32", "a.bool",
                                       "a.uint64", "a.int64", "a.float64"};
    for (size_t i = 0; i < sizeof elems / sizeof *elems; i++) {
        const char *key = keys[i];
        gb_arr(&b, key, elems[i], 2);
        if (elems[i] == BN_GGUF_BOOL)
            gb_raw(&b, "\x00\x01", 2);
        else
            gb_fill(&b, 2 * sizes[i], (uint8_t)i);
    }
    gb_arr(&b, "a.string", BN_GGUF_STRING, 3);
    gb_str(&b, "");
    gb_str(&b, "\xe4\xb8\xad");
    gb_str_n(&b, "a\0b", 3);
    save(&b, "all_kv_types.gguf");

    /* the keys a BitNet model loader reads, with a 4-token vocabulary */
    gb_header(&b, 3, 0, 12);
    gb_kv_str(&b, "general.architecture", "bitnet-b1.58");
    gb_kv_u32(&b, "bitnet-b1.58.block_count", 1);
    gb_kv_u32(&b, "bitnet-b1.58.context_length", 128);
    gb_kv_u32(&b, "bitnet-b1.58.embedding_length", 128);
    gb_kv_u32(&b, "bitnet-b1.58.feed_forward_length", 256);
    gb_kv_u32(&b, "bitnet-b1.58.attention.head_count", 4);
    gb_kv_u32(&b, "bitnet-b1.58.attention.head_count_kv", 2);
    gb_key(&b, "bitnet-b1.58.attention.layer_norm_rms_epsilon", BN_GGUF_FLOAT32);
    gb_f32(&b, 1e-5f);
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    gb_arr(&b, "tokenizer.ggml.tokens", BN_GGUF_STRING, 4);
    gb_str(&b, "<s>");
    gb_str(&b, "</s>");
    gb_str(&b, "a");
    gb_str(&b, "\xc4\xa0");
    gb_arr(&b, "tokenizer.ggml.token_type", BN_GGUF_INT32, 4);
    gb_u32(&b, 3), gb_u32(&b, 3), gb_u32(&b, 1), gb_u32(&b, 1);
    gb_arr(&b, "tokenizer.ggml.merges", BN_GGUF_STRING, 1);
    gb_str(&b, "\xc4\xa0 a");
    save(&b, "model_keys.gguf");

    /* one tensor of each type the reader accepts, at its smallest shape */
    const uint64_t ne_1[1] = {3}, ne_2d[2] = {5, 3}, ne_32[2] = {32, 2}, ne_256[1] = {256};
    const uint64_t ne_128[2] = {128, 2}, ne_4d[4] = {2, 1, 3, 2};
    one_tensor("t_f32.gguf", BN_TYPE_F32, 4, ne_4d);
    one_tensor("t_f16.gguf", BN_TYPE_F16, 2, ne_2d);
    one_tensor("t_bf16.gguf", BN_TYPE_BF16, 1, ne_1);
    one_tensor("t_q8_0.gguf", BN_TYPE_Q8_0, 2, ne_32);
    one_tensor("t_q6_k.gguf", BN_TYPE_Q6_K, 1, ne_256);
    one_tensor("t_tq2_0.gguf", BN_TYPE_TQ2_0, 1, ne_256);
    one_tensor("t_i2_s.gguf", BN_TYPE_I2_S, 2, ne_128);
    one_tensor("t_tl1.gguf", BN_TYPE_TL1, 2, ne_128);
    one_tensor("t_tl2.gguf", BN_TYPE_TL2, 1, ne_256);

    /* alignments 1 and 64, several tensors with a gap */
    for (int a = 0; a < 2; a++) {
        uint32_t align = a ? 64 : 1;
        uint64_t ne8[1] = {8};
        gb_header(&b, 3, 3, 1);
        gb_kv_u32(&b, "general.alignment", align);
        gb_tensor(&b, "x", 1, ne8, BN_TYPE_F32, 0);
        gb_tensor(&b, "y", 1, ne8, BN_TYPE_F16, a ? 64 : 32);
        gb_tensor(&b, "z", 1, ne8, BN_TYPE_F32, a ? 192 : 49);
        gb_align(&b, align);
        gb_fill(&b, a ? 224 : 81, 7);
        save(&b, a ? "align_64.gguf" : "align_1.gguf");
    }

    /* regressions: inputs that once made the reader misbehave */
    {
        /* an empty tensor at the same offset as a real one, listed after it:
         * was reported as an overlap depending on the sort order */
        uint64_t ne8[1] = {8}, ne0[1] = {0};
        gb_header(&b, 3, 2, 0);
        gb_tensor(&b, "x", 1, ne8, BN_TYPE_F32, 0);
        gb_tensor(&b, "empty", 1, ne0, BN_TYPE_F32, 0);
        gb_align(&b, 32);
        gb_fill(&b, 32, 1);
        save(&b, "regress_empty_tensor_overlap.gguf");

        /* an empty tensor whose other dims multiply past int64: was accepted */
        uint64_t huge[3] = {0, 1ull << 40, 1ull << 40};
        gb_header(&b, 3, 1, 0);
        gb_tensor(&b, "w", 3, huge, BN_TYPE_F32, 0);
        gb_align(&b, 32);
        save(&b, "regress_empty_huge_rows.gguf");

        /* float array elements outside the int64 range: bn_gguf_arr_i64 cast
         * them (undefined behaviour) */
        gb_header(&b, 3, 0, 1);
        gb_arr(&b, "floats", BN_GGUF_FLOAT32, 3);
        gb_f32(&b, 1e30f), gb_f32(&b, -1e30f), gb_f32(&b, NAN);
        save(&b, "regress_float_to_int.gguf");

        /* an empty tensor and nothing after the header: the data section
         * starts past the end of the file */
        gb_header(&b, 3, 1, 0);
        gb_tensor(&b, "e", 1, ne0, BN_TYPE_F32, 0);
        save(&b, "regress_empty_at_eof.gguf");
    }
    printf("make_corpus: %d files in %s\n", n_written, out_dir);
    return 0;
}
