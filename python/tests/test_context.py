"""Context: decode, zero-copy logits equal to the C API's, the view guard, KV truncation."""

import ctypes
import gc
import subprocess

import numpy as np
import pytest

import bitnet
from bitnet import _capi


def c_api_logits(capi_dump, model_path, tokens, n_vocab, mode):
    """Logits computed by a C program over the C API (capi_dump.c): mode "all" one
    decode with all_logits, "last" one decode, "steps" one decode per token."""
    out = subprocess.run([capi_dump, "logits", model_path, ",".join(map(str, tokens)), "1", mode],
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32).reshape(-1, n_vocab)


@pytest.mark.parametrize("which", ["tiny", "small"])
def test_logits_equal_the_c_api(request, capi_dump, which):
    path = request.getfixturevalue(which)
    with bitnet.Model(path) as m:
        toks = m.tokenize("The quick brown fox jumps over the lazy dog")
        with bitnet.Context(m, n_threads=1) as ctx:
            # bit for bit: the same library and inputs, read through the view
            ctx.decode(toks, all_logits=True)
            got = ctx.logits
            assert got.shape == (len(toks), m.n_vocab) and got.dtype == np.float32
            assert np.array_equal(got, c_api_logits(capi_dump, path, toks, m.n_vocab, "all"))
            del got
            ctx.reset()
            ctx.decode(toks)
            assert ctx.logits.shape == (1, m.n_vocab)
            assert np.array_equal(ctx.logits, c_api_logits(capi_dump, path, toks, m.n_vocab, "last"))
            ctx.reset()
            steps = c_api_logits(capi_dump, path, toks, m.n_vocab, "steps")
            for i, t in enumerate(toks):
                ctx.decode([t])
                assert np.array_equal(ctx.logits_ith(-1), steps[i])


def test_logits_are_a_view_of_the_c_buffer(model):
    with bitnet.Context(model, n_threads=1) as ctx:
        ctx.decode(model.tokenize("Hello"))
        view = ctx.logits
        ptr = ctypes.cast(_capi.lib.bitnet_get_logits(ctx._handle), ctypes.c_void_p).value
        assert view.__array_interface__["data"][0] == ptr  # no copy
        assert not view.flags.writeable and not view.flags.owndata
        with pytest.raises(ValueError):
            view[0, 0] = 1.0
        before = view.copy()
        ctx.decode(model.tokenize(" world", add_special=False))
        # the same memory now holds the new logits: valid until the next decode
        assert not np.array_equal(view, before)
        assert np.array_equal(view, ctx.logits)


def test_view_blocks_a_decode_that_would_move_the_buffer(model):
    toks = model.tokenize("one two three four")
    with bitnet.Context(model, n_threads=1) as ctx:
        ctx.decode(toks[:1])
        row = ctx.logits_ith(-1)
        with pytest.raises(bitnet.BitnetError, match="view"):
            ctx.decode(toks[1:], all_logits=True)
        assert ctx.n_past == 1  # nothing was evaluated
        del row
        gc.collect()
        ctx.decode(toks[1:], all_logits=True)  # no view left: the buffer may move
        assert ctx.logits.shape[0] == len(toks) - 1
        # a view now may stay across decodes that fit the larger buffer
        v = ctx.logits
        ctx.decode(toks[:2], all_logits=True)
        assert np.array_equal(v[:2], ctx.logits)


def test_view_outlives_close_and_the_context(model):
    ctx = bitnet.Context(model, n_threads=1)
    ctx.decode(model.tokenize("Hello"))
    view = ctx.logits
    want = view.copy()
    ctx.close()
    with pytest.raises(bitnet.BitnetError, match="closed"):
        ctx.decode([1])
    del ctx
    gc.collect()
    # the buffer is freed only with the last view: reading it is still safe
    assert np.array_equal(view, want)
    del view
    gc.collect()


def test_kv_truncate(model):
    toks = model.tokenize("a b c d e f g")
    with bitnet.Context(model, n_threads=1) as ctx:
        ctx.decode(toks)
        full = ctx.logits_ith(-1).copy()
        assert ctx.n_past == len(toks)
        ctx.kv_truncate(3)
        assert ctx.n_past == 3
        ctx.decode(toks[3:])
        assert np.array_equal(ctx.logits_ith(-1), full)
        ctx.reset()
        assert ctx.n_past == 0
        with pytest.raises(bitnet.BitnetError):
            ctx.kv_truncate(-1)


def test_decode_errors(model):
    with bitnet.Context(model, n_ctx=16, n_threads=1) as ctx:
        assert ctx.n_ctx == 16
        with pytest.raises(bitnet.BitnetError) as e:
            ctx.decode([1, model.n_vocab])
        assert e.value.status == -9  # BITNET_ERR_INPUT
        with pytest.raises(bitnet.BitnetError) as e:
            ctx.decode([5] * 17)
        assert e.value.status == -8  # BITNET_ERR_CONTEXT_FULL
        assert ctx.n_past == 0
        with pytest.raises(bitnet.BitnetError, match="decode"):
            ctx.logits  # nothing decoded yet


def test_context_parameters(model):
    with bitnet.Context(model, n_ctx=64, n_threads=1, numerics="exact", isa="ref") as ctx:
        assert (ctx.n_ctx, ctx.n_threads, ctx.isa) == (64, 1, "ref")
        assert ctx.memory > 0
    with pytest.raises(ValueError):
        bitnet.Context(model, numerics="fast")
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Context(model, isa="no-such-isa")
    assert "no-such-isa" in str(e.value)
    with bitnet.Context(model, n_threads=1, device="cpu") as ctx:
        assert ctx.n_threads == 1
    # contexts do not run on the device yet: refused with the reason, never a CPU run
    with pytest.raises(bitnet.BitnetError, match="device cuda: "):
        bitnet.Context(model, device="cuda")


def test_model_outlives_its_contexts(tiny):
    m = bitnet.Model(tiny)
    ctx = m.context(n_threads=1)
    m.close()  # deferred: the context still uses the weights
    ctx.decode(m.tokenize("Hello"))
    assert ctx.logits.shape == (1, 512)
    ctx.close()
    assert m._handle is None  # freed with the last context
