#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/CMakeLists.txt: one per parser of
# untrusted input) with clang + ASan + UBSan + LeakSanitizer and fuzzes each
# for a bounded time, starting from its committed seed corpus.
#
#   ci/fuzz.sh [-t SECONDS] [-r RUNS] [TARGET...]   default: every target, 60 s each
#
# -r stops each target after RUNS executions instead (or whichever comes first
# with -t). FUZZ_OUT (default build-fuzz) holds the binaries, a working corpus
# per target (new inputs go there, never into fuzz/corpus/), crashes in
# artifacts/ and one log per target in logs/. Ends with one line per target:
# executions, coverage and features. Exit 1 when a target found something.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TIME=${FUZZ_TIME:-60}
RUNS=-1
while getopts "t:r:" opt; do
  case $opt in
    t) TIME=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS] [-r RUNS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "fuzz.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 77
fi

# OpenMP off: the parsers are single-threaded, and libgomp's runtime is not
# instrumented for the sanitizers.
CC=$CC cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITNET_FUZZ=ON -DBITNET_OPENMP=OFF \
  -DBITNET_WERROR=ON -DBITNET_SANITIZER=address,undefined >/dev/null
cmake --build "$OUT" -j "$(nproc)" >/dev/null

if (($# == 0)); then
  set -- $(cd "$OUT/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
fi
mkdir -p "$OUT/artifacts" "$OUT/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
summary=()
for name in "$@"; do
  bin="$OUT/fuzz/fuzz_$name"
  if [[ ! -x $bin ]]; then
    echo "fuzz.sh: no target '$name' (have: $(cd "$OUT/fuzz" && ls fuzz_* | sed 's/^fuzz_//' | tr '\n' ' '))" >&2
    exit 2
  fi
  mkdir -p "$OUT/corpus/$name"
  args=(-max_total_time="$TIME" -runs="$RUNS" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name-")
  [[ -f fuzz/$name.dict ]] && args+=(-dict="fuzz/$name.dict")
  # per-target flags (later ones win): e.g. a smaller -max_len
  [[ -f fuzz/$name.options ]] && read -r -a extra < "fuzz/$name.options" && args+=("${extra[@]}")
  log="$OUT/logs/$name.log"
  echo "== fuzz_$name (at most ${TIME}s$( ((RUNS > 0)) && echo ", $RUNS runs"))"
  if "$bin" "${args[@]}" "$OUT/corpus/$name" "fuzz/corpus/$name" >"$log" 2>&1; then
    result=ok
  else
    result="FOUND SOMETHING (see $log, artifacts in $OUT/artifacts/)"
    status=1
    tail -n 40 "$log"
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  summary+=("$(printf '%-16s execs %-10s %-24s %s' "$name" "${execs:-?}" "${cov:-?}" "$result")")
done
printf '%s\n' "${summary[@]}"
exit $status
