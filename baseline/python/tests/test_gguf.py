"""GGUF reader: metadata of every type, tensor types, alignment, errors."""
import struct

import numpy as np
import pytest

from bitnet_ref import gguf as G
from bitnet_ref.gguf_write import write_gguf


def _all_types_metadata():
    return {
        "general.architecture": "bitnet",
        "k.u8": (G.T_UINT8, 200), "k.i8": (G.T_INT8, -5), "k.u16": (G.T_UINT16, 60000),
        "k.i16": (G.T_INT16, -30000), "k.u32": (G.T_UINT32, 4000000000),
        "k.i32": (G.T_INT32, -2000000000), "k.f32": (G.T_FLOAT32, 1.5),
        "k.bool": True, "k.str": "héllo ✓", "k.u64": (G.T_UINT64, 2**63 + 5),
        "k.i64": (G.T_INT64, -2**62), "k.f64": (G.T_FLOAT64, 0.1),
        "k.arr_i32": np.array([1, -2, 3], dtype=np.int32),
        "k.arr_f32": np.array([0.5, 2.0], dtype=np.float32),
        "k.arr_bool": np.array([True, False]),
        "k.arr_str": ["a", "", "ünï"],
        "k.arr_nested": (G.T_ARRAY, (G.T_ARRAY, [(G.T_INT32, [1, 2]), (G.T_STRING, ["x"])])),
        "k.arr_empty": (G.T_ARRAY, (G.T_UINT8, [])),
    }


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("alignment", [None, 64])
def test_roundtrip_all_types(tmp_path, version, alignment):
    rng = np.random.default_rng(1)
    f32 = rng.normal(size=(3, 5)).astype(np.float32)
    f16 = rng.normal(size=(2, 8)).astype(np.float32)
    bf = rng.normal(size=(4, 4)).astype(np.float32)
    q8 = rng.normal(size=(2, 64)).astype(np.float32)
    tern = rng.integers(-1, 2, size=(3, 128)).astype(np.int8)
    vec = rng.normal(size=7).astype(np.float32)
    path = tmp_path / "t.gguf"
    write_gguf(path, _all_types_metadata(), [
        ("a.f32", G.GGML_F32, f32), ("b.f16", G.GGML_F16, f16), ("c.bf16", G.GGML_BF16, bf),
        ("d.q8", G.GGML_Q8_0, q8), ("e.i2s", G.GGML_I2_S, (tern, 0.75)),
        ("f.vec", G.GGML_F32, vec),
    ], version=version, alignment=alignment)
    with G.GGUFFile(path) as g:
        assert g.version == version
        assert g.alignment == (alignment or 32)
        assert g.data_start % g.alignment == 0
        md = g.metadata
        assert md["k.u8"] == 200 and md["k.i8"] == -5 and md["k.u16"] == 60000
        assert md["k.i16"] == -30000 and md["k.u32"] == 4000000000
        assert md["k.i32"] == -2000000000 and md["k.f32"] == 1.5 and md["k.bool"] is True
        assert md["k.str"] == "héllo ✓" and md["k.u64"] == 2**63 + 5
        assert md["k.i64"] == -2**62 and md["k.f64"] == 0.1
        assert md["k.arr_i32"].tolist() == [1, -2, 3]
        assert md["k.arr_f32"].tolist() == [0.5, 2.0]
        assert md["k.arr_bool"].tolist() == [True, False]
        assert md["k.arr_str"] == ["a", "", "ünï"]
        assert md["k.arr_nested"][0].tolist() == [1, 2] and md["k.arr_nested"][1] == ["x"]
        assert len(md["k.arr_empty"]) == 0
        assert g.metadata_types["k.f64"] == G.T_FLOAT64

        for name, t in g.tensors.items():
            assert t.abs_offset % g.alignment == 0, name
        assert g.tensors["a.f32"].dims == (5, 3) and g.tensors["a.f32"].shape == (3, 5)
        np.testing.assert_array_equal(g.tensor("a.f32"), f32)
        np.testing.assert_array_equal(g.tensor("b.f16"), f16.astype(np.float16).astype(np.float32))
        got_bf = g.tensor("c.bf16")
        assert np.all(np.abs(got_bf - bf) <= np.abs(bf) * 2.0**-8)
        got_q8 = g.tensor("d.q8")
        blocks = q8.reshape(-1, 32)
        tol = np.repeat(np.abs(blocks).max(axis=1) / 127 * 0.51 + 1e-3, 32).reshape(q8.shape)
        assert np.all(np.abs(got_q8 - q8) <= tol)
        e = g.tensor("e.i2s")
        assert isinstance(e, G.TernaryTensor)
        np.testing.assert_array_equal(e.codes, tern)
        assert e.scale == np.float32(0.75) and e.n_invalid_codes == 0
        assert g.tensors["e.i2s"].nbytes == 3 * 128 // 4 + 32
        np.testing.assert_array_equal(g.tensor("f.vec"), vec)
        assert g.tensor("a.f32", dtype=np.float64).dtype == np.float64


