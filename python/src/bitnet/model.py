"""Model: weights, tokenizer and metadata of one model file."""

from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional, Sequence, Union

from . import _capi
from ._capi import BitnetError, lib

if TYPE_CHECKING:
    from .context import Context

LogCallback = Callable[[int, str], None]
Message = Mapping[str, str]
PathLike = Union[str, "os.PathLike[str]"]


def token_buffer(tokens: Iterable[int]) -> "ctypes.Array[ctypes.c_int32]":
    """A C array of token ids (a list, tuple, range or NumPy array of ints)."""
    seq = tokens if isinstance(tokens, (list, tuple)) else list(tokens)
    return (_capi.token_t * len(seq))(*seq)


class Metadata:
    """Read-only access to a model's GGUF metadata, formatted as text by the
    library (arrays show as ``"[n items]"``): ``model.metadata["general.name"]``,
    ``model.metadata.get(key)``, ``key in model.metadata``. The C API looks keys
    up one at a time and cannot list them, so this is not iterable."""

    def __init__(self, model: "Model"):
        self._model = model

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        handle = self._model._live()
        k = _capi.encode(key, "metadata key")
        n = lib.bitnet_model_meta_str(handle, k, None, 0)
        if n < 0:
            return default
        buf = ctypes.create_string_buffer(n + 1)
        lib.bitnet_model_meta_str(handle, k, buf, n + 1)
        return buf.raw[:n].decode("utf-8", "replace")

    def __getitem__(self, key: str) -> str:
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None


