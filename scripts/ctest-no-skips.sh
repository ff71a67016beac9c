#!/bin/sh
# scripts/ctest-no-skips.sh BUILD_DIR [CTEST_ARGS...] — runs ctest in
# BUILD_DIR (scripts/test.sh, for each build) and fails when a test failed
# or was skipped: a test that cannot run (exit 77, GTEST_SKIP) is reported
# by ctest as "Skipped" / "did not run", and CI runs as root with every
# package installed, so a skip there is a failure.
set -eu
dir=$1
shift
ctest --test-dir "$dir" --output-on-failure --output-log "$dir/ctest.log" "$@"
if grep -q "The following tests did not run" "$dir/ctest.log"; then
  sed -n '/The following tests did not run/,/^$/p' "$dir/ctest.log" >&2
  echo "ctest-no-skips: tests were skipped in $dir (listed above): a skipped test is a failure" >&2
  exit 1
fi
