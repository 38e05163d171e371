#!/usr/bin/env bash
# The prepared GPU check of the CUDA backend (issue 14, docs/cuda.md), for a
# machine with an NVIDIA GPU (sm_80 or newer):
#   1. builds with CUDA: the project's CMake build (BITNET_CUDA=ON, -Werror);
#      on a machine where the project's other dependencies are missing, only
#      the kernels, their test and the benchmark, straight with nvcc and gcc;
#   2. runs the tests labelled cuda (every kernel against its CPU truth; the
#      device decode forward pass against the CPU engine on fixtures) and the
#      host-side tests of the layouts, the weight plan and device selection;
#   3. runs bench_cuda (kernel times on the 2B-4T shapes, the copy-kernel
#      bandwidth, a kernel-sum estimate) and bench_cuda_forward (decode t/s of
#      the device forward pass on a 2B-4T-shaped fixture, CPU for scale).
# Results go to $OUT (when set, e.g. by the lent-device runner) or
# build/gpu-report/: env.txt, build.log, tests.log, bench.md, bench.json,
# bench_forward.md, bench_forward.json, summary.txt. Exit 0 only when every step passed; a skip is not a pass.
#
#   bash ci/gpu-check.sh                 build here and run here
#   bash ci/gpu-check.sh --build-only    build and collect the binaries and the
#                                        libraries they need in $BUILD_DIR/prebuilt
#   bash ci/gpu-check.sh --prebuilt DIR  run those on a GPU machine (no nvcc needed)
# GPU_CHECK_DIRECT=1 skips the CMake build and takes the direct one (whose
# binaries link the CUDA runtime statically). GPU_CHECK_SANITIZER=1 also runs
# the kernel test under compute-sanitizer.
set -uo pipefail
cd "$(dirname "$0")/.."
prebuilt="" build_only=0
case "${1:-}" in
--prebuilt) prebuilt=${2:?--prebuilt DIR} ;;
--build-only) build_only=1 ;;
"") ;;
*) echo "usage: ci/gpu-check.sh [--build-only | --prebuilt DIR]" >&2; exit 2 ;;
esac
REPORT=${OUT:-build/gpu-report}
BUILD_DIR=${BUILD_DIR:-build-gpu}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$REPORT"
: >"$REPORT/summary.txt"
status=0
step() { # step NAME RC
  local what="FAILED (exit $2)"
  [ "$2" = 0 ] && what=ok
  [ "$2" = 77 ] && what="SKIPPED (exit 77: no usable CUDA device), not a pass"
  echo "$1: $what" | tee -a "$REPORT/summary.txt"
  [ "$2" = 0 ] || status=1
}

CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
NVCC=$(command -v nvcc || echo "$CUDA_HOME/bin/nvcc")
{
  date -u
  nvidia-smi 2>&1 || echo "nvidia-smi: not found"
  "$NVCC" --version 2>&1 || echo "nvcc: not found at $NVCC"
  uname -a
} >"$REPORT/env.txt"

