#!/usr/bin/env bash
# The threading tests under ThreadSanitizer, in build-tsan/: two contexts on
# one model decoding on two threads (test_threads), streaming (test_stream),
# the API and chat tests, multi-sequence batches (test_batch), and the metrics
# registry (test_serve_metrics: writers and a renderer on pthreads). OpenMP is
# off in this build: libgomp is not built with TSan, so its barriers would be
# reported as races that are not there; the pthreads of test_threads are then
# the only threads, and what TSan checks is the library's own shared state
# (model, kernel table, logs).
set -euo pipefail
cd "$(dirname "$0")/.."
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
BUILD_DIR=build-tsan BUILD_TYPE=RelWithDebInfo \
  CMAKE_ARGS="-DBITNET_SANITIZER=thread -DBITNET_OPENMP=OFF" \
  CTEST_ARGS="-R ^(test_threads|test_stream|test_api|test_chat|test_batch|test_serve_metrics)$" bash ci/test.sh
