#!/usr/bin/env bash
# Installs the Hugging Face transformers baseline (torch on the CPU, transformers,
# tokenizers, safetensors, accelerate, numpy, pytest) into build/venv-hf, from
# PyPI, pinned in baseline/transformers/requirements.txt.
#
# Idempotent: a stamp holds the requirements' SHA-256, so a second run returns at
# once. Never fails the build: when pip cannot install (no network, no disk), it
# says so and exits 0, and the transformers checks are then skipped with that
# reason (bitnet-validate, tests/test_validate_transformers.c, CTest
# transformers_baseline). BITNET_SKIP_TRANSFORMERS=1 leaves it out on purpose.
#
# Cost, measured on the CI machine (2 cores, PyPI at ~40 MB/s): 1.6 GB of
# wheels, about 60 s with an empty pip cache, 4.6 GB installed (torch's CUDA
# libraries are most of it: PyPI's Linux torch wheel is the CUDA build, and it
# links them at import even on a machine with no GPU).
set -uo pipefail
cd "$(dirname "$0")/.."

REQ=baseline/transformers/requirements.txt
VENV=build/venv-hf
NEED_KB=$((6 * 1024 * 1024)) # the install is 4.6 GB, pip unpacks beside it

say() { echo "install-transformers: $*" >&2; }

if [ "${BITNET_SKIP_TRANSFORMERS:-0}" = 1 ]; then
  say "BITNET_SKIP_TRANSFORMERS=1: not installing; the transformers baseline will be skipped"
  exit 0
fi
want=$(sha256sum "$REQ" | cut -d' ' -f1)
stamp="$VENV/.requirements.sha256"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

mkdir -p build
free_kb=$(df -Pk build | awk 'NR == 2 {print $4}')
if [ -n "$free_kb" ] && [ "$free_kb" -lt "$NEED_KB" ]; then
  say "only $((free_kb / 1024)) MiB free in build/, the baseline needs about 6 GiB;" \
    "not installing (the transformers baseline will be skipped)"
  exit 0
fi

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
  say "no python3; the transformers baseline will be skipped"
  exit 0
fi

# Built under a temporary name and renamed when it works, so a failed or
# interrupted install never leaves a half venv that the harness would try.
TMP="$VENV.tmp"
rm -rf "$TMP"
say "creating $VENV from $REQ (about 1.6 GB from PyPI, 4.6 GB installed)"
t0=$(date +%s)
if ! "$PY" -m venv "$TMP"; then
  say "cannot create a virtual environment with $PY; the transformers baseline will be skipped"
  rm -rf "$TMP"
  exit 0
fi
# --no-deps: the file pins every package, including torch's CUDA libraries, and
# leaves out what torch declares but the CPU path never loads (see the file)
if ! "$TMP/bin/pip" install -q --disable-pip-version-check --no-deps -r "$REQ"; then
  say "pip could not install $REQ; the transformers baseline will be skipped"
  rm -rf "$TMP"
  exit 0
fi
if ! TORCHDYNAMO_DISABLE=1 "$TMP/bin/python" -c \
  'import torch, transformers, accelerate, tokenizers, safetensors; torch.ones(2) @ torch.ones(2)'; then
  say "the installed packages do not import; the transformers baseline will be skipped"
  rm -rf "$TMP"
  exit 0
fi
echo "$want" > "$TMP/.requirements.sha256"
rm -rf "$VENV"
mv "$TMP" "$VENV"
# the venv's scripts (pip, pytest) name their interpreter by absolute path:
# point them at the final location (the python links themselves stay links)
for f in "$VENV"/bin/*; do
  [ -L "$f" ] || [ ! -f "$f" ] || sed -i "1s|^#!.*/$TMP/bin/python|#!$PWD/$VENV/bin/python|" "$f"
done
say "done in $(($(date +%s) - t0)) s, $(du -sh "$VENV" | cut -f1) in $VENV"
