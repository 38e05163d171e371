#!/usr/bin/env bash
# bench/wasm_vs_native.sh [MODEL.gguf]: the WebAssembly build (SIMD128, one
# thread, under Node) against the native build with BITNET_ISA=avx2 at one
# thread, on the same file: prefill (pp) and decode (tg) tokens/s from
# `bitnet bench`, and the ratio wasm / native (docs/performance.md).
# Without MODEL, makes the 700m-shape fixture (about 270 MB, random weights).
# Env: BUILD (native build dir, default build), WASM (default BUILD/wasm),
#      PP (64), TG (32), REPS (3, bench repetitions per run), ROUNDS (3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
wasm=${WASM:-$build/wasm}
pp=${PP:-64} tg=${TG:-32} reps=${REPS:-3}
[ -x "$build/bin/bitnet" ] || { echo "no native bitnet in $build/bin (make)" >&2; exit 2; }
[ -f "$wasm/bin/bitnet.js" ] || { echo "no WebAssembly bitnet in $wasm/bin (ci/wasm-build.sh)" >&2; exit 2; }
model=${1:-}
if [ -z "$model" ]; then
  model=$build/bench/fixture-700m.gguf
  mkdir -p "$(dirname "$model")"
  [ -f "$model" ] || "$build/bin/bitnet" fixture --preset 700m --seed 1 -o "$model" >/dev/null
fi
args=(bench -m "$model" -p "$pp" -n "$tg" -t 1 -r "$reps" -o json --no-bandwidth)
# ROUNDS rounds, each running both builds, the order reversed every other
# round, so that a drift of the shared machine touches both sides alike; the
# ratio is taken per round (wasm over the native run next to it).
rounds=${ROUNDS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run_native() { BITNET_ISA=avx2 "$build/bin/bitnet" "${args[@]}" --isa avx2 2>/dev/null >"$tmp/native-$1.json"; }
run_wasm() { node --no-experimental-fetch "$wasm/bin/bitnet.js" "${args[@]}" 2>/dev/null >"$tmp/wasm-$1.json"; }
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then run_native "$r"; run_wasm "$r"; else run_wasm "$r"; run_native "$r"; fi
done
node - "$tmp" "$rounds" "$model" <<'JS'
const fs = require('fs');
const [dir, roundsArg, model] = process.argv.slice(2);
const rounds = Number(roundsArg);
const read = (side, r) => JSON.parse(fs.readFileSync(`${dir}/${side}-${r}.json`, 'utf8'));
const pick = (rows, key) => rows.find((row) => row[key] > 0);
const median = (v) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const n0 = read('native', 0), w0 = read('wasm', 0);
console.log(`model: ${model} (${(n0[0].model_size / 1048576).toFixed(1)} MiB of weights, ${(n0[0].model_n_params / 1e6).toFixed(0)}M params)`);
console.log(`native: ${n0[0].cpu_info}`);
console.log(`wasm:   ${w0[0].cpu_info} (node ${process.version})`);
console.log(`${rounds} rounds, both builds in each (order alternating), each -r as given; t/s are the rounds' means`);
console.log('| test | native avx2, 1 thread (t/s): median [min - max] | wasm simd128, 1 thread (t/s) | wasm / native: median of the rounds [min - max] |');
console.log('|---|---|---|---|');
for (const key of ['n_prompt', 'n_gen']) {
  const nat = [], was = [], ratio = [];
  let label = '';
  for (let r = 0; r < rounds; r++) {
    const a = pick(read('native', r), key), b = pick(read('wasm', r), key);
    if (!a || !b) continue;
    label = key === 'n_prompt' ? `prefill pp${a.n_prompt}` : `decode tg${a.n_gen}`;
    nat.push(a.avg_ts); was.push(b.avg_ts); ratio.push(100 * b.avg_ts / a.avg_ts);
  }
  if (!ratio.length) continue;
  const span = (v, d) => `${median(v).toFixed(d)} [${Math.min(...v).toFixed(d)} - ${Math.max(...v).toFixed(d)}]`;
  console.log(`| ${label} | ${span(nat, 2)} | ${span(was, 2)} | ${span(ratio, 1)} % |`);
}
JS
