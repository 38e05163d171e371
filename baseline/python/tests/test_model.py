"""The model graphs on small synthetic GGUF files."""
import math

import numpy as np
import pytest

from bitnet_ref import gguf as G
from bitnet_ref import numerics as nm
from bitnet_ref.gguf_write import synthetic_model, write_model
from bitnet_ref.model import Model, ModelError, generate, perplexity

TOKENS = [1, 5, 9, 33, 2, 17, 60, 3, 41, 8, 8, 12]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    paths = {}
    for arch in ("bitnet", "bitnet-b1.58", "bitnet-25", "llama"):
        p = d / f"{arch}.gguf"
        synthetic_model(p, arch=arch, seed=7, output=(arch == "llama"))
        paths[arch] = str(p)
    return paths


@pytest.mark.parametrize("mode", nm.MODES)
@pytest.mark.parametrize("arch", ["bitnet", "bitnet-b1.58", "llama"])
def test_causal_prefix(models, arch, mode):
    """Logits at a position do not depend on later tokens."""
    m = Model(models[arch], mode)
    full = m.logits(TOKENS)
    assert full.shape == (len(TOKENS), 64)
    assert full.dtype == nm.float_type(mode)
    assert np.all(np.isfinite(full))
    for n in (2, 5, 9):
        part = m.logits(TOKENS[:n])
        np.testing.assert_allclose(part, full[:n], rtol=1e-5, atol=1e-5)
    changed = m.logits(TOKENS[:6] + [50, 51, 52])
    np.testing.assert_allclose(changed[:6], full[:6], rtol=1e-5, atol=1e-5)
    assert not np.allclose(changed[6:], full[6:9])


@pytest.mark.parametrize("arch", ["bitnet", "bitnet-b1.58", "llama"])
def test_prefill_equals_incremental(models, arch):
    """Prefilling N tokens equals N one-token calls through the KV cache (exact mode; and
    compat mode when every F16 operand is rounded the same way for 1 and N tokens)."""
    for mode, opts in (("exact", {}), ("compat", {"llamafile_sgemm": False})):
        m = Model(models[arch], mode, opts)
        batch = m.logits(TOKENS)
        s = m.session()
        steps = np.concatenate([s.forward([t]) for t in TOKENS])
        tol = 1e-9 if mode == "exact" else 1e-4
        np.testing.assert_allclose(steps, batch, rtol=tol, atol=tol)
        s2 = m.session()
        split = np.concatenate([s2.forward(TOKENS[:5]), s2.forward(TOKENS[5:])])
        np.testing.assert_allclose(split, batch, rtol=tol, atol=tol)


def test_compat_close_to_exact(models):
    lc = Model(models["bitnet"], "compat").logits(TOKENS)
    le = Model(models["bitnet"], "exact").logits(TOKENS)
    # same model, different float roundings: close but not identical
    assert np.max(np.abs(lc - le)) < 0.05 * np.max(np.abs(le))
    assert not np.array_equal(lc.astype(np.float64), le)


def test_arch_alias_and_ffn(models):
    a = Model(models["bitnet-b1.58"], "exact").logits(TOKENS)
    b = Model(models["bitnet-25"], "exact").logits(TOKENS)
    c = Model(models["bitnet"], "exact").logits(TOKENS)
    np.testing.assert_array_equal(a, b)      # same weights (same seed), same graph
    assert not np.allclose(a, c)             # ReLU^2 vs SiLU


def test_llama_uses_output_weight_bitnet158_ignores_it(tmp_path):
    md, w = synthetic_model(tmp_path / "a.gguf", arch="llama", seed=3, output=True)
    la = Model(str(tmp_path / "a.gguf"), "exact").logits(TOKENS)
    del w["output.weight"]
    write_model(tmp_path / "b.gguf", md, w)
    lb = Model(str(tmp_path / "b.gguf"), "exact").logits(TOKENS)
    assert not np.allclose(la, lb)
    md, w = synthetic_model(tmp_path / "c.gguf", arch="bitnet-b1.58", seed=3, output=True)
    lc = Model(str(tmp_path / "c.gguf"), "exact").logits(TOKENS)
    del w["output.weight"]
    write_model(tmp_path / "d.gguf", md, w)
    ld = Model(str(tmp_path / "d.gguf"), "exact").logits(TOKENS)
    np.testing.assert_array_equal(lc, ld)


@pytest.mark.parametrize("arch", ["bitnet", "llama"])
def test_gqa_equals_duplicated_kv_heads(tmp_path, arch):
    """n_head 4 / n_head_kv 2 == n_head_kv 4 with K/V heads duplicated (h -> h // 2)."""
    md, w = synthetic_model(tmp_path / "gqa.gguf", arch=arch, n_head_kv=2, seed=11)
    hd = 32 // 4
    for i in range(2):
        for proj in ("attn_k", "attn_v"):
            name = f"blk.{i}.{proj}.weight"
            t, (codes, scale) = w[name]
            heads = codes.reshape(2, hd, 32)
            w[name] = (t, (np.repeat(heads, 2, axis=0).reshape(4 * hd, 32), scale))
    md["llama.attention.head_count_kv" if arch == "llama" else "bitnet.attention.head_count_kv"] = 4
    write_model(tmp_path / "mha.gguf", md, w)
    for mode in nm.MODES:
        a = Model(str(tmp_path / "gqa.gguf"), mode).logits(TOKENS)
        b = Model(str(tmp_path / "mha.gguf"), mode).logits(TOKENS)
        np.testing.assert_array_equal(a, b)


