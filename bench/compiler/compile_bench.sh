#!/usr/bin/env bash
# Compile time and peak memory of mamba2c, phase by phase (docs/codegen.md "The 2.7B shape").
#   bash bench/compiler/compile_bench.sh [--build DIR] MODEL.onnx [mamba2c options ...]
# Runs `mamba2c MODEL -o TMP.m2b --report OPTIONS` under /usr/bin/time and prints a markdown
# table: each phase and pass with its wall time, the resident set at its end, the process's
# peak so far and how much the peak rose during it; then the wall time and the maximum resident
# set that the kernel reports for the whole process. Options default to the 130M row of
# docs/codegen.md (--quant w8a8 --target u280 --calib-bytes 512); with options, they replace
# the defaults. `--keep FILE` keeps the program (e.g. to `cmp` it with another build's).
# Full-size models need up to 12 GB: run one at a time.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build
if [ "${1:-}" = "--build" ]; then build=$2; shift 2; fi
model=${1:?usage: compile_bench.sh [--build DIR] MODEL.onnx [mamba2c options]}
shift
keep=""
opts=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--keep" ]; then keep=$2; shift 2; else opts+=("$1"); shift; fi
done
if [ ${#opts[@]} -eq 0 ]; then opts=(--quant w8a8 --target u280 --calib-bytes 512); fi
ninja -C "$build" mamba2c >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${keep:-$tmp/out.m2b}
if ! /usr/bin/time -f "time: %e s %M KB %U user %S sys" -o "$tmp/time" \
    "$build/bin/mamba2c" "$model" -o "$out" --report "${opts[@]}" 2> "$tmp/err" >/dev/null; then
  cat "$tmp/err" >&2
  exit 1
fi
echo "mamba2c $(basename "$model") ${opts[*]}"
echo
echo "| phase | wall s | CPU s | RSS at end (GB) | peak so far (GB) | peak rose by (GB) |"
echo "|---|---|---|---|---|---|"
# The table mamba2c --report prints last: from its header to its total line.
awk '/^phase +seconds/ {on = 1; next}
     on && /^total/ {printf "| **total** | %s | %s | | %s | |\n", $2, $3, $4; on = 0; next}
     on {n = NF; name = $1; for (i = 2; i <= n - 5; ++i) name = name " " $i;
         printf "| %s | %s | %s | %s | %s | %s |\n", name, $(n-4), $(n-3), $(n-2), $(n-1), $n}' "$tmp/err"
read -r _ secs _ kb _ user _ sys _ < "$tmp/time"
echo
echo "Whole process (/usr/bin/time): ${secs} s wall, ${user} s user + ${sys} s system CPU, maximum resident set $(awk -v k="$kb" 'BEGIN {printf "%.2f", k * 1024 / 1e9}') GB (${kb} KB); program $(stat -c %s "$out") bytes."
