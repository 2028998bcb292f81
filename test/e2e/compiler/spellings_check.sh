#!/bin/sh
# Randomised spellings (models/mamba2ref/spellings.py): COUNT tiny models, each block of each
# layer written one of several equivalent ways (seeded), exported by torch; each must raise
# completely (mamba2-eval raises with --strict) and match its PyTorch logits within rtol 1e-4 as
# prefill and as prefill + decode steps; onnxruntime on the same file must match too.
# usage: spellings_check.sh BIN_DIR SRC_DIR PYTHON WORK_DIR COUNT SEED
set -eu
bin=$1 src=$2 python=$3 work=$4 count=$5 seed=$6
rm -rf "$work" && mkdir -p "$work"
(cd "$src/models" && "$python" -W ignore -m mamba2ref.spellings "$work" --count "$count" \
  --seed "$seed" > "$work/choices.txt" 2>/dev/null)
fail=0
for d in "$work"/s*; do
  if ! "$bin/mamba2-eval" "$d/model.onnx" --golden "$d" --rtol 1e-4 --decode 4 \
      > "$d/eval.txt" 2>&1; then
    echo "FAIL $d: $(cat "$d/choices.json" | tr -d ' \n')"
    grep -E "warning|error|note" "$d/eval.txt" | head -5
    fail=1
    continue
  fi
  echo "PASS $d $(tail -1 "$d/eval.txt")"
done
[ "$fail" -eq 0 ]
# onnxruntime against PyTorch on every file (one node process per file).
for d in "$work"/s*; do
  node "$src/tools/ort/check_golden.mjs" "$d" --model "$d/model.onnx" > "$d/ort.txt" 2>&1 ||
    { cat "$d/ort.txt"; exit 1; }
done
echo "onnxruntime matches PyTorch on all $count"
