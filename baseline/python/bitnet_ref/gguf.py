"""Plain-Python/numpy GGUF reader (versions 2 and 3).

Written from the format description (docs/research/bitnet-cpp-spec.md section 2 and the
public GGUF description), independently of libbitnet and of the `gguf` pip package.

File layout (all little-endian):

    magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
    n_kv x   { string key | u32 value_type | value }
    n_tensors x { string name | u32 n_dims | n_dims x u64 ne | u32 ggml_type | u64 offset }
    padding up to `general.alignment` (default 32)
    tensor data; each tensor at data_start + offset

A string is u64 length + UTF-8 bytes.  An array value is u32 element type + u64 count +
elements.  ne[0] is the fastest-moving dimension, so a tensor with ne = (K, M) is the numpy
array of shape (M, K).

Decoded tensor types: F32 (0), F16 (1), Q8_0 (8), Q6_K (14), BF16 (30), TQ1_0 (34),
TQ2_0 (35), I2_S (36).  I2_S tensors are returned as a `TernaryTensor` (int8 codes in
{-1, 0, +1} and the float32 per-tensor scale); so are TQ1_0/TQ2_0 tensors whose blocks with
non-zero values all have one |d| (what converters of BitNet models write); TQ tensors with
differing block scales are returned as floats (t * d).  Everything else is returned as
float32 numpy arrays (float64 on request).
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ---- metadata value types -------------------------------------------------------------
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, \
    T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(13)

_SCALAR_FMT = {
    T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I",
    T_INT32: "<i", T_FLOAT32: "<f", T_BOOL: "<B", T_UINT64: "<Q", T_INT64: "<q",
    T_FLOAT64: "<d",
}
_SCALAR_NP = {
    T_UINT8: "<u1", T_INT8: "<i1", T_UINT16: "<u2", T_INT16: "<i2", T_UINT32: "<u4",
    T_INT32: "<i4", T_FLOAT32: "<f4", T_BOOL: "<u1", T_UINT64: "<u8", T_INT64: "<i8",
    T_FLOAT64: "<f8",
}

# ---- ggml tensor types ----------------------------------------------------------------
GGML_F32 = 0
GGML_F16 = 1
GGML_Q8_0 = 8
GGML_Q6_K = 14
GGML_BF16 = 30
GGML_TQ1_0 = 34
GGML_TQ2_0 = 35
GGML_I2_S = 36

TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q8_0: "Q8_0", GGML_BF16: "BF16",
              GGML_I2_S: "I2_S", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 9: "Q8_1",
              10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
              34: "TQ1_0", 35: "TQ2_0", 37: "I8_S", 38: "TL1", 39: "TL2"}

QK8_0 = 32            # Q8_0 block: f16 scale + 32 x int8  = 34 bytes
QK_K = 256            # super-block of Q6_K, TQ1_0, TQ2_0
BLOCK_BYTES_K = {GGML_Q6_K: 210, GGML_TQ1_0: 54, GGML_TQ2_0: 66}
I2S_BLOCK = 128       # I2_S block: 128 values in 32 bytes (variant A of the spec)
I2S_TAIL = 32         # I2_S: float32 scale + 28 unused bytes after the packed codes


class GGUFError(ValueError):
    """Raised for malformed or unsupported GGUF content."""


def tensor_nbytes(ggml_type: int, n: int) -> int:
    """Bytes occupied by a tensor of `n` elements of the given type."""
    if ggml_type == GGML_F32:
        return 4 * n
    if ggml_type in (GGML_F16, GGML_BF16):
        return 2 * n
    if ggml_type == GGML_Q8_0:
        if n % QK8_0:
            raise GGUFError(f"Q8_0 tensor with {n} elements is not a multiple of {QK8_0}")
        return n // QK8_0 * (2 + QK8_0)
    if ggml_type == GGML_I2_S:
        return n // 4 + I2S_TAIL
    if ggml_type in BLOCK_BYTES_K:
        if n % QK_K:
            raise GGUFError(f"{TYPE_NAMES[ggml_type]} tensor with {n} elements is not a "
                            f"multiple of {QK_K}")
        return n // QK_K * BLOCK_BYTES_K[ggml_type]
    raise GGUFError(f"unsupported tensor type {TYPE_NAMES.get(ggml_type, ggml_type)}")


@dataclass
class TernaryTensor:
    """An I2_S tensor: ternary codes t in {-1,0,+1} (int8, numpy shape) and a float32 scale.

    The effective weight is t * scale.
    """
    codes: np.ndarray          # int8, shape (ne1, ne0) for a matrix
    scale: np.float32
    n_invalid_codes: int = 0   # how many stored 2-bit codes were 3 (mapped to 0)

    @property
    def shape(self):
        return self.codes.shape

    def to_float(self, dtype=np.float32) -> np.ndarray:
        return self.codes.astype(dtype) * dtype(self.scale)


@dataclass
class TensorInfo:
    name: str
    dims: tuple          # GGUF order: ne0 (fastest) first
    ggml_type: int
    offset: int          # relative to the data section
    abs_offset: int = 0  # absolute position in the file
    nbytes: int = 0

    @property
    def shape(self) -> tuple:
        """numpy shape (slowest dimension first)."""
        return tuple(reversed(self.dims))

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.ggml_type, f"type{self.ggml_type}")


# ---------------------------------------------------------------------------------------
# element decoders (operate on raw uint8 buffers)
# ---------------------------------------------------------------------------------------

def decode_f16(raw: np.ndarray, n: int) -> np.ndarray:
    return np.frombuffer(raw, dtype="<f2", count=n).astype(np.float32)


def decode_bf16(raw: np.ndarray, n: int) -> np.ndarray:
    hi = np.frombuffer(raw, dtype="<u2", count=n).astype(np.uint32)
    return (hi << 16).view(np.float32)


def decode_q8_0(raw: np.ndarray, n: int) -> np.ndarray:
    nb = n // QK8_0
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nb * 34).reshape(nb, 34)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)       # (nb, 1)
    q = blocks[:, 2:].view(np.int8).astype(np.float32)            # (nb, 32)
    return (q * d).reshape(n)


def decode_q6_k(raw: np.ndarray, n: int) -> np.ndarray:
    """Q6_K: per 256 values ql[128] (low nibbles), qh[64] (high 2 bits), 16 int8 group
    scales, f16 d.  In each half of 128 values, value l (l < 32) of quarter p takes the low
    nibble of ql[l + 32*(p%2)] (p < 2: low half of the byte, else high half) and bits 2p of
    qh[l]; the value is d * scale[group] * (q - 32) with groups of 16."""
    nb = n // QK_K
    b = np.frombuffer(raw, dtype=np.uint8, count=nb * 210).reshape(nb, 210)
    ql = b[:, :128].reshape(nb, 2, 64).astype(np.int32)
    qh = b[:, 128:192].reshape(nb, 2, 32).astype(np.int32)
    sc = b[:, 192:208].copy().view(np.int8).astype(np.float32)            # (nb, 16)
    d = b[:, 208:210].copy().view("<f2").astype(np.float32)               # (nb, 1)
    q = np.empty((nb, 2, 4, 32), dtype=np.int32)
    q[:, :, 0] = (ql[:, :, :32] & 0xF) | (((qh >> 0) & 3) << 4)
    q[:, :, 1] = (ql[:, :, 32:] & 0xF) | (((qh >> 2) & 3) << 4)
    q[:, :, 2] = (ql[:, :, :32] >> 4) | (((qh >> 4) & 3) << 4)
    q[:, :, 3] = (ql[:, :, 32:] >> 4) | (((qh >> 6) & 3) << 4)
    q = (q - 32).reshape(nb, 16, 16).astype(np.float32)                   # groups of 16
    return (d[:, :, None] * sc[:, :, None] * q).reshape(n)


def decode_tq2_0(raw: np.ndarray, n: int) -> tuple:
    """TQ2_0 -> (values (nb, 256) int8 of code - 1, d (nb,) float32).  Value 32*p + i of
    each 128-value half sits in byte i of the half's 32 bytes at bits 2p."""
    nb = n // QK_K
    b = np.frombuffer(raw, dtype=np.uint8, count=nb * 66).reshape(nb, 66)
    qs = b[:, :64].reshape(nb, 2, 1, 32)
    shifts = np.array([0, 2, 4, 6], dtype=np.uint8).reshape(1, 1, 4, 1)
    t = ((qs >> shifts) & 3).astype(np.int8) - 1                          # (nb, 2, 4, 32)
    d = b[:, 64:66].copy().view("<f2").astype(np.float32).reshape(nb)
    return t.reshape(nb, QK_K), d


