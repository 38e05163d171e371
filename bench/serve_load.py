#!/usr/bin/env python3
"""Load test and throughput sweep for `bitnet serve` (docs/server.md).

Starts the server on a free loopback port and then:
  soak:  --clients streaming clients, each sending request after request for
         --duration seconds; every request must succeed (200, a stream ending
         in [DONE], the token count asked for), and the server's anonymous
         RSS (RssAnon: heap and stacks, not the mapped model file), sampled
         every 0.5 s, must not grow by more than --max-rss-growth-mib after
         warm-up (a leak shows as steady growth), nor peak above --max-rss-mib
         when given. Warm-up ends when every client has finished a request
         (so every slot has held one: its cache pages are touched) and the
         first tenth of the run has passed.
  sweep: for each N in --sweep, N clients for --sweep-duration seconds:
         aggregate generated tokens/s, time to first token and inter-token
         latency (p50, p99) as the clients see them.
Writes a JSON report (--out) and prints a Markdown table. Exit 1 on any
error or RSS growth beyond the bound."""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "serve"))
from serve_util import sse_events  # noqa: E402

PROMPTS = [
    "The history of the city begins", "Once upon a time there was", "In the year 1900",
    "A recipe for bread needs", "The first rule of the club is", "Dear diary, today",
    "The theorem states that", "Under the bridge lived", "Breaking news from the harbour:",
    "The committee decided to", "Her favourite colour was", "At the edge of the forest",
    "The engine started with", "Lessons from the garden:", "Minutes of the last meeting",
    "The map showed a road to",
]


