"""Context: KV cache, decode, and the logits as NumPy views of the C buffer."""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from . import _capi
from ._capi import BitnetError, lib
from .model import Model, token_buffer

if TYPE_CHECKING:
    from .generate import Generation

Tokens = Union[Sequence[int], "np.ndarray"]


class _LogitsBuffer:
    """The object every logits view is a view of (``view.base``): it describes
    the C buffer to NumPy, read-only, and holds the Context, so the buffer is
    not freed while a view exists (Context.close() then waits for the last one)."""

    __slots__ = ("__array_interface__", "ctx", "__weakref__")

    def __init__(self, ctx: "Context", address: int, rows: int, n_vocab: int):
        self.ctx = ctx
        self.__array_interface__ = {
            "version": 3,
            "shape": (rows, n_vocab),
            "typestr": "<f4",
            "data": (address, True),  # read-only: the library owns these floats
        }


class Context:
    """A KV cache over a :class:`Model` plus the buffers one sequence needs.

    Keyword arguments left as None take the library's defaults
    (``bitnet_context_default_params``): n_ctx (0: the model's training
    context), n_batch, n_threads (0: physical cores), numerics ("compat",
    bitnet.cpp's roundings, or "exact"), isa ("ref", "avx2", "avx512", "amx", "neon"),
    head_q8, device ("cpu", or "cuda", which this version refuses with the reason:
    docs/cuda.md; None: $BITNET_DEVICE, else "cpu").

    One thread at a time may use a context (a second thread gets a
    BitnetError, never a corrupted cache); use one context per thread, all
    sharing one Model. The GIL is released while the library computes.

    Logits: :attr:`logits` is a read-only NumPy array *viewing* the library's
    buffer, no copy. It is valid until the next :meth:`decode`, which writes
    the new logits into the same memory. A decode that needs a larger buffer
    (``all_logits`` for more tokens than any earlier call) would move it: while
    a view is alive such a decode raises instead of leaving the view pointing at
    freed memory. Copy what you keep (``logits.copy()``).
    """

    def __init__(
        self,
        model: Model,
        *,
        n_ctx: Optional[int] = None,
        n_batch: Optional[int] = None,
        n_threads: Optional[int] = None,
        numerics: Optional[str] = None,
        isa: Optional[str] = None,
        head_q8: Optional[bool] = None,
        device: Optional[str] = None,
    ):
        self._handle: Optional[int] = None
        self._n_views = 0  # live _LogitsBuffer objects
        self._closing = False
        self._busy = threading.Lock()
        mh = model._live()
        p = lib.bitnet_context_default_params()
        if n_ctx is not None:
            p.n_ctx = n_ctx
        if n_batch is not None:
            p.n_batch = n_batch
        if n_threads is not None:
            p.n_threads = n_threads
        if numerics is not None:
            if numerics not in _capi.NUMERICS:
                raise ValueError(f"numerics {numerics!r}: use 'compat' or 'exact'")
            p.numerics = _capi.NUMERICS[numerics]
        if isa is not None:
            p.isa = _capi.encode(isa, "isa")
        if head_q8 is not None:
            p.head_q8 = head_q8
        if device is not None:
            p.device = _capi.encode(device, "device")
        handle = lib.bitnet_context_new(mh, ctypes.byref(p))
        if not handle:
            raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, "cannot create a context")
        self._handle = handle
        self.model = model
        self._mh = mh
        model._n_contexts += 1
        self.n_vocab = model.n_vocab
        self.n_batch = p.n_batch
        # rows the C logits buffer holds: it starts with one and grows (moves)
        # only for an all_logits decode of more tokens
        self._logit_rows = 1

    # -- lifetime --------------------------------------------------------------
    def _live(self) -> int:
        if self._handle is None or self._closing:
            raise BitnetError("the context is closed", _capi.ERR_INVALID_ARGUMENT)
        return self._handle

    def close(self) -> None:
        """Frees the KV cache and buffers (once the last logits view is gone)."""
        if self._handle is None or self._closing:
            return
        self._closing = True
        if self._n_views == 0:
            self._free()

    def _free(self) -> None:
        if self._handle is not None:
            lib.bitnet_context_free(self._handle)
            self._handle = None
            self.model._context_closed()

    def _view_gone(self) -> None:
        self._n_views -= 1
        if self._closing and self._n_views == 0:
            self._free()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self._free()

    # -- properties ------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return lib.bitnet_context_n_ctx(self._live())

    @property
    def n_past(self) -> int:
        """Tokens in the KV cache."""
        return lib.bitnet_n_past(self._live())

    @property
    def isa(self) -> str:
        return (lib.bitnet_context_isa(self._live()) or b"").decode()

    @property
    def n_threads(self) -> int:
        return lib.bitnet_context_n_threads(self._live())

    @property
    def memory(self) -> int:
        """Bytes the context allocated (KV cache, scratch, logits)."""
        return lib.bitnet_context_memory(self._live())

    # -- evaluation ------------------------------------------------------------
    def decode(self, tokens: Tokens, all_logits: bool = False) -> None:
        """Evaluates `tokens` after the n_past already in the cache.

        all_logits: keep the logits of every token of this call (then
        len(tokens) <= n_batch), else only the last one's. Raises BitnetError
        when the tokens do not fit in the context (nothing is evaluated), an id
        is out of range, or the call would move the logits buffer under a live
        view.
        """
        h = self._live()
        arr = token_buffer(tokens)
        n = len(arr)
        if all_logits and n > self._logit_rows and self._n_views:
            raise BitnetError(
                f"decode(all_logits=True) of {n} tokens needs a larger logits buffer, "
                f"but {self._n_views} NumPy view(s) of the current one are alive; "
                "copy what you need (logits.copy()) and drop the views first",
                _capi.ERR_INVALID_ARGUMENT,
            )
        if not self._busy.acquire(blocking=False):
            raise BitnetError("the context is in use by another thread", _capi.ERR_INVALID_ARGUMENT)
        try:
            before = ctypes.cast(lib.bitnet_get_logits(h), ctypes.c_void_p).value
            _capi.check(lib.bitnet_decode(h, arr, n, all_logits), "decode")
            if all_logits and n > self._logit_rows:
                self._logit_rows = n
            elif self._n_views:
                after = ctypes.cast(lib.bitnet_get_logits(h), ctypes.c_void_p).value
                if after != before:  # the library changed its policy: never let this pass
                    raise BitnetError(
                        "internal: the logits buffer moved under a live view",
                        -12,
                    )
        finally:
            self._busy.release()

    @property
    def n_outputs(self) -> int:
        """Rows of logits the last decode kept."""
        return lib.bitnet_get_n_outputs(self._live())

    @property
    def logits(self) -> np.ndarray:
        """The last decode's logits, ``[n_outputs][n_vocab]`` float32, a
        read-only view of the library's buffer (no copy; see the class doc)."""
        h = self._live()
        rows = lib.bitnet_get_n_outputs(h)
        ptr = ctypes.cast(lib.bitnet_get_logits(h), ctypes.c_void_p).value
        if rows <= 0 or not ptr:
            raise BitnetError("no logits yet: call decode() first", _capi.ERR_INVALID_ARGUMENT)
        owner = _LogitsBuffer(self, ptr, rows, self.n_vocab)
        self._n_views += 1
        weakref.finalize(owner, self._view_gone)
        return np.asarray(owner)

    def logits_ith(self, i: int = -1) -> np.ndarray:
        """Row `i` of :attr:`logits` (-1: the last token), a view as well."""
        rows = self.logits
        if not -rows.shape[0] <= i < rows.shape[0]:
            raise IndexError(f"logits row {i} of {rows.shape[0]}")
        return rows[i]

    def kv_truncate(self, n_keep: int) -> None:
        """Keeps the first n_keep tokens of the cache (0 clears it)."""
        _capi.check(lib.bitnet_kv_truncate(self._live(), n_keep), "kv_truncate")

    def reset(self) -> None:
        """Empties the KV cache."""
        self.kv_truncate(0)

    # -- generation ------------------------------------------------------------
    def generate(
        self, prompt: Union[str, bytes, Iterable[int]], **kwargs: object
    ) -> "Generation":
        """Streams the continuation of `prompt` as text pieces; see
        :class:`bitnet.Generation` for the keywords."""
        from .generate import Generation

        return Generation(self, prompt, **kwargs)  # type: ignore[arg-type]

    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        template: Optional[str] = None,
        **kwargs: object,
    ) -> "Generation":
        """Starts over (empties the cache), renders `messages` with the model's
        chat format (or `template`) and streams the assistant's reply."""
        text = self.model.apply_chat_template(messages, template, add_assistant=True)
        self.reset()
        return self.generate(text, **kwargs)
