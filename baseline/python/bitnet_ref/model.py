"""numpy reference implementation of the BitNet b1.58 graphs (spec sections 1.4 - 1.7).

Supported architectures (`general.architecture`):

* `bitnet` (2024): RMSNorm -> q/k/v BitLinear (optional `blk.N.<proj>.scale` multipliers)
  -> NEOX RoPE -> causal attention -> attn_sub_norm -> o -> residual; RMSNorm -> gate/up
  -> silu(gate) * up -> ffn_sub_norm -> down -> residual.  Head tied to token_embd.
* `bitnet-b1.58` / `bitnet-25` (2025): the same with relu(gate)^2 * up, rope dim must equal
  head dim, optional q/k/v/o biases, `output.weight` ignored (tied head).
* `llama` with ternary weights: NORM RoPE (adjacent pairs), SiLU FFN, no sub-norms,
  `output.weight` if present else tied.

Numerics modes: see numerics.py.  All positions of a batch are processed at once with a
causal mask; a per-layer KV cache lets later calls continue a sequence.
"""

from __future__ import annotations

import math

import numpy as np

from . import numerics as nm
from .gguf import (GGML_BF16, GGML_F16, GGML_F32, GGML_I2_S, GGML_Q6_K, GGML_Q8_0,
                   GGML_TQ1_0, GGML_TQ2_0, GGUFError, GGUFFile,
                   TernaryTensor)

ARCH_BITNET = "bitnet"
ARCH_BITNET_158 = "bitnet-b1.58"
ARCH_ALIASES = {"bitnet-25": ARCH_BITNET_158, "bitnet-b1.58": ARCH_BITNET_158,
                "bitnet": ARCH_BITNET, "llama": "llama"}

PROJS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")

# dense weights bigger than this are converted block by block instead of cached
_DENSE_CACHE_BYTES = 512 << 20
_DENSE_BLOCK_ROWS = 8192


class ModelError(ValueError):
    pass


# ---------------------------------------------------------------------------------------
# linear layers
# ---------------------------------------------------------------------------------------

class Linear:
    """y = x W^T (+ bias) (* scale_mult).  W is (N, K).

    Ternary (I2_S) weights run BitLinear (int8 activation quantization + integer dot).
    Float weights run a plain float matmul without activation quantization.  In compat
    mode the input is rounded to the weight's type (F16 -> float16, BF16 -> bfloat16) as
    ggml does, except where llamafile's sgemm keeps it in F32 (K % 8 == 0; see
    DEFAULT_OPTIONS).
    """

    def __init__(self, name: str, weight, ggml_type: int, bias=None, scale_mult=None):
        self.name = name
        self.ggml_type = ggml_type
        self.bias = bias
        self.scale_mult = scale_mult
        self._cache = {}
        if isinstance(weight, TernaryTensor):
            self.ternary = True
            self.codes = weight.codes               # (N, K) int8 in {-1,0,1}
            self.w_scale = np.float32(weight.scale)
            self.shape = weight.codes.shape
        else:
            self.ternary = False
            self.weight = weight                    # (N, K) float16 or float32
            self.shape = weight.shape

    def _dense(self, dtype, r0=None, r1=None):
        if r0 is not None:
            return self.weight[r0:r1].astype(dtype)
        w = self._cache.get(dtype)
        if w is None:
            w = self.weight.astype(dtype)
            self._cache[dtype] = w
        return w

    sgemm = True   # set from the model's `llamafile_sgemm` option

    def __call__(self, x: np.ndarray, mode: str) -> np.ndarray:
        """x: (T, K) -> (T, N)."""
        dt = nm.float_type(mode)
        if self.ternary:
            y = nm.bitlinear(x, self.codes, self.w_scale, mode)
        else:
            x = x.astype(dt)
            if mode == nm.COMPAT and not (self.sgemm and x.shape[1] % 8 == 0):
                if self.ggml_type == GGML_F16:
                    x = nm.round_f16(x)
                elif self.ggml_type == GGML_BF16:
                    x = nm.round_bf16(x)
            N = self.shape[0]
            if self.weight.size * np.dtype(dt).itemsize <= _DENSE_CACHE_BYTES:
                y = nm.matmul(x, self._dense(dt).T)
            else:
                y = np.empty((x.shape[0], N), dtype=dt)
                for r0 in range(0, N, _DENSE_BLOCK_ROWS):
                    r1 = min(N, r0 + _DENSE_BLOCK_ROWS)
                    y[:, r0:r1] = nm.matmul(x, self._dense(dt, r0, r1).T)
        if self.bias is not None:
            y = y + self.bias.astype(dt)[None, :]
        if self.scale_mult is not None:
            y = y * dt(self.scale_mult)
        return y.astype(dt, copy=False)