def test_q8_0_known_block():
    d = np.float16(0.5)
    q = np.arange(-16, 16, dtype=np.int8)
    raw = np.frombuffer(d.tobytes() + q.tobytes(), dtype=np.uint8)
    np.testing.assert_array_equal(G.decode_q8_0(raw, 32), q.astype(np.float32) * 0.5)


def test_bf16_known_values():
    raw = np.array([0x3F80, 0xC000, 0x7F80], dtype="<u2").view(np.uint8)
    np.testing.assert_array_equal(G.decode_bf16(raw, 3), [1.0, -2.0, np.inf])


def _minimal(tmp_path, **kw):
    path = tmp_path / "m.gguf"
    write_gguf(path, {"general.architecture": "x"},
               [("t", G.GGML_F32, np.ones((2, 4), np.float32))], **kw)
    return path


def test_bad_magic(tmp_path):
    p = _minimal(tmp_path)
    b = bytearray(p.read_bytes())
    b[0:4] = b"GGUX"
    p.write_bytes(bytes(b))
    with pytest.raises(G.GGUFError, match="magic"):
        G.GGUFFile(p)


@pytest.mark.parametrize("version", [1, 4])
def test_bad_version(tmp_path, version):
    p = _minimal(tmp_path)
    b = bytearray(p.read_bytes())
    b[4:8] = struct.pack("<I", version)
    p.write_bytes(bytes(b))
    with pytest.raises(G.GGUFError, match="version"):
        G.GGUFFile(p)


def test_truncated_everywhere(tmp_path):
    p = _minimal(tmp_path)
    full = p.read_bytes()
    for cut in range(0, len(full) - 1, 7):
        p.write_bytes(full[:cut])
        with pytest.raises(G.GGUFError):
            G.GGUFFile(p)


def test_tensor_past_eof(tmp_path):
    p = _minimal(tmp_path)
    full = p.read_bytes()
    p.write_bytes(full[:-4])
    with pytest.raises(G.GGUFError, match="past end of file"):
        G.GGUFFile(p)


def test_bad_alignment(tmp_path):
    p = tmp_path / "a.gguf"
    write_gguf(p, {"general.alignment": (G.T_UINT32, 48)}, [])
    with pytest.raises(G.GGUFError, match="power of two"):
        G.GGUFFile(p)


def test_unsupported_type_only_fails_on_access(tmp_path):
    p = tmp_path / "u.gguf"
    write_gguf(p, {}, [("ok", G.GGML_F32, np.zeros(4, np.float32))])
    b = bytearray(p.read_bytes())
    # patch the type field of the only tensor (just before its u64 offset) to Q4_K (12)
    idx = bytes(b).index(b"ok") + 2 + 4 + 8          # name, n_dims, one dim
    b[idx:idx + 4] = struct.pack("<I", 12)
    p.write_bytes(bytes(b))
    with G.GGUFFile(p) as g:
        assert g.tensors["ok"].type_name == "Q4_K"
        with pytest.raises(G.GGUFError, match="unsupported"):
            g.tensor("ok")
