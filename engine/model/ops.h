/* Element-wise and row operations of the forward pass (scalar). Their float
 * order follows ggml where compat mode needs it (comments say where). */
#ifndef BN_OPS_H
#define BN_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"

/* cos/sin table for one position: cs[2i] = cos θ_i, cs[2i+1] = sin θ_i for
 * i < n_rot/2, θ_i = pos · base^(-2i/n_rot). compat builds θ by repeated float
 * multiplication like ggml; exact uses double. */
void bn_rope_table(float *cs, int32_t pos, int n_rot, float base, bool exact);

/* Rotates the first n_rot dims of each of n_heads vectors of head_dim floats. */
void bn_rope_apply(float *x, int n_heads, int head_dim, int n_rot, const float *cs,
                   bn_rope_kind kind);

#endif
