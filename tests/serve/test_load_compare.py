"""bench/serve_load.py against servers it did not start (--url) and in its
side-by-side mode (--compare-llama-server), and its reading of the two
stream dialects: OpenAI's and llama.cpp's native one."""
import importlib.util
import json
import os
import stat
import subprocess
import sys

import pytest

from serve_util import bitnet_bin

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCRIPT = os.path.join(ROOT, "bench", "serve_load.py")


def load_script():
    spec = importlib.util.spec_from_file_location("serve_load", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stream_dialects():
    sl = load_script()
    openai = [{"choices": [{"text": "a"}]}, {"choices": [{"text": "b"}]},
              {"choices": [], "usage": {"completion_tokens": 2}}, "[DONE]"]
    assert [sl.event_text(e) for e in openai] == ["a", "b", None, None]
    assert sl.stream_tokens(openai) == 2
    native = [{"content": "a", "stop": False}, {"content": "b", "stop": False},
              {"content": "", "stop": True, "tokens_predicted": 2}]
    assert [sl.event_text(e) for e in native] == ["a", "b", ""]
    assert sl.stream_tokens(native) == 2
    # a chat-style delta counts as text too
    assert sl.event_text({"choices": [{"delta": {"content": "x"}}]}) == "x"
    # cut-off streams are errors in both dialects
    with pytest.raises(AssertionError):
        sl.stream_tokens(openai[:-1])
    with pytest.raises(AssertionError):
        sl.stream_tokens(native[:-1])
    with pytest.raises(AssertionError):
        sl.stream_tokens([])


def run_script(workdir, name, args):
    out = os.path.join(workdir, name + ".json")
    r = subprocess.run([sys.executable, SCRIPT, "--bin", bitnet_bin(), "--threads", "1", "--np", "2",
                        "--ctx", "1024", "--max-tokens", "4", "--duration", "0", "--sweep", "1,2",
                        "--sweep-duration", "1", "--log", os.path.join(workdir, name + ".log"),
                        "--out", out] + args,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out) as f:
        return json.load(f), r.stdout


def test_url_drives_a_running_server(tiny_model, start_server, workdir):
    s = start_server(tiny_model, "-np", "2", "-c", "1024")
    rep, _ = run_script(workdir, "load-url", ["--url", "http://127.0.0.1:%d" % s.port])
    assert rep["server_exit"] is None  # not ours to stop
    assert [r["streams"] for r in rep["sweep"]] == [1, 2]
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in rep["sweep"])
    s.assert_serving()


def test_url_refuses_other_schemes(workdir):
    r = subprocess.run([sys.executable, SCRIPT, "--url", "https://127.0.0.1:1", "--sweep", "1",
                        "--duration", "0", "--out", os.path.join(workdir, "bad-url.json")],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "http://HOST:PORT" in r.stderr


def test_compare_mode_alternates_and_summarizes(tiny_model, workdir):
    # No llama-server here: a stand-in that takes llama-server's flags and runs
    # bitnet serve, so the start, port, alternation and summary are what is tested.
    shim = os.path.join(workdir, "llama-server-shim.sh")
    with open(shim, "w") as f:
        f.write('#!/bin/sh\nargs=""\nfor a in "$@"; do [ "$a" = -cb ] || args="$args $a"; done\n'
                'exec "%s" serve $args\n' % bitnet_bin())
    os.chmod(shim, os.stat(shim).st_mode | stat.S_IEXEC)
    rep, out = run_script(workdir, "load-compare", ["--model", tiny_model, "--compare-llama-server", shim,
                                                    "--reps", "2"])
    assert set(rep["runs"]) == {"bitnet serve", "llama-server"}
    assert all(len(v) == 2 for v in rep["runs"].values())
    assert rep["server_exits"]["bitnet serve"] == [0, 0]
    ours = rep["summary"]["bitnet serve"]
    assert [r["streams"] for r in ours] == [1, 2]
    assert all(r["reps"] == 2 and r["errors"] == 0 and r["tokens_per_s"] > 0 for r in ours)
    assert all(r["tokens_per_s_min"] <= r["tokens_per_s"] <= r["tokens_per_s_max"] for r in ours)
    assert all(r["ratio_vs_llama_server"] > 0 for r in ours)
    # the order alternates: ours first in the first repetition, second in the second
    reps = [line for line in out.splitlines() if line.startswith("rep ")]
    assert reps == ["rep 1/2: bitnet serve", "rep 1/2: llama-server",
                    "rep 2/2: llama-server", "rep 2/2: bitnet serve"]
