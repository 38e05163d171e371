#!/usr/bin/env python3
"""Per-token overhead of the Python generation iterator against the C loop.

    python bench/bench_python_iterator.py [--model FILE | --bitnet BIN] [--threads N]
                                          [--tokens N] [--reps N] [--callgrind]

Both sides evaluate the same prompt and generate the same greedy tokens on one
context, in the same process: the C side is one bitnet_inference_tokens()
call, the Python side bitnet.Context.generate() consumed by a for loop.
overhead = (Python time - C time) / C time, per token, from the medians (and
the minima) of --reps alternating runs. The thread's CPU time is the main
figure: other processes on a shared machine stretch wall time, not it.
--callgrind counts instructions instead (valgrind; the same count on every run,
whatever the load): each side runs once for 64 and for 64+N tokens under
callgrind (BITNET_ISA=avx2: valgrind has no AVX-512), and the difference over N
tokens gives instructions per token without start-up costs. Without --model it writes the `small` fixture with
`bitnet fixture --preset small` (BIN: --bitnet, $BITNET_BIN or build/bin/bitnet).
Needs the package installed (pip install ./python); docs/python.md reports
the numbers. A benchmark, not a test: nothing here fails on a slow machine.
"""

import argparse
import ctypes
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import bitnet
from bitnet import _capi

# not in the package's prototypes (the package drives the loop itself)
_inference_tokens = _capi.lib.bitnet_inference_tokens
_inference_tokens.restype = ctypes.c_int
_inference_tokens.argtypes = [ctypes.c_void_p, ctypes.POINTER(_capi.token_t), ctypes.c_int32,
                              ctypes.POINTER(_capi.InferenceParams),
                              ctypes.POINTER(_capi.InferenceStats)]


def c_loop(ctx, prompt_tokens, n):
    """(CPU, wall) seconds of one bitnet_inference_tokens call: prompt + n greedy tokens."""
    lib = _capi.lib
    p = lib.bitnet_inference_default_params()
    p.n_predict = n
    p.ignore_eos = True
    p.sampling.temperature = 0.0
    stats = _capi.InferenceStats()
    ctx.reset()
    toks = (_capi.token_t * len(prompt_tokens))(*prompt_tokens)
    c0, w0 = time.thread_time(), time.perf_counter()
    _capi.check(_inference_tokens(ctx._handle, toks, len(toks), ctypes.byref(p), ctypes.byref(stats)))
    c1, w1 = time.thread_time(), time.perf_counter()
    assert stats.n_generated == n
    return c1 - c0, w1 - w0


def py_loop(ctx, prompt_tokens, n):
    """The same through Context.generate(), consumed by a for loop."""
    ctx.reset()
    c0, w0 = time.thread_time(), time.perf_counter()
    gen = ctx.generate(prompt_tokens, max_tokens=n, temperature=0, ignore_eos=True)
    for _ in gen:
        pass
    c1, w1 = time.thread_time(), time.perf_counter()
    assert len(gen.tokens) == n
    return c1 - c0, w1 - w0


def callgrind(path, n):
    env = dict(os.environ, BITNET_ISA="avx2", OMP_NUM_THREADS="1")
    counts = {}
    with tempfile.TemporaryDirectory() as d:
        for side in ("c", "python"):
            for tokens in (64, 64 + n):
                out = os.path.join(d, f"cg.{side}.{tokens}")
                r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                                    sys.executable, __file__, "--model", path, "--once", side,
                                    "--tokens", str(tokens)], env=env, capture_output=True, text=True)
                m = re.search(r"Collected : (\d+)", r.stderr)
                if r.returncode or not m:
                    print(r.stderr[-2000:], file=sys.stderr)
                    return 1
                counts[side, tokens] = int(m.group(1))
    per = {side: (counts[side, 64 + n] - counts[side, 64]) / n for side in ("c", "python")}
    print(f"instructions per token ({n} tokens, avx2, 1 thread): C {per['c']:.0f}, "
          f"Python {per['python']:.0f}: overhead {per['python'] - per['c']:.0f} = "
          f"{(per['python'] - per['c']) / per['c'] * 100:.2f}%")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model")
    ap.add_argument("--bitnet", default=os.environ.get("BITNET_BIN", "build/bin/bitnet"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--callgrind", action="store_true", help="count instructions under valgrind")
    ap.add_argument("--once", choices=["c", "python"], help=argparse.SUPPRESS)  # one side, one run
    a = ap.parse_args()
    tmp = None
    path = a.model
    if not path:
        tmp = tempfile.TemporaryDirectory()
        path = os.path.join(tmp.name, "small.gguf")
        subprocess.run([a.bitnet, "fixture", "--preset", "small", "-q", "-o", path], check=True)
    if a.once:
        with bitnet.Model(path) as m, bitnet.Context(m, n_threads=1, n_ctx=a.tokens + 64) as ctx:
            (c_loop if a.once == "c" else py_loop)(ctx, m.tokenize("The quick brown fox"), a.tokens)
        return 0
    if a.callgrind:
        return callgrind(path, a.tokens)
    with bitnet.Model(path) as m, bitnet.Context(m, n_threads=a.threads, n_ctx=a.tokens + 64) as ctx:
        prompt = m.tokenize("The quick brown fox")
        c_loop(ctx, prompt, a.tokens)  # warm-up
        py_loop(ctx, prompt, a.tokens)
        cs, ps = [], []
        for _ in range(a.reps):  # alternating, so load changes hit both sides alike
            cs.append(c_loop(ctx, prompt, a.tokens))
            ps.append(py_loop(ctx, prompt, a.tokens))
        print(f"model {os.path.basename(path)} ({m.n_embd} embd, {m.n_layer} layers, {m.n_vocab} vocab), "
              f"isa {ctx.isa}, {ctx.n_threads} thread(s), prompt {len(prompt)} + {a.tokens} tokens x {a.reps} reps")
        for k, what in ((0, "CPU time (thread)"), (1, "wall time")):
            c = statistics.median(x[k] for x in cs) / a.tokens * 1e6
            p = statistics.median(x[k] for x in ps) / a.tokens * 1e6
            cmin = min(x[k] for x in cs) / a.tokens * 1e6
            pmin = min(x[k] for x in ps) / a.tokens * 1e6
            print(f"{what:18}: C {c:7.1f} us/token, Python {p:7.1f} us/token (medians): "
                  f"overhead {p - c:5.1f} us = {(p - c) / c * 100:4.1f}%; "
                  f"minima {cmin:.1f} / {pmin:.1f}: {(pmin - cmin) / cmin * 100:4.1f}%")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
