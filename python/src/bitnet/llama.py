"""Llama: llama-cpp-python's high-level call shapes over bitnet.Model/Context.

``from bitnet import Llama`` instead of ``from llama_cpp import Llama``: the
constructor, create_completion / __call__, create_chat_completion (plain and
streaming, OpenAI-shaped dicts), tokenize and detokenize take the same
arguments and return the same shapes. Parameters llama-cpp-python has and
libbitnet does not (grammars, logprobs, mirostat, ...) are accepted at their
default values; any other value raises NotImplementedError naming it, rather
than being ignored.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from .context import Context
from .generate import Generation
from .model import Model

# llama-cpp-python's parameters that libbitnet has no counterpart for, with
# their defaults: accepted at these values only.
_UNSUPPORTED = {
    "suffix": None,
    "typical_p": 1.0,
    "logprobs": None,
    "top_logprobs": None,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
    "tfs_z": 1.0,
    "mirostat_mode": 0,
    "mirostat_tau": 5.0,
    "mirostat_eta": 0.1,
    "stopping_criteria": None,
    "logits_processor": None,
    "grammar": None,
    "logit_bias": None,
    "functions": None,
    "function_call": None,
    "tools": None,
    "tool_choice": None,
    "response_format": None,
}
# llama-cpp-python's chat format names for the ones libbitnet knows
_CHAT_FORMATS = {"llama-3": "llama3", "llama3": "llama3", "chatml": "chatml", "bitnet": "bitnet",
                 "falcon3": "falcon3"}
_RANDOM_SEED = 0xFFFFFFFF  # llama-cpp-python's LLAMA_DEFAULT_SEED: a new seed per call


def _check_unsupported(where: str, kwargs: Dict[str, Any]) -> None:
    for k, v in kwargs.items():
        if k not in _UNSUPPORTED and k != "model":
            raise TypeError(f"{where}() got an unexpected keyword argument '{k}'")
        if k != "model" and v != _UNSUPPORTED[k] and not (v == [] and _UNSUPPORTED[k] is None):
            raise NotImplementedError(f"{where}: '{k}' is not supported by libbitnet (got {v!r})")


class _StopScanner:
    """Cuts the text at the first stop string, holding back a tail that could
    be the start of one so that streamed text never shows part of a stop."""

    def __init__(self, stops: Sequence[str]):
        self.stops = [s for s in stops if s]
        self.held = ""

    def feed(self, text: str) -> "tuple[str, bool]":
        buf = self.held + text
        if not self.stops:
            self.held = ""
            return buf, False
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.held = ""
            return buf[:cut], True
        keep = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(buf)), 0, -1):
                if buf.endswith(s[:k]):
                    keep = max(keep, k)
                    break
        self.held = buf[len(buf) - keep :] if keep else ""
        return buf[: len(buf) - keep], False

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out


class Llama:
    """A model and one context, with llama-cpp-python's methods.

    model_path: a GGUF file. n_ctx (default 512, 0: the model's), n_batch,
    n_threads (None: physical cores), seed (default: a new one per call, as
    llama-cpp-python; give one for repeatable sampling), chat_format (None: the
    model's; "llama-3", "chatml", "bitnet", "falcon3"), verbose (print the
    library's log to stderr), vocab_only, use_mmap, use_mlock. Other
    llama-cpp-python constructor arguments (n_gpu_layers, ...) are accepted and
    ignored: they do not change results.
    """

    def __init__(
        self,
        model_path: str,
        *,
        n_ctx: int = 512,
        n_batch: int = 512,
        n_threads: Optional[int] = None,
        seed: int = _RANDOM_SEED,
        chat_format: Optional[str] = None,
        verbose: bool = True,
        vocab_only: bool = False,
        use_mmap: bool = True,
        use_mlock: bool = False,
        numerics: Optional[str] = None,
        **kwargs: Any,
    ):
        self.model_path = model_path
        self.verbose = verbose

        def log(level: int, message: str) -> None:
            if level <= 2:  # errors, warnings, info; not debug
                print(message, file=sys.stderr)

        self._model = Model(
            model_path,
            vocab_only=vocab_only,
            use_mmap=use_mmap,
            use_mlock=use_mlock,
            log_callback=log if verbose else None,
        )
        if chat_format is not None and chat_format not in _CHAT_FORMATS:
            raise ValueError(f"chat_format {chat_format!r}: one of {', '.join(_CHAT_FORMATS)}")
        self.chat_format = _CHAT_FORMATS.get(chat_format) if chat_format else None
        self.seed = seed
        self._ctx: Optional[Context] = None
        if not vocab_only:
            self._ctx = Context(
                self._model,
                n_ctx=n_ctx,
                n_batch=n_batch,
                n_threads=n_threads or 0,
                numerics=numerics,
            )
        self.metadata = self._model.metadata

    # -- llama-cpp-python's small methods --------------------------------------
    @property
    def model(self) -> Model:
        return self._model

    @property
    def context(self) -> Context:
        if self._ctx is None:
            raise RuntimeError("Llama(vocab_only=True) has no context")
        return self._ctx

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> List[int]:
        return self._model.tokenize(text, add_special=add_bos, parse_special=special)

    def detokenize(
        self, tokens: List[int], prev_tokens: Optional[List[int]] = None, special: bool = False
    ) -> bytes:
        if prev_tokens:
            # the text of tokens as it reads after prev_tokens (leading spaces)
            before = self._model.detokenize_bytes(prev_tokens, unparse_special=special)
            both = self._model.detokenize_bytes(list(prev_tokens) + list(tokens),
                                                unparse_special=special)
            return both[len(before):]
        return self._model.detokenize_bytes(tokens, unparse_special=special)

    def n_ctx(self) -> int:
        return self.context.n_ctx

    def n_vocab(self) -> int:
        return self._model.n_vocab

    def token_bos(self) -> int:
        b = self._model.bos
        return -1 if b is None else b

    def token_eos(self) -> int:
        e = self._model.eos
        return -1 if e is None else e

    def reset(self) -> None:
        self.context.reset()

    def eval(self, tokens: Sequence[int]) -> None:
        self.context.decode(tokens)

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()
        self._model.close()

    # -- completions -----------------------------------------------------------
    def _sampling(self, temperature: float, top_p: float, min_p: float, top_k: int,
                  repeat_penalty: float, seed: Optional[int]) -> Dict[str, Any]:
        s = self.seed if seed is None else seed
        return dict(temperature=temperature, top_p=top_p, min_p=min_p, top_k=top_k,
                    repeat_penalty=repeat_penalty, seed=-1 if s == _RANDOM_SEED else s)

    def _run(self, prompt: Union[str, List[int]], max_tokens: Optional[int], sampling: Dict[str, Any]
             ) -> Generation:
        ctx = self.context
        ctx.reset()  # every call starts from an empty cache
        if isinstance(prompt, str):
            toks = self._model.tokenize(prompt, add_special=True, parse_special=True)
        else:
            toks = list(prompt)
        n = -1 if max_tokens is None or max_tokens <= 0 else max_tokens
        return ctx.generate(toks, max_tokens=n, **sampling)

    @staticmethod
    def _pieces(gen: Generation, stop: Union[str, List[str], None]) -> Iterator[str]:
        """The generated text, cut at a stop string (then gen.stop_reason = "stop")."""
        scan = _StopScanner([stop] if isinstance(stop, str) else (stop or []))
        for piece in gen:
            out, hit = scan.feed(piece)
            if out:
                yield out
            if hit:
                gen.close()
                gen.stop_reason = "stop"
                return
        tail = scan.flush()
        if tail:
            yield tail

    @staticmethod
    def _finish_reason(gen: Generation) -> str:
        return "length" if gen.stop_reason in ("length", "context_full") else "stop"

    @staticmethod
    def _usage(gen: Generation) -> Dict[str, int]:
        n = len(gen.tokens) - (1 if gen.stop_reason == "eog" else 0)
        return {"prompt_tokens": gen.n_prompt, "completion_tokens": n,
                "total_tokens": gen.n_prompt + n}

    def create_completion(
        self,
        prompt: Union[str, List[int]],
        max_tokens: Optional[int] = 16,
        temperature: float = 0.8,
        top_p: float = 0.95,
        min_p: float = 0.05,
        echo: bool = False,
        stop: Union[str, List[str], None] = None,
        repeat_penalty: float = 1.0,
        top_k: int = 40,
        stream: bool = False,
        seed: Optional[int] = None,
        **kwargs: Any,
    ) -> Union[Dict[str, Any], Iterator[Dict[str, Any]]]:
        """An OpenAI-shaped text completion ({"id", "object": "text_completion",
        "created", "model", "choices": [{"text", "index", "logprobs",
        "finish_reason"}], "usage"}); with stream=True an iterator of chunks of
        that shape, the last one carrying finish_reason. max_tokens None or
        <= 0: until end of text or a full context."""
        _check_unsupported("create_completion", kwargs)
        gen = self._run(prompt, max_tokens,
                        self._sampling(temperature, top_p, min_p, top_k, repeat_penalty, seed))
        head = {"id": f"cmpl-{uuid.uuid4()}", "object": "text_completion",
                "created": int(time.time()), "model": kwargs.get("model") or self.model_path}
        prompt_text = prompt if isinstance(prompt, str) else self._model.detokenize(prompt)

        def choice(text: str, reason: Optional[str]) -> Dict[str, Any]:
            return {"text": text, "index": 0, "logprobs": None, "finish_reason": reason}

        if stream:
            def chunks() -> Iterator[Dict[str, Any]]:
                try:
                    if echo:
                        yield {**head, "choices": [choice(prompt_text, None)]}
                    for piece in self._pieces(gen, stop):
                        yield {**head, "choices": [choice(piece, None)]}
                    yield {**head, "choices": [choice("", self._finish_reason(gen))]}
                finally:
                    gen.close()
            return chunks()
        text = "".join(self._pieces(gen, stop))
        return {**head, "choices": [choice((prompt_text if echo else "") + text,
                                           self._finish_reason(gen))],
                "usage": self._usage(gen)}

    __call__ = create_completion

    def create_chat_completion(
        self,
        messages: List[Dict[str, str]],
        temperature: float = 0.2,
        top_p: float = 0.95,
        top_k: int = 40,
        min_p: float = 0.05,
        stream: bool = False,
        stop: Union[str, List[str], None] = None,
        seed: Optional[int] = None,
        max_tokens: Optional[int] = None,
        repeat_penalty: float = 1.0,
        **kwargs: Any,
    ) -> Union[Dict[str, Any], Iterator[Dict[str, Any]]]:
        """An OpenAI-shaped chat completion of `messages` ([{"role", "content"}])
        rendered with the model's chat format: {"object": "chat.completion",
        "choices": [{"index", "message": {"role": "assistant", "content"},
        "logprobs", "finish_reason"}], "usage", ...}; with stream=True
        "chat.completion.chunk" dicts whose choices carry a "delta" (first
        {"role": "assistant"}, then {"content": piece}, last {} with
        finish_reason)."""
        _check_unsupported("create_chat_completion", kwargs)
        text = self._model.apply_chat_template(messages, self.chat_format, add_assistant=True)
        gen = self._run(text, max_tokens,
                        self._sampling(temperature, top_p, min_p, top_k, repeat_penalty, seed))
        head = {"id": f"chatcmpl-{uuid.uuid4()}", "created": int(time.time()),
                "model": kwargs.get("model") or self.model_path}
        if stream:
            def chunks() -> Iterator[Dict[str, Any]]:
                def chunk(delta: Dict[str, str], reason: Optional[str]) -> Dict[str, Any]:
                    return {**head, "object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                         "finish_reason": reason}]}
                try:
                    yield chunk({"role": "assistant"}, None)
                    for piece in self._pieces(gen, stop):
                        yield chunk({"content": piece}, None)
                    yield chunk({}, self._finish_reason(gen))
                finally:
                    gen.close()
            return chunks()
        content = "".join(self._pieces(gen, stop))
        return {**head, "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "logprobs": None, "finish_reason": self._finish_reason(gen)}],
                "usage": self._usage(gen)}
