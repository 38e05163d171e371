#!/usr/bin/env bash
# Side-by-side prefill benchmark of libbitnet against ik_llama.cpp (and
# bitnet.cpp), all built elsewhere: this script builds nothing, it runs the
# binaries it is pointed at. Engines run one after the other inside each round,
# the order reversed every other round, so slow drift of a shared machine hits
# every engine alike; the summary gives medians with [min - max] and the ratio
# of each round's medians (bench/peers_summary.py).
#
# Groups: "native" compares ours at each ISA of --isa (default amx,avx512)
# with the native peer builds (--ik, --bitnetcpp); "avx2" compares ours at
# --isa avx2 with an ik_llama.cpp build made for AVX2 only (--ik-avx2).
# A peer whose build dir, binary or model file is missing is skipped, and the
# reason is printed.
set -u

usage() {
  cat <<'EOF'
usage: bench/peers_prefill.sh -m I2S.gguf [options]
  -m FILE          I2_S model (ours and bitnet.cpp)
  --iq2bn FILE     the same weights requantized to IQ2_BN (ik_llama.cpp)
  --bitnet DIR     libbitnet build dir with bin/bitnet       [$BITNET_BUILD, default build]
  --ik DIR         ik_llama.cpp native build dir, bin/llama-bench     [$IK_BUILD]
  --ik-avx2 DIR    ik_llama.cpp AVX2-only build dir               [$IK_AVX2_BUILD]
  --bitnetcpp DIR  bitnet.cpp build dir, bin/llama-bench       [$BITNETCPP_BUILD]
  --isa LIST       our ISAs against the native peers (default amx,avx512; "none" skips)
  --avx2-isa ISA   our ISA against --ik-avx2 (default avx2; "none" skips the group)
  -R N             rounds (default 3)
  -t LIST          thread counts (default 1,2)
  -p LIST          prompt lengths (default 128,512)
  -r N             repetitions per command after llama-bench's/our warm-up (default 3)
  --tg N           after the rounds, one decode round of tgN per engine (default 64; 0 skips)
  --ik-args ARGS   extra llama-bench arguments for ik_llama.cpp (default "-rtr 1")
  -o DIR           where the raw JSON, logs and summary go (default: a new temp dir)
EOF
}

die() {
  echo "peers_prefill.sh: $*" >&2
  exit 2
}

MODEL="" IQ2BN="" BITNET="${BITNET_BUILD:-build}" IK="${IK_BUILD:-}" IK2="${IK_AVX2_BUILD:-}"
BCPP="${BITNETCPP_BUILD:-}" ISAS="amx,avx512" AVX2_ISA="avx2" ROUNDS=3 THREADS="1,2"
PROMPTS="128,512" REPS=3 TG=64 IK_ARGS="-rtr 1" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -m) MODEL="${2:?-m needs a file}"; shift ;;
    --iq2bn) IQ2BN="${2:?--iq2bn needs a file}"; shift ;;
    --bitnet) BITNET="${2:?--bitnet needs a dir}"; shift ;;
    --ik) IK="${2:?--ik needs a dir}"; shift ;;
    --ik-avx2) IK2="${2:?--ik-avx2 needs a dir}"; shift ;;
    --bitnetcpp) BCPP="${2:?--bitnetcpp needs a dir}"; shift ;;
    --isa) ISAS="${2:?--isa needs a list}"; shift ;;
    --avx2-isa) AVX2_ISA="${2:?--avx2-isa needs an ISA}"; shift ;;
    -R) ROUNDS="${2:?-R needs a number}"; shift ;;
    -t) THREADS="${2:?-t needs a list}"; shift ;;
    -p) PROMPTS="${2:?-p needs a list}"; shift ;;
    -r) REPS="${2:?-r needs a number}"; shift ;;
    --tg) TG="${2:?--tg needs a number}"; shift ;;
    --ik-args) IK_ARGS="${2?--ik-args needs a value}"; shift ;;
    -o) OUT="${2:?-o needs a dir}"; shift ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
  shift
