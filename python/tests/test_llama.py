"""Llama: llama-cpp-python's call shapes (plain and streaming, OpenAI-shaped dicts)."""

import pytest

import bitnet
from bitnet import Llama
from conftest import bitnet_run


@pytest.fixture
def llm(tiny_bpe):
    llm = Llama(model_path=tiny_bpe, n_ctx=256, n_threads=1, seed=7, verbose=False)
    yield llm
    llm.close()


def test_create_completion_shape_and_text(llm, tiny_bpe, bitnet_bin):
    out = llm.create_completion("Hello world", max_tokens=12, temperature=0)
    assert out["object"] == "text_completion" and out["id"].startswith("cmpl-")
    assert isinstance(out["created"], int) and out["model"] == tiny_bpe
    (choice,) = out["choices"]
    assert choice["index"] == 0 and choice["logprobs"] is None
    assert choice["finish_reason"] == "length"
    want = bitnet_run(bitnet_bin, tiny_bpe, "Hello world", "-n", "12", "--temp", "0")
    assert choice["text"] == want.decode("utf-8", "replace")
    u = out["usage"]
    assert u["completion_tokens"] == 12 and u["prompt_tokens"] == len(llm.tokenize(b"Hello world"))
    assert u["total_tokens"] == u["prompt_tokens"] + 12
    # __call__ is create_completion; each call starts from an empty cache
    again = llm("Hello world", max_tokens=12, temperature=0, echo=True)
    assert again["choices"][0]["text"] == "Hello world" + choice["text"]


def test_streaming_completion(llm):
    whole = llm.create_completion("Once upon", max_tokens=20, temperature=0)
    chunks = list(llm.create_completion("Once upon", max_tokens=20, temperature=0, stream=True))
    assert all(c["object"] == "text_completion" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "length"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole["choices"][0]["text"]


def test_stop_strings(llm):
    whole = llm("Once upon", max_tokens=20, temperature=0)["choices"][0]["text"]
    assert len(whole) > 6
    stop = whole[3:6]
    cut = llm("Once upon", max_tokens=20, temperature=0, stop=[stop])
    assert cut["choices"][0]["text"] == whole[: whole.index(stop)]
    assert cut["choices"][0]["finish_reason"] == "stop"
    streamed = list(llm("Once upon", max_tokens=20, temperature=0, stop=stop, stream=True))
    assert "".join(c["choices"][0]["text"] for c in streamed) == whole[: whole.index(stop)]
    assert streamed[-1]["choices"][0]["finish_reason"] == "stop"


def test_chat_completion(llm, tiny_bpe, bitnet_bin):
    msgs = [{"role": "user", "content": "What is 2+2?"}]
    out = llm.create_chat_completion(msgs, max_tokens=10, temperature=0)
    assert out["object"] == "chat.completion" and out["id"].startswith("chatcmpl-")
    (choice,) = out["choices"]
    assert choice["message"]["role"] == "assistant"
    want = bitnet_run(bitnet_bin, tiny_bpe, "What is 2+2?", "--chat", "-n", "10", "--temp", "0")
    assert choice["message"]["content"] == want.decode("utf-8", "replace")
    assert choice["finish_reason"] in ("stop", "length")
    chunks = list(llm.create_chat_completion(msgs, max_tokens=10, temperature=0, stream=True))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == choice["finish_reason"]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == choice["message"]["content"]


def test_stream_can_be_abandoned(llm):
    it = llm.create_completion("Hello", max_tokens=50, temperature=0, stream=True)
    first = next(it)
    assert first["choices"][0]["finish_reason"] is None
    it.close()
    # the Llama is usable again at once
    assert llm("Hello", max_tokens=3, temperature=0)["usage"]["completion_tokens"] == 3


def test_sampling_with_seed_is_repeatable(llm):
    a = llm("Hello", max_tokens=16, temperature=1.0, seed=42)["choices"][0]["text"]
    b = llm("Hello", max_tokens=16, temperature=1.0, seed=42)["choices"][0]["text"]
    assert a == b


def test_tokenize_detokenize(llm):
    toks = llm.tokenize(b"Hello world")
    assert toks[0] == llm.token_bos()
    assert llm.detokenize(toks[1:]) == llm.model.detokenize_bytes(toks[1:])
    assert llm.tokenize(b"<|eot_id|>", add_bos=False, special=True) == [llm.token_eos()] or \
        llm.model.is_eog(llm.tokenize(b"<|eot_id|>", add_bos=False, special=True)[0])
    t = llm.tokenize(b"one two", add_bos=False)
    assert llm.detokenize(t[1:], prev_tokens=t[:1]) == llm.detokenize(t)[len(llm.detokenize(t[:1])):]
    assert llm.n_vocab() == 512 and llm.n_ctx() == 256


def test_unsupported_parameters_are_refused(llm):
    llm("Hi", max_tokens=1, temperature=0, frequency_penalty=0.0, grammar=None, model="x")
    with pytest.raises(NotImplementedError, match="frequency_penalty"):
        llm("Hi", max_tokens=1, frequency_penalty=0.5)
    with pytest.raises(NotImplementedError, match="grammar"):
        llm.create_chat_completion([{"role": "user", "content": "x"}], grammar="root ::= x")
    with pytest.raises(TypeError, match="no_such"):
        llm("Hi", no_such=1)


def test_bad_model_path_raises(tmp_path):
    with pytest.raises(bitnet.BitnetError) as e:
        Llama(model_path=str(tmp_path / "missing.gguf"), verbose=False)
    assert "missing.gguf" in str(e.value)
