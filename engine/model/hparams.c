#include "hparams.h"

#include <math.h>

#include "error.h"

bitnet_status bn_hparams_check_heads(bn_hparams *hp, const bn_hparam_names *k) {
    if (hp->n_embd % hp->n_head != 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s %d is not a multiple of %s %d", k->path,
                       k->n_embd, hp->n_embd, k->n_head, hp->n_head);
    if (hp->n_head_kv < 1 || hp->n_head_kv > hp->n_head || hp->n_head % hp->n_head_kv != 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s %d is not a multiple of %s %d", k->path,
                       k->n_head, hp->n_head, k->n_head_kv, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (hp->head_dim > BN_MAX_HEAD_DIM)
        return bn_fail(BITNET_ERR_UNSUPPORTED,
                       "%s: head dimension %d (%s %d / %s %d) is above the supported %d", k->path,
                       hp->head_dim, k->n_embd, hp->n_embd, k->n_head, hp->n_head, BN_MAX_HEAD_DIM);
    return BITNET_OK;
}

bitnet_status bn_hparams_check_rest(const bn_hparams *hp, const bn_arch *arch,
                                    const bn_hparam_names *k) {
    if (hp->n_rot % 2 != 0)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s %d is odd", k->path, k->n_rot, hp->n_rot);
    if (arch->rot_equals_head && hp->n_rot != hp->head_dim)
        return bn_fail(BITNET_ERR_FORMAT,
                       "%s: %s %d must equal the head dimension %d for architecture %s", k->path,
                       k->n_rot, hp->n_rot, hp->head_dim, k->arch);
    if (!isfinite(hp->rms_eps) || hp->rms_eps <= 0.0f || hp->rms_eps >= 1.0f)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s = %g is not a valid epsilon (0 < eps < 1)",
                       k->path, k->rms_eps, (double)hp->rms_eps);
    if (!isfinite(hp->rope_base) || hp->rope_base <= 1.0f)
        return bn_fail(BITNET_ERR_FORMAT, "%s: %s = %g is not a valid RoPE base (> 1)", k->path,
                       k->rope_base, (double)hp->rope_base);
    return BITNET_OK;
}