def _load_linear(g: GGUFFile, name: str, bias_name=None, scale_name=None) -> Linear:
    info = g.tensors[name]
    if info.ggml_type in (GGML_I2_S, GGML_TQ1_0, GGML_TQ2_0):
        w = g.tensor(name)
        if not isinstance(w, TernaryTensor):
            # libbitnet runs these on block-scaled integer kernels; a float matmul here
            # would not be the same computation
            raise ModelError(f"{name}: {info.type_name} with differing block scales is not "
                             f"supported by the Python reference")
        if w.codes.ndim != 2:
            raise ModelError(f"{name}: expected a matrix, got shape {w.codes.shape}")
    elif info.ggml_type == GGML_F16:
        w = g.tensor(name, dtype=np.float16)
    elif info.ggml_type in (GGML_F32, GGML_BF16, GGML_Q8_0, GGML_Q6_K):
        w = g.tensor(name, dtype=np.float32)
    else:
        raise ModelError(f"{name}: weight type {info.type_name} not supported by the "
                         f"Python reference (F32, F16, BF16, Q8_0, Q6_K, I2_S, TQ1_0, TQ2_0)")
    if len(info.dims) != 2:
        raise ModelError(f"{name}: expected 2 dims, got {info.dims}")
    bias = None
    if bias_name and bias_name in g.tensors:
        bias = g.tensor(bias_name, dtype=np.float32).reshape(-1)
        if bias.shape[0] != info.dims[1]:
            raise ModelError(f"{bias_name}: {bias.shape[0]} values for {info.dims[1]} rows")
    scale = None
    if scale_name and scale_name in g.tensors:
        s = g.tensor(scale_name, dtype=np.float32).reshape(-1)
        if s.size != 1:
            raise ModelError(f"{scale_name}: expected 1 value, got {s.size}")
        scale = np.float32(s[0])
    return Linear(name, w, info.ggml_type, bias, scale)


# ---------------------------------------------------------------------------------------
# hyper-parameters
# ---------------------------------------------------------------------------------------

