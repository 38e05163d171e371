#!/usr/bin/env bash
# ci/wasm-deps.sh PREFIX: PCRE2 (8-bit, no JIT) and cJSON built with emcc into
# PREFIX/{include,lib}, from Debian bookworm's own source packages (apt-get
# source with a private deb-src list, so the machine's apt configuration is
# untouched): libbitnet needs both and Emscripten 3.1.6 ships neither.
# Skips the work when PREFIX already holds both libraries.
set -euo pipefail
prefix=${1:?usage: ci/wasm-deps.sh PREFIX}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
if [ -f "$prefix/lib/libpcre2-8.a" ] && [ -f "$prefix/lib/libcjson.a" ]; then exit 0; fi
command -v emcc >/dev/null || { echo "ci/wasm-deps.sh: emcc not found (apt-get install emscripten)" >&2; exit 1; }

work="$prefix/src"
mkdir -p "$work/apt/lists/partial" "$prefix/include" "$prefix/lib"
echo "deb-src http://deb.debian.org/debian bookworm main" >"$work/apt/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
          -o "Dir::State::Lists=$work/apt/lists" -o Debug::NoLocking=1)
cd "$work"
if ! ls pcre2_*.orig.tar.* >/dev/null 2>&1 || ! ls cjson_*.orig.tar.* >/dev/null 2>&1; then
    apt-get "${apt_opts[@]}" -qq update
    apt-get "${apt_opts[@]}" -qq source --download-only pcre2 cjson
fi
rm -rf pcre2-src cjson-src && mkdir pcre2-src cjson-src
tar -xf pcre2_*.orig.tar.* -C pcre2-src --strip-components=1
tar -xf cjson_*.orig.tar.* -C cjson-src --strip-components=1

# cJSON is one file.
emcc -O2 -c cjson-src/cJSON.c -o cjson-src/cJSON.o
emar rcs "$prefix/lib/libcjson.a" cjson-src/cJSON.o
mkdir -p "$prefix/include/cjson" && cp cjson-src/cJSON.h "$prefix/include/cjson/"

# PCRE2: its CMake build, library only.
emcmake cmake -S pcre2-src -B pcre2-build -DCMAKE_BUILD_TYPE=Release -DPCRE2_BUILD_PCRE2_8=ON \
    -DPCRE2_BUILD_PCRE2_16=OFF -DPCRE2_BUILD_PCRE2_32=OFF -DPCRE2_SUPPORT_JIT=OFF \
    -DPCRE2_SUPPORT_UNICODE=ON -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF \
    -DBUILD_SHARED_LIBS=OFF -DCMAKE_INSTALL_PREFIX="$prefix" >pcre2-build.log
cmake --build pcre2-build -j2 --target install >>pcre2-build.log
