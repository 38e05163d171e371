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
