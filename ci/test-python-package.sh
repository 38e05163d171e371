#!/usr/bin/env bash
# The Python package as a user gets it: a fresh virtual environment under
# BUILD_DIR, `pip install ./python` (which builds libbitnet with CMake and
# bundles it), then pytest python/tests against the installed package.
#   ci/test-python-package.sh [BUILD_DIR]     (default build)
# The tests also use BUILD_DIR/bin/bitnet and BITNET_CAPI_DUMP (CTest sets both).
# Exit 77 (skipped, with the reason) when python3 -m venv or PyPI is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "${1:-$root/build}" && cd "${1:-$root/build}" && pwd)
venv=$build/python-venv
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ]; then
  echo "SKIPPED: no python3"; exit 77
fi
rm -rf "$venv"
if ! "$py" -m venv "$venv" >"$build/python-venv.log" 2>&1; then
  echo "SKIPPED: $py -m venv failed (apt-get install python3-venv):"; cat "$build/python-venv.log"; exit 77
fi
pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
if ! "${pip[@]}" install -r "$root/python/tests/requirements.txt" >>"$build/python-venv.log" 2>&1; then
  echo "SKIPPED: pip could not install python/tests/requirements.txt (no PyPI?):"
  tail -5 "$build/python-venv.log"; exit 77
fi
# the build directory is kept between runs so that only changed files recompile;
# without --no-build-isolation and build-dir this is exactly `pip install ./python`
"${pip[@]}" install --no-build-isolation --config-settings=build-dir="$build/python-wheel" \
  "$root/python" || { echo "FAIL: pip install ./python"; exit 1; }
export BITNET_BIN=${BITNET_BIN:-$build/bin/bitnet}
cd "$build"  # away from python/src, so the tests import the installed package
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/python/tests" "${@:2}"
