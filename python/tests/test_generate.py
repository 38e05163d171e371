"""Generation: greedy and sampled output equal to `bitnet run`, streaming with early
stop, chat, sampler keywords, two threads at once, the GIL released during decode."""

import threading
import time

import pytest

import bitnet
from conftest import bitnet_run

PROMPTS = ["Hello world", "The capital of France is", "1, 2, 3, 4,"]


@pytest.mark.parametrize("which", ["tiny", "small", "tiny_bpe"])
def test_greedy_equals_bitnet_run(request, bitnet_bin, which):
    path = request.getfixturevalue(which)
    with bitnet.Model(path) as m, bitnet.Context(m, n_threads=1) as ctx:
        for prompt in PROMPTS:
            want = bitnet_run(bitnet_bin, path, prompt, "-n", "24", "--temp", "0")
            ctx.reset()
            gen = ctx.generate(prompt, max_tokens=24, temperature=0)
            pieces = list(gen)
            # the bytes the CLI printed; the text is them decoded (U+FFFD for invalid UTF-8)
            assert gen.bytes == want, prompt
            assert gen.text == "".join(pieces) == want.decode("utf-8", "replace")
            assert len(gen.tokens) == 24 and gen.stop_reason == "length"


def test_sampled_equals_bitnet_run(bitnet_bin, small):
    args = dict(temperature=0.9, top_k=20, top_p=0.9, min_p=0.02, repeat_penalty=1.1,
                repeat_last_n=16, seed=1234)
    want = bitnet_run(bitnet_bin, small, "Once upon a time", "-n", "32", "--temp", "0.9",
                      "--top-k", "20", "--top-p", "0.9", "--min-p", "0.02",
                      "--repeat-penalty", "1.1", "--repeat-last-n", "16", "-s", "1234")
    with bitnet.Model(small) as m, bitnet.Context(m, n_threads=1) as ctx:
        gen = ctx.generate("Once upon a time", max_tokens=32, **args)
        gen.run()
        assert gen.bytes == want
        ctx.reset()
        other = ctx.generate("Once upon a time", max_tokens=32, **{**args, "seed": 99}).run()
        assert other != want.decode("utf-8", "replace")  # the seed is passed through


def test_stream_stops_early(model):
    with bitnet.Context(model, n_threads=1) as ctx:
        full = ctx.generate("Hello", max_tokens=20, temperature=0)
        full_pieces = list(full)
        ctx.reset()
        gen = ctx.generate("Hello", max_tokens=20, temperature=0)
        got = []
        for piece in gen:
            got.append(piece)
            if len(got) == 3:
                break
        gen.close()
        assert gen.stop_reason == "cancelled"
        assert got == full_pieces[:3]
        assert len(gen.tokens) == 3
        # the cancelled token was emitted but not evaluated, as bitnet_inference does
        assert gen.last_token == gen.tokens[-1]
        assert ctx.n_past == gen.n_prompt + 2
        assert list(gen) == []  # stays stopped
        # continue the sequence from where it stopped: the rest of the text
        rest = ctx.generate([gen.last_token], max_tokens=17, temperature=0).run()
        assert "".join(got) + rest == full.text


def test_stops_at_end_of_generation(tiny, bitnet_bin):
    # "peaked" fixtures have clear argmaxes; with ignore_eos off, EOG ends the stream
    with bitnet.Model(tiny) as m, bitnet.Context(m, n_threads=1) as ctx:
        gen = ctx.generate("Hello", max_tokens=200, temperature=1.0, seed=3, ignore_eos=False)
        gen.run()
        assert gen.stop_reason in ("eog", "context_full", "length")
        if gen.stop_reason == "eog":
            assert m.is_eog(gen.tokens[-1]) and gen.last_token == gen.tokens[-1]
        want = bitnet_run(bitnet_bin, tiny, "Hello", "-n", "200", "--temp", "1.0", "-s", "3")
        assert gen.bytes == want


def test_context_full_stops(model):
    with bitnet.Context(model, n_ctx=12, n_threads=1) as ctx:
        gen = ctx.generate("Hello", max_tokens=-1, temperature=0, ignore_eos=True)
        gen.run()
        assert gen.stop_reason == "context_full"
        assert ctx.n_past == 12
        with pytest.raises(bitnet.BitnetError) as e:
            ctx.generate("more text than fits in what is left of the window")
        assert e.value.status == -8


