"""Primitive operations of the reference model, in the two numerics modes.

`compat` reproduces the float roundings of bitnet.cpp (ggml) as described in
docs/research/bitnet-cpp-spec.md sections 1.2, 1.3 and 1.7 (where its x86 build keeps F32
operands unrounded, see model.DEFAULT_OPTIONS and README.md); `exact` computes in float64
(except that the int8 activation quantization of BitLinear is kept: it is part of the
model).  Arrays are float32 in compat mode and float64 in exact mode.

Shape letters used in comments: T tokens, K input features, N output features,
H query heads, Hkv key/value heads, S cached positions, d head dimension, R rotated dims.
"""

from __future__ import annotations

import numpy as np

COMPAT = "compat"
EXACT = "exact"
MODES = (COMPAT, EXACT)


def float_type(mode: str):
    """The float dtype of a numerics mode."""
    if mode == COMPAT:
        return np.float32
    if mode == EXACT:
        return np.float64
    raise ValueError(f"unknown numerics mode '{mode}' (expected 'compat' or 'exact')")


def f32_fn(fn, x: np.ndarray) -> np.ndarray:
    """Apply a transcendental function `fn` to float32 values as a C libm `expf`/`cosf`/...
    would: evaluate in float64 and round once to float32 (glibc's float functions are
    correctly rounded in nearly all cases).  numpy's own float32 SIMD versions differ by an
    ulp in many cases and vary with the CPU, so compat mode never uses them."""
    return fn(np.asarray(x, dtype=np.float32).astype(np.float64)).astype(np.float32)


def matmul(a, b) -> np.ndarray:
    """a @ b whose result does not depend on the CPU: float32 operands are multiplied and
    summed in float64 and the result rounded once to float32.  A float32 BLAS product
    does not have that property: OpenBLAS picks its kernel by CPU, and FMA kernels
    (Haswell, Zen, SkylakeX) round differently from the others, which moved the
    reference's KLD against bitnet.cpp from 1.0e-4 to 1.7e-4 between two machines."""
    if a.dtype == np.float32 or b.dtype == np.float32:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    return a @ b


def round_f16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest float16 (ties to even), returned as float32."""
    return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def round_bf16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (nearest, ties to even; NaN stays NaN), as float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    u = x.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16).astype(np.uint32)
    out = rounded.view(np.float32).copy()
    nan = np.isnan(x)
    out[nan] = x[nan]
    return out


# ---------------------------------------------------------------------------------------
# activation quantization and BitLinear (spec 1.2, 1.3)
# ---------------------------------------------------------------------------------------

ACT_QUANT_FLOOR = 1e-5


def quantize_activations(x: np.ndarray, mode: str = COMPAT):
    """Per-token int8 absmax quantization.

    x: (T, K) float.  Returns (q, s_x, sum_q):
      q    (T, K) int8  = clamp(round_half_even(x * s_x), -128, 127)
      s_x  (T,)         = 127 / max(1e-5, max_k |x_k|)   (max in float64; float32 in compat)
      sum_q (T,) int64  = sum_k q_k
    In compat mode the product x * s_x is a float32 multiply, as in ggml's quantize_row_i8_s.
    """
    x = np.asarray(x)
    amax = np.max(np.abs(x.astype(np.float64)), axis=-1)              # (T,) float64
    amax = np.maximum(amax, ACT_QUANT_FLOOR)
    if mode == COMPAT:
        s_x = (127.0 / amax).astype(np.float32)                          # (T,) float32
        prod = x.astype(np.float32) * s_x[..., None]                      # (T, K) float32
    else:
        s_x = 127.0 / amax                                               # (T,) float64
        prod = x.astype(np.float64) * s_x[..., None]
    q = np.clip(np.rint(prod), -128, 127).astype(np.int8)                # (T, K) int8
    sum_q = q.astype(np.int64).sum(axis=-1)                              # (T,)
    return q, s_x, sum_q


def ternary_int_dot(q: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Exact integer products sum_k t[n,k] * q[t,k].

    q: (T, K) int8, codes: (N, K) int8 in {-1,0,1}.  Returns (T, N) int64.
    Float32 BLAS is exact here: every partial sum is an integer of magnitude at most
    128*K < 2^24 when K < 131072, so no rounding can occur in any summation order.
    """
    K = q.shape[-1]
    if K < 131072:
        acc = q.astype(np.float32) @ codes.astype(np.float32).T          # (T, N) exact
        return acc.astype(np.int64)
    return q.astype(np.int64) @ codes.astype(np.int64).T


def bitlinear(x: np.ndarray, codes: np.ndarray, w_scale, mode: str = COMPAT) -> np.ndarray:
    """BitLinear: y[t,n] = (sum_k t[n,k] q[t,k]) / s_x[t] * s_w.

    x: (T, K), codes: (N, K) ternary int8, w_scale: per-tensor scale.  Returns (T, N).
    compat: float32((float)dot / s_x * s_w) evaluated left to right in float32 (the integer
    equals bitnet.cpp's  dot(codes+1, q) - sum_q); exact: the same in float64.
    """
    q, s_x, _ = quantize_activations(x, mode)
    dot = ternary_int_dot(q, codes)                                      # (T, N) int64
    if mode == COMPAT:
        y = dot.astype(np.float32) / s_x[:, None]                        # float32 divide
        return y * np.float32(w_scale)
    return dot.astype(np.float64) / s_x[:, None] * np.float64(w_scale)