# --- build --------------------------------------------------------------------
BINS=() # test binaries to run, then the benchmark last
if [ -n "$prebuilt" ]; then
  for b in test_cuda_kernels test_cuda_forward; do
    [ -x "$prebuilt/$b" ] && BINS+=("$prebuilt/$b")
  done
  BENCH_BIN=$prebuilt/bench_cuda
  FWD_BIN=$prebuilt/bench_cuda_forward
  [ ${#BINS[@]} -gt 0 ] && [ -x "$BENCH_BIN" ]
  step "prebuilt binaries in $prebuilt" $?
  export LD_LIBRARY_PATH="$prebuilt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  mode=prebuilt
elif [ ! -x "$NVCC" ]; then
  echo "gpu-check: nvcc not found (PATH, $CUDA_HOME/bin); use --prebuilt" | tee -a "$REPORT/summary.txt"
  exit 2
elif [ "${GPU_CHECK_DIRECT:-0}" != 1 ] &&
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBITNET_WERROR=ON -DBITNET_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$NVCC" >"$REPORT/build.log" 2>&1; then
  mode=cmake
  cmake --build "$BUILD_DIR" -j "$JOBS" --target test_cuda_kernels test_cuda_forward \
    test_cuda_layout test_cuda_weights test_cuda_forward_host test_device bench_cuda \
    bench_cuda_forward bitnet_cli >>"$REPORT/build.log" 2>&1
  step "build (cmake, BITNET_CUDA=ON, -Werror)" $?
  BINS=("$BUILD_DIR/tests/test_cuda_kernels" "$BUILD_DIR/tests/test_cuda_forward")
  BENCH_BIN=$BUILD_DIR/bin/bench_cuda
  FWD_BIN=$BUILD_DIR/bin/bench_cuda_forward
else
  # no CMake build: the CUDA kernels and their CPU truth need no library
  mode=direct
  echo "gpu-check: direct build (CMake configure failed, see build.log, or GPU_CHECK_DIRECT=1)" \
    | tee -a "$REPORT/summary.txt"
  D=$BUILD_DIR/direct
  mkdir -p "$D"
  rc=0
  for cu in kernels/cuda/*.cu; do
    "$NVCC" -O3 -std=c++17 --fmad=false -Werror all-warnings -Ikernels -Ikernels/cuda \
      -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
      -c "$cu" -o "$D/$(basename "$cu" .cu).o" >>"$REPORT/build.log" 2>&1 || rc=1
  done
  CFLAGS="-O2 -std=c11 -ffp-contract=off -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra
          -Iinclude -Ikernels -Iengine/model -Iengine/util -Itests"
  LIBS="$D/attention.o $D/rows.o $D/runtime.o $D/ternary.o -L$CUDA_HOME/lib64
        -lcudart_static -ldl -lrt -lpthread -lstdc++ -lm"
  gcc $CFLAGS tests/cuda/test_cuda_kernels.c kernels/ref/i2s_ref.c kernels/ref/dot_ref.c \
    kernels/ref/quantize_ref.c kernels/ref/attn_ref.c kernels/cuda/cuda_layout.c \
    engine/model/ops.c $LIBS -o "$D/test_cuda_kernels" >>"$REPORT/build.log" 2>&1 || rc=1
  gcc $CFLAGS bench/cuda/bench_cuda.c $LIBS -o "$D/bench_cuda" >>"$REPORT/build.log" 2>&1 || rc=1
  step "build (direct nvcc + gcc; no forward-pass test)" $rc
  BINS=("$D/test_cuda_kernels")
  BENCH_BIN=$D/bench_cuda
fi

if [ "$build_only" = 1 ]; then
  P=$BUILD_DIR/prebuilt
  rm -rf "$P" && mkdir -p "$P"
  cp "${BINS[@]}" "$BENCH_BIN" ${FWD_BIN:+"$FWD_BIN"} "$P/" || status=1
  # the shared libraries a GPU machine may lack (the system's C library it has)
  for lib in $(ldd "$P"/* 2>/dev/null | awk '/libcudart|libcjson|libpcre2|libgomp/ {print $3}' | sort -u); do
    cp -L "$lib" "$P/" || status=1
  done
  echo "gpu-check: $(ls "$P" | tr '\n' ' ')in $P; run: bash ci/gpu-check.sh --prebuilt $P"
  exit $status
fi

# --- tests --------------------------------------------------------------------
export BITNET_BUILD_DIR=${BITNET_BUILD_DIR:-$BUILD_DIR} # the tests' scratch files go there
mkdir -p "$BITNET_BUILD_DIR"
: >"$REPORT/tests.log"
if [ "$mode" = cmake ]; then
  ctest --test-dir "$BUILD_DIR" --output-on-failure -L cuda -V >>"$REPORT/tests.log" 2>&1
  step "ctest -L cuda" $?
  ctest --test-dir "$BUILD_DIR" --output-on-failure \
    -R '^(test_cuda_layout|test_cuda_weights|test_cuda_forward_host|test_device)$' -V >>"$REPORT/tests.log" 2>&1
  step "host tests (test_cuda_layout, test_cuda_weights, test_cuda_forward_host, test_device)" $?
  # ctest counts a skipped test as passed: look for the skip message
  if grep -q "SKIPPED: no CUDA device" "$REPORT/tests.log"; then
    step "cuda tests on a device" 77
  fi
else
  for b in "${BINS[@]}"; do
    echo "== $b" >>"$REPORT/tests.log"
    "$b" >>"$REPORT/tests.log" 2>&1
    rc=$?
    step "$(basename "$b")" $rc
  done
fi
if [ "${GPU_CHECK_SANITIZER:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --error-exitcode 1 "${BINS[0]}" >"$REPORT/sanitizer.log" 2>&1
  rc=$?
  step "compute-sanitizer $(basename "${BINS[0]}")" $rc
fi

# --- benchmark ----------------------------------------------------------------
"$BENCH_BIN" --json "$REPORT/bench.json" >"$REPORT/bench.md" 2>&1
step "bench_cuda" $?
cat "$REPORT/bench.md"
# the device forward pass on a 2B-4T-shaped fixture (about 1.1 GiB, written
# under $BITNET_BUILD_DIR and removed), with the CPU engine for scale
if [ -n "${FWD_BIN:-}" ] && [ -x "$FWD_BIN" ]; then
  "$FWD_BIN" --json "$REPORT/bench_forward.json" >"$REPORT/bench_forward.md" 2>&1
  step "bench_cuda_forward (2b4t)" $?
  cat "$REPORT/bench_forward.md"
fi
echo "gpu-check: results in $REPORT (summary.txt)"
exit $status