def test_float_weights_no_activation_quantization(tmp_path):
    """F32 ternary-valued weights: plain matmul.  The I2_S copy of the same weights differs
    only through activation quantization."""
    synthetic_model(tmp_path / "f.gguf", weight_type=G.GGML_F32, seed=5)
    synthetic_model(tmp_path / "q.gguf", weight_type=G.GGML_I2_S, seed=5)
    mf = Model(str(tmp_path / "f.gguf"), "exact")
    mq = Model(str(tmp_path / "q.gguf"), "exact")
    lin_f, lin_q = mf.layers[0].attn_q, mq.layers[0].attn_q
    assert not lin_f.ternary and lin_q.ternary
    x = np.random.default_rng(0).normal(size=(3, 32))
    np.testing.assert_allclose(lin_f(x, "exact"), x @ lin_f.weight.astype(np.float64).T)
    np.testing.assert_array_equal(lin_q.codes.astype(np.float64) * np.float64(lin_q.w_scale),
                                  lin_f.weight)
    lf, lq = mf.logits(TOKENS), mq.logits(TOKENS)
    assert not np.array_equal(lf, lq)
    assert np.corrcoef(lf.ravel(), lq.ravel())[0, 1] > 0.9


def test_scale_tensors_multiply(tmp_path):
    extra = [("blk.0.ffn_down.scale", (G.GGML_F32, np.array([0.0], np.float32)))]
    md, w = synthetic_model(tmp_path / "s.gguf", seed=2, extra_tensors=extra)
    m = Model(str(tmp_path / "s.gguf"), "exact")
    assert m.layers[0].ffn_down.scale_mult == 0.0
    f = np.random.default_rng(0).normal(size=(2, 64))
    assert np.all(m.layers[0].ffn_down(f, "exact") == 0)


def test_hparam_errors(tmp_path):
    synthetic_model(tmp_path / "r.gguf", arch="bitnet-b1.58", n_rot=4, seed=1)
    with pytest.raises(ModelError, match="must equal head dim"):
        Model(str(tmp_path / "r.gguf"))
    md, w = synthetic_model(tmp_path / "m.gguf", seed=1)
    del w["blk.1.ffn_up.weight"]
    write_model(tmp_path / "m.gguf", md, w)
    with pytest.raises(ModelError, match="blk.1.ffn_up.weight"):
        Model(str(tmp_path / "m.gguf"))
    md, w = synthetic_model(tmp_path / "a.gguf", seed=1)
    md["general.architecture"] = "gpt2"
    write_model(tmp_path / "a.gguf", md, w)
    with pytest.raises(ModelError, match="gpt2"):
        Model(str(tmp_path / "a.gguf"))
    synthetic_model(tmp_path / "ok.gguf", seed=1)
    with pytest.raises(ValueError, match="numerics"):
        Model(str(tmp_path / "ok.gguf"), "fast")
    with pytest.raises(ModelError, match="unknown option"):
        Model(str(tmp_path / "ok.gguf"), "compat", {"bogus": True})
    m = Model(str(tmp_path / "ok.gguf"))
    with pytest.raises(ModelError, match="out of range"):
        m.logits([1, 64])
    with pytest.raises(ModelError):
        m.logits([])


@pytest.mark.parametrize("mode", nm.MODES)
def test_generate_is_argmax_of_teacher_forced(models, mode):
    m = Model(models["bitnet"], mode, {"llamafile_sgemm": False})
    prompt = TOKENS[:4]
    out, margins = generate(m, prompt, 8)
    assert len(out) == 8 and len(margins) == 8 and min(margins) >= 0
    lg = m.logits(prompt + out)
    for i, tok in enumerate(out):
        row = lg[len(prompt) - 1 + i]
        assert tok == int(np.argmax(row))
        s = np.sort(row)
        assert margins[i] == pytest.approx(float(s[-1] - s[-2]), abs=1e-4)
    assert generate(m, prompt, 0) == ([], [])
    stop = out[2]
    o2, _ = generate(m, prompt, 8, stop={stop})
    assert o2 == out[:out.index(stop) + 1]


def test_perplexity_matches_manual(models):
    m = Model(models["bitnet"], "exact")
    rng = np.random.default_rng(9)
    toks = rng.integers(0, 64, size=40).tolist()
    r = perplexity(m, toks, n_ctx=16)
    assert r["n_chunks"] == 2 and r["count"] == 2 * (16 - 1 - 8)
    nll = []
    for c in range(2):
        chunk = toks[c * 16:(c + 1) * 16]
        chunk[0] = 1                                     # BOS replaces the first token
        lp = nm.log_softmax(m.logits(chunk))
        nll += [-lp[j, chunk[j + 1]] for j in range(8, 15)]
    assert r["nll"] == pytest.approx(np.mean(nll), rel=1e-12)
    assert r["ppl"] == pytest.approx(math.exp(np.mean(nll)), rel=1e-12)
    assert perplexity(m, toks, 16, n_chunks=1)["count"] == 7
    nb = perplexity(m, toks, 16, add_bos=False)
    assert nb["ppl"] != r["ppl"]
    with pytest.raises(ModelError):
        perplexity(m, toks[:10], 16)