def _tq1_digits(byte: np.ndarray, count: int) -> np.ndarray:
    """The first `count` base-3 digits of bytes storing ceil(v * 256 / 243): digit k is
    floor(3 * ((byte * 3^k) mod 256) / 256)."""
    out = [((((byte.astype(np.uint32) * 3 ** k) & 0xFF) * 3) >> 8) for k in range(count)]
    return np.stack(out, axis=1).astype(np.int8)                          # (..., count, m)


def decode_tq1_0(raw: np.ndarray, n: int) -> tuple:
    """TQ1_0 -> (values (nb, 256) int8, d (nb,) float32).  Bytes 0..31 hold values
    m + 32k (k < 5), bytes 32..47 values 160 + m + 16k, qh[j] values 240 + j + 4k (k < 4)."""
    nb = n // QK_K
    b = np.frombuffer(raw, dtype=np.uint8, count=nb * 54).reshape(nb, 54)
    t = np.empty((nb, QK_K), dtype=np.int8)
    t[:, :160] = _tq1_digits(b[:, :32], 5).reshape(nb, 160)
    t[:, 160:240] = _tq1_digits(b[:, 32:48], 5).reshape(nb, 80)
    t[:, 240:] = _tq1_digits(b[:, 48:52], 4).reshape(nb, 16)
    d = b[:, 52:54].copy().view("<f2").astype(np.float32).reshape(nb)
    return t - 1, d


