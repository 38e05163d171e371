"""A small GGUF v3 (or v2) writer, for tests and synthetic fixtures.

Metadata values are typed explicitly with (type, value) pairs or inferred:
bool -> BOOL, int -> INT32 (UINT64 if it does not fit), float -> FLOAT32, str -> STRING,
list -> ARRAY of the inferred type of its first element, numpy arrays -> ARRAY of their dtype.
Tensors are given as (ggml_type, payload): a float numpy array for F32/F16/BF16/Q8_0 (shape in
numpy order, slowest first) or, for I2_S, a ternary int array plus a scale.
"""

from __future__ import annotations

import struct

import numpy as np

from . import gguf as G

_NP_TO_GGUF = {
    np.dtype("uint8"): G.T_UINT8, np.dtype("int8"): G.T_INT8, np.dtype("uint16"): G.T_UINT16,
    np.dtype("int16"): G.T_INT16, np.dtype("uint32"): G.T_UINT32, np.dtype("int32"): G.T_INT32,
    np.dtype("float32"): G.T_FLOAT32, np.dtype("bool"): G.T_BOOL,
    np.dtype("uint64"): G.T_UINT64, np.dtype("int64"): G.T_INT64,
    np.dtype("float64"): G.T_FLOAT64,
}


def _infer(v):
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], int):
        return v
    if isinstance(v, bool):
        return (G.T_BOOL, v)
    if isinstance(v, int):
        return (G.T_INT32, v) if -2**31 <= v < 2**31 else (G.T_UINT64, v)
    if isinstance(v, float):
        return (G.T_FLOAT32, v)
    if isinstance(v, str):
        return (G.T_STRING, v)
    if isinstance(v, np.ndarray):
        return (G.T_ARRAY, (_NP_TO_GGUF[v.dtype], v))
    if isinstance(v, list):
        if not v:
            return (G.T_ARRAY, (G.T_INT32, []))
        et, _ = _infer(v[0])
        return (G.T_ARRAY, (et, v))
    raise TypeError(f"cannot infer GGUF type of {v!r}")


def _enc_string(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _enc_value(vtype: int, v) -> bytes:
    if vtype in G._SCALAR_FMT:
        return struct.pack(G._SCALAR_FMT[vtype], int(v) if vtype == G.T_BOOL else v)
    if vtype == G.T_STRING:
        return _enc_string(v)
    if vtype == G.T_ARRAY:
        etype, items = v
        out = struct.pack("<IQ", etype, len(items))
        if isinstance(items, np.ndarray) and etype in G._SCALAR_NP:
            return out + np.ascontiguousarray(items, dtype=G._SCALAR_NP[etype]).tobytes()
        for it in items:
            if etype == G.T_ARRAY:
                out += _enc_value(G.T_ARRAY, _infer(it)[1] if not isinstance(it, tuple) else it)
            else:
                out += _enc_value(etype, it)
        return out
    raise ValueError(f"bad value type {vtype}")


def encode_tensor(ggml_type: int, data) -> tuple:
    """Returns (dims in GGUF order, bytes)."""
    if ggml_type == G.GGML_I2_S:
        ternary, scale = data
        ternary = np.asarray(ternary)
        return tuple(reversed(ternary.shape)), G.encode_i2s(ternary, scale)
    arr = np.asarray(data, dtype=np.float32)
    dims = tuple(reversed(arr.shape))
    flat = arr.reshape(-1)
    if ggml_type == G.GGML_F32:
        return dims, flat.astype("<f4").tobytes()
    if ggml_type == G.GGML_F16:
        return dims, flat.astype("<f2").tobytes()
    if ggml_type == G.GGML_BF16:
        from .numerics import round_bf16
        return dims, (round_bf16(flat).view(np.uint32) >> 16).astype("<u2").tobytes()
    if ggml_type == G.GGML_Q8_0:
        blocks = flat.reshape(-1, G.QK8_0)
        amax = np.max(np.abs(blocks), axis=1)
        d = (amax / 127.0).astype(np.float16)
        d32 = d.astype(np.float32)
        inv = np.divide(1.0, d32, out=np.zeros_like(d32), where=d32 != 0)
        q = np.clip(np.rint(blocks * inv[:, None]), -127, 127).astype(np.int8)
        out = np.empty((blocks.shape[0], 34), dtype=np.uint8)
        out[:, :2] = d.astype("<f2").reshape(-1, 1).view(np.uint8)
        out[:, 2:] = q.view(np.uint8)
        return dims, out.tobytes()
    raise ValueError(f"writer does not support type {ggml_type}")


def write_gguf(path: str, metadata: dict, tensors: list, version: int = 3,
               alignment: int | None = None):
    """tensors: list of (name, ggml_type, payload) in file order."""
    md = dict(metadata)
    if alignment is not None:
        md["general.alignment"] = (G.T_UINT32, alignment)
    align = alignment or G.DEFAULT_ALIGNMENT
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(md))
    for k, v in md.items():
        vtype, val = _infer(v)
        head += _enc_string(k) + struct.pack("<I", vtype) + _enc_value(vtype, val)
    blobs, infos, off = [], b"", 0
    for name, gtype, payload in tensors:
        dims, blob = encode_tensor(gtype, payload)
        infos += _enc_string(name) + struct.pack("<I", len(dims))
        infos += b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", gtype, off)
        pad = (-len(blob)) % align
        blobs.append(blob + bytes(pad))
        off += len(blob) + pad
    header = head + infos
    header += bytes((-len(header)) % align)
    with open(path, "wb") as f:
        f.write(header)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------