def rss_mib(pid, field="RssAnon"):
    """A size line of /proc/PID/status in MiB (RssAnon; VmHWM: the peak RSS
    with the mapped model file's touched pages)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.errors = []
        self.tokens = 0
        self.ttft = []
        self.itl = []
        self.clients_done = set()  # clients that finished a request


def client_loop(port, idx, stats, stop_at, max_tokens):
    i = 0
    while time.time() < stop_at:
        prompt = PROMPTS[(idx + i) % len(PROMPTS)]
        i += 1
        body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "seed": idx * 1000 + i,
                "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}
        t0 = time.time()
        stamps = []

        def on_event(_, ev):
            if ev != "[DONE]" and ev.get("choices") and ev["choices"][0].get("text"):
                stamps.append(time.time())

        try:
            events = sse_events(port, "/v1/completions", body, on_event=on_event, timeout=300)
            usage = next(e["usage"] for e in events if e != "[DONE]" and e.get("usage"))
            if events[-1] != "[DONE]" or usage["completion_tokens"] != max_tokens:
                raise AssertionError("bad stream end: %r" % events[-3:])
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            with stats.lock:
                stats.errors.append(repr(e)[:300])
            continue
        with stats.lock:
            stats.requests += 1
            stats.clients_done.add(idx)
            stats.tokens += usage["completion_tokens"]
            if stamps:
                stats.ttft.append(stamps[0] - t0)
                stats.itl.extend(b - a for a, b in zip(stamps, stamps[1:]))


def run_clients(port, n, seconds, max_tokens, stats=None):
    stats = stats or Stats()
    stop_at = time.time() + seconds
    threads = [threading.Thread(target=client_loop, args=(port, i, stats, stop_at, max_tokens))
               for i in range(n)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, time.time() - t0


def start_server(args):
    log = open(args.log, "wb")
    cmd = [args.bin, "serve", "-m", args.model, "--port", "0", "-t", str(args.threads),
           "-np", str(args.np), "-c", str(args.ctx)] + args.server_arg
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    t0 = time.time()
    while time.time() - t0 < 120:
        with open(args.log, "rb") as f:
            m = re.search(rb"listening on http://[^:]+:(\d+)", f.read())
        if m:
            port = int(m.group(1))
            break
        if proc.poll() is not None:
            sys.exit("server exited %d; see %s" % (proc.returncode, args.log))
        time.sleep(0.05)
    import http.client
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.time() - t0 > 300:
            sys.exit("server not ready; see %s" % args.log)
        time.sleep(0.1)
    return proc, port


def soak(args, proc, port):
    samples, done, stats = [], threading.Event(), Stats()

    def sampler():
        while not done.is_set():
            r = rss_mib(proc.pid)
            if r is not None:
                with stats.lock:
                    warmed = len(stats.clients_done) >= args.clients
                samples.append((time.time(), r, warmed))
            done.wait(0.5)

    th = threading.Thread(target=sampler)
    th.start()
    stats, wall = run_clients(port, args.clients, args.duration, args.max_tokens, stats)
    done.set()
    th.join()
    hwm = rss_mib(proc.pid, "VmHWM")
    t_first = samples[0][0] if samples else 0
    warm = [r for t, r, warmed in samples if warmed and t - t_first >= args.duration * 0.1]
    base = warm[0] if warm else None
    peak = max(r for _, r, _ in samples) if samples else None
    growth = (max(warm) - base) if warm else None
    return {
        "clients": args.clients, "seconds": round(wall, 1), "requests": stats.requests,
        "errors": len(stats.errors), "error_samples": stats.errors[:5],
        "generated_tokens": stats.tokens, "tokens_per_s": round(stats.tokens / wall, 1),
        "rss_mib_after_warmup": base and round(base, 1), "rss_mib_peak": peak and round(peak, 1),
        "rss_mib_growth": growth is not None and round(growth, 1),
        "vm_hwm_mib": hwm and round(hwm, 1),
        # [seconds since the first sample, RssAnon MiB, warmed up], every 0.5 s
        "rss_trace": [[round(t - t_first, 1), round(r, 1), w] for t, r, w in samples],
    }


def sweep(args, port):
    rows = []
    for n in args.sweep:
        stats, wall = run_clients(port, n, args.sweep_duration, args.max_tokens)
        ms = lambda v: None if v is None else round(v * 1e3, 1)  # noqa: E731
        rows.append({
            "streams": n, "requests": stats.requests, "errors": len(stats.errors),
            "tokens_per_s": round(stats.tokens / wall, 1),
            "ttft_ms_p50": ms(percentile(stats.ttft, 50)), "ttft_ms_p99": ms(percentile(stats.ttft, 99)),
            "itl_ms_p50": ms(percentile(stats.itl, 50)), "itl_ms_p99": ms(percentile(stats.itl, 99)),
        })
        print("  %2d streams: %7.1f tokens/s" % (n, rows[-1]["tokens_per_s"]), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join("build", "bin", "bitnet"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--np", type=int, default=16, help="server slots")
    ap.add_argument("--ctx", type=int, default=16 * 256, help="server context, over all slots")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=120, help="soak seconds (0: no soak)")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--sweep", default="1,2,4,8,16", help="stream counts ('' : no sweep)")
    ap.add_argument("--sweep-duration", type=float, default=20)
    ap.add_argument("--max-rss-growth-mib", type=float, default=32)
    ap.add_argument("--max-rss-mib", type=float, default=0,
                    help="bound on the soak's peak RssAnon (0: none)")
    ap.add_argument("--server-arg", action="append", default=[], help="one more server flag")
    ap.add_argument("--log", default=os.path.join("build", "tmp", "serve_load.log"))
    ap.add_argument("--out", default=os.path.join("build", "tmp", "serve_load.json"))
    args = ap.parse_args()
    args.sweep = [int(x) for x in args.sweep.split(",") if x]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    proc, port = start_server(args)
    report = {"model": args.model, "threads": args.threads, "slots": args.np, "ctx": args.ctx,
              "max_tokens": args.max_tokens}
    ok = True
    try:
        if args.duration > 0:
            print("soak: %d clients for %.0f s" % (args.clients, args.duration), flush=True)
            report["soak"] = s = soak(args, proc, port)
            print(json.dumps({k: v for k, v in s.items() if k != "rss_trace"}), flush=True)
            ok = s["errors"] == 0 and s["requests"] > 0 and (
                s["rss_mib_growth"] is not False and s["rss_mib_growth"] <= args.max_rss_growth_mib)
            if args.max_rss_mib > 0:
                ok = ok and s["rss_mib_peak"] is not None and s["rss_mib_peak"] <= args.max_rss_mib
        if args.sweep:
            print("sweep (%d tokens a request, %.0f s a point):" % (args.max_tokens, args.sweep_duration))
            report["sweep"] = rows = sweep(args, port)
            ok = ok and all(r["errors"] == 0 for r in rows)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
        report["server_exit"] = rc
        ok = ok and rc == 0
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    if report.get("sweep"):
        print("\n| streams | tokens/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |")
        print("|---:|---:|---:|---:|---:|---:|")
        for r in report["sweep"]:
            print("| %d | %.1f | %s | %s | %s | %s |" % (r["streams"], r["tokens_per_s"], r["ttft_ms_p50"],
                                                       r["ttft_ms_p99"], r["itl_ms_p50"], r["itl_ms_p99"]))
    print("report: %s; %s" % (args.out, "PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