def tq_tensor(values: np.ndarray, d: np.ndarray, shape: tuple, name: str):
    """Ternary blocks -> TernaryTensor when every block holding a non-zero value has one
    |d| (signs folded into the values), else float values t * d.  A TQ2_0 code 3 (+2) is
    not ternary and is refused."""
    if np.any(values > 1):
        blk = int(np.argmax(np.any(values > 1, axis=1)))
        raise GGUFError(f"tensor '{name}': block {blk} has the TQ2_0 code 3 (not ternary)")
    nonzero = np.any(values != 0, axis=1)
    if np.any(nonzero & ~np.isfinite(d)):
        raise GGUFError(f"tensor '{name}': a block with non-zero values has a non-finite scale")
    mags = np.abs(d[nonzero & (d != 0)])
    if mags.size == 0 or np.all(mags == mags[0]):
        signs = np.where(d < 0, -1, 1).astype(np.int8)[:, None]
        codes = np.where(nonzero[:, None] & (d != 0)[:, None], values * signs, 0)
        scale = np.float32(mags[0]) if mags.size else np.float32(1.0)
        return TernaryTensor(codes.astype(np.int8).reshape(shape), scale)
    return (values.astype(np.float32) * d[:, None]).reshape(shape)


def decode_i2s_codes(packed: np.ndarray, n: int) -> np.ndarray:
    """Unpack `n` 2-bit codes (0/1/2 = -1/0/+1) from I2_S 128-value blocks.

    Value j (0..127) of block b lives in byte 32*b + j%32 at bit shift 6 - 2*(j//32).
    Returns uint8 codes in {0,1,2,3}, flat element order.
    """
    packed = np.asarray(packed, dtype=np.uint8)
    nbytes = (n + 3) // 4
    if packed.size < nbytes:
        raise GGUFError(f"I2_S: {packed.size} packed bytes for {n} values")
    nblocks = (n + I2S_BLOCK - 1) // I2S_BLOCK
    buf = np.zeros(nblocks * 32, dtype=np.uint8)
    buf[:nbytes] = packed[:nbytes]
    buf = buf.reshape(nblocks, 1, 32)                             # (nb, 1, 32)
    shifts = np.array([6, 4, 2, 0], dtype=np.uint8).reshape(1, 4, 1)
    codes = (buf >> shifts) & 3                                   # (nb, 4, 32): [b, j//32, j%32]
    return codes.reshape(nblocks * I2S_BLOCK)[:n]


def decode_i2s(raw: np.ndarray, n: int) -> tuple:
    """Decode an I2_S tensor blob -> (ternary int8 values (flat), float32 scale, n_invalid)."""
    if n % I2S_BLOCK:
        # n/4 bytes cannot hold a ragged last 128-value block in this layout
        raise GGUFError(f"I2_S tensor with {n} values: not a multiple of {I2S_BLOCK}")
    raw = np.frombuffer(raw, dtype=np.uint8)
    packed_len = n // 4
    if raw.size < packed_len + 4:
        raise GGUFError(f"I2_S: blob of {raw.size} bytes too small for {n} values")
    codes = decode_i2s_codes(raw[:packed_len], n)
    n_invalid = int(np.count_nonzero(codes == 3))
    ternary = codes.astype(np.int8) - 1
    ternary[codes == 3] = 0           # code 3 is unused; the dequantizer maps it to 0
    scale = np.frombuffer(raw[packed_len:packed_len + 4].tobytes(), dtype="<f4")[0]
    return ternary, np.float32(scale), n_invalid


