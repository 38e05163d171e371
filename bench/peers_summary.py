#!/usr/bin/env python3
"""Markdown summary of a bench/peers_prefill.sh run.

Reads the run's manifest (one tab-separated line per benchmark command: round,
engine, group, role, threads, rc, JSON file) and load log, and prints:
medians with [min - max] over every sample of every round per engine, thread
count and test; the ratio of each of our engines to each peer of its group per
round (ratio of the round medians) with the median of those ratios; the load
average before and after each round. Only the standard library: the script
must run wherever the benchmark does.
"""

import json
import statistics
import sys
from collections import defaultdict


def load_json(path):
    """llama-bench and bitnet bench print one JSON array; llama-bench builds
    may print log lines before it, so the array is taken from the first '['."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    start = text.find("[")
    if start < 0:
        raise ValueError(f"{path}: no JSON array in the output")
    return json.loads(text[start:])


def test_name(rec):
    p, g = int(rec.get("n_prompt", 0)), int(rec.get("n_gen", 0))
    if p and g:
        return f"pp{p}+tg{g}"
    return f"pp{p}" if p else f"tg{g}"


def round_key(label):
    # numbered rounds in order, then named ones (the decode round "tg")
    return (not label.isdigit(), int(label) if label.isdigit() else 0, label)


def fmt(samples):
    if not samples:
        return "—"
    return f"{statistics.median(samples):.1f} [{min(samples):.1f} – {max(samples):.1f}]"


def test_key(name):
    # pp before tg, then by length
    return (name.startswith("tg"), int("".join(c for c in name[2:] if c.isdigit()) or 0))


def main(argv):
    if len(argv) != 3:
        print("usage: peers_summary.py MANIFEST LOADLOG", file=sys.stderr)
        return 2
    manifest, loadlog = argv[1], argv[2]
    # samples[(engine, threads, test)][round] = [t/s...]
    samples = defaultdict(lambda: defaultdict(list))
    meta = {}  # engine -> (group, role)
    order = []  # engines in first-seen order
    failures = []
    with open(manifest, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rnd, engine, group, role, threads, rc, path = line.rstrip("\n").split("\t")
            if engine not in meta:
                meta[engine] = (group, role)
                order.append(engine)
            if rc != "0":
                failures.append(f"round {rnd}, {engine}, {threads} thread(s): exit status {rc}")
                continue
            try:
                records = load_json(path)
            except (OSError, ValueError) as e:
                failures.append(f"round {rnd}, {engine}, {threads} thread(s): {e}")
                continue
            for rec in records:
                key = (engine, int(rec["n_threads"]), test_name(rec))
                samples[key][rnd].extend(float(x) for x in rec.get("samples_ts", []))

    tests = sorted({k[2] for k in samples}, key=test_key)
    threads = sorted({k[1] for k in samples})
    for kind, title in (("pp", "Prefill"), ("tg", "Decode")):
        cols = [t for t in tests if t.startswith(kind)]
        if not cols:
            continue
        print(f"### {title}, t/s: median [min – max] over all rounds' samples\n")
        print("| engine | threads | " + " | ".join(cols) + " |")
        print("|---|---:|" + "---|" * len(cols))
        for engine in order:
            for t in threads:
                cells = []
                for c in cols:
                    allv = [v for r in samples.get((engine, t, c), {}).values() for v in r]
                    cells.append(fmt(allv))
                if any(x != "—" for x in cells):
                    print(f"| {engine} | {t} | " + " | ".join(cells) + " |")
        print()
        # ratios: each "ours" engine against each "peer" of its group, per round
        rows = []
        for ours in order:
            g, role = meta[ours]
            if role != "ours":
                continue
            for peer in order:
                if meta[peer] != (g, "peer"):
                    continue
                for t in threads:
                    cells = []
                    for c in cols:
                        a, b = samples.get((ours, t, c), {}), samples.get((peer, t, c), {})
                        rounds = sorted(set(a) & set(b), key=round_key)
                        ratios = [
                            statistics.median(a[r]) / statistics.median(b[r])
                            for r in rounds
                            if a[r] and b[r]
                        ]
                        if ratios:
                            per = " / ".join(f"{x:.2f}" for x in ratios)
                            cells.append(f"**{statistics.median(ratios):.2f}×** ({per})")
                        else:
                            cells.append("—")
                    if any(x != "—" for x in cells):
                        rows.append(f"| {ours} ÷ {peer} | {t} | " + " | ".join(cells) + " |")
        if rows:
            print(f"### {title} ratios: median of the per-round ratios (each round's)\n")
            print("| ours ÷ peer | threads | " + " | ".join(cols) + " |")
            print("|---|---:|" + "---|" * len(cols))
            print("\n".join(rows))
            print()
    try:
        with open(loadlog, encoding="utf-8") as f:
            loads = [ln.rstrip("\n").split("\t") for ln in f if ln.strip()]
    except OSError:
        loads = []
    if loads:
        print("### Load average (1, 5, 15 min) around each round\n")
        print("| round | before | after |")
        print("|---|---|---|")
        for rnd, before, after in loads:
            print(f"| {rnd} | {before} | {after} |")
        print()
    if failures:
        print("### Failed runs\n")
        for x in failures:
            print(f"- {x}")
        print()
    return 1 if failures and not samples else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
