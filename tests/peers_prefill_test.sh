#!/usr/bin/env bash
# Checks bench/peers_prefill.sh end to end on a tiny fixture: a missing peer is
# skipped with its reason, a peer that runs is alternated with ours and
# compared. The peer here is a test double for llama-bench (a shell script
# printing llama-bench's JSON with a fixed 100 t/s), so the ratio column must
# equal our median / 100 exactly.
# usage: peers_prefill_test.sh SOURCE_DIR BUILD_DIR
set -eu
SRC="$1" BUILD="$2"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/peers_prefill_test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$BUILD/bin/bitnet" fixture --preset tiny -q -o "$TMP/tiny.gguf"
mkdir -p "$TMP/fakeik/bin"
cat > "$TMP/fakeik/bin/llama-bench" <<'EOF'
#!/usr/bin/env bash
# test double: llama-bench's JSON for one -p or -n test at 100 t/s
p=0 n=0 t=1
while [ $# -gt 0 ]; do
  case "$1" in -p) p="$2"; shift ;; -n) n="$2"; shift ;; -t) t="$2"; shift ;; esac
  shift
done
echo "log line before the JSON, as some llama-bench builds print"
echo "["
first=1
for x in ${p//,/ }; do
  [ "$x" = 0 ] && continue
  [ $first = 1 ] || echo ","
  first=0
  printf '{"n_threads": %s, "n_prompt": %s, "n_gen": 0, "samples_ts": [100, 100]}' "$t" "$x"
done
if [ "$n" != 0 ]; then
  [ $first = 1 ] || echo ","
  printf '{"n_threads": %s, "n_prompt": 0, "n_gen": %s, "samples_ts": [100, 100]}' "$t" "$n"
fi
echo "]"
EOF
chmod +x "$TMP/fakeik/bin/llama-bench"
touch "$TMP/fake.iq2_bn.gguf"

out="$(bash "$SRC/bench/peers_prefill.sh" -m "$TMP/tiny.gguf" --iq2bn "$TMP/fake.iq2_bn.gguf" \
  --bitnet "$BUILD" --ik "$TMP/fakeik" --bitnetcpp "$TMP/missing" --isa ref --avx2-isa none \
  -R 2 -p 8 -t 1 -r 2 --tg 2 --ik-args "" -o "$TMP/out")" || fail "script exited $?: $out"
echo "$out"
grep -qF "skipped bitnet.cpp: $TMP/missing/bin/llama-bench not found" <<< "$out" ||
  fail "no skip message for the missing bitnet.cpp build"
grep -qE '^\| libbitnet --isa ref \| 1 \| [0-9.]+ \[' <<< "$out" || fail "no row for ours"
grep -qF '| ik_llama.cpp native | 1 | 100.0 [100.0 – 100.0] |' <<< "$out" || fail "no row for the peer"
[ "$(grep -c '	0	' "$TMP/out/manifest.tsv")" = 6 ] || fail "expected 6 successful runs in the manifest"
# the ratio must be our pp8 median / 100, per round
python3 - "$TMP/out" <<'EOF' || fail "ratio check"
import json, statistics, sys, re
out = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(f"{out}/manifest.tsv")]
ours = {r[0]: json.load(open(r[6])) for r in rows if r[1].startswith("libbitnet") and r[0] != "tg"}
want = [statistics.median(ours[k][0]["samples_ts"]) / 100 for k in sorted(ours)]
text = open(f"{out}/summary.md").read()
line = next(l for l in text.splitlines() if l.startswith("| libbitnet --isa ref ÷ ik_llama.cpp native | 1 |") and "(" in l)
got = [float(x) for x in re.search(r"\(([^)]*)\)", line).group(1).split(" / ")]
assert [round(w, 2) for w in want] == got, (want, got)
EOF
# a missing model for a peer is a skip, not a failure; bad arguments are errors
bash "$SRC/bench/peers_prefill.sh" -m "$TMP/tiny.gguf" --bitnet "$BUILD" --ik "$TMP/fakeik" \
  --iq2bn "$TMP/nothere.gguf" --isa ref --avx2-isa none -R 1 -p 8 -t 1 -r 1 --tg 0 \
  -o "$TMP/out2" | grep -qF "skipped ik_llama.cpp native: model '$TMP/nothere.gguf' not found" ||
  fail "no skip message for the missing IQ2_BN file"
if bash "$SRC/bench/peers_prefill.sh" -m "$TMP/tiny.gguf" --bitnet "$BUILD" -R x 2> "$TMP/err"; then
  fail "-R x accepted"
fi
grep -qF "not a positive integer" "$TMP/err" || fail "no message for -R x"
echo "peers_prefill_test: ok"