def encode_i2s(ternary: np.ndarray, scale: float) -> bytes:
    """Inverse of decode_i2s (used by tests and fixture writers): flat ternary values ->
    n/4 packed bytes + float32 scale + 28 zero bytes."""
    t = np.asarray(ternary).reshape(-1)
    n = t.size
    if n % I2S_BLOCK:
        raise GGUFError(f"I2_S needs a multiple of {I2S_BLOCK} elements")
    nblocks = (n + I2S_BLOCK - 1) // I2S_BLOCK
    codes = (t.astype(np.int16) + 1).astype(np.uint8)
    codes = codes.reshape(nblocks, 4, 32)
    shifts = np.array([6, 4, 2, 0], dtype=np.uint8).reshape(1, 4, 1)
    packed = np.bitwise_or.reduce(codes << shifts, axis=1).astype(np.uint8)  # (nb, 32)
    packed = packed.reshape(-1)
    tail = struct.pack("<f", float(scale)) + bytes(28)
    return packed.tobytes() + tail


# ---------------------------------------------------------------------------------------
# the reader
# ---------------------------------------------------------------------------------------

class _Cursor:
    def __init__(self, buf, size: int):
        self.buf = buf
        self.size = size
        self.pos = 0

    def need(self, n: int, what: str):
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(f"truncated file: need {n} bytes for {what} at offset {self.pos}, "
                            f"file has {self.size}")

    def scalar(self, vtype: int, what: str):
        fmt = _SCALAR_FMT[vtype]
        n = struct.calcsize(fmt)
        self.need(n, what)
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        if vtype == T_BOOL:
            return bool(v)
        return v

    def u32(self, what): return self.scalar(T_UINT32, what)

    def u64(self, what): return self.scalar(T_UINT64, what)

    def string(self, what: str) -> str:
        n = self.u64(what + " length")
        self.need(n, what)
        s = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        try:
            return s.decode("utf-8")
        except UnicodeDecodeError:
            return s.decode("utf-8", errors="surrogateescape")

    def value(self, vtype: int, what: str, depth: int = 0):
        if vtype in _SCALAR_FMT:
            return self.scalar(vtype, what)
        if vtype == T_STRING:
            return self.string(what)
        if vtype == T_ARRAY:
            if depth > 8:
                raise GGUFError(f"{what}: arrays nested too deeply")
            etype = self.u32(what + " element type")
            count = self.u64(what + " element count")
            if etype in _SCALAR_NP:
                item = np.dtype(_SCALAR_NP[etype]).itemsize
                self.need(count * item, what)
                arr = np.frombuffer(self.buf, dtype=_SCALAR_NP[etype], count=count,
                                    offset=self.pos).copy()
                self.pos += count * item
                if etype == T_BOOL:
                    arr = arr.astype(bool)
                return arr
            if etype in (T_STRING, T_ARRAY):
                # every element needs at least 8 bytes (a length or a type+count)
                self.need(count * (8 if etype == T_STRING else 12), what)
                return [self.value(etype, f"{what}[{i}]", depth + 1) for i in range(count)]
            raise GGUFError(f"{what}: unknown array element type {etype}")
        raise GGUFError(f"{what}: unknown value type {vtype}")


