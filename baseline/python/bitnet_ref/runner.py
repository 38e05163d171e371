"""JSON-lines front end of the Python reference: `python -m bitnet_ref.runner`.

One request per line on stdin, one response per line on stdout (flushed after each line).
See baseline/python/README.md for the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import numpy as np

from . import numerics as nm
from .gguf import GGUFError
from .model import PROJS, Model, ModelError, generate, perplexity
from .protocol import PROTOCOL_VERSION, RequestError, finite, int_arg, tokens_arg


def top_k_logprobs(logits: np.ndarray, k: int):
    """Per position, the k most likely tokens as [id, logprob], best first; ties broken by
    lower id.  logits: (T, V)."""
    lp = nm.log_softmax(logits)                                   # (T, V) float64
    k = min(k, lp.shape[1])
    out = []
    for row in lp:
        if k == 0:
            out.append([])
            continue
        idx = np.argpartition(-row, k - 1)[:k] if k < row.shape[0] else np.arange(row.shape[0])
        # stable order: logprob descending, then id ascending
        idx = sorted(idx.tolist(), key=lambda i: (-row[i], i))
        out.append([[int(i), finite(float(row[i]))] for i in idx])
    return out


class Runner:
    def __init__(self):
        self.model = None

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        if not isinstance(op, str):
            raise RequestError("missing 'op'")
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            raise RequestError(f"unknown op '{op}'")
        if op not in ("load", "quit", "hello", "quantize") and self.model is None:
            raise RequestError("no model loaded (send a 'load' request first)")
        return fn(req)

    def op_hello(self, req):
        return {"protocol": PROTOCOL_VERSION, "numpy": np.__version__,
                "python": sys.version.split()[0]}

    def op_load(self, req):
        path = req.get("model")
        if not isinstance(path, str):
            raise RequestError("'model' must be a path")
        numerics = req.get("numerics", nm.COMPAT)
        if numerics not in nm.MODES:
            raise RequestError(f"'numerics' must be one of {list(nm.MODES)}")
        options = req.get("options", {})
        if not isinstance(options, dict):
            raise RequestError("'options' must be an object")
        t0 = time.perf_counter()
        self.model = None
        self.model = Model(path, numerics, options)
        m = self.model
        return {"arch": m.arch_name, "n_vocab": m.n_vocab, "numerics": numerics,
                "options": m.options, "n_layer": m.hp.n_layer, "n_embd": m.hp.n_embd,
                "n_ctx_train": m.hp.n_ctx_train, "bos": m.bos_id, "eos": m.eos_id,
                "add_bos": m.add_bos, "load_s": time.perf_counter() - t0}

    def op_logits(self, req):
        toks = tokens_arg(req)
        k = int_arg(req, "top_k", 10, minimum=0)
        t0 = time.perf_counter()
        logits = self.model.logits(toks)                          # (T, V)
        resp = {"n": len(toks), "n_vocab": self.model.n_vocab,
                "top": top_k_logprobs(logits, k)}
        if req.get("full"):
            out = req.get("out")
            if not isinstance(out, str):
                raise RequestError("'full' needs 'out': a file path")
            tmp = out + ".tmp"
            logits.astype("<f4").tofile(tmp)
            os.replace(tmp, out)
            resp["logits_file"] = out
            resp["logits_shape"] = [len(toks), self.model.n_vocab]
        resp["eval_s"] = time.perf_counter() - t0
        return resp

    def op_generate(self, req):
        toks = tokens_arg(req)
        n = int_arg(req, "n_predict", minimum=0)
        stop = req.get("stop", [])
        if not isinstance(stop, list) or not all(isinstance(s, int) for s in stop):
            raise RequestError("'stop' must be a list of token ids")
        t0 = time.perf_counter()
        out, margins = generate(self.model, toks, n, stop=set(stop))
        return {"tokens": out, "margins": [finite(x) for x in margins],
                "eval_s": time.perf_counter() - t0}

    def op_perplexity(self, req):
        toks = tokens_arg(req)
        n_ctx = int_arg(req, "n_ctx", minimum=4)
        n_chunks = req.get("n_chunks")
        if n_chunks is not None:
            n_chunks = int_arg(req, "n_chunks", minimum=1)
        add_bos = req.get("add_bos")
        if add_bos is not None and not isinstance(add_bos, bool):
            raise RequestError("'add_bos' must be true or false")
        t0 = time.perf_counter()
        r = perplexity(self.model, toks, n_ctx, n_chunks, add_bos)
        r["eval_s"] = time.perf_counter() - t0
        return r

    def op_quantize(self, req):
        """Spec 1.2 activation quantization of one float32 vector, for layer-level
        cross-checks: another implementation quantizes the same vector and must get the
        same q, scale and sum.  Needs no model."""
        x = req.get("x")
        if (not isinstance(x, list) or not x or
                not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x)):
            raise RequestError("'x' must be a non-empty list of numbers")
        numerics = req.get("numerics", nm.COMPAT)
        if numerics not in nm.MODES:
            raise RequestError(f"'numerics' must be one of {list(nm.MODES)}")
        # activations are float32 in every implementation; a value sent as the exact
        # decimal of a float32 converts back to that float32 without loss
        xf = np.asarray(x, dtype=np.float64).astype(np.float32)
        if not np.all(np.isfinite(xf)):
            raise RequestError("'x' must be finite float32 values")
        q, s_x, sum_q = nm.quantize_activations(xf[None, :], numerics)
        return {"q": q[0].astype(int).tolist(), "scale": float(s_x[0]), "sum": int(sum_q[0])}

    def _ternary_linear(self, name):
        for L in self.model.layers:
            for p in PROJS:
                lin = getattr(L, p)
                if lin.name == name:
                    if not lin.ternary:
                        raise RequestError(f"tensor '{name}' is not I2_S (ternary)")
                    return lin
        raise RequestError(f"'{name}' is not a projection weight of the loaded model")

    def op_linear(self, req):
        """Integer part of BitLinear for one quantized input: sums[n] = Σ_k t[n,k]·q[k]
        with the ternary codes t as this reference decoded them from the file.  Feeding
        the same q to another implementation and comparing the integers checks its
        weight decoding and integer kernel exactly, row by row, with no float noise."""
        name = req.get("tensor")
        if not isinstance(name, str):
            raise RequestError("'tensor' must be a tensor name")
        lin = self._ternary_linear(name)
        q = req.get("q")
        K = lin.shape[1]
        if not isinstance(q, list) or len(q) != K:
            raise RequestError(f"'q' must be a list of {K} integers (the input width of "
                               f"'{name}')")
        if not all(isinstance(v, int) and not isinstance(v, bool) and -128 <= v <= 127
                   for v in q):
            raise RequestError("'q' must contain only integers in [-128, 127]")
        qa = np.asarray(q, dtype=np.int8)[None, :]
        sums = nm.ternary_int_dot(qa, lin.codes)[0]                    # (N,) int64
        return {"sums": sums.tolist(), "n_out": int(lin.shape[0]), "n_in": int(K),
                "w_scale": float(lin.w_scale)}

    def op_quit(self, req):
        return {}


def serve(inp=sys.stdin, out=sys.stdout):
    runner = Runner()
    for line in inp:
        line = line.strip()
        if not line:
            continue
        rid = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise RequestError("a request must be a JSON object")
            rid = req.get("id")
            resp = {"id": rid, "ok": True}
            resp.update(runner.handle(req))
        except (RequestError, ModelError, GGUFError, OSError, KeyError, ValueError,
                MemoryError) as e:
            resp = {"id": rid, "ok": False, "error": str(e) or type(e).__name__}
        except Exception as e:  # keep serving whatever happens
            resp = {"id": rid, "ok": False, "error": f"internal error: {type(e).__name__}: {e}",
                    "traceback": traceback.format_exc(limit=5)}
        out.write(json.dumps(resp, allow_nan=False) + "\n")
        out.flush()
        if resp.get("ok") and isinstance(req, dict) and req.get("op") == "quit":
            break
    return 0


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="python -m bitnet_ref.runner",
                                 description="BitNet numpy reference, JSON lines on stdin/stdout")
    ap.parse_args(argv)
    return serve()


if __name__ == "__main__":
    sys.exit(main())
