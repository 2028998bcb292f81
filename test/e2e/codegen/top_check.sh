#!/bin/sh
# The default model compiled under one scheme for each board (mamba2c -o X.m2b) and, from the
# same calibration (2 KiB of text: only the agreement is checked), to ovl for that board (the
# evaluator's module); each program then runs a 64-byte prompt and greedy decode steps through the HLS
# top's C simulation (mamba2-top-check).
# usage: top_check.sh BIN_DIR MODEL.onnx SCHEME WORK_DIR DECODE_STEPS BOARD...
set -e
# Calibrated on mamba2c's default text (beside the project): skipped, saying so, without it.
if [ ! -f "$MAMBA2_DEFAULT_CALIB_TEXT" ]; then
  echo "skipped: the default calibration text ${MAMBA2_DEFAULT_CALIB_TEXT:-(unset)} is absent"
  exit 77
fi
bin=$1 model=$2 scheme=$3 work=$4 decode=$5
shift 5
mkdir -p "$work"
for board in "$@"; do
  # The ovl module for the same board: its head groups (and so its state tensors) follow the
  # board (ovl-split-head-groups' cost model).
  "$bin/mamba2c" "$model" --quant "$scheme" --calib-bytes 2048 --target "$board" --emit=ovl --print-weights > "$work/$scheme-$board.mlir" 2>> "$work/$scheme.log"
  "$bin/mamba2c" "$model" --quant "$scheme" --calib-bytes 2048 --target "$board" -o "$work/$scheme-$board.m2b" 2>> "$work/$scheme.log"
  # The program loops over layers whose shifts differ: runs that take their micro-ops through
  # a register (ureg).
  "$bin/mamba2-objdump" "$work/$scheme-$board.m2b" > "$work/$scheme-$board.s"
  grep -q "ctrl.loop" "$work/$scheme-$board.s" && grep -q " ureg=" "$work/$scheme-$board.s" || {
    echo "$scheme-$board.m2b: no layer loop with per-iteration micro-ops (ureg)" >&2
    exit 1
  }
  "$bin/mamba2-top-check" "$work/$scheme-$board.mlir" "$work/$scheme-$board.m2b" --prompt 64 --decode "$decode"
done
# With 10 of the 16 semaphores (mamba2c --semaphores 10) on the first board: the prefill's
# channels share semaphores (docs/codegen.md "Shared semaphores") and the decode's partly go
# through ctrl.sync; the program still runs bit for bit through the top, which routes each
# entry's tokens by that entry's map.
board=$1
"$bin/mamba2c" "$model" --quant "$scheme" --calib-bytes 2048 --target "$board" --semaphores 10 -o "$work/$scheme-$board-10.m2b" 2>> "$work/$scheme.log"
"$bin/mamba2-objdump" --header "$work/$scheme-$board-10.m2b" | grep "^# entry prefill: semaphore map" > "$work/$scheme-$board-10.map"
channels=$(tr ' ' '\n' < "$work/$scheme-$board-10.map" | grep -c '>')
sems=$(tr ' ' '\n' < "$work/$scheme-$board-10.map" | grep '>' | cut -d: -f1 | sort -u | wc -l)
if [ "$channels" -le "$sems" ]; then
  echo "$scheme-$board-10.m2b: no prefill channels share a semaphore ($channels channels on $sems)" >&2
  exit 1
fi
"$bin/mamba2-top-check" "$work/$scheme-$board.mlir" "$work/$scheme-$board-10.m2b" --prompt 64 --decode 8