class GGUFFile:
    """A parsed GGUF file.  `metadata` maps keys to Python values (arrays as numpy arrays,
    string arrays as lists); `tensors` maps names to TensorInfo."""

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self._fh = open(self.path, "rb")
        self.file_size = os.fstat(self._fh.fileno()).st_size
        if self.file_size == 0:
            self._fh.close()
            raise GGUFError(f"{self.path}: empty file")
        self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.data = np.frombuffer(self._mm, dtype=np.uint8)
        try:
            self._parse()
        except GGUFError as e:
            self.close()
            raise GGUFError(f"{self.path}: {e}") from None

    def close(self):
        self.data = None
        try:
            self._mm.close()
        except (BufferError, AttributeError, ValueError):
            pass  # numpy views still alive; the mapping goes with them
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- header ---------------------------------------------------------------------
    def _parse(self):
        c = _Cursor(self._mm, self.file_size)
        c.need(4, "magic")
        magic = bytes(self._mm[0:4])
        if magic != GGUF_MAGIC:
            raise GGUFError(f"bad magic {magic!r} (expected b'GGUF')")
        c.pos = 4
        self.version = c.u32("version")
        if self.version not in (2, 3):
            raise GGUFError(f"unsupported GGUF version {self.version} (need 2 or 3)")
        n_tensors = c.u64("tensor count")
        n_kv = c.u64("metadata count")
        if n_kv > self.file_size or n_tensors > self.file_size:
            raise GGUFError(f"implausible counts: {n_tensors} tensors, {n_kv} metadata pairs")

        self.metadata: dict = {}
        self.metadata_types: dict = {}
        for i in range(n_kv):
            key = c.string(f"metadata key #{i}")
            vtype = c.u32(f"type of '{key}'")
            self.metadata[key] = c.value(vtype, f"metadata '{key}'")
            self.metadata_types[key] = vtype

        self.alignment = DEFAULT_ALIGNMENT
        if "general.alignment" in self.metadata:
            a = self.metadata["general.alignment"]
            if not isinstance(a, int) or isinstance(a, bool) or a <= 0 or a & (a - 1):
                raise GGUFError(f"general.alignment = {a!r} is not a power of two")
            self.alignment = a

        self.tensors: dict = {}
        for i in range(n_tensors):
            name = c.string(f"tensor name #{i}")
            n_dims = c.u32(f"n_dims of '{name}'")
            if n_dims == 0 or n_dims > 4:
                raise GGUFError(f"tensor '{name}': n_dims = {n_dims}")
            dims = tuple(c.u64(f"dim {d} of '{name}'") for d in range(n_dims))
            gtype = c.u32(f"type of '{name}'")
            offset = c.u64(f"offset of '{name}'")
            if name in self.tensors:
                raise GGUFError(f"duplicate tensor name '{name}'")
            self.tensors[name] = TensorInfo(name, dims, gtype, offset)

        pad = (-c.pos) % self.alignment
        self.data_start = c.pos + pad
        for t in self.tensors.values():
            if any(d == 0 for d in t.dims) or t.n_elements > self.file_size * 8:
                raise GGUFError(f"tensor '{t.name}': bad shape {t.dims}")
            if t.offset % self.alignment:
                raise GGUFError(f"tensor '{t.name}': offset {t.offset} not aligned to "
                                f"{self.alignment}")
            t.abs_offset = self.data_start + t.offset
            try:
                t.nbytes = tensor_nbytes(t.ggml_type, t.n_elements)
            except GGUFError:
                t.nbytes = -1     # unsupported type: only an error if it is loaded
                continue
            if t.abs_offset + t.nbytes > self.file_size:
                raise GGUFError(f"tensor '{t.name}' ({t.type_name}, {t.nbytes} bytes at "
                                f"offset {t.abs_offset}) extends past end of file "
                                f"({self.file_size} bytes)")

    # -- accessors -----------------------------------------------------------------
    def get(self, key: str, default=None):
        return self.metadata.get(key, default)

    def raw(self, name: str) -> np.ndarray:
        t = self.tensors[name]
        if t.nbytes < 0:
            raise GGUFError(f"tensor '{name}': unsupported type {t.type_name}")
        return self.data[t.abs_offset:t.abs_offset + t.nbytes]

    def tensor(self, name: str, dtype=np.float32):
        """Decode a tensor.  I2_S -> TernaryTensor; other types -> float array (numpy
        shape = reversed GGUF dims)."""
        if name not in self.tensors:
            raise KeyError(f"tensor '{name}' not in {self.path}")
        t = self.tensors[name]
        raw = self.raw(name)
        n = t.n_elements
        if t.ggml_type == GGML_I2_S:
            ternary, scale, n_bad = decode_i2s(raw, n)
            return TernaryTensor(ternary.reshape(t.shape), scale, n_bad)
        if t.ggml_type == GGML_F32:
            arr = np.frombuffer(raw, dtype="<f4", count=n)
        elif t.ggml_type == GGML_F16:
            if np.dtype(dtype) == np.float16:      # keep half precision (large embeddings)
                return np.frombuffer(raw, dtype="<f2", count=n).astype(np.float16).reshape(t.shape)
            arr = decode_f16(raw, n)
        elif t.ggml_type == GGML_BF16:
            arr = decode_bf16(raw, n)
        elif t.ggml_type == GGML_Q8_0:
            arr = decode_q8_0(raw, n)
        elif t.ggml_type == GGML_Q6_K:
            arr = decode_q6_k(raw, n)
        elif t.ggml_type in (GGML_TQ1_0, GGML_TQ2_0):
            dec = decode_tq1_0 if t.ggml_type == GGML_TQ1_0 else decode_tq2_0
            w = tq_tensor(*dec(raw, n), t.shape, name)
            if isinstance(w, TernaryTensor):
                return w
            arr = w.reshape(-1)
        else:
            raise GGUFError(f"tensor '{name}': unsupported type {t.type_name}")
        return arr.astype(dtype).reshape(t.shape)


def read_gguf(path: str) -> GGUFFile:
    return GGUFFile(path)
