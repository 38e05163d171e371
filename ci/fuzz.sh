#!/bin/sh
# Builds the GGUF reader's libFuzzer target with clang (libFuzzer + ASan +
# UBSan, leak detection on) from only the sources it needs, and runs it for a
# bounded time starting from the committed seed corpus.
#
#   ci/fuzz.sh [SECONDS]        default 60; FUZZ_OUT (default build-fuzz) holds
#                               the binary, the working corpus and any crashes
#
# New inputs go to $FUZZ_OUT/corpus, never into fuzz/corpus/gguf: only a
# minimized crash input, once fixed, is committed there (see fuzz/README.md).
# Needs clang and libclang-rt-14-dev (Debian: apt-get install clang libclang-rt-14-dev).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TIME=${1:-${FUZZ_TIME:-60}}
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
CC=${FUZZ_CC:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "fuzz.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 77
fi

mkdir -p "$OUT/corpus" "$OUT/artifacts"
cd "$ROOT"
"$CC" -std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -ffp-contract=off \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -Iinclude -Iengine -Ikernels \
    engine/gguf.c engine/gguf_writer.c engine/alloc.c engine/error.c engine/strmap.c \
    kernels/types.c fuzz/fuzz_gguf.c -o "$OUT/fuzz_gguf" -lm

# -malloc_limit_mb: the reader's allocations are bounded by a small multiple
# of the input size, so anything near this limit is a bug.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
"$OUT/fuzz_gguf" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -max_len=65536 -dict=fuzz/gguf.dict -artifact_prefix="$OUT/artifacts/" \
    -print_final_stats=1 "$OUT/corpus" fuzz/corpus/gguf
