#!/bin/sh
# The Hadamard rotation (plain and random signs) leaves a model's fp32 function unchanged: the
# largest logit difference, relative to the largest logit, stays below 1e-4 over a text.
#   quant_rotation_check.sh BIN_DIR MODEL.onnx TEXT
bin=$1
model=$2
text=$3
if [ ! -f "$model" ]; then
  echo "skipped: $model is absent"
  exit 77
fi
out=$("$bin/mamba2c" "$model" --quant fp32 --hadamard on --eval "$text" --window 256 2>/dev/null) || exit 1
echo "$out"
rnd=$("$bin/mamba2c" "$model" --quant fp32 --hadamard random --seed 7 --eval "$text" --window 256 2>/dev/null) || exit 1
echo "$rnd" | tail -n 1
printf '%s\n%s\n' "$out" "$rnd" | awk '/^fp32\+r?had / { n++; if ($6 + 0 < 1e-4) ok++ } END { exit (n == 2 && ok == 2) ? 0 : 1 }'
