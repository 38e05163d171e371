/* Host-side checks of the CUDA backend (no GPU needed, every build):
 * the K16 repacking reproduces the I2_S codes; the decode GEMV's and the
 * tensor-core GEMM's index math, replayed on the host with the layout
 * functions the kernels use (cuda_layout.h), gives bn_i2s_gemv_ref's and
 * bn_i2s_gemm_ref's integers; every launch plan covers each output exactly
 * once on odd shapes; the run-time probe says why CUDA is off. What the
 * device itself computes is checked by tests/cuda/test_cuda_kernels.c. */
#include "cuda/cuda_layout.h"

#include "cuda/cuda_probe.h"
#include "ref/kernels_ref.h"
#include "testutil.h"
#include "types.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static void fill_bytes(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd();
}

/* Only codes 0..2 (valid ternary) unless any_byte. */
static void fill_i2s(uint8_t *p, size_t n, bool any_byte) {
    for (size_t i = 0; i < n; i++) {
        unsigned b = 0;
        for (int j = 0; j < 4; j++) b = b << 2 | (any_byte ? rnd() % 4 : rnd() % 3);
        p[i] = (uint8_t)b;
    }
}

static const int64_t Ks[] = {128, 256, 384, 640, 2560, 6912};
static const int64_t rows_list[] = {1, 3, 7, 33, 65};

static void test_repack(void) {
    int cases = 0;
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
        for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++) {
            const int64_t K = Ks[ki], R = rows_list[ri];
            /* +1: the source starts at an odd address */
            uint8_t *buf = malloc((size_t)(R * K / 4) + 1);
            uint8_t *src = buf + 1;
            uint32_t *dst = malloc((size_t)(R * bn_k16_row_words(K)) * sizeof *dst);
            fill_i2s(src, (size_t)(R * K / 4), true);
            CHECK(bn_k16_repack_i2s(src, K, R, dst));
            int64_t bad = 0;
            for (int64_t r = 0; r < R; r++)
                for (int64_t k = 0; k < K; k++)
                    bad += bn_k16_code(dst + r * bn_k16_row_words(K), k) !=
                           bn_i2s_code(src + r * (K / 4), k);
            CHECKF(bad == 0, "repack K=%lld rows=%lld: %lld codes differ", (long long)K,
                   (long long)R, (long long)bad);
            free(buf);
            free(dst);
            cases++;
        }
    /* bad shapes leave dst untouched */
    uint32_t guard[4] = {0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};
    uint8_t src[64] = {0};
    CHECK(!bn_k16_repack_i2s(src, 64, 1, guard));
    CHECK(!bn_k16_repack_i2s(src, 0, 1, guard));
    CHECK(!bn_k16_repack_i2s(src, 128, -1, guard));
    CHECK(guard[0] == 0xdeadbeef && guard[3] == 0xdeadbeef);
    /* expand4: code i of the byte lands in byte i */
    for (unsigned b = 0; b < 256; b++) {
        const uint32_t e = bn_k16_expand4(b);
        bool ok = true;
        for (int i = 0; i < 4; i++) ok &= ((e >> (8 * i)) & 0xff) == ((b >> (2 * i)) & 3);
        CHECKF(ok, "expand4(0x%02x) = 0x%08x", b, e);
    }
    printf("  repack: %d shapes\n", cases);
}

/* __dp4a on the host: four signed byte products added to acc. */
static int32_t dp4a(uint32_t a, uint32_t b, int32_t acc) {
    for (int i = 0; i < 4; i++) acc += (int8_t)(a >> (8 * i)) * (int8_t)(b >> (8 * i));
    return acc;
}

/* The decode GEMV kernel's loop structure, lane by lane: uint4 group g of
 * the row against int4 groups 4g..4g+3 of q, then the xor-shuffle tree. */
static int32_t gemv_row_as_kernel(const uint32_t *row, const int8_t *q, int64_t K) {
    int32_t lane_acc[32] = {0};
    const int64_t groups = K / 64;
    for (int lane = 0; lane < 32; lane++)
        for (int64_t g = lane; g < groups; g += 32)
            for (int i = 0; i < 4; i++) {
                const uint32_t word = row[4 * g + i];
                for (int b = 0; b < 4; b++) {
                    uint32_t xs;
                    memcpy(&xs, q + 16 * (4 * g + i) + 4 * b, 4);
                    lane_acc[lane] =
                        dp4a(bn_k16_expand4((word >> (8 * b)) & 0xffu), xs, lane_acc[lane]);
                }
            }
    for (int off = 16; off > 0; off /= 2) {
        int32_t next[32];
        for (int l = 0; l < 32; l++) next[l] = lane_acc[l] + lane_acc[l ^ off];
        memcpy(lane_acc, next, sizeof next);
    }
    return lane_acc[0];
}

