#!/bin/sh
# The default model compiled to ovl under one scheme, then emitted for each board and run as a
# 64-byte prefill and 64 decode steps in isa's interpreter and the cycle simulator, logits and
# states compared with the ovl evaluator bit for bit (mamba2-codegen-check); each entry not in
# row blocks must loop over all the model's layers, whose micro-op immediates differ
# (docs/codegen.md "Layer loops": m2-lower-to-ovl gives every layer one op form).
# usage: model_check.sh BIN_DIR MODEL.onnx SCHEME WORK_DIR BOARD...
set -e
bin=$1 model=$2 scheme=$3 work=$4
shift 4
mkdir -p "$work"
"$bin/mamba2c" "$model" --quant "$scheme" --emit=ovl --print-weights > "$work/$scheme.mlir" 2> "$work/$scheme.log"
for board in "$@"; do
  # The layers' shifts differ: the loop must keep their micro-ops per iteration (ureg), and
  # it must cover every layer.
  "$bin/mamba2-codegen-check" "$work/$scheme.mlir" --target "$board" --prompt 64 --decode 64 \
    --require-layer-ureg --require-all-layers-looped
done
