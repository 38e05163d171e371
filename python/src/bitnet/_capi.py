"""ctypes declarations of include/bitnet.h and the loading of libbitnet.

Everything that knows the C layout lives here: the structs mirror bitnet.h
field for field (python/tests/test_abi.py compares their sizes and offsets with
the C compiler's), and every function gets argtypes/restype so a wrong call is
a TypeError, not a crash. ctypes releases the GIL around every call into the
library, so decode in one thread never blocks Python code in another.

To extend the binding when bitnet.h grows: add the field to the struct here
(in header order), the prototype to _PROTOTYPES, and run the test suite.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int32,
    c_size_t,
    c_uint64,
    c_void_p,
)
from pathlib import Path

#: The ABI this binding was written for (BITNET_ABI_VERSION in bitnet.h).
ABI_VERSION = 3

token_t = c_int32
LOG_CALLBACK = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
ABORT_CALLBACK = CFUNCTYPE(c_bool, c_void_p)
PIECE_CALLBACK = CFUNCTYPE(c_bool, POINTER(c_char), c_size_t, token_t, c_void_p)


class ModelParams(Structure):
    _fields_ = [
        ("log_callback", LOG_CALLBACK),
        ("log_user_data", c_void_p),
        ("use_mmap", c_bool),
        ("vocab_only", c_bool),
        ("check_tensors", c_bool),
        ("use_mlock", c_bool),
        # ABI 2
        ("kernel_config", c_char_p),
        ("i2s_block", c_int32),
    ]


class ContextParams(Structure):
    _fields_ = [
        ("n_ctx", c_int32),
        ("n_batch", c_int32),
        ("n_threads", c_int32),
        ("numerics", c_int),  # enum bitnet_numerics
        ("isa", c_char_p),
        ("abort_callback", ABORT_CALLBACK),
        ("abort_user_data", c_void_p),
        ("head_q8", c_bool),
        # ABI 2
        ("n_seq_max", c_int32),
        # ABI 3
        ("device", c_char_p),
    ]


class SamplerParams(Structure):
    _fields_ = [
        ("temperature", c_float),
        ("top_k", c_int32),
        ("top_p", c_float),
        ("min_p", c_float),
        ("repeat_penalty", c_float),
        ("repeat_last_n", c_int32),
        ("seed", c_uint64),
    ]


class InferenceParams(Structure):
    _fields_ = [
        ("n_predict", c_int32),
        ("parse_special", c_bool),
        ("ignore_eos", c_bool),
        ("sampling", SamplerParams),
        ("on_piece", PIECE_CALLBACK),
        ("user_data", c_void_p),
    ]


class InferenceStats(Structure):
    _fields_ = [
        ("n_prompt", c_int32),
        ("n_generated", c_int32),
        ("t_prompt_ms", c_double),
        ("t_gen_ms", c_double),
        ("stop_reason", c_int),  # enum bitnet_stop_reason
        ("last_token", token_t),
    ]


class ChatMessage(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


# The structs test_abi.py checks against the C compiler's layout.
STRUCTS = {
    "bitnet_model_params": ModelParams,
    "bitnet_context_params": ContextParams,
    "bitnet_sampler_params": SamplerParams,
    "bitnet_inference_params": InferenceParams,
    "bitnet_inference_stats": InferenceStats,
    "bitnet_chat_message": ChatMessage,
}

_p = c_void_p  # opaque handles
_PROTOTYPES = {
    "bitnet_status_str": (c_char_p, [c_int]),
    "bitnet_get_last_error": (c_char_p, []),
    "bitnet_abi_version": (c_int, []),
    "bitnet_version": (c_char_p, []),
    "bitnet_system_info": (c_char_p, []),
    "bitnet_isa_supported": (c_bool, [c_char_p]),
    "bitnet_isa_default": (c_char_p, []),
    "bitnet_model_default_params": (ModelParams, []),
    "bitnet_model_load": (_p, [c_char_p, POINTER(ModelParams)]),
    "bitnet_model_free": (None, [_p]),
    "bitnet_model_arch": (c_char_p, [_p]),
    "bitnet_model_n_vocab": (c_int32, [_p]),
    "bitnet_model_n_ctx_train": (c_int32, [_p]),
    "bitnet_model_n_embd": (c_int32, [_p]),
    "bitnet_model_n_layer": (c_int32, [_p]),
    "bitnet_model_n_head": (c_int32, [_p]),
    "bitnet_model_n_head_kv": (c_int32, [_p]),
    "bitnet_model_size": (c_uint64, [_p]),
    "bitnet_model_n_params": (c_uint64, [_p]),
    "bitnet_model_meta_str": (c_int32, [_p, c_char_p, c_char_p, c_size_t]),
    "bitnet_token_bos": (token_t, [_p]),
    "bitnet_token_eos": (token_t, [_p]),
    "bitnet_token_is_eog": (c_bool, [_p, token_t]),
    "bitnet_add_bos": (c_bool, [_p]),
    "bitnet_tokenize": (
        c_int32,
        [_p, c_char_p, c_int32, POINTER(token_t), c_int32, c_bool, c_bool],
    ),
    "bitnet_token_to_piece": (c_int32, [_p, token_t, c_char_p, c_int32, c_bool]),
    "bitnet_detokenize": (
        c_int32,
        [_p, POINTER(token_t), c_int32, c_char_p, c_int32, c_bool, c_bool],
    ),
    "bitnet_context_default_params": (ContextParams, []),
    "bitnet_context_new": (_p, [_p, POINTER(ContextParams)]),
    "bitnet_context_free": (None, [_p]),
    "bitnet_context_n_ctx": (c_int32, [_p]),
    "bitnet_context_isa": (c_char_p, [_p]),
    "bitnet_context_n_threads": (c_int32, [_p]),
    "bitnet_context_memory": (c_uint64, [_p]),
    "bitnet_decode": (c_int, [_p, POINTER(token_t), c_int32, c_bool]),
    "bitnet_get_logits": (POINTER(c_float), [_p]),
    "bitnet_get_n_outputs": (c_int32, [_p]),
    "bitnet_get_logits_ith": (POINTER(c_float), [_p, c_int32]),
    "bitnet_n_past": (c_int32, [_p]),
    "bitnet_kv_truncate": (c_int, [_p, c_int32]),
    "bitnet_sampler_default_params": (SamplerParams, []),
    "bitnet_sampler_new": (_p, [POINTER(SamplerParams)]),
    "bitnet_sampler_free": (None, [_p]),
    "bitnet_sampler_sample": (token_t, [_p, POINTER(c_float), c_int32]),
    "bitnet_sampler_accept": (None, [_p, token_t]),
    "bitnet_sampler_reset": (None, [_p]),
    "bitnet_inference_default_params": (InferenceParams, []),
    "bitnet_chat_apply_template": (
        c_int32,
        [_p, c_char_p, POINTER(ChatMessage), c_size_t, c_bool, c_char_p, c_int32],
    ),
}

# enum values (bitnet.h)
NUMERICS = {"compat": 0, "exact": 1}
STOP_REASONS = {0: None, 1: "eog", 2: "length", 3: "cancelled", 4: "context_full"}
ERR_INVALID_ARGUMENT = -1
ERR_NOMEM = -7
INT32_MIN = -(2**31)


def _library_path() -> str:
    """$BITNET_LIBRARY if set (a build tree's lib/libbitnet.so), else the copy in the package."""
    env = os.environ.get("BITNET_LIBRARY")
    if env:
        return env
    return str(Path(__file__).with_name("libbitnet.so"))


def _load() -> ctypes.CDLL:
    path = _library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            f"bitnet: cannot load libbitnet from {path}: {e} "
            "(reinstall with `pip install ./python`, or set BITNET_LIBRARY)"
        ) from e
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"bitnet: {path} has no function {name}: an older libbitnet?") from None
        fn.restype = restype
        fn.argtypes = argtypes
    abi = lib.bitnet_abi_version()
    if abi != ABI_VERSION:
        raise ImportError(
            f"bitnet: {path} has ABI version {abi}, this package was written for "
            f"{ABI_VERSION}: rebuild the package from the same source tree"
        )
    return lib


lib = _load()
LIBRARY_PATH = _library_path()


class BitnetError(RuntimeError):
    """A libbitnet call failed. ``str(e)`` is the library's message (it names the
    file, field and value at fault); ``status`` is the bitnet_status code and
    ``status_name`` its English name."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status
        self.status_name = lib.bitnet_status_str(status).decode() if status else ""


def last_error() -> str:
    return (lib.bitnet_get_last_error() or b"").decode("utf-8", "replace")


def fail(status: int, what: str = "") -> BitnetError:
    """The exception for a failed call: the library's thread-local message, or
    `what` and the status name when the library gave none."""
    msg = last_error()
    if not msg:
        name = lib.bitnet_status_str(status).decode() if status else "failed"
        msg = f"{what}: {name}" if what else name
    return BitnetError(msg, status)


def check(status: int, what: str = "") -> None:
    if status != 0:
        raise fail(status, what)


def encode(text: str | bytes, what: str) -> bytes:
    """UTF-8 bytes for the C API, which takes NUL-terminated strings."""
    b = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL character")
    return b
