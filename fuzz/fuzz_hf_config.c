/* libFuzzer target for the Hugging Face JSON parsers (engine/formats/
 * hf_config.c): the first byte picks config.json, tokenizer_config.json or
 * generation_config.json. An accepted config.json must satisfy what the
 * loader relies on: positive sizes within the limits, heads dividing the
 * width and each other, a finite epsilon in (0, 1), a RoPE base > 1, an
 * architecture row that exists. A refused input must leave a message. */
#include <math.h>
#include <string.h>

#include "arch.h"
#include "error.h"
#include "fuzz.h"
#include "hf_config.h"
#include "hparams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *text = (const char *)data + 1;
    const size_t len = size - 1;
    bitnet_status st;
    switch (data[0] % 3) {
    case 0: {
        bn_hf_config c;
        st = bn_hf_config_parse("config.json", text, len, &c);
        if (st) break;
        const bn_hparams *hp = &c.hp;
        FUZZ_ASSERT(hp->n_embd >= 1 && hp->n_embd <= BN_HP_MAX_EMBD);
        FUZZ_ASSERT(hp->n_layer >= 1 && hp->n_layer <= BN_HP_MAX_LAYER);
        FUZZ_ASSERT(hp->n_ff >= 1 && hp->n_head >= 1 && hp->n_head_kv >= 1 && hp->n_vocab >= 1);
        FUZZ_ASSERT(hp->n_embd % hp->n_head == 0 && hp->n_head % hp->n_head_kv == 0);
        FUZZ_ASSERT(hp->head_dim * hp->n_head == hp->n_embd && hp->n_rot == hp->head_dim);
        FUZZ_ASSERT(isfinite(hp->rms_eps) && hp->rms_eps > 0 && hp->rms_eps < 1);
        FUZZ_ASSERT(isfinite(hp->rope_base) && hp->rope_base > 1);
        FUZZ_ASSERT(bn_arch_find(c.arch) != NULL);
        return 0;
    }
    case 1: {
        bn_hf_tok_config c;
        st = bn_hf_tok_config_parse("tokenizer_config.json", text, len, &c);
        if (st) break;
        FUZZ_ASSERT(c.add_bos_token >= -1 && c.add_bos_token <= 1);
        FUZZ_ASSERT(!c.bos_token || c.bos_token[0]);
        bn_hf_tok_config_free(&c);
        return 0;
    }
    default: {
        bn_hf_gen_config c;
        st = bn_hf_gen_config_parse("generation_config.json", text, len, &c);
        if (st) break;
        FUZZ_ASSERT(c.n_eos >= 0 && c.n_eos <= BN_HF_MAX_EOS);
        for (int i = 0; i < c.n_eos; i++) FUZZ_ASSERT(c.eos_ids[i] >= 0);
        return 0;
    }
    }
    FUZZ_ASSERT(bitnet_get_last_error()[0] != '\0');
    return 0;
}
