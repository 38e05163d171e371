#!/usr/bin/env bash
# The project's main job (`make run`): the validation harness on the default
# suite. bitnet-validate generates the fixtures into $BUILD_DIR/fixtures
# (cached by their arguments), runs libbitnet (every ISA this CPU has) and the
# Python reference on each, compares them, measures speed, and writes the
# report into $BUILD_DIR/reports, copied to reports/latest/.
# BITNET_CPP_DIR=/path/to/BitNet/build/bin adds bitnet.cpp as a baseline.
# Exit: 0 all checks pass, 1 a check failed, 2 usage or setup error.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN="$BUILD_DIR/bin/bitnet-validate"
OUT="$BUILD_DIR/reports"
if [[ ! -x "$BIN" ]]; then
    echo "main-job: $BIN not found; build first (make build)" >&2
    exit 2
fi
"$BIN" --suite fixtures/suite-default.json --against baseline --out "$OUT" ${VALIDATE_ARGS:-}
rc=$?
mkdir -p reports/latest
cp -f "$OUT"/report.* "$OUT"/junit.xml "$OUT"/*.png "$OUT"/*.svg reports/latest/ 2>/dev/null || true
echo "main-job: report in reports/latest/report.md (exit $rc)"
exit $rc
