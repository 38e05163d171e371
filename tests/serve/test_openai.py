"""The real `openai` client against bitnet serve; outputs against `bitnet run`."""
import json
import subprocess
import threading

import pytest

from serve_util import bitnet_bin, post_json, request, sse_events

openai = pytest.importorskip("openai")

PROMPT = "The quick brown fox jumps over the lazy dog and then"


def bitnet_run(model, prompt, n, chat=False):
    cmd = [bitnet_bin(), "run", "-m", model, "-p", prompt, "-n", str(n), "--temp", "0",
           "--ignore-eos", "-t", "1", "-c", "1024"]
    if chat:
        cmd.append("--chat")
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=True)
    return r.stdout.decode("utf-8")


@pytest.fixture
def server(start_server, tiny_model):
    # a small prefill chunk: the prompt is evaluated over several steps
    return start_server(tiny_model, "-np", "4", "-c", "4096", "-b", "3")


def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def test_completions_greedy_equals_bitnet_run(server, tiny_model):
    want = bitnet_run(tiny_model, PROMPT, 24)
    c = client(server)
    r = c.completions.create(model="tiny", prompt=PROMPT, max_tokens=24, temperature=0,
                             extra_body={"ignore_eos": True})
    assert r.choices[0].text == want
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 24
    assert r.usage.prompt_tokens > 3
    assert r.usage.total_tokens == r.usage.prompt_tokens + 24
    # streamed: the same text, piece by piece, ending in [DONE]
    pieces = []
    finish = None
    for chunk in c.completions.create(model="tiny", prompt=PROMPT, max_tokens=24, temperature=0,
                                      stream=True, extra_body={"ignore_eos": True}):
        pieces.append(chunk.choices[0].text)
        finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces) == want
    assert finish == "length"


def test_chat_greedy_equals_bitnet_run_chat(server, tiny_model):
    want = bitnet_run(tiny_model, "hi there", 16, chat=True)
    c = client(server)
    r = c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi there"}],
                                  max_tokens=16, temperature=0, extra_body={"ignore_eos": True})
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == want
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 16
    text, roles, usage = "", [], None
    stream = c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi there"}],
                                       max_tokens=16, temperature=0, stream=True,
                                       stream_options={"include_usage": True},
                                       extra_body={"ignore_eos": True})
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            if ch.delta.role:
                roles.append(ch.delta.role)
            text += ch.delta.content or ""
    assert roles == ["assistant"]
    assert text == want
    assert usage is not None and usage.completion_tokens == 16


def test_stream_ends_with_done(server):
    events = sse_events(server.port, "/v1/chat/completions",
                        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 3,
                         "stream": True})
    assert events[-1] == "[DONE]"
    assert events[-2]["choices"][0]["finish_reason"] in ("stop", "length")
    assert all(e["object"] == "chat.completion.chunk" for e in events[:-1])


def test_stop_strings_across_tokens(server, tiny_model):
    full = bitnet_run(tiny_model, PROMPT, 24)
    # a stop string that starts inside one token and ends inside a later one
    tok = json.loads(post_json(server.port, "/tokenize", {"content": full, "with_pieces": True})[2])
    pieces = [t["piece"] for t in tok["tokens"]]
    assert len(pieces) >= 6
    start = len(pieces[0]) + len(pieces[1]) + len(pieces[2]) - 1
    stop = full[start:start + len(pieces[3]) + 2]
    assert len(stop) >= 3
    want = full[:full.index(stop)]
    c = client(server)
    r = c.completions.create(model="tiny", prompt=PROMPT, max_tokens=24, temperature=0,
                             stop=[stop, "never-there"], extra_body={"ignore_eos": True})
    assert r.choices[0].text == want
    assert r.choices[0].finish_reason == "stop"
    # streamed: no part of the stop string is ever sent
    streamed = "".join(ch.choices[0].text for ch in c.completions.create(
        model="tiny", prompt=PROMPT, max_tokens=24, temperature=0, stop=stop, stream=True,
        extra_body={"ignore_eos": True}))
    assert streamed == want


