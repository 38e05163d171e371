#!/bin/sh
# Run a pytest suite with the project's Python (the virtual environment made by setup).
#   ci/run-pytest.sh DIR [pytest args...]
# BITNET_PYTHON overrides the interpreter (default: <repo>/build/venv/bin/python).
# Exit codes: pytest's own; 77 (skipped) when the interpreter, numpy or pytest is missing;
# "no tests collected" (pytest 5) is turned into a failure (1).
set -u
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [pytest args...]" >&2
    exit 2
fi
dir=$1
shift
py=${BITNET_PYTHON:-$root/build/venv/bin/python}
case $py in
    /*) ;;
    */*) py=$root/$py ;;
esac
if [ ! -x "$py" ] && ! command -v "$py" >/dev/null 2>&1; then
    echo "SKIPPED: python interpreter '$py' not found (run the setup step or set BITNET_PYTHON)"
    exit 77
fi
if ! "$py" -c 'import numpy, pytest' >/dev/null 2>&1; then
    echo "SKIPPED: '$py' lacks numpy or pytest (pip install -r baseline/python/requirements.txt)"
    exit 77
fi
case $dir in
    /*) ;;
    *) dir=$root/$dir ;;
esac
if [ ! -d "$dir" ]; then
    echo "error: test directory '$dir' not found" >&2
    exit 2
fi
"$py" -m pytest -q -p no:cacheprovider "$dir" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "error: no tests collected in $dir" >&2
    exit 1
fi
exit "$rc"
