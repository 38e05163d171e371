"""Generation: the sampling loop as a Python iterator of text pieces.

It follows bitnet_inference() (engine/generate/generate.c) step for step, so
the same prompt and sampler parameters give the same tokens as `bitnet run`
(python/tests/test_generate.py checks it): the prompt tokens enter the
repetition history, then sample, accept, stop at end-of-generation, emit the
piece, stop at n_predict or a full context, decode the token. The library has
no call that yields between tokens; driving the loop from Python costs a few
C calls per token (bench/bench_python_iterator.py measures it).
"""

from __future__ import annotations

import codecs
import ctypes
import time
from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Union

from . import _capi
from ._capi import BitnetError, lib

if TYPE_CHECKING:
    from .context import Context

_sample = lib.bitnet_sampler_sample
_accept = lib.bitnet_sampler_accept
_logits_ith = lib.bitnet_get_logits_ith
_is_eog = lib.bitnet_token_is_eog

SAMPLING_KEYS = ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "seed")


class Sampler:
    """Token sampling state (RNG, repetition history) over
    ``bitnet_sampler_*``. Keywords left as None take the library's defaults:
    temperature 0.8 (<= 0: greedy), top_k 40, top_p 0.95, min_p 0.05,
    repeat_penalty 1 (off), repeat_last_n 64, seed 0 (-1: from the clock)."""

    def __init__(
        self,
        *,
        temperature: Optional[float] = None,
        top_k: Optional[int] = None,
        top_p: Optional[float] = None,
        min_p: Optional[float] = None,
        repeat_penalty: Optional[float] = None,
        repeat_last_n: Optional[int] = None,
        seed: Optional[int] = None,
    ):
        self._handle = None
        p = lib.bitnet_sampler_default_params()
        given = dict(
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            min_p=min_p,
            repeat_penalty=repeat_penalty,
            repeat_last_n=repeat_last_n,
        )
        for k, v in given.items():
            if v is not None:
                setattr(p, k, v)
        if seed is not None:
            if seed == -1:
                p.seed = 2**64 - 1  # BITNET_SEED_RANDOM
            elif not 0 <= seed < 2**64:
                raise ValueError(f"seed {seed}: use 0 .. 2**64-1, or -1 for a random one")
            else:
                p.seed = seed
        self.params = p
        h = lib.bitnet_sampler_new(ctypes.byref(p))
        if not h:
            raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, "sampler parameters")
        self._handle = h

    def sample(self, logits: "ctypes._Pointer[ctypes.c_float]", n_vocab: int) -> int:
        t = lib.bitnet_sampler_sample(self._handle, logits, n_vocab)
        if t < 0:
            raise _capi.fail(_capi.ERR_NOMEM, "sample")
        return t

    def accept(self, token: int) -> None:
        lib.bitnet_sampler_accept(self._handle, token)

    def reset(self) -> None:
        lib.bitnet_sampler_reset(self._handle)

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            lib.bitnet_sampler_free(self._handle)
            self._handle = None