class HParams:
    def __init__(self, g: GGUFFile, arch_key: str):
        def key(k, default=None, required=False):
            full = f"{arch_key}.{k}"
            if full in g.metadata:
                return g.metadata[full]
            if required:
                raise ModelError(f"missing metadata key '{full}'")
            return default

        def as_int(k, v):
            if isinstance(v, np.ndarray):
                if v.size == 0 or np.any(v != v.reshape(-1)[0]):
                    raise ModelError(f"'{arch_key}.{k}': per-layer values not supported")
                v = v.reshape(-1)[0]
            try:
                v = int(v)
            except (TypeError, ValueError):
                raise ModelError(f"'{arch_key}.{k}' = {v!r} is not an integer") from None
            if v <= 0:
                raise ModelError(f"'{arch_key}.{k}' = {v} must be positive")
            return v

        self.n_embd = as_int("embedding_length", key("embedding_length", required=True))
        self.n_layer = as_int("block_count", key("block_count", required=True))
        self.n_ff = as_int("feed_forward_length", key("feed_forward_length", required=True))
        self.n_head = as_int("attention.head_count", key("attention.head_count", required=True))
        self.n_head_kv = as_int("attention.head_count_kv",
                                key("attention.head_count_kv", self.n_head))
        self.eps = float(key("attention.layer_norm_rms_epsilon", required=True))
        self.rope_base = float(key("rope.freq_base", 10000.0))
        self.n_ctx_train = int(key("context_length", 2048))
        if self.n_embd % self.n_head:
            raise ModelError(f"embedding_length {self.n_embd} not divisible by head_count "
                             f"{self.n_head}")
        self.head_dim = as_int("attention.key_length",
                               key("attention.key_length", self.n_embd // self.n_head))
        v_len = as_int("attention.value_length", key("attention.value_length", self.head_dim))
        if v_len != self.head_dim:
            raise ModelError(f"value_length {v_len} != key_length {self.head_dim}")
        self.n_rot = as_int("rope.dimension_count", key("rope.dimension_count", self.head_dim))
        if self.n_head % self.n_head_kv:
            raise ModelError(f"head_count {self.n_head} not a multiple of head_count_kv "
                             f"{self.n_head_kv}")
        if self.n_rot > self.head_dim or self.n_rot % 2:
            raise ModelError(f"rope.dimension_count {self.n_rot} invalid for head dim "
                             f"{self.head_dim}")
        if not (self.eps > 0 and math.isfinite(self.eps)):
            raise ModelError(f"layer_norm_rms_epsilon {self.eps} invalid")
        if not (self.rope_base > 0 and math.isfinite(self.rope_base)):
            raise ModelError(f"rope.freq_base {self.rope_base} invalid")

    def as_dict(self):
        return dict(self.__dict__)


# ---------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------

class Layer:
    pass


# compat-mode switch established against the bitnet.cpp fixture (see README.md,
# "Compat mode and the bitnet.cpp fixture").  With llamafile_sgemm (the x86 build of
# bitnet.cpp that made the fixture), an F16-weight x F32 matmul keeps the F32 operand
# unrounded when that operand is contiguous and K % 8 == 0; otherwise ggml converts the
# F32 operand to F16 first.  Consequences:
#   Q.K   : Q rounded to F16 when the batch has more than one token (Q is then a
#           non-contiguous view); a single-token batch keeps Q in F32 (if head_dim % 8 == 0)
#   P.V   : probabilities stay F32 (K = number of cached positions, padded to 32 by llama.cpp)
#   head  : final hidden state stays F32 (if n_embd % 8 == 0)
# With llamafile_sgemm = False every one of these operands is rounded to F16 (the plain
# ggml path described in the spec, section 1.7).
DEFAULT_OPTIONS = {
    "llamafile_sgemm": True,
}


class Model:
    """A loaded model.  Create a `Session` (KV cache) to run it."""

    def __init__(self, path: str, numerics: str = nm.COMPAT, options: dict | None = None):
        nm.float_type(numerics)   # validates the mode
        self.numerics = numerics
        self.options = dict(DEFAULT_OPTIONS)
        for k, v in (options or {}).items():
            if k not in DEFAULT_OPTIONS:
                raise ModelError(f"unknown option '{k}' (known: {', '.join(DEFAULT_OPTIONS)})")
            if not isinstance(v, bool):
                raise ModelError(f"option '{k}' must be true or false")
            self.options[k] = v
        self.path = path
        g = GGUFFile(path)
        try:
            self._load(g)
        except BaseException:
            g.close()
            raise

    def _load(self, g: GGUFFile):
        arch = g.get("general.architecture")
        if not isinstance(arch, str):
            raise ModelError("missing or non-string 'general.architecture'")
        if arch not in ARCH_ALIASES:
            raise ModelError(f"architecture '{arch}' not supported (bitnet, bitnet-b1.58, "
                             f"bitnet-25, llama)")
        self.arch_name = arch
        self.arch = ARCH_ALIASES[arch]
        hp = HParams(g, arch)
        self.hp = hp
        self.has_sub_norms = self.arch in (ARCH_BITNET, ARCH_BITNET_158)
        self.neox = self.arch in (ARCH_BITNET, ARCH_BITNET_158)
        self.ffn_act = nm.relu_squared if self.arch == ARCH_BITNET_158 else nm.silu
        if self.arch == ARCH_BITNET_158 and hp.n_rot != hp.head_dim:
            raise ModelError(f"{arch}: rope.dimension_count {hp.n_rot} must equal head dim "
                             f"{hp.head_dim}")

        def need(name):
            if name not in g.tensors:
                raise ModelError(f"missing tensor '{name}'")
            return g.tensors[name]

        def vector(name, n):
            need(name)
            v = g.tensor(name, dtype=np.float32).reshape(-1)
            if v.shape[0] != n:
                raise ModelError(f"{name}: {v.shape[0]} values, expected {n}")
            return v

        # token embeddings (V, D) kept in their decoded precision (float16 for F16)
        te = need("token_embd.weight")
        if len(te.dims) != 2 or te.dims[0] != hp.n_embd:
            raise ModelError(f"token_embd.weight: shape {te.dims}, expected ({hp.n_embd}, "
                             f"n_vocab)")
        if te.ggml_type in (GGML_I2_S, GGML_TQ1_0, GGML_TQ2_0):
            raise ModelError(f"token_embd.weight: {te.type_name} embeddings not supported")
        self.n_vocab = te.dims[1]
        self.tok_embd = g.tensor("token_embd.weight",
                                 dtype=np.float16 if te.ggml_type == GGML_F16 else np.float32)
        self.output_norm = vector("output_norm.weight", hp.n_embd)

        # output head
        if self.arch == "llama" and "output.weight" in g.tensors:
            self.head = _load_linear(g, "output.weight")
        else:   # tied (bitnet archs ignore output.weight)
            self.head = Linear("token_embd.weight", self.tok_embd, te.ggml_type)
        if self.head.shape != (self.n_vocab, hp.n_embd):
            raise ModelError(f"output head shape {self.head.shape} != "
                             f"({self.n_vocab}, {hp.n_embd})")

        self.rope_freqs = None
        if "rope_freqs.weight" in g.tensors:
            self.rope_freqs = vector("rope_freqs.weight", hp.n_rot // 2)

        q_dim = hp.n_head * hp.head_dim
        kv_dim = hp.n_head_kv * hp.head_dim
        use_scales = self.arch == ARCH_BITNET
        use_attn_bias = self.arch in (ARCH_BITNET_158, "llama")
        use_ffn_bias = self.arch == "llama"
        expect = {"attn_q": (q_dim, hp.n_embd), "attn_k": (kv_dim, hp.n_embd),
                  "attn_v": (kv_dim, hp.n_embd), "attn_output": (hp.n_embd, q_dim),
                  "ffn_gate": (hp.n_ff, hp.n_embd), "ffn_up": (hp.n_ff, hp.n_embd),
                  "ffn_down": (hp.n_embd, hp.n_ff)}
        self.layers = []
        for i in range(hp.n_layer):
            L = Layer()
            p = f"blk.{i}."
            L.attn_norm = vector(p + "attn_norm.weight", hp.n_embd)
            L.ffn_norm = vector(p + "ffn_norm.weight", hp.n_embd)
            if self.has_sub_norms:
                L.attn_sub_norm = vector(p + "attn_sub_norm.weight", q_dim)
                L.ffn_sub_norm = vector(p + "ffn_sub_norm.weight", hp.n_ff)
            for proj in PROJS:
                name = p + proj + ".weight"
                need(name)
                is_attn = proj.startswith("attn")
                bias = p + proj + ".bias" if ((is_attn and use_attn_bias) or
                                              (not is_attn and use_ffn_bias)) else None
                scale = p + proj + ".scale" if use_scales else None
                lin = _load_linear(g, name, bias, scale)
                if lin.shape != expect[proj]:
                    raise ModelError(f"{name}: shape (rows, cols) {lin.shape}, expected "
                                     f"{expect[proj]}")
                setattr(L, proj, lin)
            self.layers.append(L)

        for lin in [self.head] + [getattr(L, p) for L in self.layers for p in PROJS]:
            lin.sgemm = self.options["llamafile_sgemm"]

        # tokenizer facts needed by perplexity
        self.bos_id = g.get("tokenizer.ggml.bos_token_id")
        self.eos_id = g.get("tokenizer.ggml.eos_token_id")
        add_bos = g.get("tokenizer.ggml.add_bos_token")
        if add_bos is None:   # llama.cpp default: SentencePiece vocabularies add BOS
            add_bos = g.get("tokenizer.ggml.model") == "llama"
        self.add_bos = bool(add_bos)
        self.tokens = g.get("tokenizer.ggml.tokens")
        self.metadata = g.metadata
        g.close()        # every tensor above is a copy; release the mapping

    # -- convenience ----------------------------------------------------------------
    def session(self) -> "Session":
        return Session(self)

    def logits(self, tokens) -> np.ndarray:
        """Teacher-forced logits for all positions of `tokens`: (T, n_vocab)."""
        return self.session().forward(tokens)

    def check_tokens(self, tokens):
        arr = np.asarray(tokens)
        if arr.ndim != 1 or arr.size == 0:
            raise ModelError("tokens must be a non-empty list of integers")
        if not np.issubdtype(arr.dtype, np.integer):
            raise ModelError("tokens must be integers")
        bad = (arr < 0) | (arr >= self.n_vocab)
        if bad.any():
            raise ModelError(f"token id {int(arr[bad][0])} out of range [0, {self.n_vocab})")
        return arr.astype(np.int64)


class Session:
    """A sequence being evaluated: the model plus a KV cache.

    k_cache[l], v_cache[l]: (Hkv, S, d) arrays (float32 values already rounded to float16
    in compat mode -- the F16 KV cache; float64 in exact mode).
    """

    def __init__(self, model: Model):
        self.m = model
        self.mode = model.numerics
        self.dt = nm.float_type(self.mode)
        hp = model.hp
        self.k_cache = [np.zeros((hp.n_head_kv, 0, hp.head_dim), self.dt)
                        for _ in range(hp.n_layer)]
        self.v_cache = [np.zeros((hp.n_head_kv, 0, hp.head_dim), self.dt)
                        for _ in range(hp.n_layer)]
        self.n_past = 0

    def _norm(self, x, w):
        return nm.rms_norm(x, w, self.m.hp.eps, self.mode)

    def _attention(self, q, k, v, li, pos0):
        """q: (T, H, d), k/v: (T, Hkv, d) of the new tokens.  Returns (T, H*d)."""
        hp, mode, dt = self.m.hp, self.mode, self.dt
        T = q.shape[0]
        k = k.transpose(1, 0, 2)                                          # (Hkv, T, d)
        v = v.transpose(1, 0, 2)
        if mode == nm.COMPAT:            # F16 KV cache
            k, v = nm.round_f16(k), nm.round_f16(v)
        self.k_cache[li] = np.concatenate([self.k_cache[li], k], axis=1)  # (Hkv, S, d)
        self.v_cache[li] = np.concatenate([self.v_cache[li], v], axis=1)
        K, V = self.k_cache[li], self.v_cache[li]
        S = K.shape[1]
        group = hp.n_head // hp.n_head_kv
        K = np.repeat(K, group, axis=0)                                   # (H, S, d)
        V = np.repeat(V, group, axis=0)
        qh = q.transpose(1, 0, 2)                                         # (H, T, d)
        sgemm = self.m.options["llamafile_sgemm"]
        if mode == nm.COMPAT and not (sgemm and T == 1 and hp.head_dim % 8 == 0):
            qh = nm.round_f16(qh)        # Q rounded to F16 before K.Q
            scale = np.float32(1.0) / np.sqrt(np.float32(hp.head_dim))
        else:
            scale = 1.0 / math.sqrt(hp.head_dim)
        scores = nm.matmul(qh, K.transpose(0, 2, 1)) * dt(scale)                 # (H, T, S)
        # causal mask: query at position pos0+i sees cached positions j <= pos0+i
        qpos = pos0 + np.arange(T)[:, None]                               # (T, 1)
        kpos = np.arange(S)[None, :]                                      # (1, S)
        scores = np.where(kpos <= qpos, scores, dt(-np.inf))
        p = nm.softmax_rows(scores, mode)                                 # (H, T, S)
        if mode == nm.COMPAT and not sgemm:
            p = nm.round_f16(p)          # probabilities rounded to F16 before .V
        o = nm.matmul(p, V)                                               # (H, T, d)
        return o.transpose(1, 0, 2).reshape(T, hp.n_head * hp.head_dim).astype(dt)

    def forward(self, tokens) -> np.ndarray:
        """Evaluate `tokens` after the cached ones; returns logits (T, n_vocab)
        (float32 in compat mode, float64 in exact mode)."""
        m, hp, mode, dt = self.m, self.m.hp, self.mode, self.dt
        tokens = m.check_tokens(tokens)
        T = tokens.shape[0]
        pos0 = self.n_past
        positions = pos0 + np.arange(T)
        theta = nm.rope_angles(positions, hp.n_rot, hp.rope_base, mode, m.rope_freqs)

        h = m.tok_embd[tokens].astype(dt)                                 # (T, D)
        for li, L in enumerate(m.layers):
            a = self._norm(h, L.attn_norm)                                # (T, D)
            q = L.attn_q(a, mode).reshape(T, hp.n_head, hp.head_dim)      # (T, H, d)
            k = L.attn_k(a, mode).reshape(T, hp.n_head_kv, hp.head_dim)   # (T, Hkv, d)
            v = L.attn_v(a, mode).reshape(T, hp.n_head_kv, hp.head_dim)
            q = nm.apply_rope(q, theta, hp.n_rot, m.neox)
            k = nm.apply_rope(k, theta, hp.n_rot, m.neox)
            o = self._attention(q, k, v, li, pos0)                        # (T, H*d)
            if m.has_sub_norms:
                o = self._norm(o, L.attn_sub_norm)
            h = h + L.attn_output(o, mode)                                # (T, D)

            f = self._norm(h, L.ffn_norm)                                 # (T, D)
            z = m.ffn_act(L.ffn_gate(f, mode)) * L.ffn_up(f, mode)        # (T, F)
            if m.has_sub_norms:
                z = self._norm(z, L.ffn_sub_norm)
            h = h + L.ffn_down(z, mode)                                   # (T, D)

        self.n_past += T
        h = self._norm(h, m.output_norm)                                  # (T, D)
        return m.head(h, mode)                                            # (T, V)


# ---------------------------------------------------------------------------------------
# tasks: greedy generation, perplexity
# ---------------------------------------------------------------------------------------

def top2(logits_row: np.ndarray):
    """(argmax with lowest id on ties, margin top1 - top2)."""
    best = int(np.argmax(logits_row))
    if logits_row.shape[0] < 2:
        return best, float("inf")
    rest = np.delete(logits_row, best)
    return best, float(logits_row[best]) - float(np.max(rest))


def generate(model: Model, prompt, n_predict: int, stop=()):
    """Greedy decoding.  Returns (generated ids, per-step top1-top2 logit margins)."""
    if n_predict < 0:
        raise ModelError("n_predict must be >= 0")
    sess = model.session()
    logits = sess.forward(prompt)[-1]
    out, margins = [], []
    for step in range(n_predict):
        tok, margin = top2(logits)
        out.append(tok)
        margins.append(margin)
        if tok in stop or step == n_predict - 1:
            break
        logits = sess.forward([tok])[-1]
    return out, margins


def perplexity(model: Model, tokens, n_ctx: int, n_chunks=None, add_bos=None):
    """llama-perplexity style: non-overlapping chunks of n_ctx tokens; the first token of
    each chunk becomes BOS when the vocabulary adds BOS; positions n_ctx/2 .. n_ctx-2 are
    scored on predicting the next token.  Returns dict(ppl, nll, count, chunk_ppl)."""
    tokens = model.check_tokens(tokens)
    if n_ctx < 4:
        raise ModelError("n_ctx must be >= 4")
    n_avail = tokens.shape[0] // n_ctx
    if n_chunks is not None:
        n_avail = min(n_avail, int(n_chunks))
    if n_avail < 1:
        raise ModelError(f"need at least n_ctx = {n_ctx} tokens, got {tokens.shape[0]}")
    if add_bos is None:
        add_bos = model.add_bos
    if add_bos and model.bos_id is None:
        raise ModelError("add_bos requested but the model has no bos_token_id")
    first = n_ctx // 2
    nll_sum, count, running = 0.0, 0, []
    for c in range(n_avail):
        chunk = tokens[c * n_ctx:(c + 1) * n_ctx].copy()
        if add_bos:
            chunk[0] = model.bos_id
        logits = model.session().forward(chunk)                         # (n_ctx, V)
        lp = nm.log_softmax(logits[first:n_ctx - 1])                     # (n_ctx-1-first, V)
        targets = chunk[first + 1:n_ctx]
        nll = -lp[np.arange(targets.shape[0]), targets]
        nll_sum += float(nll.sum())
        count += int(targets.shape[0])
        running.append(math.exp(nll_sum / count))
    return {"ppl": math.exp(nll_sum / count), "nll": nll_sum / count, "count": count,
            "n_chunks": n_avail, "running_ppl": running}
