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
# With fewer of the 16 semaphores (mamba2c --semaphores N, the first N from 12 down whose
# program shares one) on the first board: channels into one unit share a semaphore
# (docs/codegen.md "Shared semaphores") and others go through ctrl.sync; the program still runs
# bit for bit through the top, which routes each entry's tokens by that entry's map.
board=$1
for n in 12 11 10 9 8 7 6; do
  out="$work/$scheme-$board-sems.m2b"
  "$bin/mamba2c" "$model" --quant "$scheme" --calib-bytes 2048 --target "$board" --semaphores $n -o "$out" 2>> "$work/$scheme.log"
  # A semaphore listed twice in an entry's map (# entry E: semaphore map S:from>to ...).
  if "$bin/mamba2-objdump" --header "$out" | grep "^# entry" | while read -r line; do
    echo "$line" | tr ' ' '\n' | grep '>' | cut -d: -f1 | sort | uniq -d | grep -q . && echo shared
  done | grep -q shared; then
    echo "--semaphores $n: an entry's channels share a semaphore"
    "$bin/mamba2-top-check" "$work/$scheme-$board.mlir" "$out" --prompt 64 --decode 8
    exit 0
  fi
done
echo "$scheme-$board: no --semaphores from 12 to 6 makes two channels share a semaphore" >&2
exit 1
