#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets (tests/fuzz/, clang with
# ASan + UBSan, in build-fuzz/) and runs each for SECONDS (default 60) from its seed corpus
# (tests/fuzz/corpus/<target>, copied: the repository's corpus is not changed). Prints each
# target's executions per second and coverage; a crash leaves its input in
# build-fuzz/artifacts/<target>/ and makes the script fail: copy it to
# tests/fuzz/regressions/<target>/ once fixed, and CTest replays it from then on.
# The checkpoint target needs the Release build's model library (build/model/libcpusim_model.a).
# FUZZ_FAIL=unknown: fail only on a finding that is not a known bug of the libraries under the
# targets (tests/fuzz/known-library-bugs.txt, matched against the finding's error and stack):
# the test command's brief run, which a libhdf5 or libtorch bug must not turn red while any new
# finding in cpusim does. FUZZ_FAIL=0: report what was found without failing.
# scripts/fuzz.sh --classify TARGET LOG: prints which known bug a crash log is (exit 0) or
# "unknown" (exit 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# The known library bug a finding's log shows, or nothing (status 1).
known_bug() {  # TARGET LOG
  local t=$1 log=$2 line tgt re
  # The first error line and the 16 frames after it, as one line.
  line=$(awk '/ERROR: / && !e {e = 1; printf "%s ", $0; next}
              e && /^ *#[0-9]+ / {if (++n > 16) exit; printf "%s ", $0}' "$log")
  [ -n "$line" ] || return 1
  while read -r tgt re; do
    case "$tgt" in '' | '#'*) continue ;; esac
    [ "$tgt" = "$t" ] || continue
    if grep -qE -- "$re" <<< "$line"; then
      echo "$re"
      return 0
    fi
  done < "$root/tests/fuzz/known-library-bugs.txt"
  return 1
}
if [ "${1:-}" = --classify ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --classify TARGET LOG" >&2; exit 2; }
  known_bug "$2" "$3" || { echo unknown; exit 1; }
  exit 0
fi
seconds=${1:-60}
shift || true
targets=("$@")
dir="$root/build-fuzz"
mkdir -p "$dir"
model_lib="$root/build/model/libcpusim_model.a"
extra=()
[ -f "$model_lib" ] && extra=(-DCPUSIM_FUZZ_MODEL_LIB="$model_lib")
CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCPUSIM_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${extra[@]}" > "$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log"; exit 1; }
if [ ${#targets[@]} -eq 0 ]; then
  targets=(asm trace paper_layout folder h5)
  [ -f "$model_lib" ] && targets+=(checkpoint)
fi
cmake --build "$dir" -j"${JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}")
export CPUSIM_FUZZ_TMP="$dir/tmp"
mkdir -p "$CPUSIM_FUZZ_TMP"
status=0
printf '%-14s %10s %10s %8s %8s  %s\n' target runs exec/s cov ft result
for t in "${targets[@]}"; do
  work="$dir/corpus/$t"
  mkdir -p "$work" "$dir/artifacts/$t"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  max_len=65536
  [ "$t" = checkpoint ] && max_len=262144  # (its seeds are small models of ~100 KB)
  opts=(-max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=4096 -max_len=$max_len
        -artifact_prefix="$dir/artifacts/$t/")
  env=(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions="$root/tests/fuzz/lsan.supp")
  # libtorch (not instrumented) keeps allocations to the end and mixes allocators in ways ASan flags.
  [ "$t" = checkpoint ] && env=(ASAN_OPTIONS=detect_leaks=0:alloc_dealloc_mismatch=0 UBSAN_OPTIONS=print_stacktrace=1)
  log="$dir/fuzz-$t.log"
  if env "${env[@]}" "$dir/tests/fuzz/fuzz_$t" "${opts[@]}" "$work" > "$log" 2>&1; then
    result=ok
  elif [ "${FUZZ_FAIL:-1}" = unknown ] && sig=$(known_bug "$t" "$log"); then
    result="known library bug ($sig)"
  else
    result=CRASH
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  printf '%-14s %10s %10s %8s %8s  %s\n' "$t" "$runs" "$rate" "$cov" "$ft" "$result"
  [ "$result" != CRASH ] || { grep -m3 -E 'ERROR|property failed|SUMMARY|Test unit written' "$log" || true; }
done
rm -rf "$CPUSIM_FUZZ_TMP"
if [ "$status" -ne 0 ] && [ "${FUZZ_FAIL:-1}" = 0 ]; then
  echo "fuzz: findings above (inputs in $dir/artifacts/); not failing (FUZZ_FAIL=0)"
  exit 0
fi
exit $status
