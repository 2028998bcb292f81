#!/bin/sh
# The accuracy measured on the overlay equals the compiler's integer evaluator's: the default
# model compiled (W8A8, KV260, default calibration text), bits per byte of a text from the
# program's logits (mamba2-run --eval, functional simulator) and from the ovl evaluator
# (mamba2c --eval-ovl), compared to the 4 decimals mamba2c prints; then the same program split
# into head groups of 2 heads (ovl-split-head-groups with the per-head SSM exponents: issue 12).
# usage: overlay_eval_check.sh BIN_DIR MODEL.onnx TEXT WORK_DIR
set -e
# Calibrated on mamba2c's default text (beside the project): skipped, saying so, without it.
if [ ! -f "$MAMBA2_DEFAULT_CALIB_TEXT" ]; then
  echo "skipped: the default calibration text ${MAMBA2_DEFAULT_CALIB_TEXT:-(unset)} is absent"
  exit 77
fi
bin=$1 model=$2 text=$3 work=$4
mkdir -p "$work"
"$bin/mamba2c" "$model" --quant w8a8 --target kv260 -o "$work/austen.m2b" 2> "$work/compile.log"
run=$("$bin/mamba2-run" "$work/austen.m2b" --eval "$text" |
  sed -n 's/^eval: .* bits, \([0-9.]*\) bits per byte.*/\1/p')
ev=$("$bin/mamba2c" "$model" --quant w8a8 --eval-ovl "$text" 2> "$work/eval.log" |
  awk '$1 ~ /^w8a8/ && $2 == "ovl" { print $3 }')
echo "overlay: ${run:-?} bits/byte; ovl evaluator: ${ev:-?} bits/byte"
[ -n "$run" ] && [ -n "$ev" ] && [ "$(printf '%.4f' "$run")" = "$ev" ]
"$bin/mamba2c" "$model" --quant w8a8 --target kv260 --heads-per-group 2 -o "$work/austen-hg.m2b" 2>> "$work/compile.log"
split=$("$bin/mamba2-run" "$work/austen-hg.m2b" --eval "$text" |
  sed -n 's/^eval: .* bits, \([0-9.]*\) bits per byte.*/\1/p')
echo "overlay, head groups of 2: ${split:-?} bits/byte"
[ -n "$split" ] && [ "$(printf '%.4f' "$split")" = "$ev" ]
