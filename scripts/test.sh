#!/bin/sh
# scripts/test.sh — README command 2: install what the tests need, build a
# Release build and an ASan+UBSan build (warnings are errors in both), and run
# the whole test suite with ctest in each.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
JOBS=${JOBS:-2}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTRACKRELAY_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRACKRELAY_SANITIZE=ON -DTRACKRELAY_WERROR=ON >/dev/null
cmake --build build-asan -j"$JOBS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "=== ctest: Release ==="
ctest --test-dir build --output-on-failure -j"$JOBS"
echo "=== ctest: ASan+UBSan ==="
ctest --test-dir build-asan --output-on-failure -j"$JOBS"
