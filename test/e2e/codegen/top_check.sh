#!/bin/sh
# The default model compiled under one scheme for each board (mamba2c -o X.m2b) and, from the
# same calibration (2 KiB of text: only the agreement is checked), to ovl (the evaluator's
# module); each program then runs a 64-byte prompt and greedy decode steps through the HLS
# top's C simulation (mamba2-top-check).
# usage: top_check.sh BIN_DIR MODEL.onnx SCHEME WORK_DIR DECODE_STEPS BOARD...
set -e
bin=$1 model=$2 scheme=$3 work=$4 decode=$5
shift 5
mkdir -p "$work"
"$bin/mamba2c" "$model" --quant "$scheme" --calib-bytes 2048 --emit=ovl --print-weights > "$work/$scheme.mlir" 2> "$work/$scheme.log"
for board in "$@"; do
  "$bin/mamba2c" "$model" --quant "$scheme" --calib-bytes 2048 --target "$board" -o "$work/$scheme-$board.m2b" 2>> "$work/$scheme.log"
  "$bin/mamba2-top-check" "$work/$scheme.mlir" "$work/$scheme-$board.m2b" --prompt 64 --decode "$decode"
done
