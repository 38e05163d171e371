"""Primitive operations: activation quantizer, BitLinear, RMSNorm, RoPE, softmax."""
import math

import numpy as np
import pytest

from bitnet_ref import numerics as nm


def test_quantizer_round_half_even():
    # max 127 -> s_x = 1 exactly, so q = rint(x)
    x = np.array([[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127.0]], np.float32)
    for mode in nm.MODES:
        q, s, sq = nm.quantize_activations(x, mode)
        assert s[0] == 1.0
        assert q.tolist() == [[0, 2, 2, 0, -2, -2, 126, 127]]
        assert sq[0] == sum(q[0].tolist())
        assert q.dtype == np.int8


def test_quantizer_floor_1e5():
    x = np.array([[1e-7, -2e-7, 0.0], [0.0, 0.0, 0.0]], np.float32)
    q, s, _ = nm.quantize_activations(x)
    assert s[0] == np.float32(127 / 1e-5) and s[1] == np.float32(127 / 1e-5)
    assert q.tolist() == [[1, -3, 0], [0, 0, 0]]       # 1.27 -> 1, -2.54 -> -3


def test_quantizer_scale_is_float32_of_double_division():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 100)).astype(np.float32)
    q, s, _ = nm.quantize_activations(x, nm.COMPAT)
    for r in range(16):
        m = max(1e-5, max(abs(float(v)) for v in x[r]))
        assert s[r] == np.float32(127.0 / m)
        # product rounded to float32, then round-half-even, then clamp
        prod = (x[r] * s[r]).astype(np.float32)
        assert np.array_equal(q[r], np.clip(np.rint(prod), -128, 127).astype(np.int8))
    assert np.abs(q.astype(int)).max() <= 127


def test_quantizer_clamp():
    # values beyond the row maximum cannot occur, but the clamp must hold for any scale:
    # a float32 product just above 127.5 rounds to 128 and is clamped to 127
    x = np.array([[127.0, -128.9]], np.float64)
    q, _, _ = nm.quantize_activations(x * (127 / 128.9), nm.EXACT)
    assert q[0, 1] == -127
    assert nm.quantize_activations(np.array([[-1.0]]))[0][0, 0] == -127


def test_bitlinear_matches_integer_formula():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 64)).astype(np.float32)
    codes = rng.integers(-1, 2, size=(5, 64)).astype(np.int8)
    w_scale = np.float32(0.37)
    y = nm.bitlinear(x, codes, w_scale, nm.COMPAT)
    q, s, sum_q = nm.quantize_activations(x, nm.COMPAT)
    for t in range(3):
        for n in range(5):
            dot_plus1 = sum(int(c + 1) * int(v) for c, v in zip(codes[n], q[t]))
            val = np.float32(dot_plus1 - int(sum_q[t])) / s[t] * w_scale
            assert y[t, n] == val
    ye = nm.bitlinear(x, codes, w_scale, nm.EXACT)
    assert ye.dtype == np.float64
    np.testing.assert_allclose(ye, y, rtol=1e-6)


def test_ternary_int_dot_is_exact_for_large_k():
    k = 8192
    q = np.full((1, k), -128, np.int8)
    codes = np.ones((2, k), np.int8)
    codes[1, ::2] = -1
    d = nm.ternary_int_dot(q, codes)
    assert d.tolist() == [[-128 * k, 0]]


def test_rms_norm():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 96)).astype(np.float32) * 3
    w = np.ones(96, np.float32)
    for mode in nm.MODES:
        y = nm.rms_norm(x, w, 1e-5, mode)
        np.testing.assert_allclose(np.sqrt(np.mean(y.astype(np.float64) ** 2, axis=1)), 1.0,
                                   rtol=1e-5)
        # scale invariance (up to eps)
        np.testing.assert_allclose(nm.rms_norm(x * 4, w, 1e-5, mode), y, rtol=1e-5)
    yc = nm.rms_norm(x, w * 2, 1e-5, nm.COMPAT)
    assert yc.dtype == np.float32
    # compat formula: x * float32(1/sqrt(float32(sum64/n) + eps)) * w
    mean = np.float32(np.sum(x[0].astype(np.float64) ** 2) / 96)
    scale = np.float32(1) / np.sqrt(mean + np.float32(1e-5))
    np.testing.assert_array_equal(yc[0], (x[0] * scale) * np.float32(2))


