#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds tests/consumer/consumer.c
# against the installed tree four ways: pkg-config shared and static,
# find_package shared and static. Each program runs from another directory and
# must print what `bitnet run --temp 0` (the installed one) prints.
#   run.sh BUILD_DIR [CC [SANITIZERS]]
# SANITIZERS: the build's BITNET_SANITIZER (address,undefined): the consumer
# is compiled with the same -fsanitize flags, as it must be to link with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
cc=${2:-cc}
san=()
[ -n "${3:-}" ] && san=(-fsanitize="$3" -fno-omit-frame-pointer)
work=$build/consumer
rm -rf "$work"
mkdir -p "$work/run"
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/bitnet.h lib/libbitnet.a lib/pkgconfig/bitnet.pc lib/cmake/bitnet/bitnetConfig.cmake \
         lib/cmake/bitnet/bitnetConfigVersion.cmake bin/bitnet bin/bitnet-validate; do
  [ -e "$prefix/$f" ] || { echo "FAIL: the install has no $f"; exit 1; }
done
abi=$(sed -n 's/^#define BITNET_ABI_VERSION \([0-9]*\).*/\1/p' "$here/../../include/bitnet.h")
soname=$(readelf -d "$prefix/lib/libbitnet.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libbitnet.so.$abi" ] || { echo "FAIL: soname '$soname', want libbitnet.so.$abi"; exit 1; }

# everything below runs from $work/run, away from the source and build trees
cd "$work/run"
"$prefix/bin/bitnet" fixture --preset tiny -q -o model.gguf
prompt="Hello world"
want=$("$prefix/bin/bitnet" run -m model.gguf -p "$prompt" -n 12 --temp 0 -t 1 2>/dev/null)
[ -n "$want" ] || { echo "FAIL: bitnet run printed nothing"; exit 1; }

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pc_libdir=$(pkg-config --variable=libdir bitnet)
# shared: rpath to the installed lib
"$cc" "${san[@]}" "$here/consumer.c" -o pc_shared $(pkg-config --cflags --libs bitnet) -Wl,-rpath,"$pc_libdir"
# static: the archive by path plus the private flags (pkg-config --static)
"$cc" "${san[@]}" "$here/consumer.c" -o pc_static $(pkg-config --cflags bitnet) "$pc_libdir/libbitnet.a" \
  $(pkg-config --static --libs bitnet | sed 's/\(^\| \)-lbitnet\( \|$\)/ /')

for kind in shared static; do
  static=OFF
  [ $kind = static ] && static=ON
  cmake -S "$here" -B "cm_$kind" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="${san[*]}" \
    -DBITNET_USE_STATIC_LIBS=$static >"cm_$kind.log" 2>&1 || { cat "cm_$kind.log"; exit 1; }
  cmake --build "cm_$kind" >>"cm_$kind.log" 2>&1 || { cat "cm_$kind.log"; exit 1; }
  cp "cm_$kind/consumer" "cm_$kind.bin"
done

fail=0
for exe in pc_shared pc_static cm_shared.bin cm_static.bin; do
  needed=$(readelf -d "$exe" | grep -c 'NEEDED.*libbitnet' || true)
  case $exe in
    *static*) [ "$needed" = 0 ] || { echo "FAIL: $exe needs libbitnet.so"; fail=1; } ;;
    *) resolved=$(env -u LD_LIBRARY_PATH ldd "./$exe" | sed -n 's/.*libbitnet[^ ]* => \([^ ]*\).*/\1/p')
       case $resolved in
         "$prefix"/lib/*) ;;
         *) echo "FAIL: $exe loads libbitnet from '$resolved', not $prefix/lib"; fail=1 ;;
       esac ;;
  esac
  got=$(env -u LD_LIBRARY_PATH "./$exe" model.gguf "$prompt" 12) || { echo "FAIL: $exe exited $?"; fail=1; continue; }
  if [ "$got" != "$want" ]; then
    echo "FAIL: $exe printed '$got', bitnet run printed '$want'"
    fail=1
  else
    echo "ok: $exe"
  fi
done
[ $fail = 0 ] && echo "consumer: 4 builds against $prefix match bitnet run"
exit $fail
