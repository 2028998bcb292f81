#!/bin/sh
# The Hadamard rotation (plain and random signs) leaves a model's fp32 function unchanged: the
# largest logit difference, relative to the largest logit, stays below 1e-4 over a text.
#   quant_rotation_check.sh BIN_DIR MODEL.onnx TEXT [TOKENIZER.json]
# (a token model reads the text through its tokenizer; mamba2c refuses it without one)
bin=$1
model=$2
text=$3
tokenizer=$4
if [ ! -f "$model" ]; then
  echo "skipped: $model is absent"
  exit 77
fi
set --
if [ -n "$tokenizer" ]; then
  if [ ! -f "$tokenizer" ]; then
    echo "skipped: $tokenizer is absent"
    exit 77
  fi
  set -- --tokenizer "$tokenizer"
fi
out=$("$bin/mamba2c" "$model" --quant fp32 --hadamard on --eval "$text" --window 256 "$@" 2>/dev/null) || exit 1
echo "$out"
rnd=$("$bin/mamba2c" "$model" --quant fp32 --hadamard random --seed 7 --eval "$text" --window 256 "$@" 2>/dev/null) || exit 1
echo "$rnd" | tail -n 1
# The max|dz| column, wherever the header puts it (bits/byte rows and perplexity rows differ).
printf '%s\n%s\n' "$out" "$rnd" | awk '
  /^scheme / { for (i = 1; i <= NF; i++) if ($i == "max|dz|") col = i - 2 }  # "vs fp32", "KL (nats)": two words each
  /^fp32\+r?had / { n++; if (col && $col + 0 < 1e-4) ok++ }
  END { exit (n == 2 && ok == 2) ? 0 : 1 }'
