"""The transformers baseline: its checkpoints (make_checkpoint.py) and its runner
(tf_runner.py, the JSON-lines protocol of the numpy reference)."""

import json
import os

import numpy as np
import pytest
import torch

import make_checkpoint
from conftest import RunnerProc

PROMPTS = ["Hello, world!", "The capital of France is", "def fibonacci(n):",
           "Unicode: café 東京 🙂", "  two  spaces\nand a newline"]
SEQ = [456] + [(97 * i + 13) % 456 for i in range(127)]  # BOS, then 127 ids: 128 positions


def kld_top1(ref, test):
    """Per-position KL(ref || test) in float64 (mean) and top-1 agreement."""
    def logsm(x):
        x = x.astype(np.float64)
        x = x - x.max(axis=1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    lr, lt = logsm(ref), logsm(test)
    kld = (np.exp(lr) * (lr - lt)).sum(axis=1)
    return float(kld.mean()), float((ref.argmax(1) == test.argmax(1)).mean())


def full_logits(runner, path, tokens, tmp_path):
    out = str(tmp_path / "logits.f32")
    r = runner(op="logits", tokens=tokens, top_k=3, full=True, out=out)
    assert r["ok"], r
    assert r["logits_shape"] == [len(tokens), r["n_vocab"]]
    a = np.fromfile(out, dtype="<f4").reshape(len(tokens), r["n_vocab"])
    return a, r


# ---- packing (§2) ----

def test_pack_order_matches_transformers_and_unpacks_back():
    from transformers.integrations.bitnet import pack_weights, unpack_weights

    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 2, size=(24, 7)).astype(np.int8)
    ours = make_checkpoint.pack_numpy(codes)
    theirs = pack_weights(torch.from_numpy(codes.astype(np.float32))).numpy()
    assert ours.shape == (6, 7) and np.array_equal(ours, theirs)
    back = unpack_weights(torch.from_numpy(ours), torch.float32).numpy()
    assert np.array_equal(back, codes)
    # the block order, spelled out: byte [r, c] bits 2i.. hold row i*R + r
    assert ((ours[2, 5] >> 4) & 3) == codes[2 * 6 + 2, 5] + 1


def test_ternarize_is_absmean_half_to_even():
    w = torch.tensor([[0.5, -1.5, 2.5, 0.0]])  # absmean 1.125: products 0.444.., 1.333.., 2.2..
    codes, s = make_checkpoint.ternarize(w)
    assert float(s) == pytest.approx(1 / 1.125)
    assert codes.tolist() == [[0, -1, 1, 0]]
    w = torch.tensor([[0.5, -0.5, 1.0, 2.0]])  # absmean 1: 0.5 and -0.5 are ties -> 0
    codes, _ = make_checkpoint.ternarize(w)
    assert codes.tolist() == [[0, 0, 1, 1]]


# ---- the checkpoints are what they claim ----

def test_checkpoint_files(checkpoints):
    for v, d in checkpoints.items():
        cfg = json.load(open(os.path.join(d, "config.json")))
        assert cfg["model_type"] == "bitnet" and cfg["tie_word_embeddings"] is True
        q = cfg["quantization_config"]
        assert q["quant_method"] == "bitnet"
        if v in ("bf16-online", "sharded"):
            assert q["quantization_mode"] == "online" and q["linear_class"] == "autobitlinear"
        elif v == "packed-autobitlinear":
            assert (q["linear_class"], q["quantization_mode"]) == ("autobitlinear", "offline")
        elif v == "packed-bitlinear":
            assert "linear_class" not in q  # bitlinear by default
        for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
            assert os.path.isfile(os.path.join(d, f)), (v, f)
    idx = json.load(open(os.path.join(checkpoints["sharded-packed"], "model.safetensors.index.json")))
    files = set(idx["weight_map"].values())
    assert len(files) >= 2
    # in the transformers-made packed shards some weight and its scale live apart
    wm = idx["weight_map"]
    apart = [k for k in wm if k.endswith(".weight_scale") and wm[k] != wm[k[:-6]]]
    assert len(files) >= 2 and (apart or len(files) >= 3)


def test_packed_scales_are_opposite(checkpoints):
    from safetensors.torch import load_file

    a = load_file(os.path.join(checkpoints["packed-autobitlinear"], "model.safetensors"))
    b = load_file(os.path.join(checkpoints["packed-bitlinear"], "model.safetensors"))
    k = "model.layers.1.mlp.down_proj"
    assert torch.equal(a[k + ".weight"], b[k + ".weight"])
    assert float(a[k + ".weight_scale"][0]) * float(b[k + ".weight_scale"][0]) == pytest.approx(1, rel=1e-6)


# ---- the runner ----

def test_hello_and_errors(runner, checkpoints, tmp_path):
    h = runner(op="hello")
    assert h["ok"] and h["protocol"] == 1 and "generate" in h["ops"]
    assert h["transformers"] and h["torch"]
    assert not runner(op="logits", tokens=[1])["ok"]  # nothing loaded yet
    r = runner(op="load", model=str(tmp_path / "absent"))
    assert not r["ok"] and "config.json" in r["error"]
    bad = runner.raw("not json")
    assert bad["ok"] is False and bad["id"] is None
    assert "unknown op" in runner(op="nope")["error"]
    assert runner(op="load", model=checkpoints["bf16-online"])["ok"]
    r = runner(op="logits", tokens=[0, 100000])
    assert not r["ok"] and "outside the vocabulary" in r["error"]
    assert not runner(op="generate", tokens=[1], n_predict=-1)["ok"]
    assert runner(op="hello")["ok"]  # still serving


