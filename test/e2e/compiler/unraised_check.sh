#!/bin/sh
# End-to-end check of the onnx interpreter on a whole model: mamba2-eval imports the model and,
# without raising it to m2, runs every onnx op in the interpreter on the golden prompts (prefill,
# and prefill + decode steps, which re-run the whole sequence), compares with the PyTorch golden
# logits (rtol 1e-4), requires identical logits with one thread and with two, and follows the
# reference's greedy continuation for 8 tokens.
# usage: unraised_check.sh BIN_DIR MODEL.onnx GOLDEN_DIR
# Exits 77 (skipped) when the model is absent.
set -eu
bin=$1 model=$2 golden=$3
if [ ! -f "$model" ] || [ ! -f "$golden/golden.json" ]; then
  echo "skipped: $model or $golden/golden.json is absent"
  exit 77
fi
out=$("$bin/mamba2-eval" "$model" --unraised --golden "$golden" --check-threads --threads 2 \
  --greedy 8)
echo "$out"
# The graph really ran as onnx ops (not raised), and every greedy continuation was followed.
echo "$out" | grep -q '^unraised: [1-9][0-9]* onnx ops, run by the onnx interpreter$'
if echo "$out" | grep -q ' [0-7]/8$'; then
  echo "a greedy continuation departs from the reference"
  exit 1
fi
