#!/usr/bin/env bash
# tests/wasm/logits.sh BITNET LOGITS_DUMP WASM_BIN_DIR WORK_DIR: the WebAssembly
# build (SIMD128 kernels, under Node) against the native scalar reference
# (BITNET_ISA=ref) on generated fixtures: every logit of the prompt and of
# 16 greedy steps within TOL of the row's range (tests/wasm/compare_logits.mjs),
# greedy tokens identical on the peaked fixtures, and `bitnet run` giving the
# same text from both builds. The fixtures cover the three architectures'
# FFNs and the I2_S, TQ2_0 and F16 weight paths.
set -euo pipefail
bitnet=${1:?usage: logits.sh BITNET LOGITS_DUMP WASM_BIN_DIR WORK_DIR (native bitnet and logits_dump)}
dump=${2:?}
wasm=${3:?}
work=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
# docs/numerics.md: measured <= 4e-7 of the range (summation order of the
# float dots only); the bound leaves room for an int8 rounding tie, not for
# a wrong kernel (those miss by 1e-2 and more).
TOL=1e-3
node_run() { node --no-experimental-fetch "$@"; }
mkdir -p "$work"
prompt="The capital of France is"
status=0
#       name            fixture arguments
cases=("bitnet-random   --arch bitnet --preset small --seed 1"
       "b158-peaked     --arch bitnet-b1.58 --preset small --kind peaked --seed 2"
       "llama-peaked    --arch llama --preset small --kind peaked --seed 3"
       "tq2-random      --arch bitnet-b1.58 --preset small --quant tq2_0 --seed 4"
       "f16-peaked      --arch bitnet --preset tiny --kind peaked --quant f16 --seed 5")
for c in "${cases[@]}"; do
  read -r name args <<<"$c"
  f="$work/$name.gguf"
  # shellcheck disable=SC2086
  "$bitnet" fixture $args -o "$f" >/dev/null
  BITNET_ISA=ref "$dump" "$f" "$prompt" 16 "$work/$name.ref.bin" >/dev/null
  node_run "$wasm/logits_dump.js" "$f" "$prompt" 16 "$work/$name.wasm.bin"
  peaked=()
  [[ $name == *peaked* ]] && peaked=(--peaked)
  if report=$(node "$here/compare_logits.mjs" "$work/$name.ref.bin" "$work/$name.wasm.bin" "$TOL" \
                 "${peaked[@]}" 2>&1); then
    echo "$name: $report"
  else
    echo "FAIL: $name: $report"
    status=1
  fi
  if [[ $name == *peaked* ]]; then
    BITNET_ISA=ref "$bitnet" run -m "$f" -p "$prompt" -n 24 --temp 0 --ignore-eos \
      >"$work/$name.run.native" 2>/dev/null
    node_run "$wasm/bitnet.js" run -m "$f" -p "$prompt" -n 24 --temp 0 --ignore-eos \
      >"$work/$name.run.wasm" 2>/dev/null
    if cmp -s "$work/$name.run.native" "$work/$name.run.wasm"; then
      echo "$name: bitnet run --temp 0: same 24 tokens of text from both builds"
    else
      echo "FAIL: $name: bitnet run text differs ($work/$name.run.native vs .run.wasm)"
      status=1
    fi
  fi
done
# a model that is not a GGUF file: a clear error through the buffer loader, no crash
printf 'not a gguf file at all, just text' >"$work/bad.gguf"
if node_run "$wasm/logits_dump.js" "$work/bad.gguf" "$prompt" 1 "$work/bad.bin" 2>"$work/bad.err"; then
  echo "FAIL: a bad file loaded"; status=1
elif grep -q "bad.gguf" "$work/bad.err"; then
  echo "bad file: $(cat "$work/bad.err")"
else
  echo "FAIL: the error does not name the file: $(cat "$work/bad.err")"; status=1
fi
exit $status
