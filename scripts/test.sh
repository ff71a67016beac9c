#!/bin/sh
# scripts/test.sh — README command 2: install what the tests need, build a
# Release build and an ASan+UBSan build (warnings are errors in both), and run
# the whole test suite with ctest in each; then a bounded libFuzzer run (fuzz/).
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
# A test that cannot run is a failure here (scripts/ctest-no-skips.sh).
echo "=== ctest: Release ==="
scripts/ctest-no-skips.sh build -j"$JOBS"
echo "=== ctest: ASan+UBSan ==="
scripts/ctest-no-skips.sh build-asan -j"$JOBS"
# Bounded fuzzing (fuzz/, scripts/fuzz.sh): the libFuzzer targets, built with
# clang-14 in build-fuzz, run JOBS at a time for FUZZ_SECONDS each (default:
# about 6 minutes of fuzzing in all, at most 60 s a target). A crash, leak,
# timeout or broken invariant fails the test command; the input is saved in
# build-fuzz/crashes/. FUZZ_SECONDS=0 skips this step.
FUZZ_SECONDS=${FUZZ_SECONDS:-}
if [ "$FUZZ_SECONDS" != 0 ]; then
  echo "=== fuzz: libFuzzer targets ==="
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTRACKRELAY_FUZZ=ON -DTRACKRELAY_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j"$JOBS" --target fuzz
  if [ -z "$FUZZ_SECONDS" ]; then
    targets=$(grep -c . build-fuzz/fuzz/targets.tsv)
    FUZZ_SECONDS=$((360 * JOBS / targets))
    if [ "$FUZZ_SECONDS" -gt 60 ]; then FUZZ_SECONDS=60; fi
  fi
  FUZZ_JOBS=$JOBS scripts/fuzz.sh "$FUZZ_SECONDS"
fi