static void test_gemv_math(void) {
    int cases = 0;
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
        const int64_t K = Ks[ki], R = 9;
        uint8_t *w = malloc((size_t)(R * K / 4));
        uint32_t *k16 = malloc((size_t)(R * bn_k16_row_words(K)) * sizeof *k16);
        int8_t *q = malloc((size_t)K);
        int32_t want[9];
        for (int pass = 0; pass < 2; pass++) {
            fill_i2s(w, (size_t)(R * K / 4), false);
            for (int64_t k = 0; k < K; k++)
                q[k] = pass ? (int8_t)(k % 2 ? -128 : 127) : (int8_t)rnd();
            CHECK(bn_k16_repack_i2s(w, K, R, k16));
            bn_i2s_gemv_ref(w, K, R, q, want);
            for (int64_t r = 0; r < R; r++) {
                const int32_t got = gemv_row_as_kernel(k16 + r * bn_k16_row_words(K), q, K);
                CHECKF(got == want[r], "gemv K=%lld row %lld: %d, want %d", (long long)K,
                       (long long)r, got, want[r]);
            }
            cases++;
        }
        free(w);
        free(k16);
        free(q);
    }
    /* the plan gives each row to exactly one warp */
    for (int64_t R = 1; R <= 6913; R += R < 80 ? 1 : 977) {
        const bn_gemv_plan p = bn_gemv_plan_for(R);
        CHECK(p.threads == 32 * BN_GEMV_WARPS);
        int *hits = calloc((size_t)R, sizeof *hits);
        int64_t stray = 0;
        for (int64_t b = 0; b < p.n_blocks; b++)
            for (int wp = 0; wp < BN_GEMV_WARPS; wp++) {
                const int64_t r = bn_gemv_row(b, wp);
                if (r < R)
                    hits[r]++;
                else
                    stray += r >= R + BN_GEMV_WARPS; /* only the last block may overhang */
            }
        int64_t wrong = stray;
        for (int64_t r = 0; r < R; r++) wrong += hits[r] != 1;
        CHECKF(wrong == 0, "gemv plan rows=%lld: %lld rows not covered once", (long long)R,
               (long long)wrong);
        free(hits);
    }
    printf("  gemv: %d cases as the kernel computes them\n", cases);
}

/* Fragment maps: each lane·register·byte owns one distinct matrix element. */
static void test_mma_fragments(void) {
    int a_hits[16][32] = {{0}}, b_hits[32][8] = {{0}}, c_hits[16][8] = {{0}};
    for (int lane = 0; lane < 32; lane++) {
        for (int reg = 0; reg < 4; reg++)
            for (int byte = 0; byte < 4; byte++)
                a_hits[bn_mma_a_row(lane, reg)][bn_mma_a_col(lane, reg) + byte]++;
        for (int reg = 0; reg < 2; reg++)
            for (int byte = 0; byte < 4; byte++)
                b_hits[bn_mma_b_row(lane, reg) + byte][bn_mma_b_col(lane)]++;
        for (int reg = 0; reg < 4; reg++)
            c_hits[bn_mma_c_row(lane, reg)][bn_mma_c_col(lane, reg)]++;
    }
    int wrong = 0;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 32; j++) wrong += a_hits[i][j] != 1;
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 8; j++) wrong += b_hits[i][j] != 1;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 8; j++) wrong += c_hits[i][j] != 1;
    CHECKF(wrong == 0, "%d fragment elements not owned exactly once", wrong);
}

/* The GEMM kernel replayed on the host: per warp and k step, the fragments
 * are gathered exactly as the kernel loads them, assembled into the 16×32
 * and 32×8 tiles through the fragment maps, multiplied as mma.sync does,
 * and scattered back through the C map and bn_gemm_out_elem. */