done
[ -n "$MODEL" ] || { usage >&2; die "-m I2S.gguf is required"; }
[ -f "$MODEL" ] || die "model '$MODEL' not found"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "-R '$ROUNDS' is not a positive integer"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "-r '$REPS' is not a positive integer"
[[ "$TG" =~ ^[0-9]+$ ]] || die "--tg '$TG' is not a non-negative integer"
[[ "$THREADS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "-t '$THREADS' is not a list of thread counts"
[[ "$PROMPTS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "-p '$PROMPTS' is not a list of lengths"
OURS="$BITNET/bin/bitnet"
[ -x "$OURS" ] || die "libbitnet binary '$OURS' not found (--bitnet DIR or BITNET_BUILD)"
HERE="$(cd "$(dirname "$0")" && pwd)"
SUMMARY_PY="$HERE/peers_summary.py"
[ -f "$SUMMARY_PY" ] || die "$SUMMARY_PY not found"
command -v python3 > /dev/null || die "python3 is needed for the summary"
if [ -z "$OUT" ]; then OUT="$(mktemp -d "${TMPDIR:-/tmp}/peers_prefill.XXXXXX")"; fi
mkdir -p "$OUT" || die "cannot create '$OUT'"

# Engines: name, group, role, kind (ours ISA | llama-bench path), model.
NAMES=() GROUPS_=() ROLES=() KINDS=() MODELS=()
add() { NAMES+=("$1"); GROUPS_+=("$2"); ROLES+=("$3"); KINDS+=("$4"); MODELS+=("$5"); }
isa_list=()
[ "$ISAS" = none ] || IFS=',' read -r -a isa_list <<< "$ISAS"
for isa in "${isa_list[@]}"; do add "libbitnet --isa $isa" native ours "isa:$isa" "$MODEL"; done
# peer NAME GROUP DIR MODEL FLAG: adds it, or says why it is skipped
peer() {
  local name="$1" group="$2" dir="$3" model="$4" flag="$5"
  if [ -z "$dir" ]; then
    echo "skipped $name: no build dir given ($flag)"
  elif [ ! -x "$dir/bin/llama-bench" ]; then
    echo "skipped $name: $dir/bin/llama-bench not found"
  elif [ -z "$model" ]; then
    echo "skipped $name: no model file for it given"
  elif [ ! -f "$model" ]; then
    echo "skipped $name: model '$model' not found"
  else
    add "$name" "$group" peer "bench:$dir/bin/llama-bench" "$model"
  fi
}
peer "ik_llama.cpp native" native "$IK" "$IQ2BN" "--ik or IK_BUILD; --iq2bn for its model"
peer "bitnet.cpp" native "$BCPP" "$MODEL" "--bitnetcpp or BITNETCPP_BUILD"
if [ "$AVX2_ISA" != none ]; then
  add "libbitnet --isa $AVX2_ISA" avx2 ours "isa:$AVX2_ISA" "$MODEL"
  peer "ik_llama.cpp AVX2-only" avx2 "$IK2" "$IQ2BN" "--ik-avx2 or IK_AVX2_BUILD; --iq2bn for its model"
fi
n_peers=0
for r in "${ROLES[@]}"; do [ "$r" = peer ] && n_peers=$((n_peers + 1)); done
[ "$n_peers" -gt 0 ] || echo "note: no peer to compare with; only our numbers are reported"

MANIFEST="$OUT/manifest.tsv" LOADLOG="$OUT/load.tsv"
: > "$MANIFEST"
: > "$LOADLOG"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# run ROUND INDEX THREADS PP TG: one benchmark command, recorded in the manifest
run() {
  local rnd="$1" i="$2" t="$3" pp="$4" tg="$5" kind="${KINDS[$2]}" model="${MODELS[$2]}"
  local tag
  tag="r$rnd-e$i-t$t"
  local json="$OUT/$tag.json" err="$OUT/$tag.log" rc
  if [[ "$kind" == isa:* ]]; then
    local isa="${kind#isa:}" bw="--no-bandwidth"
    [ "$pp" = 0 ] && bw="" # decode: measure bandwidth for the fraction
    # the env too, so that cpu_info in the JSON names the ISA that ran
    # shellcheck disable=SC2086
    BITNET_ISA="$isa" "$OURS" bench -m "$model" -p "$pp" -n "$tg" -t "$t" -r "$REPS" \
      --isa "$isa" $bw -o json > "$json" 2> "$err"
    rc=$?
  else
    # shellcheck disable=SC2086
    "${kind#bench:}" -m "$model" -p "$pp" -n "$tg" -t "$t" -r "$REPS" $IK_ARGS_FOR \
      -o json > "$json" 2> "$err"
    rc=$?
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rnd" "${NAMES[$i]}" "${GROUPS_[$i]}" \
    "${ROLES[$i]}" "$t" "$rc" "$json" >> "$MANIFEST"
  [ "$rc" = 0 ] || echo "  ${NAMES[$i]} -t $t failed (exit $rc), see $err"
}

# round LABEL PP TG REVERSE
round() {
  local label="$1" pp="$2" tg="$3" rev="$4" before idx=() i t
  for i in "${!NAMES[@]}"; do idx+=("$i"); done
  if [ "$rev" = 1 ]; then
    local r=()
    for ((i = ${#idx[@]} - 1; i >= 0; i--)); do r+=("${idx[$i]}"); done
    idx=("${r[@]}")
  fi
  before="$(loadavg)"
  echo "round $label (load $before)"
  IFS=',' read -r -a tl <<< "$THREADS"
  for t in "${tl[@]}"; do
    for i in "${idx[@]}"; do
      IK_ARGS_FOR=""
      [[ "${NAMES[$i]}" == ik_llama.cpp* ]] && IK_ARGS_FOR="$IK_ARGS"
      run "$label" "$i" "$t" "$pp" "$tg"
    done
  done
  printf '%s\t%s\t%s\n' "$label" "$before" "$(loadavg)" >> "$LOADLOG"
}

echo "engines: $(printf '[%s] ' "${NAMES[@]}")"
echo "output: $OUT"
for ((k = 1; k <= ROUNDS; k++)); do round "$k" "$PROMPTS" 0 $(((k + 1) % 2)); done
[ "$TG" -gt 0 ] && round "tg" 0 "$TG" 0

{
  echo "## peers_prefill.sh $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- model (I2_S): \`$MODEL\`; IQ2_BN: \`${IQ2BN:-none}\`"
  echo "- $ROUNDS rounds, -p $PROMPTS, -t $THREADS, -r $REPS; ik_llama.cpp args: \`$IK_ARGS\`"
  echo "- ours: \`$OURS\` ($("$OURS" --help 2>&1 | tail -n 1))"
  echo
  python3 "$SUMMARY_PY" "$MANIFEST" "$LOADLOG"
} > "$OUT/summary.md"
status=$?
cat "$OUT/summary.md"
exit "$status"
