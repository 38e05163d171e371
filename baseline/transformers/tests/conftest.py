import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
sys.path.insert(0, PKG)  # make `make_checkpoint` and `tf_runner` importable
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

import make_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """Every variant of one random model, written by transformers (make_checkpoint)."""
    root = tmp_path_factory.mktemp("hf")
    assert make_checkpoint.main([str(root), "--all", "--seed", "7"]) == 0
    return {v: str(root / v) for v in make_checkpoint.VARIANTS}


@pytest.fixture(scope="session")
def wrong_checkpoints(tmp_path_factory, checkpoints):
    """Deliberately wrong variants of the same model: they must NOT agree, or the
    agreement tests below could not fail."""
    import json
    import shutil

    import numpy as np
    import torch
    from safetensors.torch import load_file, save_file

    root = tmp_path_factory.mktemp("hf-wrong")
    out = {}
    # the bitlinear file (scale = 1/absmean) declared autobitlinear (multiply)
    d = str(root / "swapped-scale")
    shutil.copytree(checkpoints["packed-bitlinear"], d)
    cfg_path = os.path.join(d, "config.json")
    cfg = json.load(open(cfg_path))
    cfg["quantization_config"]["linear_class"] = "autobitlinear"
    json.dump(cfg, open(cfg_path, "w"))
    out["swapped-scale"] = d
    # rows interleaved (4r+i) instead of the block order (i*R+r) of §2
    d = str(root / "interleaved")
    shutil.copytree(checkpoints["packed-autobitlinear"], d)
    st = os.path.join(d, "model.safetensors")
    tensors = load_file(st)
    for name, t in tensors.items():
        if t.dtype == torch.uint8:
            t = t.numpy()
            r, n_in = t.shape
            codes = np.stack([(t >> (2 * i)) & 3 for i in range(4)])  # [4][R][in], row i*R+r
            inter = codes.transpose(1, 0, 2).reshape(4 * r, n_in)      # the same codes, row 4r+i
            tensors[name] = torch.from_numpy(make_checkpoint.pack_numpy(inter.astype(np.int16) - 1))
    save_file(tensors, st, metadata={"format": "pt"})
    out["interleaved"] = d
    return out


class RunnerProc:
    """One `python -m tf_runner` child answering requests line by line."""

    def __init__(self):
        self.p = subprocess.Popen([sys.executable, "-m", "tf_runner"], cwd=PKG,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.seq = 0

    def raw(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        import json

        return json.loads(self.p.stdout.readline())

    def __call__(self, **req):
        import json

        self.seq += 1
        req["id"] = self.seq
        resp = self.raw(json.dumps(req))
        assert resp["id"] == self.seq
        return resp

    def close(self):
        if self.p.poll() is None:
            self(op="quit")
            self.p.wait(timeout=30)
        return self.p.returncode


@pytest.fixture(scope="session")
def runner():
    r = RunnerProc()
    yield r
    assert r.close() == 0