class Model:
    """A model loaded from a GGUF file (a Hugging Face directory once the loader
    reads them: the path is passed to ``bitnet_model_load`` unchanged).

    Every field of the file is validated before use; a bad file raises
    :class:`bitnet.BitnetError` whose message names the file and what is wrong
    in it. A model is read-only once loaded and may be shared by several
    :class:`bitnet.Context` objects, each used by one thread at a time.

    Use as a context manager, or call :meth:`close`, to unmap the file at a
    known point; otherwise it is freed when the last reference (including every
    context made from it) goes away.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        use_mmap: bool = True,
        vocab_only: bool = False,
        check_tensors: bool = False,
        use_mlock: bool = False,
        log_callback: Optional[LogCallback] = None,
    ):
        self._handle: Optional[int] = None
        self._n_contexts = 0  # live Contexts; the C model must outlive them
        self._closing = False
        self._piece_cache: dict = {}  # token -> bytes, filled by Generation
        self.path = os.fspath(path)
        params = lib.bitnet_model_default_params()
        params.use_mmap = use_mmap
        params.vocab_only = vocab_only
        params.check_tensors = check_tensors
        params.use_mlock = use_mlock
        # kept on self: the library may call it for as long as the model lives
        self._log_cb = None
        if log_callback is not None:

            def _log(level: int, message: bytes, _user: object) -> None:
                log_callback(level, message.decode("utf-8", "replace"))

            self._log_cb = _capi.LOG_CALLBACK(_log)
            params.log_callback = self._log_cb
        handle = lib.bitnet_model_load(os.fsencode(self.path), ctypes.byref(params))
        if not handle:
            raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, f"cannot load {self.path}")
        self._handle = handle
        self.metadata = Metadata(self)

    # -- lifetime --------------------------------------------------------------
    def _live(self) -> int:
        if self._handle is None:
            raise BitnetError(f"model {self.path} is closed", _capi.ERR_INVALID_ARGUMENT)
        return self._handle

    def close(self) -> None:
        """Frees the model. Contexts made from it keep their own reference, so
        the weights stay mapped until the last of them is closed too."""
        if self._handle is None:
            return
        if self._n_contexts == 0:
            lib.bitnet_model_free(self._handle)
            self._handle = None
        else:
            self._closing = True  # the last Context.close() frees it

    def _context_closed(self) -> None:
        self._n_contexts -= 1
        if self._closing and self._n_contexts == 0:
            self._closing = False
            self.close()

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None and getattr(self, "_n_contexts", 0) == 0:
            lib.bitnet_model_free(self._handle)
            self._handle = None

    def __repr__(self) -> str:
        if self._handle is None:
            return f"<bitnet.Model {self.path!r} closed>"
        return f"<bitnet.Model {self.path!r} arch={self.arch} n_vocab={self.n_vocab}>"

    # -- hyper-parameters ------------------------------------------------------
    @property
    def arch(self) -> str:
        return (lib.bitnet_model_arch(self._live()) or b"").decode()

    @property
    def n_vocab(self) -> int:
        return lib.bitnet_model_n_vocab(self._live())

    @property
    def n_ctx_train(self) -> int:
        return lib.bitnet_model_n_ctx_train(self._live())

    @property
    def n_embd(self) -> int:
        return lib.bitnet_model_n_embd(self._live())

    @property
    def n_layer(self) -> int:
        return lib.bitnet_model_n_layer(self._live())

    @property
    def n_head(self) -> int:
        return lib.bitnet_model_n_head(self._live())

    @property
    def n_head_kv(self) -> int:
        return lib.bitnet_model_n_head_kv(self._live())

    @property
    def size(self) -> int:
        """Bytes of tensor data."""
        return lib.bitnet_model_size(self._live())

    @property
    def n_params(self) -> int:
        return lib.bitnet_model_n_params(self._live())

    # -- special tokens --------------------------------------------------------
    @property
    def bos(self) -> Optional[int]:
        """The beginning-of-sequence token, None if the model has none."""
        t = lib.bitnet_token_bos(self._live())
        return None if t < 0 else t

    @property
    def eos(self) -> Optional[int]:
        t = lib.bitnet_token_eos(self._live())
        return None if t < 0 else t

    @property
    def add_bos(self) -> bool:
        """Whether tokenizing with ``add_special`` prepends BOS."""
        return bool(lib.bitnet_add_bos(self._live()))

    def is_eog(self, token: int) -> bool:
        """End of generation: EOS, end-of-turn and the like."""
        return bool(lib.bitnet_token_is_eog(self._live(), token))

    # -- tokenizer -------------------------------------------------------------
    def tokenize(
        self, text: Union[str, bytes], add_special: bool = True, parse_special: bool = False
    ) -> list:
        """Token ids of `text` (str or UTF-8 bytes).

        add_special: add BOS/EOS as the model's metadata asks.
        parse_special: read the text of control tokens (``"<|eot_id|>"``) as
        those tokens rather than as plain text.
        """
        h = self._live()
        b = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        n = len(b)
        if n >= 2**31:
            raise ValueError("text longer than 2 GiB")
        cap = n + 2  # a guess that fits most texts; the library says when it does not
        while True:
            buf = (_capi.token_t * cap)()
            got = lib.bitnet_tokenize(h, b, n, buf, cap, add_special, parse_special)
            if got == _capi.INT32_MIN:
                raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, "tokenize")
            if got >= 0:
                return buf[:got]
            cap = -got

    def token_to_piece(self, token: int, special: bool = False) -> bytes:
        """The bytes of one token (a piece may be part of a UTF-8 character).
        special: render control tokens as their text (else they give b"")."""
        h = self._live()
        buf = ctypes.create_string_buffer(64)
        n = lib.bitnet_token_to_piece(h, token, buf, 64, special)
        if n == _capi.INT32_MIN:
            raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, f"token_to_piece({token})")
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = lib.bitnet_token_to_piece(h, token, buf, -n, special)
            if n < 0:
                raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, f"token_to_piece({token})")
        return buf.raw[:n]

    def detokenize_bytes(
        self, tokens: Sequence[int], remove_special: bool = False, unparse_special: bool = False
    ) -> bytes:
        """The bytes of a token sequence. remove_special: drop a leading BOS and
        a trailing EOS. unparse_special: render control tokens as text."""
        h = self._live()
        arr = token_buffer(tokens)
        cap = 4 * len(arr) + 16
        while True:
            buf = ctypes.create_string_buffer(cap)
            n = lib.bitnet_detokenize(h, arr, len(arr), buf, cap, remove_special, unparse_special)
            if n == _capi.INT32_MIN:
                raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, "detokenize")
            if n >= 0:
                return buf.raw[:n]
            cap = -n

    def detokenize(
        self, tokens: Sequence[int], remove_special: bool = False, unparse_special: bool = False
    ) -> str:
        """The text of a token sequence (invalid UTF-8 shows as U+FFFD)."""
        return self.detokenize_bytes(tokens, remove_special, unparse_special).decode(
            "utf-8", "replace"
        )

    # -- chat ------------------------------------------------------------------
    def apply_chat_template(
        self,
        messages: Sequence[Message],
        template: Optional[str] = None,
        add_assistant: bool = True,
    ) -> str:
        """Renders ``[{"role": ..., "content": ...}, ...]`` with a chat format:
        `template` is a format name ("bitnet", "llama3", "falcon3", "chatml") or
        None for the one this model's file implies. add_assistant: end with the
        opening of an assistant turn, ready for generation."""
        h = self._live()
        keep = []  # the bytes objects must outlive the call
        arr = (_capi.ChatMessage * max(1, len(messages)))()
        for i, m in enumerate(messages):
            try:
                role, content = m["role"], m["content"]
            except (KeyError, TypeError):
                raise ValueError(f"messages[{i}] needs 'role' and 'content'") from None
            r = _capi.encode(role, f"messages[{i}]['role']")
            c = _capi.encode(content or "", f"messages[{i}]['content']")
            keep += [r, c]
            arr[i].role, arr[i].content = r, c
        t = _capi.encode(template, "template") if template is not None else None
        n = lib.bitnet_chat_apply_template(h, t, arr, len(messages), add_assistant, None, 0)
        if n == _capi.INT32_MIN or n < 0:
            raise _capi.fail(_capi.ERR_INVALID_ARGUMENT, "apply_chat_template")
        buf = ctypes.create_string_buffer(n + 1)
        lib.bitnet_chat_apply_template(h, t, arr, len(messages), add_assistant, buf, n + 1)
        return buf.raw[:n].decode("utf-8", "replace")

    # -- contexts --------------------------------------------------------------
    def context(self, **params: object) -> "Context":
        """A new :class:`bitnet.Context` over this model (same keywords)."""
        from .context import Context

        return Context(self, **params)  # type: ignore[arg-type]