# synthetic models
# ---------------------------------------------------------------------------------------

def synthetic_model(path: str, arch: str = "bitnet", n_vocab: int = 64, n_embd: int = 32,
                    n_ff: int = 64, n_layer: int = 2, n_head: int = 4, n_head_kv: int = 4,
                    n_rot: int | None = None, weight_type: int = G.GGML_I2_S,
                    embd_type: int = G.GGML_F16, seed: int = 0, output: bool = False,
                    rope_base: float = 10000.0,
                    extra_tensors: list | None = None) -> tuple:
    """Write a random model.  Ternary weights with one random scale per matrix.
    Returns (metadata, weights) with weights: name -> (ggml_type, payload), so that a
    test can write a modified copy with write_model()."""
    rng = np.random.default_rng(seed)
    hd = n_embd // n_head
    md = {
        "general.architecture": arch,
        "general.name": "synthetic",
        f"{arch}.context_length": 256,
        f"{arch}.embedding_length": n_embd,
        f"{arch}.block_count": n_layer,
        f"{arch}.feed_forward_length": n_ff,
        f"{arch}.attention.head_count": n_head,
        f"{arch}.attention.head_count_kv": n_head_kv,
        f"{arch}.attention.layer_norm_rms_epsilon": 1e-5,
        f"{arch}.rope.freq_base": rope_base,
        f"{arch}.rope.dimension_count": n_rot if n_rot is not None else hd,
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.bos_token_id": (G.T_UINT32, 1),
        "tokenizer.ggml.add_bos_token": True,
    }

    def matrix(rows, cols):
        t = rng.integers(-1, 2, size=(rows, cols)).astype(np.int8)
        scale = np.float32(rng.uniform(0.5, 2.0))
        if weight_type == G.GGML_I2_S:
            return (weight_type, (t, scale))
        return (weight_type, t.astype(np.float32) * scale)

    def norm(n):
        return (G.GGML_F32, rng.uniform(0.5, 1.5, size=n).astype(np.float32))

    w = {"token_embd.weight": (embd_type, rng.normal(0, 1, (n_vocab, n_embd)).astype(np.float32)),
         "output_norm.weight": norm(n_embd)}
    if output:
        w["output.weight"] = (G.GGML_F16, rng.normal(0, 1, (n_vocab, n_embd)).astype(np.float32))
    sub = arch != "llama"
    for i in range(n_layer):
        p = f"blk.{i}."
        w[p + "attn_norm.weight"] = norm(n_embd)
        w[p + "attn_q.weight"] = matrix(n_head * hd, n_embd)
        w[p + "attn_k.weight"] = matrix(n_head_kv * hd, n_embd)
        w[p + "attn_v.weight"] = matrix(n_head_kv * hd, n_embd)
        w[p + "attn_output.weight"] = matrix(n_embd, n_head * hd)
        w[p + "ffn_norm.weight"] = norm(n_embd)
        w[p + "ffn_gate.weight"] = matrix(n_ff, n_embd)
        w[p + "ffn_up.weight"] = matrix(n_ff, n_embd)
        w[p + "ffn_down.weight"] = matrix(n_embd, n_ff)
        if sub:
            w[p + "attn_sub_norm.weight"] = norm(n_head * hd)
            w[p + "ffn_sub_norm.weight"] = norm(n_ff)
    for name, t in (extra_tensors or []):
        w[name] = t
    write_model(path, md, w)
    return md, w


def write_model(path: str, metadata: dict, weights: dict):
    write_gguf(path, metadata, [(k, t, p) for k, (t, p) in weights.items()])
