#!/bin/sh
# tests/ci/no_skips_test.sh SOURCE_DIR — scripts/ctest-no-skips.sh (what
# scripts/test.sh runs ctest with) fails when a test skipped itself (exit 77
# with SKIP_RETURN_CODE, or GTEST_SKIP's "[  SKIPPED ]" output) and passes
# only when every test ran and passed. Uses a throw-away ctest project.
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

project() {  # project DIR SKIP_KIND(none|rc|gtest)
  mkdir -p "$1"
  {
    echo 'cmake_minimum_required(VERSION 3.20)'
    echo 'project(skips NONE)'
    echo 'enable_testing()'
    echo 'add_test(NAME passes COMMAND sh -c "exit 0")'
    case $2 in
      rc) echo 'add_test(NAME skips COMMAND sh -c "echo SKIP: no root; exit 77")'
          echo 'set_tests_properties(skips PROPERTIES SKIP_RETURN_CODE 77)' ;;
      gtest) printf '%s\n' 'add_test(NAME skips COMMAND sh -c "echo \"[  SKIPPED ] x\"; exit 0")'
             printf '%s\n' 'set_tests_properties(skips PROPERTIES SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")' ;;
    esac
  } >"$1/CMakeLists.txt"
  cmake -S "$1" -B "$1/build" >/dev/null
}

project "$tmp/clean" none
"$src/scripts/ctest-no-skips.sh" "$tmp/clean/build" >/dev/null 2>&1 || fail "a clean run failed"

for kind in rc gtest; do
  project "$tmp/$kind" "$kind"
  if "$src/scripts/ctest-no-skips.sh" "$tmp/$kind/build" >"$tmp/$kind.out" 2>&1; then
    cat "$tmp/$kind.out" >&2
    fail "a skipped test ($kind) did not fail the run"
  fi
  grep -q "tests were skipped" "$tmp/$kind.out" || fail "no reason given ($kind)"
  grep -q "skips (Skipped)" "$tmp/$kind.out" || fail "the skipped test is not named ($kind)"
done
echo "ok: skips fail scripts/test.sh"
