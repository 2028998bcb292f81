#!/usr/bin/env bash
# The main job on the default model: set up, build, compile the model for the overlay and run it
# on the overlay's simulator (generated text and a performance summary), then show the stages
# it went through and the references it is checked against.
#   scripts/run.sh [--prompt TEXT] [--tokens N] [--target BOARD] [--quant SCHEME]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prompt="It is a truth universally acknowledged"
tokens=120
target=kv260
quant=w8a8
while [ $# -gt 0 ]; do
  case "$1" in
    --prompt) prompt=$2; shift 2 ;;
    --tokens) tokens=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --quant) quant=$2; shift 2 ;;
    *) echo "run.sh: unknown option '$1' (--prompt TEXT, --tokens N, --target BOARD, --quant SCHEME)" >&2; exit 2 ;;
  esac
done
model="$root/models/austen/mamba2-austen.onnx"

bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release

program="$root/build/generated/mamba2-austen.$quant.$target.m2b"
mkdir -p "$(dirname "$program")"
echo
echo "== mamba2c: compile $model for $target ($quant: quantise, lower to ovl, emit the program)"
start=$(date +%s.%N)
"$root/build/bin/mamba2c" "$model" --quant "$quant" --target "$target" -o "$program"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v f="$program" \
  'BEGIN { printf "compiled in %.1f s: %s\n", e - s, f }'

echo
echo "== mamba2-run: generate on the overlay's cycle-level simulator ($target)"
"$root/build/bin/mamba2-run" "$program" --prompt "$prompt" -n "$tokens" --mode cycle

echo
echo "== mamba2-run: bits per byte computed on the overlay (functional simulator), then the"
echo "   compiler's integer (ovl) evaluator on the same text: the two must agree"
"$root/build/bin/mamba2-run" "$program" --eval "$root/test/lit/quant/Inputs/text.txt" | grep '^eval:'
"$root/build/bin/mamba2c" "$model" --quant "$quant" --eval-ovl "$root/test/lit/quant/Inputs/text.txt" \
  2>/dev/null | grep -E '^(scheme|.* ovl )'

echo
echo "== mamba2c: read, check and shape-infer $model"
"$root/build/bin/mamba2c" "$model"

echo
echo "== mamba2c: import to the onnx dialect and raise to the m2 dialect (--strict: all of it)"
"$root/build/bin/mamba2c" "$model" --emit=m2 --strict \
  | grep -oE '= m2\.[a-z_0-9]+' | sort | uniq -c | awk '{printf "  %5d %s\n", $1, $3}'

echo
echo "== fp32 m2 evaluator: greedy generation"
start=$(date +%s.%N)
"$root/build/bin/mamba2-eval" "$model" --prompt "$prompt" --generate "$tokens"
end=$(date +%s.%N)
echo
awk -v s="$start" -v e="$end" -v n="$tokens" \
  'BEGIN { printf "fp32 evaluator: %d bytes in %.2f s (load + prefill + decode), %.1f bytes/s\n", n, e - s, n / (e - s) }'

echo
echo "== onnxruntime (independent reference): greedy generation with the same model"
node "$root/tools/ort/generate.mjs" "$model" --prompt "$prompt" --tokens "$tokens"

echo
echo "== quantised (Hadamard rotation; W8A8, W4A8, W4A4 through the integer evaluator on isa/'s"
echo "   reference semantics): bits per byte against fp32 on a short sample (docs/accuracy.md has"
echo "   the full table)"
"$root/build/bin/mamba2c" "$model" --quant fp32 --quant w8a8 --quant w4a8 --quant w4a4 --hadamard on \
  --eval "$root/test/lit/quant/Inputs/text.txt" 2>/dev/null
