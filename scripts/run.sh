#!/usr/bin/env bash
# The main job on the default model: set up, build, then take the model through every stage of
# the chain that exists today, generate text with it, and measure its quantised forms.
#   scripts/run.sh [--prompt TEXT] [--tokens N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prompt="It is a truth universally acknowledged"
tokens=120
while [ $# -gt 0 ]; do
  case "$1" in
    --prompt) prompt=$2; shift 2 ;;
    --tokens) tokens=$2; shift 2 ;;
    *) echo "run.sh: unknown option '$1' (--prompt TEXT, --tokens N)" >&2; exit 2 ;;
  esac
done
model="$root/models/austen/mamba2-austen.onnx"

bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release

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
