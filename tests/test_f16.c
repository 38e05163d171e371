/* The scalar half/bfloat16 conversions against the compiler's _Float16
 * (hardware F16C or libgcc, both IEEE round-to-nearest-even): every half
 * value both ways, and 2^24 spread-out floats plus all rounding boundaries. */
#include "f16.h"
#include "testutil.h"

int main(void) {
#if defined(__FLT16_MAX__)
    int bad_to32 = 0, bad_to16 = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        _Float16 hv;
        uint16_t hb = (uint16_t)h;
        memcpy(&hv, &hb, 2);
        float ref = (float)hv, got = bn_f16_to_f32(hb);
        if (!(ref == got || (isnan(ref) && isnan(got))) || (ref == 0 && signbit(ref) != signbit(got)))
            bad_to32++;
    }
    CHECKF(bad_to32 == 0, "%d half values decode wrongly", bad_to32);
    /* every 256th float bit pattern: covers all exponents and rounding cases */
    for (uint64_t u = 0; u < (1ull << 32); u += 251) {
        float f = bn_bits_f32((uint32_t)u);
        _Float16 hv = (_Float16)f;
        uint16_t ref;
        memcpy(&ref, &hv, 2);
        uint16_t got = bn_f32_to_f16(f);
        bool both_nan = isnan(f) && (got & 0x7c00) == 0x7c00 && (got & 0x3ff);
        if (got != ref && !both_nan) {
            if (bad_to16 < 5) fprintf(stderr, "f32 %08x: got %04x want %04x\n", (unsigned)u, got, ref);
            bad_to16++;
        }
    }
    CHECKF(bad_to16 == 0, "%d floats round wrongly to half", bad_to16);
    /* exact midpoints between consecutive halves must round to even */
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float lo = bn_f16_to_f32((uint16_t)h), hi = bn_f16_to_f32((uint16_t)(h + 1));
        float mid = lo + (hi - lo) / 2;
        uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (bn_f32_to_f16(mid) != want) bad_to16++;
    }
    CHECKF(bad_to16 == 0, "midpoint rounding wrong");
#else
    SKIP("this compiler has no _Float16 to compare against");
#endif
    /* bfloat16: round to nearest even on the upper 16 bits */
    CHECK(bn_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(bn_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(bn_f32_to_bf16(bn_bits_f32(0x3f808000u)) == 0x3f80); /* tie, even stays */
    CHECK(bn_f32_to_bf16(bn_bits_f32(0x3f818000u)) == 0x3f82); /* tie, odd rounds up */
    CHECK(isnan(bn_bf16_to_f32(bn_f32_to_bf16(NAN))));
    TEST_END();
}
