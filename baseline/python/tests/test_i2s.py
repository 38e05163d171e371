"""I2_S decoding of known byte patterns (128-value blocks, spec section 2.2)."""
import struct

import numpy as np
import pytest

from bitnet_ref import gguf as G


def test_single_byte_fields():
    # byte 0 = 0b10_01_00_10: value 0 -> bits 7..6 = 2 (+1), value 32 -> bits 5..4 = 1 (0),
    # value 64 -> bits 3..2 = 0 (-1), value 96 -> bits 1..0 = 2 (+1)
    packed = np.full(32, 0b01010101, dtype=np.uint8)      # everything else: code 1 = 0
    packed[0] = 0b10010010
    codes = G.decode_i2s_codes(packed, 128)
    t = codes.astype(np.int8) - 1
    expect = np.zeros(128, np.int8)
    expect[0], expect[32], expect[64], expect[96] = 1, 0, -1, 1
    np.testing.assert_array_equal(t, expect)


def test_byte_position_is_j_mod_32():
    for j in (0, 5, 31, 32, 37, 63, 64, 95, 96, 127):
        packed = np.full(32, 0x55, dtype=np.uint8)          # all zeros (code 1)
        shift = 6 - 2 * (j // 32)
        packed[j % 32] = (0x55 & ~(3 << shift)) | (2 << shift)
        t = G.decode_i2s_codes(packed, 128).astype(np.int8) - 1
        assert t[j] == 1 and np.count_nonzero(t) == 1, j


def test_second_block_and_scale():
    n = 256
    blob = bytearray([0x55] * (n // 4)) + struct.pack("<f", 0.125) + bytes(28)
    blob[32 + 3] = 0b00010101                               # block 1, value 3 -> -1
    t, scale, bad = G.decode_i2s(np.frombuffer(bytes(blob), np.uint8), n)
    assert scale == np.float32(0.125) and bad == 0
    assert t[128 + 3] == -1 and np.count_nonzero(t) == 1


def test_code_3_counted_and_zero():
    blob = bytes([0xFF] + [0x55] * 31) + struct.pack("<f", 1.0) + bytes(28)
    t, _, bad = G.decode_i2s(np.frombuffer(blob, np.uint8), 128)
    assert bad == 4 and np.count_nonzero(t) == 0


def test_ragged_block_rejected():
    with pytest.raises(G.GGUFError, match="multiple of 128"):
        G.decode_i2s(np.zeros(200 // 4 + 32, np.uint8), 200)


def test_roundtrip_random():
    rng = np.random.default_rng(3)
    for n in (128, 384, 4096):
        t = rng.integers(-1, 2, size=n).astype(np.int8)
        blob = G.encode_i2s(t, 2.5)
        assert len(blob) == n // 4 + 32
        got, scale, bad = G.decode_i2s(np.frombuffer(blob, np.uint8), n)
        np.testing.assert_array_equal(got, t)
        assert scale == np.float32(2.5) and bad == 0


def test_encoder_layout_matches_spec_formula():
    rng = np.random.default_rng(4)
    t = rng.integers(-1, 2, size=512).astype(np.int8)
    blob = G.encode_i2s(t, 1.0)
    for e in range(512):
        b, j = divmod(e, 128)
        byte = blob[32 * b + j % 32]
        code = (byte >> (6 - 2 * (j // 32))) & 3
        assert code == t[e] + 1
