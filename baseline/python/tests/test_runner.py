"""The JSON-lines runner, driven as a subprocess like the harness does."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bitnet_ref.gguf_write import synthetic_model
from bitnet_ref.model import Model

PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Proc:
    def __init__(self):
        self.p = subprocess.Popen([sys.executable, "-m", "bitnet_ref.runner"], cwd=PKG_DIR,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, req):
        line = req if isinstance(req, str) else json.dumps(req)
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        return self.p.wait(timeout=30)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("runner") / "m.gguf"
    synthetic_model(p, seed=4)
    return str(p)


def test_protocol(model_path, tmp_path):
    r = Proc()
    try:
        assert r.ask({"id": 0, "op": "logits", "tokens": [1]}) == {
            "id": 0, "ok": False, "error": "no model loaded (send a 'load' request first)"}
        resp = r.ask({"id": "a", "op": "load", "model": model_path, "numerics": "exact"})
        assert resp["ok"] and resp["id"] == "a" and resp["arch"] == "bitnet"
        assert resp["n_vocab"] == 64

        toks = [1, 4, 9, 16, 25]
        out = str(tmp_path / "logits.f32")
        resp = r.ask({"id": 2, "op": "logits", "tokens": toks, "top_k": 3, "full": True,
                      "out": out})
        assert resp["ok"] and resp["n"] == 5 and len(resp["top"]) == 5
        assert all(len(t) == 3 for t in resp["top"])
        full = np.fromfile(out, dtype="<f4").reshape(5, 64)
        ref = Model(model_path, "exact").logits(toks)
        np.testing.assert_allclose(full, ref.astype(np.float32))
        for pos, top in enumerate(resp["top"]):
            ids = [t[0] for t in top]
            assert ids[0] == int(np.argmax(ref[pos]))
            lps = [t[1] for t in top]
            assert lps == sorted(lps, reverse=True) and lps[0] <= 0

        resp = r.ask({"id": 3, "op": "generate", "tokens": toks, "n_predict": 4})
        assert resp["ok"] and len(resp["tokens"]) == 4 and len(resp["margins"]) == 4

        resp = r.ask({"id": 4, "op": "perplexity", "tokens": list(range(1, 41)), "n_ctx": 16})
        assert resp["ok"] and resp["count"] == 14 and resp["ppl"] > 1
        resp = r.ask({"id": 5, "op": "perplexity", "tokens": list(range(1, 41)), "n_ctx": 16,
                      "n_chunks": 1})
        assert resp["count"] == 7

        # errors keep the runner alive
        assert r.ask({"id": 6, "op": "logits", "tokens": [1, 999]})["ok"] is False
        assert r.ask({"id": 7, "op": "frobnicate"})["error"] == "unknown op 'frobnicate'"
        assert r.ask("this is not json")["ok"] is False
        assert r.ask({"id": 8, "op": "generate", "tokens": [1]})["ok"] is False  # no n_predict
        assert r.ask({"id": 9, "op": "logits", "tokens": [1], "full": True})["ok"] is False
        assert r.ask({"id": 10, "op": "load", "model": "/nonexistent.gguf"})["ok"] is False
        assert r.ask({"id": 11, "op": "load", "model": model_path, "numerics": "x"})["ok"] is False
        assert r.ask({"id": 12, "op": "load", "model": model_path})["numerics"] == "compat"
        assert r.ask({"id": 13, "op": "quit"}) == {"id": 13, "ok": True}
    finally:
        assert r.close() == 0


def test_quantize_op():
    """Spec 1.2 on hand-worked values: m = 1, s = 127; 0.5*127 = 63.5 rounds half to even
    (64), -63.5 -> -64, 31.75 -> 32; values beyond ±m cannot occur, the clamp is for -128."""
    r = Proc()
    try:
        resp = r.ask({"id": 1, "op": "quantize", "x": [1.0, -0.5, 0.25, 0.0, 0.5]})
        assert resp["ok"], resp
        assert resp["q"] == [127, -64, 32, 0, 64]
        assert resp["scale"] == 127.0 and resp["sum"] == 159
        # float32 product before rounding: 0.1f * float32(127/0.7) rounds to 18
        x = np.array([0.1, -0.7, 0.3], dtype=np.float32)
        resp = r.ask({"id": 2, "op": "quantize", "x": [float(v) for v in x]})
        s = np.float32(127.0 / np.float64(np.float32(0.7)))
        assert resp["scale"] == float(s)
        assert resp["q"] == [int(np.rint(v * s)) for v in x]
        assert resp["sum"] == sum(resp["q"])
        # all zeros: the 1e-5 floor keeps the scale finite
        resp = r.ask({"id": 3, "op": "quantize", "x": [0.0] * 8})
        assert resp["q"] == [0] * 8 and resp["sum"] == 0
        assert resp["scale"] == float(np.float32(127.0 / 1e-5))
        assert r.ask({"id": 4, "op": "quantize", "x": []})["ok"] is False
        assert r.ask({"id": 5, "op": "quantize", "x": ["a"]})["ok"] is False
        assert r.ask({"id": 6, "op": "quantize", "x": [1e39]})["ok"] is False   # not float32
    finally:
        assert r.close() == 0


def test_linear_op(model_path):
    """Integer sums of one quantized input through a ternary matrix, against the codes
    decoded independently of the model (and against a plain int64 product)."""
    from bitnet_ref.gguf import GGUFFile
    with GGUFFile(model_path) as g:
        w = g.tensor("blk.1.ffn_down.weight")            # (N, K) = (32, 64)
        codes = w.codes.astype(np.int64)
    rng = np.random.default_rng(7)
    q = rng.integers(-128, 128, size=codes.shape[1])
    q[0], q[1] = -128, 127                                 # the extremes of int8
    r = Proc()
    try:
        assert r.ask({"id": 0, "op": "linear", "tensor": "blk.1.ffn_down.weight",
                      "q": q.tolist()})["ok"] is False   # no model loaded yet
        assert r.ask({"id": 1, "op": "load", "model": model_path})["ok"]
        resp = r.ask({"id": 2, "op": "linear", "tensor": "blk.1.ffn_down.weight",
                      "q": q.tolist()})
        assert resp["ok"], resp
        assert resp["n_out"] == codes.shape[0] and resp["n_in"] == codes.shape[1]
        assert resp["sums"] == (codes @ q).tolist()
        assert resp["w_scale"] == float(w.scale)
        # one flipped code changes exactly its row, by ±q_k (here code -1/0/+1 -> other)
        codes2 = codes.copy()
        codes2[5, 9] = 1 if codes2[5, 9] != 1 else -1
        diff = np.nonzero(codes2 @ q != np.asarray(resp["sums"]))[0].tolist()
        assert diff == ([5] if q[9] != 0 else [])
        # errors
        bad = [{"tensor": "blk.1.ffn_down.weight", "q": q.tolist()[:-1]},       # wrong width
               {"tensor": "blk.1.ffn_down.weight", "q": [128] * codes.shape[1]},  # not int8
               {"tensor": "token_embd.weight", "q": [0] * codes.shape[1]},      # not a projection
               {"tensor": "blk.9.attn_q.weight", "q": [0] * 32},
               {"q": [0]}]
        for i, b in enumerate(bad):
            assert r.ask(dict(b, id=10 + i, op="linear"))["ok"] is False, b
    finally:
        assert r.close() == 0
