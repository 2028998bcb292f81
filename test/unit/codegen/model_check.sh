#!/bin/sh
# The default model compiled to ovl under one scheme for each board, then emitted and run as a
# 64-byte prefill and 64 decode steps in isa's interpreter and the cycle simulator, logits and
# states compared with the ovl evaluator bit for bit (mamba2-codegen-check); each entry not in
# row blocks must loop over all the model's layers, whose micro-op immediates differ
# (docs/codegen.md "Layer loops": m2-lower-to-ovl gives every layer one op form).
# usage: model_check.sh BIN_DIR MODEL.onnx SCHEME WORK_DIR BOARD...
set -e
# Calibrated on mamba2c's default text (beside the project): skipped, saying so, without it.
if [ ! -f "$MAMBA2_DEFAULT_CALIB_TEXT" ]; then
  echo "skipped: the default calibration text ${MAMBA2_DEFAULT_CALIB_TEXT:-(unset)} is absent"
  exit 77
fi
bin=$1 model=$2 scheme=$3 work=$4
shift 4
mkdir -p "$work"
for board in "$@"; do
  # Compiled for the board: its fusion groups and tiles recorded (ovl-fuse, ovl-tile), which the
  # emitter reads.
  "$bin/mamba2c" "$model" --quant "$scheme" --target "$board" --emit=ovl --print-weights > "$work/$scheme-$board.mlir" 2> "$work/$scheme-$board.log"
  # The layers' shifts differ: the loop must keep their micro-ops per iteration (ureg), and
  # it must cover every layer.
  "$bin/mamba2-codegen-check" "$work/$scheme-$board.mlir" --target "$board" --prompt 64 --decode 64 \
    --require-layer-ureg --require-all-layers-looped
done
# With 10 of the 16 semaphores on the first board: channels share semaphores and others go
# through ctrl.sync (docs/codegen.md "Shared semaphores"); still bit for bit in both simulators.
"$bin/mamba2-codegen-check" "$work/$scheme-$1.mlir" --target "$1" --prompt 64 --decode 8 --semaphores 10
