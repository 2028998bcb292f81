#!/usr/bin/env bash
# Long fuzzing runs of every libFuzzer target (clang 14, ASan + UBSan), one after another on one
# core. Usage: scripts/fuzz.sh [RUNS] [TARGET...]   (RUNS default 1000000; targets: loader asm
# run-input onnx). Corpora grow in build/fuzz/NAME/corpus (seeded like the CI runs); crashes,
# leaks and timeouts are written there as crash-*/leak-*/timeout-* and end that target's run.
# Prints one line per target: executions, seconds, result. Needs the release build (build.sh).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-1000000}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(loader asm run-input onnx)
bin="$root/build/bin"
ninja -C "$root/build" mamba2-as $(printf 'mamba2-fuzz-%s ' "${targets[@]}") >/dev/null || exit 1
for t in "${targets[@]}"; do
  work="$root/build/fuzz/$t"
  mkdir -p "$work/corpus"
  case $t in
    loader) "$bin/mamba2-as" "$root/test/fuzz/seed.s" -o "$work/corpus/seed.m2b"; maxlen=4096 ;;
    asm) cp "$root/test/fuzz/seed.s" "$root/test/lit/runtime/run-print.test" \
      "$root"/test/fuzz/regressions/asm/* "$work/corpus/"; maxlen=4096 ;;
    run-input) cp "$root/test/fuzz/run-input-seed.bin" "$work/corpus/"; maxlen=4096 ;;
    onnx) cp "$root"/test/fuzz/onnx-seeds/* "$root"/test/fuzz/regressions/onnx/* "$work/corpus/"; maxlen=65536 ;;
    *) echo "fuzz.sh: unknown target '$t'" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  (cd "$work" && "$bin/mamba2-fuzz-$t" -runs="$runs" -seed=1 -max_len=$maxlen -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 corpus >"$work/log" 2>&1)
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
  result=$([ $rc -eq 0 ] && echo "0 crashes, 0 leaks, 0 timeouts" || echo "FAILED (exit $rc): see $work/log")
  printf '%-10s %12s executions %6ss  %s\n' "$t" "${execs:-?}" "$(($(date +%s) - start))" "$result"
done
