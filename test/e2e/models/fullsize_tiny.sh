#!/usr/bin/env bash
# Generates the tiny full-size-style model (external data, outlier channels) with golden logits
# from the PyTorch model over the same weights, and checks it with onnxruntime.
set -euo pipefail
python=$1 node=$2 src=$3 out=$4
rm -rf "$out"
cd "$src/models"
"$python" -W ignore -m mamba2ref.fullsize tiny "$out" --outliers 4 --outlier-scale 100 --golden \
  > "$out.log" 2>&1 || { cat "$out.log"; exit 1; }
test -s "$out/tiny-outliers.onnx.data"
"$node" "$src/tools/ort/check_golden.mjs" "$out"
