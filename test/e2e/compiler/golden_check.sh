#!/bin/sh
# End-to-end check of the fp32 m2 evaluator on one ONNX model:
#  1. mamba2-eval imports, raises (strict) and evaluates the golden prompts, as prefill and as
#     prefill + decode steps, and compares with the PyTorch golden logits (rtol 1e-4); it also
#     requires bit-identical logits with one thread and with all;
#  2. onnxruntime runs the same ONNX file and is compared with the evaluator's logits.
# usage: golden_check.sh BIN_DIR SRC_DIR MODEL.onnx GOLDEN_DIR WORK_DIR
# Exits 77 (skipped) when the model is absent.
set -eu
bin=$1 src=$2 model=$3 golden=$4 work=$5
if [ ! -f "$model" ] || [ ! -f "$golden/golden.json" ]; then
  echo "skipped: $model or $golden/golden.json is absent"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
"$bin/mamba2-eval" "$model" --golden "$golden" --check-threads --threads 2 --write-golden "$work"
node "$src/tools/ort/check_golden.mjs" "$work" --model "$model"
