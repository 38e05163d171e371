"""Reader for llama-perplexity's KL-divergence base files (`--kl-divergence-base`) and the
comparison statistics computed against them.

Layout (little-endian):
    8 bytes magic "_logits_" | u32 n_ctx | i32 n_vocab | i32 n_chunk
    n_ctx * n_chunk int32 tokens
    per chunk, per scored position (n_ctx - 1 - n_ctx/2 of them):
        nv = 2*((n_vocab+1)//2) + 4 uint16 values; the first four are two float32
        (scale, min_log_prob); log_prob[i] = scale * code[i] + min_log_prob.
"""

from __future__ import annotations

import numpy as np

from . import numerics as nm

KLD_MAGIC = b"_logits_"


class KLDBase:
    def __init__(self, path: str):
        with open(path, "rb") as f:
            data = f.read()
        if data[:8] != KLD_MAGIC:
            raise ValueError(f"{path}: bad magic {data[:8]!r}")
        self.n_ctx = int(np.frombuffer(data, "<u4", 1, 8)[0])
        self.n_vocab = int(np.frombuffer(data, "<i4", 1, 12)[0])
        self.n_chunk = int(np.frombuffer(data, "<i4", 1, 16)[0])
        if self.n_ctx < 4 or self.n_vocab < 2 or self.n_chunk < 1:
            raise ValueError(f"{path}: bad header {self.n_ctx} {self.n_vocab} {self.n_chunk}")
        off = 20
        nt = self.n_ctx * self.n_chunk
        self.tokens = np.frombuffer(data, "<i4", nt, off).astype(np.int64)
        off += 4 * nt
        self.n_scored = self.n_ctx - 1 - self.n_ctx // 2
        nv = 2 * ((self.n_vocab + 1) // 2) + 4
        n_rec = self.n_chunk * self.n_scored
        if len(data) < off + n_rec * nv * 2:
            raise ValueError(f"{path}: truncated ({len(data)} bytes)")
        rec = np.frombuffer(data, "<u2", n_rec * nv, off).reshape(n_rec, nv)
        head = rec[:, :4].copy().view("<f4")                       # (n_rec, 2)
        self.scale = head[:, 0].astype(np.float64)
        self.min_log_prob = head[:, 1].astype(np.float64)
        self.codes = rec[:, 4:4 + self.n_vocab]                     # (n_rec, V) uint16

    def log_probs(self, chunk: int) -> np.ndarray:
        """Base log-probabilities of one chunk: (n_scored, n_vocab) float64."""
        r0 = chunk * self.n_scored
        c = self.codes[r0:r0 + self.n_scored].astype(np.float64)
        return (self.scale[r0:r0 + self.n_scored, None] * c
                + self.min_log_prob[r0:r0 + self.n_scored, None])

    def chunk_tokens(self, chunk: int) -> np.ndarray:
        return self.tokens[chunk * self.n_ctx:(chunk + 1) * self.n_ctx]


def compare_log_probs(base_lp: np.ndarray, logits: np.ndarray, threshold: float = -16.0):
    """Per-position KL(base || ours) and top-1 agreement.

    base_lp: (P, V) base log-probs; logits: (P, V) our logits.  Only base log-probs above
    `threshold` contribute to the KL sum (the stored minimum is a floor).
    Returns (kl (P,), top1_agree (P,) bool).
    """
    ours = nm.log_softmax(logits)                                   # (P, V)
    mask = base_lp > threshold
    p = np.exp(base_lp)
    kl = np.sum(np.where(mask, p * (base_lp - ours), 0.0), axis=-1)
    agree = np.argmax(base_lp, axis=-1) == np.argmax(ours, axis=-1)
    return kl, agree
