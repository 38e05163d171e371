"""Request checks and JSON value mapping shared by the JSON-lines runners: the numpy
reference (bitnet_ref.runner) and the transformers runner (baseline/transformers/tf_runner.py).
Pure Python, so either runner's environment can import it."""

from __future__ import annotations

import math

PROTOCOL_VERSION = 1


class RequestError(ValueError):
    """A request the runner answers with an error line (the runner keeps serving)."""


def tokens_arg(req, key="tokens"):
    toks = req.get(key)
    if not isinstance(toks, list) or not toks:
        raise RequestError(f"'{key}' must be a non-empty list of integers")
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in toks):
        raise RequestError(f"'{key}' must contain only integers")
    return toks


def int_arg(req, key, default=None, minimum=None):
    v = req.get(key, default)
    if v is None:
        raise RequestError(f"missing '{key}'")
    if not isinstance(v, int) or isinstance(v, bool):
        raise RequestError(f"'{key}' must be an integer")
    if minimum is not None and v < minimum:
        raise RequestError(f"'{key}' must be >= {minimum}")
    return v


def finite(x: float):
    """JSON has no inf/nan: they travel as strings."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
