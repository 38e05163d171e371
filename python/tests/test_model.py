"""Model: loading, metadata, special tokens, the tokenizer, errors on bad files."""

import os

import pytest

import bitnet


def test_load_and_hyperparameters(model, tiny):
    assert model.path == tiny
    assert model.arch == "bitnet"
    assert (model.n_vocab, model.n_embd, model.n_layer) == (512, 128, 2)
    assert (model.n_head, model.n_head_kv, model.n_ctx_train) == (4, 2, 256)
    assert model.size > 0 and model.n_params > 0
    assert "tiny.gguf" in repr(model)


def test_metadata(model):
    md = model.metadata
    assert md["general.architecture"] == "bitnet"
    assert md.get("general.name") == "fixture-bitnet-random"
    assert md["bitnet.context_length"] == "256"
    assert "general.architecture" in md and "no.such.key" not in md
    assert md.get("no.such.key") is None
    with pytest.raises(KeyError):
        md["no.such.key"]


def test_special_tokens(model):
    assert model.bos == 1 and model.eos == 2
    assert model.add_bos
    assert model.is_eog(model.eos) and not model.is_eog(model.bos)
    assert model.tokenize("hi")[0] == model.bos
    assert model.tokenize("hi", add_special=False)[0] != model.bos


@pytest.mark.parametrize("text", ["Hello world", "héllo wörld ✓ 日本語", "  two  spaces\nand a line", ""])
def test_tokenize_round_trip(model, text):
    toks = model.tokenize(text, add_special=False)
    assert all(isinstance(t, int) and 0 <= t < model.n_vocab for t in toks)
    assert model.detokenize(toks) == text
    assert model.detokenize_bytes(toks) == text.encode()
    # SPM pieces carry the word-initial space that detokenize drops at the start
    assert b"".join(model.token_to_piece(t) for t in toks).lstrip(b" ") == text.encode().lstrip(b" ")
    with_bos = model.tokenize(text)
    assert with_bos[0] == model.bos


def test_tokenize_long_text(model):
    text = "日本語 ✓" * 500  # a long text with byte-fallback pieces
    toks = model.tokenize(text, add_special=False)
    assert model.detokenize(toks) == text


def test_tokenize_bytes_and_special(tiny_bpe):
    with bitnet.Model(tiny_bpe) as m:
        plain = m.tokenize("<|eot_id|>", add_special=False)
        special = m.tokenize(b"<|eot_id|>", add_special=False, parse_special=True)
        assert len(special) == 1 and m.is_eog(special[0]) and len(plain) > 1
        assert m.detokenize(special) == ""
        assert m.detokenize(special, unparse_special=True) == "<|eot_id|>"


def test_bad_token_id_raises(model):
    with pytest.raises(bitnet.BitnetError):
        model.token_to_piece(model.n_vocab + 5)
    with pytest.raises(bitnet.BitnetError):
        model.detokenize([1, 99999])


def test_missing_file_names_it(tmp_path):
    path = str(tmp_path / "no-such-model.gguf")
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Model(path)
    assert path in str(e.value)
    assert e.value.status < 0 and e.value.status_name


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "directory"])
def test_bad_file_names_it(tmp_path, tiny, damage):
    path = tmp_path / f"bad-{damage}.gguf"
    data = open(tiny, "rb").read()
    if damage == "garbage":
        path.write_bytes(b"NOT A GGUF FILE" * 10)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.mkdir()
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Model(path)
    assert str(path) in str(e.value), str(e.value)


def test_closed_model_raises(tiny):
    m = bitnet.Model(tiny)
    m.close()
    m.close()  # twice is harmless
    with pytest.raises(bitnet.BitnetError, match="closed"):
        m.tokenize("x")


def test_log_callback_receives_messages(tiny):
    seen = []
    m = bitnet.Model(tiny, log_callback=lambda level, msg: seen.append((level, msg)))
    m.close()
    assert seen and all(isinstance(msg, str) and msg for _, msg in seen)


def test_vocab_only(tiny):
    with bitnet.Model(tiny, vocab_only=True) as m:
        assert m.detokenize(m.tokenize("abc", add_special=False)) == "abc"


def test_pathlike(tiny):
    import pathlib

    with bitnet.Model(pathlib.Path(tiny)) as m:
        assert m.path == os.fspath(tiny)