# ---------------------------------------------------------------------------------------
# RMSNorm, activations, RoPE, softmax (spec 1.7)
# ---------------------------------------------------------------------------------------

def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float, mode: str = COMPAT) -> np.ndarray:
    """x: (T, K), weight: (K,).  Returns (T, K).

    compat: sum of squares in float64, mean cast to float32,
            y = x * float32(1/sqrtf(mean + eps)), then * weight (float32).
    exact:  x / sqrt(mean(x^2) + eps) * weight in float64.
    """
    if mode == COMPAT:
        x = x.astype(np.float32)
        x64 = x.astype(np.float64)
        mean = (np.sum(x64 * x64, axis=-1) / x.shape[-1]).astype(np.float32)   # (T,)
        scale = np.float32(1.0) / np.sqrt(mean + np.float32(eps))              # float32
        return (x * scale[:, None]) * weight.astype(np.float32)[None, :]
    x = x.astype(np.float64)
    mean = np.mean(x * x, axis=-1)
    return x / np.sqrt(mean + np.float64(eps))[:, None] * weight.astype(np.float64)[None, :]


def silu(x: np.ndarray) -> np.ndarray:
    """x / (1 + exp(-x)), in the dtype of x (float32: exp rounded to float32)."""
    if x.dtype == np.float32:
        return x / (np.float32(1) + f32_fn(np.exp, -x))
    return x / (1.0 + np.exp(-x))


def relu_squared(x: np.ndarray) -> np.ndarray:
    r = np.maximum(x, x.dtype.type(0))
    return r * r


def rope_angles(positions: np.ndarray, n_rot: int, base: float, mode: str = COMPAT,
                freq_factors: np.ndarray | None = None) -> np.ndarray:
    """Rotation angles theta[t, i] = pos_t * base^(-2i/n_rot), i in [0, n_rot/2).

    compat: built as ggml does, by repeated float32 multiplication
            theta_0 = pos, theta_{i+1} = theta_i * float32(powf(base, -2/n_rot)).
    exact:  pos * base ** (-2i/n_rot) in float64.
    Optional freq_factors (R/2,) divide theta (the `rope_freqs` tensor).
    Returns (T, R/2).
    """
    positions = np.asarray(positions)
    half = n_rot // 2
    if mode == COMPAT:
        # powf(base, -2.0f/n_rot): exponent is a float32 division, result rounded once
        expo = np.float32(-2.0) / np.float32(n_rot)
        theta_scale = np.float32(np.power(np.float64(np.float32(base)), np.float64(expo)))
        theta = np.empty((positions.shape[0], half), dtype=np.float32)
        theta[:, 0] = positions.astype(np.float32)
        theta[:, 1:] = theta_scale
        theta = np.multiply.accumulate(theta, axis=1, dtype=np.float32)   # sequential
        if freq_factors is not None:
            theta = theta / freq_factors.astype(np.float32)[None, :]
        return theta
    inv = np.power(np.float64(base), -2.0 * np.arange(half, dtype=np.float64) / n_rot)
    theta = positions.astype(np.float64)[:, None] * inv[None, :]
    if freq_factors is not None:
        theta = theta / freq_factors.astype(np.float64)[None, :]
    return theta


def apply_rope(x: np.ndarray, theta: np.ndarray, n_rot: int, neox: bool) -> np.ndarray:
    """Rotate the first n_rot dims of every head.

    x: (T, nh, d); theta: (T, R/2).  NEOX pairs (i, i + R/2); NORM pairs (2i, 2i+1).
    out_a = a cos - b sin ; out_b = a sin + b cos.  Dims >= n_rot pass through.
    """
    dt = x.dtype.type
    if theta.dtype == np.float32:      # cosf/sinf of the float32 angle
        cos, sin = f32_fn(np.cos, theta), f32_fn(np.sin, theta)
    else:
        cos, sin = np.cos(theta), np.sin(theta)
    cos = cos.astype(dt)[:, None, :]                                     # (T, 1, R/2)
    sin = sin.astype(dt)[:, None, :]
    out = x.copy()
    half = n_rot // 2
    if neox:
        a = x[..., :half]
        b = x[..., half:n_rot]
        out[..., :half] = a * cos - b * sin
        out[..., half:n_rot] = a * sin + b * cos
    else:
        a = x[..., 0:n_rot:2]
        b = x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = a * cos - b * sin
        out[..., 1:n_rot:2] = a * sin + b * cos
    return out


def softmax_rows(scores: np.ndarray, mode: str = COMPAT) -> np.ndarray:
    """Softmax over the last axis.  compat: float32 exp, float64 sum, multiply by
    float32(1/sum) (ggml soft_max); exact: float64.  -inf entries give 0."""
    m = np.max(scores, axis=-1, keepdims=True)
    if mode == COMPAT:
        e = f32_fn(np.exp, scores - m)
        inv = (1.0 / np.sum(e.astype(np.float64), axis=-1, keepdims=True)).astype(np.float32)
        return e * inv
    e = np.exp(scores - m)
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """float64 log-softmax over the last axis."""
    z = np.asarray(logits, dtype=np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))
