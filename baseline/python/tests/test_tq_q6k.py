"""TQ1_0 / TQ2_0 / Q6_K decoders against hand-derived bytes (the layouts of
docs/formats.md), and the uniform-scale rule that makes a TQ tensor ternary."""
import numpy as np
import pytest

from bitnet_ref import gguf as G


def _f16(x):
    return np.array([x], dtype="<f2").tobytes()


def test_tq2_0_layout():
    qs = bytearray([0x55] * 64)                 # code 1 (value 0) everywhere
    qs[5] = (0x55 & ~0x30) | 0x20               # half 0, plane 2, byte 5: +1
    qs[32 + 7] = 0x55 & ~0xC0                   # half 1, plane 3, byte 7: -1
    t, d = G.decode_tq2_0(np.frombuffer(bytes(qs) + _f16(0.5), np.uint8), 256)
    want = np.zeros(256, np.int8)
    want[32 * 2 + 5] = 1
    want[128 + 32 * 3 + 7] = -1
    assert np.array_equal(t[0], want) and d[0] == 0.5


def test_tq1_0_layout():
    def byte(digits):                           # digits + 1, first most significant
        v = 0
        for k in range(5):
            v = v * 3 + (digits[k] + 1 if k < len(digits) else 0)
        return (v * 256 + 242) // 243
    qs = [byte([0] * 5)] * 48
    qh = [byte([0] * 4)] * 4
    qs[3] = byte([0, 0, 0, 0, 1])               # value 3 + 32*4 = +1
    qs[34] = byte([-1, 0, 0, 0, 0])             # value 160 + 2 = -1
    qh[1] = byte([0, 0, 0, 1])                  # value 240 + 1 + 4*3 = +1
    raw = np.frombuffer(bytes(qs + qh) + _f16(2.0), np.uint8)
    t, d = G.decode_tq1_0(raw, 256)
    want = np.zeros(256, np.int8)
    want[3 + 32 * 4] = 1
    want[160 + 2] = -1
    want[240 + 1 + 4 * 3] = 1
    assert np.array_equal(t[0], want) and d[0] == 2.0


def test_tq_uniform_scale_is_ternary():
    rng = np.random.default_rng(3)
    v = rng.integers(-1, 2, size=(4, 256)).astype(np.int8)
    v[2] = 0                                    # an all-zero block may have any d
    d = np.array([0.25, -0.25, 7.0, 0.25], np.float32)
    w = G.tq_tensor(v, d, (2, 512), "w")
    assert isinstance(w, G.TernaryTensor) and w.scale == np.float32(0.25)
    want = v.copy()
    want[1] = -want[1]                          # a negative d folds into the signs
    assert np.array_equal(w.codes.reshape(4, 256), want)
    d[3] = 0.5                                  # differing scales: floats t * d
    f = G.tq_tensor(v, d, (2, 512), "w")
    assert not isinstance(f, G.TernaryTensor)
    assert np.array_equal(f.reshape(4, 256)[3], v[3] * np.float32(0.5))
    bad = v.copy()
    bad[0, 9] = 2                               # TQ2_0 code 3
    with pytest.raises(G.GGUFError, match="code 3"):
        G.tq_tensor(bad, d, (2, 512), "w")


def test_q6_k_layout():
    ql = bytearray(128)
    qh = bytearray(64)
    sc = np.zeros(16, np.int8)
    sc[:] = 1
    sc[2] = -3
    # value 0: low nibble of ql[0], bits 0-1 of qh[0]; code 32 + 5 = 37 = 0b100101
    ql[0] = 37 & 0xF
    qh[0] = 37 >> 4
    # value 32 + 1 (group 2): low nibble of ql[33], bits 2-3 of qh[1]; code 32 - 7 = 25
    ql[33] = 25 & 0xF
    qh[1] = (25 >> 4) << 2
    raw = bytes(ql) + bytes(qh) + sc.tobytes() + _f16(0.125)
    y = G.decode_q6_k(np.frombuffer(raw, np.uint8), 256)
    assert y[0] == np.float32(0.125 * 1 * 5)
    assert y[33] == np.float32(0.125 * -3 * -7)
    assert y[1] == np.float32(0.125 * 1 * -32)   # code 0
