#!/usr/bin/env bash
# Writes the section "Evaluator speed against onnxruntime" of docs/accuracy.md (the rest of the
# file is accuracy.sh's): the fp32 evaluator against onnxruntime-node on the 130M shape, and the
# int8 decode products against the memory bound, in interleaved pairs (mamba2-eval-bench).
# Generates the 130M shape (mamba2ref.fullsize, synthetic weights, 670 MB) and its step form
# into $MAMBA2_130M_DIR (default BUILD_DIR/generated/mamba2-130m, where the e2e tests' fixture
# puts it) when they are absent. Run it on a machine as quiet as you can find (`uptime`).
#   bash bench/compiler/eval_bench.sh [BUILD_DIR] [extra mamba2-eval-bench options]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
shift || true
ninja -C "$build" mamba2-eval-bench >/dev/null
gen=${MAMBA2_130M_DIR:-$build/generated/mamba2-130m}
model=$gen/mamba2-130m.onnx
step=$gen/mamba2-130m-step.onnx
if [ ! -f "$model" ]; then
  (cd "$root/models" && /usr/bin/python3 -W ignore -m mamba2ref.fullsize mamba2-130m "$gen" >/dev/null)
fi
if [ ! -f "$step" ]; then
  (cd "$root/models" && PYTHONPATH=. /usr/bin/python3 -W ignore ../bench/compiler/export_step.py \
    "$model" "$step" >/dev/null)
fi
echo "eval_bench.sh: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$build/bin/mamba2-eval-bench" --onnx "$model" --onnx-step "$step" --prefill 256 --decode 32 \
  --pairs 9 --out "$root/docs/accuracy.md" "$@"
