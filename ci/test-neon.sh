#!/usr/bin/env bash
# Cross-compiles the reference and NEON kernels with tests/test_kernels.c for
# AArch64 and runs the test under qemu-user: the NEON table is then checked
# against the reference like the x86 ones. QEMU_CPU picks the emulated core
# (default "max", which has the dot-product extension; "cortex-a53" has not,
# which exercises the vmull fallback). Needs the Debian packages
# gcc-aarch64-linux-gnu and qemu-user. Exit 77 when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC_AARCH64:-aarch64-linux-gnu-gcc}
if ! command -v "$CC" >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  echo "SKIPPED: needs $CC and qemu-aarch64 (apt-get install gcc-aarch64-linux-gnu qemu-user)"
  exit 77
fi
OUT=${BUILD_DIR:-build-neon}
mkdir -p "$OUT"
CFLAGS="-O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -ffp-contract=off
        -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
        -Iinclude -Iengine/util -Ikernels -Itests"
# Only the NEON file gets the dot-product flag (as in CMakeLists.txt).
$CC $CFLAGS -march=armv8.2-a+dotprod -c kernels/arm/kernels_neon.c -o "$OUT/kernels_neon.o"
$CC $CFLAGS -DBN_NEON_KERNELS -static tests/test_kernels.c kernels/dispatch.c kernels/ref/*.c \
  kernels/arm/elementwise_neon.c engine/util/error.c "$OUT/kernels_neon.o" -lm -o "$OUT/test_kernels"
status=0
for cpu in ${QEMU_CPUS:-max cortex-a53}; do
  echo "== qemu-aarch64 -cpu $cpu"
  BITNET_TEST_ISA=neon qemu-aarch64 -cpu "$cpu" "$OUT/test_kernels" || status=1
done
exit $status
