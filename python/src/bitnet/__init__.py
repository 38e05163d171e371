"""bitnet: Python bindings for libbitnet, an inference engine for ternary
(BitNet b1.58) language models.

    import bitnet
    model = bitnet.Model("model.gguf")
    ctx = bitnet.Context(model)
    for piece in ctx.generate("The capital of France is", max_tokens=32, temperature=0):
        print(piece, end="", flush=True)

Model: weights, tokenizer, metadata, chat templates. Context: KV cache,
decode, zero-copy NumPy logits, generate() / chat() iterators. Llama: the
call shapes of llama-cpp-python's Llama. Errors raise BitnetError with the
library's message. docs/python.md has the whole API.
"""

from ._capi import LIBRARY_PATH, BitnetError, lib as _lib
from .context import Context
from .generate import Generation, Sampler
from .llama import Llama
from .model import Metadata, Model

__all__ = [
    "BitnetError",
    "Context",
    "Generation",
    "Llama",
    "Metadata",
    "Model",
    "Sampler",
    "LIBRARY_PATH",
    "__version__",
    "abi_version",
    "isa_default",
    "isa_supported",
    "system_info",
]

__version__: str = _lib.bitnet_version().decode()


def abi_version() -> int:
    """BITNET_ABI_VERSION of the loaded library."""
    return int(_lib.bitnet_abi_version())


def system_info() -> str:
    """One line: selected ISA, the ISAs this CPU runs, OpenMP, compiler."""
    return _lib.bitnet_system_info().decode()


def isa_supported(isa: str) -> bool:
    """Whether kernels for `isa` ("ref", "avx2", "avx512", "amx", "neon") are compiled in and run here."""
    return bool(_lib.bitnet_isa_supported(isa.encode()))


def isa_default() -> str:
    """The ISA a context gets when none is asked for."""
    return _lib.bitnet_isa_default().decode()