def test_load_reports_the_model(runner, checkpoints):
    for v in ("packed-autobitlinear", "packed-bitlinear", "bf16-online"):
        r = runner(op="load", model=checkpoints[v])
        assert r["ok"], r
        assert (r["arch"], r["n_layer"], r["n_embd"], r["dtype"]) == ("bitnet", 2, 128, "float32")
        assert r["n_vocab"] == 459 and r["add_bos"] is True and r["bos"] == 456
        want = {"packed-autobitlinear": ("autobitlinear", "offline"),
                "packed-bitlinear": ("bitlinear", "offline"),
                "bf16-online": ("autobitlinear", "online")}[v]
        assert (r["linear_class"], r["quantization_mode"]) == want


def test_tokenize_matches_the_tokenizers_library(runner, checkpoints):
    from tokenizers import Tokenizer

    d = checkpoints["packed-autobitlinear"]
    tk = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    assert runner(op="load", model=d)["ok"]
    for p in PROMPTS:
        ids = runner(op="tokenize", text=p)["tokens"]
        assert ids == tk.encode(p).ids and ids[0] == 456
        assert runner(op="tokenize", text=p, add_special=False)["tokens"] == ids[1:]
        assert runner(op="detokenize", tokens=ids[1:])["text"] == p


def test_logits_full_file_and_top_k_agree(runner, checkpoints, tmp_path):
    assert runner(op="load", model=checkpoints["packed-bitlinear"])["ok"]
    a, r = full_logits(runner, None, SEQ, tmp_path)
    assert np.isfinite(a).all() and a.std() > 0.1
    for p in (0, 50, 127):
        lp = a[p].astype(np.float64) - np.log(np.exp(a[p] - a[p].max()).sum()) - a[p].max()
        best = int(np.argmax(a[p]))
        assert r["top"][p][0][0] == best
        assert r["top"][p][0][1] == pytest.approx(lp[best], abs=1e-5)
    # teacher forcing is causal: a prefix gives the same rows
    b, _ = full_logits(runner, None, SEQ[:40], tmp_path)
    assert np.abs(a[:40] - b).max() < 1e-4


def test_generate_is_greedy_over_the_kv_cache(runner, checkpoints, tmp_path):
    assert runner(op="load", model=checkpoints["packed-autobitlinear"])["ok"]
    prompt = runner(op="tokenize", text=PROMPTS[1])["tokens"]
    g = runner(op="generate", tokens=prompt, n_predict=12)
    assert g["ok"] and len(g["tokens"]) == 12 and all(m >= 0 for m in g["margins"])
    # each greedy token is the argmax of the no-cache teacher-forced logits
    # there, unless that step was a near-tie (the two paths sum differently)
    a, _ = full_logits(runner, None, prompt + g["tokens"], tmp_path)
    for k, t in enumerate(g["tokens"]):
        row = a[len(prompt) - 1 + k]
        assert int(np.argmax(row)) == t or g["margins"][k] < 1e-3
    again = runner(op="generate", tokens=prompt, n_predict=12)
    assert again["tokens"] == g["tokens"] and again["margins"] == g["margins"]  # deterministic
    stop = runner(op="generate", tokens=prompt, n_predict=12, stop=[g["tokens"][2]])
    assert stop["tokens"] == g["tokens"][: g["tokens"].index(g["tokens"][2]) + 1]


def test_variants_are_one_model(runner, checkpoints, tmp_path):
    """packed (both scale conventions), bf16-online and sharded hold the same codes:
    transformers must give (nearly) the same logits for all of them."""
    assert runner(op="load", model=checkpoints["bf16-online"])["ok"]
    ref, _ = full_logits(runner, None, SEQ, tmp_path)
    for v in ("packed-autobitlinear", "packed-bitlinear", "sharded", "sharded-packed"):
        assert runner(op="load", model=checkpoints[v])["ok"]
        got, _ = full_logits(runner, None, SEQ, tmp_path)
        kld, top1 = kld_top1(ref, got)
        # sharded-packed went through save_pretrained in bf16: its scales are bf16
        assert kld <= 5e-3 and top1 >= 0.9, (v, kld, top1)


def test_wrong_variants_are_caught(runner, checkpoints, wrong_checkpoints, tmp_path):
    """The comparison above can fail: a swapped scale convention and interleaved
    unpacking give logits far outside its bounds."""
    assert runner(op="load", model=checkpoints["bf16-online"])["ok"]
    ref, _ = full_logits(runner, None, SEQ, tmp_path)
    for v, d in wrong_checkpoints.items():
        assert runner(op="load", model=d)["ok"]
        got, _ = full_logits(runner, None, SEQ, tmp_path)
        kld, top1 = kld_top1(ref, got)
        assert kld > 0.1 and top1 < 0.8, (v, kld, top1)


def test_runner_survives_eof():
    r = RunnerProc()
    assert r(op="hello")["ok"]
    r.p.stdin.close()
    assert r.p.wait(timeout=60) == 0