def test_chat_equals_bitnet_run_chat(bitnet_bin, tiny_bpe):
    with bitnet.Model(tiny_bpe) as m, bitnet.Context(m, n_threads=1) as ctx:
        msgs = [{"role": "user", "content": "What is 2+2?"}]
        want = bitnet_run(bitnet_bin, tiny_bpe, "What is 2+2?", "--chat", "-n", "16", "--temp", "0")
        gen = ctx.chat(msgs, max_tokens=16, temperature=0)
        gen.run()
        assert gen.bytes == want
        sys_msgs = [{"role": "system", "content": "Be brief."}] + msgs
        want = bitnet_run(bitnet_bin, tiny_bpe, "What is 2+2?", "--chat", "--system", "Be brief.",
                          "--chat-template", "chatml", "-n", "16", "--temp", "0")
        gen = ctx.chat(sys_msgs, template="chatml", max_tokens=16, temperature=0)
        gen.run()
        assert gen.bytes == want
        text = m.apply_chat_template(sys_msgs, "chatml")
        assert "<|im_start|>system\nBe brief." in text and text.endswith("assistant\n")
        with pytest.raises(bitnet.BitnetError):
            m.apply_chat_template(msgs, "no-such-format")
        with pytest.raises(ValueError):
            m.apply_chat_template([{"role": "user"}])


def test_sampler_keywords_are_checked(model):
    with bitnet.Context(model, n_threads=1) as ctx:
        with pytest.raises(bitnet.BitnetError) as e:
            ctx.generate("Hi", top_p=1.5)
        assert "top_p" in str(e.value)
        with pytest.raises(TypeError, match="temprature"):
            ctx.generate("Hi", temprature=0.5)
        with pytest.raises(ValueError):
            ctx.generate("Hi", seed=-5)


def _generate(path_or_model, prompt, n, out, key):
    with bitnet.Context(path_or_model, n_threads=1) as ctx:
        out[key] = ctx.generate(prompt, max_tokens=n, temperature=0).run()


def test_two_threads_generate_at_once(small):
    with bitnet.Model(small) as m:
        alone = {}
        _generate(m, "Hello world", 48, alone, "a")
        _generate(m, "Once upon a time", 48, alone, "b")
        both = {}
        ts = [threading.Thread(target=_generate, args=(m, p, 48, both, k))
              for k, p in (("a", "Hello world"), ("b", "Once upon a time"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert both == alone


def test_one_context_refuses_a_second_thread(small):
    with bitnet.Model(small) as m, bitnet.Context(m, n_threads=1) as ctx:
        toks = m.tokenize("word " * 200)
        t = threading.Thread(target=ctx.decode, args=(toks,))
        t.start()
        while not ctx._busy.locked() and t.is_alive():
            time.sleep(0.0002)
        assert ctx._busy.locked(), "the decode ended before the check"
        with pytest.raises(bitnet.BitnetError, match="another thread"):
            ctx.decode([5])
        t.join()
        assert ctx.n_past == len(toks)  # the first thread's decode was not disturbed


def test_gil_is_released_during_decode(small):
    """While one thread is inside a long decode, Python code in another keeps running."""
    # the scalar kernels: a SIMD decode of the small fixture can be over
    # before the other thread has ticked, and the test would tell nothing
    with bitnet.Model(small) as m, bitnet.Context(m, n_threads=1, n_ctx=512, isa="ref") as ctx:
        toks = m.tokenize("word " * 400)[:500]
        t0 = time.perf_counter()
        ctx.decode(toks)
        alone = time.perf_counter() - t0
        ctx.reset()
        assert alone > 0.02, "the decode is too short to tell"
        ticks = []
        done = threading.Event()

        def work():
            ctx.decode(toks)
            done.set()

        t = threading.Thread(target=work)
        t.start()
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)
        t.join()
        # with the GIL held for the whole decode, this thread would tick once or
        # twice, and one gap would span all of the decode
        assert len(ticks) > 5, f"{len(ticks)} ticks during a {alone * 1e3:.0f} ms decode"
        gap = max(b - a for a, b in zip(ticks, ticks[1:]))
        assert gap < alone / 2, f"a {gap * 1e3:.0f} ms gap during a {alone * 1e3:.0f} ms decode"
