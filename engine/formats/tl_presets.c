/* bitnet.cpp's TL kernel parameters per shape (tl_presets.h).
 *
 * Source: setup_env.py's gen_code() at microsoft/BitNet 16da220, which runs
 * utils/codegen_tl{1,2}.py with these --BM/--BK/--bm lists for the shapes of
 * ModelShapeDict; codegen writes include/kernel_config.ini and the converter
 * reads it. setup_env runs codegen even with --use-pretuned, so these (not
 * preset_kernels/<model>/kernel_config_tl*.ini, which differ for Llama3 TL1
 * and for one large TL2 shape) are what files made by the standard pipeline
 * hold. Llama3 and Falcon3 models use the Llama3-8B shapes; 2B-4T is
 * generated with the 3B shapes (its own matrices then have no kernel). */
#include "tl_presets.h"

#include <stddef.h>

#include "types.h"

#define TL1 BN_TYPE_TL1
#define TL2 BN_TYPE_TL2

static const bn_tl_preset presets[] = {
    {TL1, 1536, 4096, {256, 128, 32}, "bitnet_b1_58-large"},
    {TL1, 1536, 1536, {128, 64, 64}, "bitnet_b1_58-large"},
    {TL1, 4096, 1536, {256, 128, 32}, "bitnet_b1_58-large"},
    {TL1, 14336, 4096, {256, 128, 32}, "Llama3-8B-1.58-100B-tokens"},
    {TL1, 4096, 14336, {128, 64, 64}, "Llama3-8B-1.58-100B-tokens"},
    {TL1, 1024, 4096, {256, 128, 32}, "Llama3-8B-1.58-100B-tokens"},
    {TL1, 4096, 4096, {128, 64, 64}, "Llama3-8B-1.58-100B-tokens"},
    {TL1, 3200, 8640, {160, 64, 32}, "bitnet_b1_58-3B"},
    {TL1, 3200, 3200, {320, 128, 64}, "bitnet_b1_58-3B"},
    {TL1, 8640, 3200, {320, 64, 32}, "bitnet_b1_58-3B"},
    {TL2, 1536, 4096, {256, 96, 32}, "bitnet_b1_58-large"},
    {TL2, 1536, 1536, {128, 192, 32}, "bitnet_b1_58-large"},
    {TL2, 4096, 1536, {256, 96, 32}, "bitnet_b1_58-large"},
    {TL2, 14336, 4096, {256, 96, 32}, "Llama3-8B-1.58-100B-tokens"},
    {TL2, 4096, 14336, {128, 96, 32}, "Llama3-8B-1.58-100B-tokens"},
    {TL2, 1024, 4096, {256, 96, 32}, "Llama3-8B-1.58-100B-tokens"},
    {TL2, 4096, 4096, {128, 96, 32}, "Llama3-8B-1.58-100B-tokens"},
    {TL2, 3200, 8640, {160, 96, 32}, "bitnet_b1_58-3B"},
    {TL2, 3200, 3200, {320, 96, 32}, "bitnet_b1_58-3B"},
    {TL2, 8640, 3200, {320, 96, 32}, "bitnet_b1_58-3B"},
};

const bn_tl_preset *bn_tl_preset_find(uint32_t type, int64_t M, int64_t K) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (presets[i].type == type && presets[i].m == M && presets[i].k == K) return &presets[i];
    return NULL;
}
