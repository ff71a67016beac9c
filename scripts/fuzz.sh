#!/bin/sh
# scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...] — runs the libFuzzer
# targets of a TRACKRELAY_FUZZ build (fuzz/) for a bounded time each, and
# fails when any of them crashes, leaks, times out or breaks an invariant.
#
#   scripts/fuzz.sh            every target, 60 s each
#   scripts/fuzz.sh 300 html   one target, 5 minutes
#
# Build first (clang-14):
#   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DTRACKRELAY_FUZZ=ON \
#     -DTRACKRELAY_TESTS=OFF && cmake --build build-fuzz -j2 --target fuzz
#
# Per target NAME (the list is build-fuzz/fuzz/targets.tsv, from fuzz/targets.cmake):
#   build-fuzz/fuzz-seeds/NAME   seeds, rebuilt on every run: the target's
#                                globs from ../shared/corpus, fuzz/seeds/NAME/,
#                                tests/regressions/NAME/ (never copied into the repo)
#   build-fuzz/fuzz-corpus/NAME  what libFuzzer found, kept between runs
#   build-fuzz/crashes/NAME/     crash-*, leak-*, timeout-*, oom-* inputs
#   build-fuzz/fuzz-logs/NAME.log
# Every file of tests/regressions/NAME/ is replayed before fuzzing.
#
# Environment: FUZZ_BUILD_DIR (build-fuzz), TRACKRELAY_CORPUS_DIR
# (../shared/corpus), FUZZ_JOBS (1: targets run one at a time; 2 runs two at
# once), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (10 s per input).
# Prints total executions per target and "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SECONDS_PER_TARGET=60
if [ $# -gt 0 ]; then
  case "$1" in
    '' | *[!0-9]*) ;;
    *) SECONDS_PER_TARGET=$1; shift ;;
  esac
fi
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CORPUS=${TRACKRELAY_CORPUS_DIR:-$ROOT/../shared/corpus}
JOBS=${FUZZ_JOBS:-1}
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}
MANIFEST="$BUILD/fuzz/targets.tsv"
# UBSan findings abort (-fno-sanitize-recover); show where they happened.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

if [ ! -f "$MANIFEST" ]; then
  echo "fuzz.sh: $MANIFEST not found: configure $BUILD with -DTRACKRELAY_FUZZ=ON (clang)" >&2
  exit 2
fi
if [ ! -d "$CORPUS" ]; then
  echo "fuzz.sh: warning: no corpus at $CORPUS; seeding from fuzz/seeds only" >&2
fi
mkdir -p "$BUILD/fuzz-seeds" "$BUILD/fuzz-corpus" "$BUILD/crashes" "$BUILD/fuzz-logs"
RESULTS="$BUILD/fuzz-logs/results.txt"
: >"$RESULTS"

wanted() {  # wanted NAME: selected on the command line (all when none given)
  [ -z "$SELECTED" ] && return 0
  case " $SELECTED " in *" $1 "*) return 0 ;; esac
  return 1
}
SELECTED="$*"

# Copies regular files matching the globs (relative to $1) into directory $2.
copy_globs() {
  base=$1 dest=$2
  shift 2
  [ -d "$base" ] || return 0
  for g in "$@"; do
    for f in "$base"/$g; do
      if [ -f "$f" ]; then cp "$f" "$dest/"; fi
    done
  done
}

# Runs one target; appends "NAME STATUS EXECS" to $RESULTS.
run_target() {
  name=$1 bin=$2 max_len=$3 dict=$4 globs=$5
  seeds="$BUILD/fuzz-seeds/$name"
  corpus="$BUILD/fuzz-corpus/$name"
  crashes="$BUILD/crashes/$name"
  log="$BUILD/fuzz-logs/$name.log"
  rm -rf "$seeds"
  mkdir -p "$seeds" "$corpus" "$crashes"
  if [ "$globs" != "-" ]; then
    # shellcheck disable=SC2086
    copy_globs "$CORPUS" "$seeds" $globs
  fi
  copy_globs "$ROOT/fuzz/seeds/$name" "$seeds" '*'
  copy_globs "$ROOT/tests/regressions/$name" "$seeds" '*'
  rm -f "$seeds/README.md"
  if [ "$name" = config ]; then cp "$ROOT/conf/trackrelay.example.yaml" "$seeds/"; fi

  status=PASS
  # Known regressions first: each file once.
  regressions=$(find "$ROOT/tests/regressions/$name" -type f ! -name README.md 2>/dev/null || true)
  if [ -n "$regressions" ]; then
    # shellcheck disable=SC2086
    if ! "$bin" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" $regressions \
        >"$log.regressions" 2>&1 </dev/null; then
      status=FAIL
      echo "=== $name: a file of tests/regressions/$name fails (see $log.regressions)"
      tail -n 30 "$log.regressions"
    fi
  fi

  # A fixed seed (FUZZ_SEED, default 1) makes a run repeatable, so a failure
  # seen in CI can be reproduced; FUZZ_SEED=0 lets libFuzzer pick one.
  set -- -seed="${FUZZ_SEED:-1}" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
    -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$crashes/"
  if [ "$dict" != "-" ]; then set -- "$@" -dict="$dict"; fi
  if ! "$bin" "$@" "$corpus" "$seeds" >"$log" 2>&1 </dev/null; then
    status=FAIL
    echo "=== $name: FAILED (log $log); last lines:"
    tail -n 40 "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "$name $status ${execs:-?}" >>"$RESULTS"
  echo "$name: $status, ${execs:-?} executions in ${SECONDS_PER_TARGET} s"
}

TAB=$(printf '\t')
running=0
while IFS="$TAB" read -r name bin max_len dict globs; do
  [ -n "$name" ] || continue
  wanted "$name" || continue
  if [ ! -x "$bin" ]; then
    echo "$name MISSING 0" >>"$RESULTS"
    echo "$name: FAIL, $bin is not built (cmake --build $BUILD --target fuzz)"
    continue
  fi
  run_target "$name" "$bin" "$max_len" "$dict" "$globs" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait
    running=0
  fi
done <"$MANIFEST"
wait

passed=$(grep -c ' PASS ' "$RESULTS" || true)
failed=$(grep -vc ' PASS ' "$RESULTS" || true)
echo "=== executions per target"
awk '{ printf "  %-12s %-5s %s\n", $1, $2, $3 }' "$RESULTS"
if [ "$failed" -gt 0 ]; then
  echo "crash inputs: $BUILD/crashes/ (add each to tests/regressions/NAME/ with its fix)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
