#!/usr/bin/env bash
# The threading tests under ThreadSanitizer, in build-tsan/: two contexts on
# one model decoding on two threads (test_threads), streaming (test_stream),
# the API and chat tests, multi-sequence batches (test_batch), the metrics
# registry (test_serve_metrics: writers and a renderer on pthreads) and the
# HTTP server (serve_http). OpenMP is
# off in this build: libgomp is not built with TSan, so its barriers would be
# reported as races that are not there; the pthreads of test_threads are then
# the only threads, and what TSan checks is the library's own shared state
# (model, kernel table, logs).
#
# serve_http runs the whole tests/serve suite (pytest, about 1 minute here)
# against this tree's bitnet: libmicrohttpd's connection threads, the
# scheduler thread, the model loader, the drain on SIGTERM; a report in a
# server's log fails its test (conftest.py). libmicrohttpd itself is not
# instrumented, but it locks with pthread mutexes, which TSan intercepts, and
# no false report has come from it, so there is no suppressions file. The
# cancel/shutdown tests need a server slow enough to catch a request mid-way:
# under TSan the vector kernels have the pace that --isa ref has in a normal
# build (tests/serve/serve_util.py, SLOW_ISA).
set -euo pipefail
cd "$(dirname "$0")/.."
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export BITNET_TEST_SLOW_ISA=avx2
BUILD_DIR=build-tsan BUILD_TYPE=RelWithDebInfo \
  CMAKE_ARGS="-DBITNET_SANITIZER=thread -DBITNET_OPENMP=OFF -DBITNET_CUDA=OFF -DBITNET_WASM_TESTS=OFF" \
  CTEST_ARGS="-R ^(test_threads|test_stream|test_api|test_chat|test_batch|test_serve_metrics|serve_http)$" bash ci/test.sh
