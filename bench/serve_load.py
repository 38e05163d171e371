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
Other servers, driven with the same prompts and settings:
  --url URL             an OpenAI-compatible server that is already running
                        (no soak RSS, it is not our process)
  --llama-server PATH   start llama.cpp's / bitnet.cpp's llama-server from PATH
                        (-np N -cb -t T -c CTX on a free loopback port)
  --compare-llama-server PATH --reps R
                        sweep `bitnet serve` and llama-server on the same model,
                        alternating which goes first, R times each; medians,
                        min-max and the ratio ours / theirs per stream count
Streams in both dialects are read: OpenAI (choices[].text, usage, [DONE]) and
llama.cpp's native one (content, a final event with stop and tokens_predicted),
which older llama-server builds send on /v1/completions.
Writes a JSON report (--out) and prints a Markdown table. Exit 1 on any
error or RSS growth beyond the bound."""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

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


def event_text(ev):
    """The text a stream event carries, in either dialect (None for [DONE])."""
    if ev == "[DONE]":
        return None
    choices = ev.get("choices")
    if choices:
        return choices[0].get("text") or (choices[0].get("delta") or {}).get("content")
    return ev.get("content")


def stream_tokens(events):
    """Completion tokens a finished stream reports; raises on a stream that did
    not end as its dialect ends (OpenAI: [DONE]; native: an event with stop)."""
    usage = next((e["usage"] for e in events if e != "[DONE]" and e.get("usage")), None)
    final = next((e for e in reversed(events) if e != "[DONE]" and e.get("stop") is True), None)
    if events and events[-1] == "[DONE]" and usage:
        return usage["completion_tokens"]
    if final is not None and "tokens_predicted" in final:
        return final["tokens_predicted"]
    raise AssertionError("bad stream end: %r" % events[-3:])


def one_request(target, prompt, seed, max_tokens):
    """One streaming completion: (tokens, send time, arrival time of each text
    event); raises on anything but a whole stream of max_tokens tokens."""
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "seed": seed,
            "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}
    t0 = time.time()
    stamps = []

    def on_event(_, ev):
        if event_text(ev):
            stamps.append(time.time())

    events = sse_events(target.port, "/v1/completions", body, on_event=on_event, timeout=300,
                        host=target.host)
    n = stream_tokens(events)
    if n != max_tokens:
        raise AssertionError("%d tokens, asked for %d: %r" % (n, max_tokens, events[-3:]))
    return n, t0, stamps


def client_loop(target, idx, stats, stop_at, max_tokens):
    i = 0
    while time.time() < stop_at:
        prompt = PROMPTS[(idx + i) % len(PROMPTS)]
        i += 1
        try:
            n, t0, stamps = one_request(target, prompt, idx * 1000 + i, max_tokens)
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            with stats.lock:
                stats.errors.append(repr(e)[:300])
            continue
        with stats.lock:
            stats.requests += 1
            stats.clients_done.add(idx)
            stats.tokens += n
            if stamps:
                stats.ttft.append(stamps[0] - t0)
                stats.itl.extend(b - a for a, b in zip(stamps, stamps[1:]))


def run_clients(target, n, seconds, max_tokens, stats=None):
    stats = stats or Stats()
    stop_at = time.time() + seconds
    threads = [threading.Thread(target=client_loop, args=(target, i, stats, stop_at, max_tokens))
               for i in range(n)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, time.time() - t0


class Target:
    """A server the clients talk to; proc is None when it is not ours to stop."""

    def __init__(self, name, host, port, proc=None):
        self.name, self.host, self.port, self.proc = name, host, port, proc


def wait_healthy(target, t0, log, timeout=300):
    while True:
        try:
            c = http.client.HTTPConnection(target.host, target.port, timeout=5)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        if target.proc is not None and target.proc.poll() is not None:
            sys.exit("%s exited %d; see %s" % (target.name, target.proc.returncode, log))
        if time.time() - t0 > timeout:
            sys.exit("%s not ready; see %s" % (target.name, log))
        time.sleep(0.1)


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
    target = Target("bitnet serve", "127.0.0.1", port, proc)
    wait_healthy(target, t0, args.log)
    return target


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_llama_server(args, path):
    """llama-server picks no port itself: a free one is chosen just before."""
    logname = args.log + ".llama-server"
    log = open(logname, "wb")
    port = free_port()
    cmd = [path, "-m", args.model, "--host", "127.0.0.1", "--port", str(port), "-np", str(args.np),
           "-cb", "-t", str(args.threads), "-c", str(args.ctx)] + args.llama_server_arg
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    target = Target("llama-server", "127.0.0.1", port, proc)
    wait_healthy(target, time.time(), logname)
    return target


def url_target(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        sys.exit("--url %r: want http://HOST:PORT" % url)
    return Target(url, u.hostname, u.port or 80)


def stop(target):
    """SIGTERM and wait; the exit status (None: not our process)."""
    if target.proc is None:
        return None
    target.proc.send_signal(signal.SIGTERM)
    try:
        return target.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        target.proc.kill()
        return target.proc.wait()


def warm_up(target, max_tokens):
    """One request first, so the first sweep point does not pay for page-ins."""
    one_request(target, PROMPTS[0], 1, max_tokens)


def soak(args, target):
    proc = target.proc
    samples, done, stats = [], threading.Event(), Stats()

    def sampler():
        while proc is not None and not done.is_set():
            r = rss_mib(proc.pid)
            if r is not None:
                with stats.lock:
                    warmed = len(stats.clients_done) >= args.clients
                samples.append((time.time(), r, warmed))
            done.wait(0.5)

    th = threading.Thread(target=sampler)
    th.start()
    stats, wall = run_clients(target, args.clients, args.duration, args.max_tokens, stats)
    done.set()
    th.join()
    hwm = rss_mib(proc.pid, "VmHWM") if proc is not None else None
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


def sweep(args, target):
    rows = []
    for n in args.sweep:
        stats, wall = run_clients(target, n, args.sweep_duration, args.max_tokens)
        ms = lambda v: None if v is None else round(v * 1e3, 1)  # noqa: E731
        rows.append({
            "streams": n, "requests": stats.requests, "errors": len(stats.errors),
            "tokens_per_s": round(stats.tokens / wall, 1),
            "ttft_ms_p50": ms(percentile(stats.ttft, 50)), "ttft_ms_p99": ms(percentile(stats.ttft, 99)),
            "itl_ms_p50": ms(percentile(stats.itl, 50)), "itl_ms_p99": ms(percentile(stats.itl, 99)),
            # The machine's 1-minute load average after the point: how shared the cores were.
            "loadavg_1m": round(os.getloadavg()[0], 2),
        })
        print("  %s %2d streams: %7.1f tokens/s (load average %.1f)" % (
            target.name, n, rows[-1]["tokens_per_s"], rows[-1]["loadavg_1m"]), flush=True)
    return rows


def print_table(rows):
    print("\n| streams | tokens/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %d | %.1f | %s | %s | %s | %s |" % (r["streams"], r["tokens_per_s"], r["ttft_ms_p50"],
                                                   r["ttft_ms_p99"], r["itl_ms_p50"], r["itl_ms_p99"]))


def summarize(runs, streams):
    """Per stream count, over the repetitions of one server: the median of
    each figure and the min-max of tokens/s."""
    out = []
    for n in streams:
        pts = [row for run in runs for row in run if row["streams"] == n]
        med = lambda k: (round(statistics.median([p[k] for p in pts if p[k] is not None]), 1)  # noqa: E731
                         if any(p[k] is not None for p in pts) else None)
        tps = [p["tokens_per_s"] for p in pts]
        out.append({"streams": n, "reps": len(pts), "errors": sum(p["errors"] for p in pts),
                    "tokens_per_s": med("tokens_per_s"), "tokens_per_s_min": min(tps),
                    "tokens_per_s_max": max(tps), "ttft_ms_p50": med("ttft_ms_p50"),
                    "ttft_ms_p99": med("ttft_ms_p99"), "itl_ms_p50": med("itl_ms_p50"),
                    "itl_ms_p99": med("itl_ms_p99")})
    return out


def compare(args, report):
    """Our server and llama-server, alternated (ABBA...), each started fresh,
    warmed up with one request, then swept."""
    starts = {"bitnet serve": lambda: start_server(args),
              "llama-server": lambda: start_llama_server(args, args.compare_llama_server)}
    runs = {name: [] for name in starts}
    exits = {name: [] for name in starts}
    for rep in range(args.reps):
        order = list(starts) if rep % 2 == 0 else list(reversed(list(starts)))
        for name in order:
            print("rep %d/%d: %s" % (rep + 1, args.reps, name), flush=True)
            target = starts[name]()
            try:
                warm_up(target, args.max_tokens)
                runs[name].append(sweep(args, target))
            finally:
                exits[name].append(stop(target))
    ours, theirs = summarize(runs["bitnet serve"], args.sweep), summarize(runs["llama-server"], args.sweep)
    for a, b in zip(ours, theirs):
        a["ratio_vs_llama_server"] = round(a["tokens_per_s"] / b["tokens_per_s"], 3) if b["tokens_per_s"] else None
    report.update({"llama_server": args.compare_llama_server, "reps": args.reps, "runs": runs,
                   "server_exits": exits, "summary": {"bitnet serve": ours, "llama-server": theirs}})
    print("\n| streams | ours t/s (min-max) | llama-server t/s (min-max) | ratio | TTFT p50 ours / theirs ms "
          "| TTFT p99 | ITL p50 | ITL p99 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for a, b in zip(ours, theirs):
        print("| %d | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %s | %s / %s | %s / %s | %s / %s | %s / %s |" % (
            a["streams"], a["tokens_per_s"], a["tokens_per_s_min"], a["tokens_per_s_max"], b["tokens_per_s"],
            b["tokens_per_s_min"], b["tokens_per_s_max"], a["ratio_vs_llama_server"], a["ttft_ms_p50"],
            b["ttft_ms_p50"], a["ttft_ms_p99"], b["ttft_ms_p99"], a["itl_ms_p50"], b["itl_ms_p50"],
            a["itl_ms_p99"], b["itl_ms_p99"]))
    # Our server must drain and exit 0; llama-server's exit status is recorded, not judged.
    return (all(r["errors"] == 0 for run in runs.values() for sw in run for r in sw)
            and all(rc == 0 for rc in exits["bitnet serve"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join("build", "bin", "bitnet"))
    ap.add_argument("--model", help="model file (required unless --url)")
    ap.add_argument("--url", help="drive this running server instead of starting one")
    ap.add_argument("--llama-server", metavar="PATH", help="start this llama-server instead of bitnet serve")
    ap.add_argument("--compare-llama-server", metavar="PATH",
                    help="sweep bitnet serve and this llama-server, alternated, --reps times each")
    ap.add_argument("--reps", type=int, default=2, help="repetitions per server with --compare-llama-server")
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
    ap.add_argument("--server-arg", action="append", default=[], help="one more bitnet serve flag")
    ap.add_argument("--llama-server-arg", action="append", default=[], help="one more llama-server flag")
    ap.add_argument("--log", default=os.path.join("build", "tmp", "serve_load.log"))
    ap.add_argument("--out", default=os.path.join("build", "tmp", "serve_load.json"))
    args = ap.parse_args()
    args.sweep = [int(x) for x in args.sweep.split(",") if x]
    if sum(x is not None for x in (args.url, args.llama_server, args.compare_llama_server)) > 1:
        ap.error("--url, --llama-server and --compare-llama-server exclude each other")
    if args.url is None and not args.model:
        ap.error("--model is required (unless --url)")
    if args.compare_llama_server and (not args.sweep or args.reps < 1):
        ap.error("--compare-llama-server needs --sweep and --reps >= 1")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    report = {"model": args.model, "threads": args.threads, "slots": args.np, "ctx": args.ctx,
              "max_tokens": args.max_tokens}
    if args.compare_llama_server:
        ok = compare(args, report)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
        print("report: %s; %s" % (args.out, "PASS" if ok else "FAIL"))
        return 0 if ok else 1
    if args.url:
        target = url_target(args.url)
    elif args.llama_server:
        target = start_llama_server(args, args.llama_server)
    else:
        target = start_server(args)
    report["server"] = target.name
    ok = True
    try:
        if args.duration > 0:
            print("soak: %d clients for %.0f s" % (args.clients, args.duration), flush=True)
            report["soak"] = s = soak(args, target)
            print(json.dumps({k: v for k, v in s.items() if k != "rss_trace"}), flush=True)
            ok = s["errors"] == 0 and s["requests"] > 0
            if target.proc is None:
                s["rss_check"] = "skipped, because the server at --url is not a process this script started"
            else:
                ok = ok and s["rss_mib_growth"] is not False and s["rss_mib_growth"] <= args.max_rss_growth_mib
                if args.max_rss_mib > 0:
                    ok = ok and s["rss_mib_peak"] is not None and s["rss_mib_peak"] <= args.max_rss_mib
        if args.sweep:
            print("sweep (%d tokens a request, %.0f s a point):" % (args.max_tokens, args.sweep_duration))
            report["sweep"] = rows = sweep(args, target)
            ok = ok and all(r["errors"] == 0 for r in rows)
    finally:
        rc = stop(target)
        report["server_exit"] = rc
        # Only our server is held to a clean exit on SIGTERM.
        ok = ok and (rc == 0 or target.name != "bitnet serve")
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    if report.get("sweep"):
        print_table(report["sweep"])
    print("report: %s; %s" % (args.out, "PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
