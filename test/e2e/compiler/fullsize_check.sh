#!/bin/sh
# Full-size shapes from models/mamba2ref/fullsize.py (generated, not committed):
#  * 130M: imports, raises completely to m2 and evaluates; against its golden logits when
#    golden.json is beside it (fullsize.py --golden), rtol 1e-4;
#  * 2.7B: imports and raises completely within 120 s and 8 GB resident.
# usage: fullsize_check.sh BIN_DIR MODEL.onnx [130m|2.7b]; exits 77 (skipped) when absent.
set -eu
bin=$1 model=$2 kind=$3
if [ ! -f "$model" ]; then
  echo "skipped: $model is absent (generate it with python3 -m mamba2ref.fullsize)"
  exit 77
fi
dir=$(dirname "$model")
if [ "$kind" = 130m ]; then
  if [ -f "$dir/golden.json" ]; then
    "$bin/mamba2-eval" "$model" --golden "$dir"
  else
    "$bin/mamba2-eval" "$model" --prompt "x" --generate 1 > /dev/null
  fi
  exit 0
fi
stats=$(mktemp)
start=$(date +%s)
/usr/bin/time -f "%M" -o "$stats" "$bin/mamba2c" "$model" --emit=m2 --strict > /dev/null
end=$(date +%s)
kb=$(tail -1 "$stats")
rm -f "$stats"
echo "import + raise: $((end - start)) s, $((kb / 1024)) MiB resident"
[ $((end - start)) -le 120 ] || { echo "FAIL: slower than 120 s"; exit 1; }
[ "$kb" -le $((8 * 1024 * 1024)) ] || { echo "FAIL: more than 8 GB resident"; exit 1; }