class Generation(Iterator[str]):
    """An iterator over the generated text, in pieces of whole UTF-8 characters
    (bytes of a character split across tokens are held until it is complete).

    Made by :meth:`bitnet.Context.generate`. The prompt (str: tokenized, with
    BOS when the context is empty; or a list of token ids, used as is) is
    appended to what the context holds and evaluated on the first ``next()``.

    Keywords: max_tokens (-1: until end of generation or a full context),
    parse_special (read control-token text in a str prompt; default True),
    ignore_eos, and the :class:`Sampler` keywords.

    Stop early with ``break`` (then :meth:`close`, or let it go) or
    :meth:`close`; ``stop_reason`` is then "cancelled". Otherwise it is "eog",
    "length" or "context_full". After the end, ``tokens`` holds the generated
    ids, ``text`` the whole text (``bytes``: as the library gave it), and ``last_token`` the final sampled token if
    it was not evaluated into the cache (-1 if it was), as
    ``bitnet_inference_stats.last_token``.
    """

    def __init__(
        self,
        ctx: "Context",
        prompt: Union[str, bytes, Iterable[int]],
        *,
        max_tokens: int = -1,
        parse_special: bool = True,
        ignore_eos: bool = False,
        **sampling: object,
    ):
        unknown = set(sampling) - set(SAMPLING_KEYS)
        if unknown:
            raise TypeError(f"generate() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        if max_tokens < -1:
            raise ValueError(f"max_tokens {max_tokens} (use -1 for no limit)")
        self.ctx = ctx
        self._h = ctx._live()
        self._mh = ctx._mh
        if isinstance(prompt, (str, bytes)):
            toks = ctx.model.tokenize(prompt, add_special=ctx.n_past == 0, parse_special=parse_special)
        else:
            toks = [int(t) for t in prompt]
        if not toks and ctx.n_past == 0:
            raise BitnetError("generate: empty prompt and empty context", -9)
        room = ctx.n_ctx - ctx.n_past
        if len(toks) > room:
            raise BitnetError(
                f"the prompt has {len(toks)} tokens but the context has room for {room} "
                f"(n_ctx {ctx.n_ctx}, {ctx.n_past} used); use a larger n_ctx",
                -8,
            )
        self.prompt_tokens: List[int] = toks
        self.sampler = Sampler(**sampling)  # type: ignore[arg-type]
        self.max_tokens = max_tokens
        self.ignore_eos = ignore_eos
        self.tokens: List[int] = []
        self.stop_reason: Optional[str] = None
        self.last_token = -1
        self.t_prompt_ms = 0.0
        self.t_gen_ms = 0.0
        self._pieces: List[str] = []
        self._raw: List[bytes] = []  # token pieces as the library gives them
        self._started = False
        self._pending: Optional[int] = None  # sampled, emitted, not yet decoded
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._piece_buf = ctypes.create_string_buffer(256)
        self._one = (_capi.token_t * 1)()
        self._t_gen0 = 0.0
        self._smp = self.sampler._handle
        self._n_vocab = ctx.n_vocab
        self._piece_cache = ctx.model._piece_cache
        self._n_past = 0
        self._n_ctx = 0

    @property
    def text(self) -> str:
        """The text generated so far."""
        return "".join(self._pieces)

    @property
    def bytes(self) -> bytes:
        """The generated bytes exactly as the library's pieces give them (what
        `bitnet run` prints; :attr:`text` shows invalid UTF-8 as U+FFFD)."""
        return b"".join(self._raw)

    @property
    def n_prompt(self) -> int:
        return len(self.prompt_tokens)

    def __iter__(self) -> "Generation":
        return self

    def _decode_one(self, tok: int) -> None:
        self._one[0] = tok
        ctx = self.ctx
        if not ctx._busy.acquire(blocking=False):
            raise BitnetError("the context is in use by another thread", -1)
        try:
            _capi.check(lib.bitnet_decode(self._h, self._one, 1, False), "decode")
        finally:
            ctx._busy.release()

    def _start(self) -> None:
        self._started = True
        for t in self.prompt_tokens:
            self.sampler.accept(t)
        t0 = time.perf_counter()
        if self.prompt_tokens:
            self.ctx.decode(self.prompt_tokens)
        self.t_prompt_ms = (time.perf_counter() - t0) * 1e3
        self._n_past = self.ctx.n_past
        self._n_ctx = self.ctx.n_ctx
        self._t_gen0 = time.perf_counter()

    def _finish(self, reason: str) -> Optional[str]:
        self.stop_reason = reason
        self.t_gen_ms = (time.perf_counter() - self._t_gen0) * 1e3 if self._started else 0.0
        tail = self._decoder.decode(b"", final=True)
        return tail or None

    def __next__(self) -> str:
        # the hot loop: locals instead of attribute look-ups, pieces cached per
        # model, n_past counted here; about 10 us per token (docs/python.md)
        if self.stop_reason is not None:
            raise StopIteration
        if not self._started:
            self._start()
        h, mh = self._h, self._mh
        tokens = self.tokens
        limit = self.max_tokens if self.max_tokens >= 0 else 1 << 62
        while True:
            if self._pending is not None:
                tok, self._pending = self._pending, None
                self._decode_one(tok)
                self._n_past += 1
                self.last_token = -1  # evaluated
            if len(tokens) >= limit:
                tail = self._finish("length")
                if tail:
                    self._pieces.append(tail)
                    return tail
                raise StopIteration
            tok = _sample(self._smp, _logits_ith(h, -1), self._n_vocab)
            if tok < 0:
                raise _capi.fail(_capi.ERR_NOMEM, "sample")
            _accept(self._smp, tok)
            tokens.append(tok)
            self.last_token = tok
            if not self.ignore_eos and _is_eog(mh, tok):
                tail = self._finish("eog")
                if tail:
                    self._pieces.append(tail)
                    return tail
                raise StopIteration
            raw = self._piece_cache.get(tok)
            if raw is None:
                n = lib.bitnet_token_to_piece(mh, tok, self._piece_buf, 256, False)
                raw = self._piece_buf.raw[:n] if n > 0 else b""  # > 256 bytes: in no real vocabulary
                self._piece_cache[tok] = raw
            self._raw.append(raw)
            text = self._decoder.decode(raw)
            if len(tokens) >= limit:
                text += self._finish("length") or ""
            elif self._n_past >= self._n_ctx:
                text += self._finish("context_full") or ""
            else:
                self._pending = tok  # decoded on the next step, after the caller had the piece
            if text:
                self._pieces.append(text)
                return text
            if self.stop_reason is not None:
                raise StopIteration

    def close(self) -> None:
        """Stops generating: stop_reason becomes "cancelled" unless it already
        ended. The last emitted token is then not in the cache (last_token)."""
        if self.stop_reason is None:
            self._finish("cancelled")
            self._pending = None

    stop = close

    def run(self) -> str:
        """Consumes the iterator; returns the whole text."""
        for _ in self:
            pass
        return self.text

