"""A short run of bench/serve_load.py (the 2-minute soak and the sweep are
its defaults; docs/server.md has their numbers): 16 concurrent streaming
clients, no error, the server's RSS flat after warm-up, exit 0 on SIGTERM."""
import json
import os
import subprocess
import sys

from serve_util import bitnet_bin

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def test_sixteen_streams_no_error_bounded_rss(tiny_model, workdir):
    out = os.path.join(workdir, "serve_load.json")
    # under AddressSanitizer freed memory sits in quarantine: RSS grows by design
    growth = "512" if os.environ.get("ASAN_OPTIONS") else "24"
    seconds = os.environ.get("BITNET_SERVE_LOAD_SECONDS", "8")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "serve_load.py"), "--bin", bitnet_bin(),
                        "--model", tiny_model, "--threads", "1", "--np", "16", "--ctx", "4096",
                        "--clients", "16", "--duration", seconds, "--max-tokens", "24",
                        "--sweep", "1,16", "--sweep-duration", "2", "--max-rss-growth-mib", growth,
                        "--log", os.path.join(workdir, "serve_load.log"), "--out", out],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.load(open(out))
    assert rep["soak"]["errors"] == 0 and rep["soak"]["requests"] >= 16
    assert rep["server_exit"] == 0
    with open(os.path.join(workdir, "serve_load.log"), errors="replace") as f:
        log = f.read()
    for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert mark not in log