static void gemm_as_kernel(const uint32_t *w, int64_t K, int64_t R, const int8_t *q,
                           int64_t q_stride, int64_t T, int32_t *out, int64_t out_stride,
                           int *hits /* [T][R] */) {
    const bn_gemm_plan p = bn_gemm_plan_for(T, R);
    const int warps = p.threads / 32;
    const int64_t words = bn_k16_row_words(K);
    for (int64_t by = 0; by < p.grid_y; by++)
        for (int64_t bx = 0; bx < p.grid_x; bx++)
            for (int warp = 0; warp < warps; warp++) {
                int32_t acc[BN_MMA_WM][BN_MMA_WN][32][4];
                memset(acc, 0, sizeof acc);
                for (int64_t k0 = 0; k0 < K; k0 += 32) {
                    for (int i = 0; i < BN_MMA_WM; i++)
                        for (int j = 0; j < BN_MMA_WN; j++) {
                            int8_t A[16][32], B[32][8];
                            for (int lane = 0; lane < 32; lane++) {
                                for (int reg = 0; reg < 4; reg++) {
                                    const int64_t t =
                                        bn_gemm_tile_tok(by, warp, i) + bn_mma_a_row(lane, reg);
                                    const int64_t k = k0 + bn_mma_a_col(lane, reg);
                                    uint32_t v = 0;
                                    if (t < T) memcpy(&v, q + t * q_stride + k, 4);
                                    for (int b = 0; b < 4; b++)
                                        A[bn_mma_a_row(lane, reg)][bn_mma_a_col(lane, reg) + b] =
                                            (int8_t)(v >> (8 * b));
                                }
                                const int64_t r =
                                    bn_gemm_tile_row(bx, warp, j) + bn_mma_b_col(lane);
                                for (int reg = 0; reg < 2; reg++) {
                                    const int64_t k = k0 + bn_mma_b_row(lane, reg);
                                    const uint32_t word = r < R ? w[r * words + k / 16] : 0u;
                                    const uint32_t v =
                                        bn_k16_expand4((word >> (2 * (k % 16))) & 0xffu);
                                    for (int b = 0; b < 4; b++)
                                        B[bn_mma_b_row(lane, reg) + b][bn_mma_b_col(lane)] =
                                            (int8_t)(v >> (8 * b));
                                }
                            }
                            for (int lane = 0; lane < 32; lane++)
                                for (int reg = 0; reg < 4; reg++) {
                                    const int m = bn_mma_c_row(lane, reg),
                                              n = bn_mma_c_col(lane, reg);
                                    int32_t s = 0;
                                    for (int kk = 0; kk < 32; kk++) s += A[m][kk] * B[kk][n];
                                    acc[i][j][lane][reg] += s;
                                }
                        }
                }
                for (int i = 0; i < BN_MMA_WM; i++)
                    for (int j = 0; j < BN_MMA_WN; j++)
                        for (int lane = 0; lane < 32; lane++)
                            for (int reg = 0; reg < 4; reg++) {
                                int64_t t, r;
                                bn_gemm_out_elem(bx, by, warp, i, j, lane, reg, &t, &r);
                                if (t < T && r < R) {
                                    out[t * out_stride + r] = acc[i][j][lane][reg];
                                    hits[t * R + r]++;
                                }
                            }
            }
}

static void test_gemm_math(void) {
    static const int64_t shapes[][3] = {/* K, rows, tokens */
                                        {128, 1, 1},   {128, 8, 16},  {256, 63, 17}, {384, 64, 64},
                                        {128, 65, 65}, {256, 130, 3}, {640, 9, 129}, {2560, 70, 5}};
    int cases = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t K = shapes[s][0], R = shapes[s][1], T = shapes[s][2];
        const int64_t q_stride = K + 16, out_stride = R + 3;
        uint8_t *w = malloc((size_t)(R * K / 4));
        uint32_t *k16 = malloc((size_t)(R * bn_k16_row_words(K)) * sizeof *k16);
        int8_t *q = malloc((size_t)(T * q_stride));
        int32_t *want = calloc((size_t)(T * out_stride), sizeof *want);
        int32_t *got = calloc((size_t)(T * out_stride), sizeof *got);
        int *hits = calloc((size_t)(T * R), sizeof *hits);
        fill_i2s(w, (size_t)(R * K / 4), false);
        fill_bytes((uint8_t *)q, (size_t)(T * q_stride));
        CHECK(bn_k16_repack_i2s(w, K, R, k16));
        bn_i2s_gemm_ref(w, K, R, q, q_stride, T, want, out_stride);
        gemm_as_kernel(k16, K, R, q, q_stride, T, got, out_stride, hits);
        int64_t bad = 0, cover = 0;
        for (int64_t t = 0; t < T; t++)
            for (int64_t r = 0; r < R; r++) {
                bad += got[t * out_stride + r] != want[t * out_stride + r];
                cover += hits[t * R + r] != 1;
            }
        CHECKF(bad == 0 && cover == 0, "gemm K=%lld rows=%lld tok=%lld: %lld wrong, %lld not once",
               (long long)K, (long long)R, (long long)T, (long long)bad, (long long)cover);
        free(w);
        free(k16);
        free(q);
        free(want);
        free(got);
        free(hits);
        cases++;
    }
    printf("  gemm: %d shapes as the tensor-core kernel computes them\n", cases);
}

static void test_attention_chunks(void) {
    for (int n = 1; n <= 4 * BN_ATT_CHUNK + 3; n += n < 300 ? 1 : 97) {
        int next = 0;
        bool ok = true;
        for (int c = 0; c < bn_att_n_chunks(n); c++) {
            int first, count;
            bn_att_chunk(n, c, &first, &count);
            ok &= first == next && count >= 1 && count <= BN_ATT_CHUNK;
            next = first + count;
        }
        CHECKF(ok && next == n, "attention chunks of %d keys", n);
    }
}

static void test_probe(void) {
    char name[128], why[256] = "";
    const bool ok = bn_cuda_probe(name, sizeof name, why, sizeof why);
#if defined(BITNET_HAVE_CUDA)
    CHECKF(ok ? name[0] != '\0' : strncmp(why, "no CUDA device: ", 16) == 0, "probe: %s", why);
#else
    CHECKF(!ok && strncmp(why, "built without CUDA", 18) == 0, "probe: %s", why);
#endif
    printf("  probe: %s\n", ok ? name : why);
}

int main(void) {
    test_repack();
    test_gemv_math();
    test_mma_fragments();
    test_gemm_math();
    test_attention_chunks();
    test_probe();
    TEST_END();
}
