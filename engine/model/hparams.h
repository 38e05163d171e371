/* Hyper-parameter checks shared by every loader (GGUF metadata, Hugging Face
 * config.json): the same rules, with messages that name the keys as the
 * file spells them. */
#ifndef BN_HPARAMS_H
#define BN_HPARAMS_H

#include "arch.h"
#include "bitnet.h"
#include "model.h"

/* Ranges every loader applies to the values it reads. */
enum {
    BN_HP_MAX_EMBD = 1 << 20,
    BN_HP_MAX_LAYER = 4096,
    BN_HP_MAX_FF = 1 << 22,
    BN_HP_MAX_HEAD = 1 << 14,
    BN_HP_MAX_CTX = 1 << 24,
};

/* How the file names each value, for messages ("bitnet.embedding_length",
 * "hidden_size"). */
/* Largest head dimension: RoPE tables and a widened query live on the stack
 * per head (real models use 64-256). */
enum { BN_MAX_HEAD_DIM = 1024 };

typedef struct bn_hparam_names {
    const char *path;
    const char *arch; /* the architecture as the file names it */
    const char *n_embd, *n_head, *n_head_kv, *n_rot, *rms_eps, *rope_base;
} bn_hparam_names;

/* n_embd % n_head, n_head % n_head_kv; sets head_dim. */
bitnet_status bn_hparams_check_heads(bn_hparams *hp, const bn_hparam_names *k);
/* n_rot even (and equal to head_dim where the architecture needs it), the
 * epsilon in (0, 1), the RoPE base finite and > 1. */
bitnet_status bn_hparams_check_rest(const bn_hparams *hp, const bn_arch *arch,
                                    const bn_hparam_names *k);

#endif
