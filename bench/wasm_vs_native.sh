#!/usr/bin/env bash
# bench/wasm_vs_native.sh [MODEL.gguf]: the WebAssembly build (SIMD128, one
# thread, under Node) against the native build with BITNET_ISA=avx2 at one
# thread, on the same file: prefill (pp) and decode (tg) tokens/s from
# `bitnet bench`, and the ratio wasm / native (docs/performance.md).
# Without MODEL, makes the 700m-shape fixture (about 270 MB, random weights).
# Env: BUILD (native build dir, default build), WASM (default BUILD/wasm),
#      PP (64), TG (32), REPS (3).
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
native_json=$(BITNET_ISA=avx2 "$build/bin/bitnet" "${args[@]}" --isa avx2 2>/dev/null)
wasm_json=$(node --no-experimental-fetch "$wasm/bin/bitnet.js" "${args[@]}" 2>/dev/null)
node - "$native_json" "$wasm_json" "$model" <<'JS'
const [nat, was, model] = process.argv.slice(2);
const pick = (rows, key) => rows.find((r) => r[key] > 0);
const n = JSON.parse(nat), w = JSON.parse(was);
console.log(`model: ${model} (${(n[0].model_size / 1048576).toFixed(1)} MiB of weights, ${(n[0].model_n_params / 1e6).toFixed(0)}M params)`);
console.log(`native: ${n[0].cpu_info}`);
console.log(`wasm:   ${w[0].cpu_info} (node ${process.version})`);
console.log('| test | native avx2, 1 thread (t/s) | wasm simd128, 1 thread (t/s) | wasm / native |');
console.log('|---|---|---|---|');
for (const [label, key] of [['prefill pp' + pick(n, 'n_prompt')?.n_prompt, 'n_prompt'], ['decode tg' + pick(n, 'n_gen')?.n_gen, 'n_gen']]) {
  const a = pick(n, key), b = pick(w, key);
  if (!a || !b) continue;
  console.log(`| ${label} | ${a.avg_ts.toFixed(2)} ± ${a.stddev_ts.toFixed(2)} | ${b.avg_ts.toFixed(2)} ± ${b.stddev_ts.toFixed(2)} | ${(100 * b.avg_ts / a.avg_ts).toFixed(1)} % |`);
}
JS