def test_logprobs(server):
    c = client(server)
    r = c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}],
                                  max_tokens=4, temperature=0, logprobs=True, top_logprobs=3,
                                  extra_body={"ignore_eos": True})
    content = r.choices[0].logprobs.content
    assert len(content) == 4
    assert "".join(e.token for e in content) == r.choices[0].message.content
    for e in content:
        assert e.logprob <= 0
        assert len(e.top_logprobs) == 3
        # greedy: the chosen token is the most likely one
        assert e.top_logprobs[0].token == e.token
        assert e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob >= e.top_logprobs[2].logprob
    r = c.completions.create(model="tiny", prompt="hi", max_tokens=3, temperature=0, logprobs=2,
                             extra_body={"ignore_eos": True})
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == 3 and len(lp.token_logprobs) == 3 and len(lp.top_logprobs) == 3
    assert lp.text_offset[0] == 0


def test_sampling_is_seeded(server):
    c = client(server)
    args = dict(model="tiny", prompt="a b c", max_tokens=12, temperature=1.5, top_k=0,
                top_p=1.0, min_p=0.0)
    a = c.completions.create(seed=7, **{k: v for k, v in args.items() if k not in ("top_k", "min_p")},
                             extra_body={"top_k": 0, "min_p": 0.0, "ignore_eos": True})
    b = c.completions.create(seed=7, **{k: v for k, v in args.items() if k not in ("top_k", "min_p")},
                             extra_body={"top_k": 0, "min_p": 0.0, "ignore_eos": True})
    assert a.choices[0].text == b.choices[0].text
    # penalties are accepted and change nothing about the protocol
    r = c.completions.create(model="tiny", prompt="a b c", max_tokens=8, temperature=0,
                             presence_penalty=1.5, frequency_penalty=1.0,
                             extra_body={"repeat_penalty": 1.3, "ignore_eos": True})
    assert r.usage.completion_tokens == 8


def test_frequency_penalty_changes_greedy_output(start_server, small_model):
    # the random fixture's logits are close together (spread ~3) and greedy
    # decoding repeats tokens: penalties of 2 + 2 logits must change the text
    server = start_server(small_model)
    c = client(server)
    plain = c.completions.create(model="tiny", prompt="x", max_tokens=60, temperature=0,
                                 extra_body={"ignore_eos": True}).choices[0].text
    pen = c.completions.create(model="tiny", prompt="x", max_tokens=60, temperature=0,
                               frequency_penalty=2.0, presence_penalty=2.0,
                               extra_body={"ignore_eos": True}).choices[0].text
    assert plain != pen


def test_models_tokenize_detokenize(server):
    c = client(server)
    models = c.models.list()
    assert [m.id for m in models.data] == ["tiny-peaked"]
    st, _, body = post_json(server.port, "/tokenize", {"content": "hello world", "add_special": False})
    assert st == 200
    toks = json.loads(body)["tokens"]
    assert toks and all(isinstance(t, int) for t in toks)
    st, _, body = post_json(server.port, "/detokenize", {"tokens": toks})
    assert st == 200 and json.loads(body)["content"] == "hello world"


def test_prompt_cache_reuse(server):
    body = {"prompt": PROMPT, "max_tokens": 8, "temperature": 0, "ignore_eos": True}
    first = json.loads(post_json(server.port, "/v1/completions", body)[2])
    again = json.loads(post_json(server.port, "/v1/completions", body)[2])
    assert again["choices"][0]["text"] == first["choices"][0]["text"]
    assert again["usage"]["prompt_tokens_details"]["cached_tokens"] > 0


def test_concurrent_streams_equal_sequential(server):
    """Continuous batching: requests that overlap give what each gives alone."""
    prompts = ["one two three", "alpha beta", "the cat sat on the mat", "1 2 3 4 5 6 7", "zz"]
    alone = {}
    for p in prompts:
        alone[p] = json.loads(post_json(server.port, "/v1/completions",
                                        {"prompt": p, "max_tokens": 20, "temperature": 0,
                                         "ignore_eos": True})[2])["choices"][0]["text"]
    got, errors = {}, []

    def go(p):
        try:
            ev = sse_events(server.port, "/v1/completions",
                            {"prompt": p, "max_tokens": 20, "temperature": 0, "ignore_eos": True,
                             "stream": True})
            got[p] = "".join(e["choices"][0]["text"] for e in ev if e != "[DONE]")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=go, args=(p,)) for p in prompts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert got == alone