def test_rope_angles_compat_repeated_multiplication():
    th = nm.rope_angles(np.array([0, 1, 7, 100]), 16, 10000.0, nm.COMPAT)
    assert th.dtype == np.float32 and th.shape == (4, 8)
    ts = np.float32(10000.0 ** (np.float32(-2.0) / np.float32(16)))
    for r, pos in enumerate([0, 1, 7, 100]):
        cur = np.float32(pos)
        for i in range(8):
            assert th[r, i] == cur
            cur = np.float32(cur * ts)
    te = nm.rope_angles(np.array([3]), 16, 10000.0, nm.EXACT)
    np.testing.assert_allclose(te[0], 3 * 10000.0 ** (-np.arange(8) / 8), rtol=1e-15)


@pytest.mark.parametrize("neox", [True, False])
def test_rope_properties(neox):
    rng = np.random.default_rng(3)
    d, n_rot = 16, 12
    q = rng.normal(size=(1, 2, d))
    k = rng.normal(size=(1, 2, d))
    th0 = nm.rope_angles(np.array([0]), n_rot, 10000.0, nm.EXACT)
    np.testing.assert_allclose(nm.apply_rope(q, th0, n_rot, neox), q, atol=1e-15)
    dots = []
    for m_, n_ in ((5, 2), (9, 6), (30, 27)):            # same distance 3
        qm = nm.apply_rope(q, nm.rope_angles(np.array([m_]), n_rot, 10000.0, nm.EXACT), n_rot, neox)
        kn = nm.apply_rope(k, nm.rope_angles(np.array([n_]), n_rot, 10000.0, nm.EXACT), n_rot, neox)
        np.testing.assert_allclose(np.linalg.norm(qm, axis=-1), np.linalg.norm(q, axis=-1))
        np.testing.assert_array_equal(qm[..., n_rot:], q[..., n_rot:])   # pass-through dims
        dots.append(np.sum(qm * kn, axis=-1))
    np.testing.assert_allclose(dots[0], dots[1], rtol=1e-10)
    np.testing.assert_allclose(dots[0], dots[2], rtol=1e-10)


def test_rope_pairing():
    x = np.zeros((1, 1, 8))
    x[0, 0, 0] = 1.0
    th = np.array([[math.pi / 2, 0, 0, 0]])
    neox = nm.apply_rope(x, th, 8, True)      # pair (0, 4)
    norm = nm.apply_rope(x, th, 8, False)     # pair (0, 1)
    np.testing.assert_allclose(neox[0, 0], [0, 0, 0, 0, 1, 0, 0, 0], atol=1e-15)
    np.testing.assert_allclose(norm[0, 0], [0, 1, 0, 0, 0, 0, 0, 0], atol=1e-15)


def test_softmax():
    s = np.array([[1.0, 2.0, -np.inf, 3.0]], np.float32)
    for mode in nm.MODES:
        p = nm.softmax_rows(s.astype(nm.float_type(mode)), mode)
        assert p[0, 2] == 0
        np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-6)
        np.testing.assert_allclose(p[0, 3] / p[0, 1], math.e, rtol=1e-6)


def test_round_helpers():
    assert nm.round_f16(np.array([1 + 2**-11], np.float32))[0] == 1.0      # tie -> even
    assert nm.round_f16(np.array([1 + 3 * 2**-11], np.float32))[0] == 1 + 2**-9
    assert nm.round_bf16(np.array([1 + 2**-8], np.float32))[0] == 1.0       # tie -> even
    assert nm.round_bf16(np.array([1 + 3 * 2**-8], np.float32))[0] == 1 + 2**-6
    assert np.isnan(nm.round_bf16(np.array([np.nan], np.float32))[0])
    assert nm.silu(np.array([0.0], np.float32))[0] == 0
    assert nm.relu_squared(np.array([-2.0, 3.0]))[1] == 9 and nm.relu_squared(np.array([-2.0]))[0] == 0
