#!/bin/sh
# mamba2c --eval on a token model: the 130M shape (vocabulary 50,280 padded to 50,288,
# synthetic weights, so its perplexity means nothing) reads WikiText-2 through GPT-NeoX-20B's
# tokenizer (the runtime's BPE) and prints one row per scheme with the perplexity per token and
# the bits per byte; without the tokenizer it is refused.
#   token_eval_check.sh BIN_DIR MODEL.onnx TOKENIZER.json TEXT
bin=$1
model=$2
tokenizer=$3
text=$4
for f in "$model" "$tokenizer" "$text"; do
  if [ ! -f "$f" ]; then
    echo "skipped: $f is absent"
    exit 77
  fi
done
out=$("$bin/mamba2c" "$model" --quant fp32 --quant w8a8 --eval "$text" --eval-bytes 2048 \
  --tokenizer "$tokenizer" 2>/dev/null) || exit 1
echo "$out"
echo "$out" | grep -q '^eval: .*, 2048 bytes, [0-9]* tokens (.*), windows of 2048 tokens$' || exit 1
echo "$out" | grep -q '^scheme  *perplexity  *vs fp32  *bits/byte' || exit 1
# Each row: a finite perplexity (above 1), its change against fp32, bits per byte.
echo "$out" | awk '$1 == "fp32" || $1 == "w8a8" { n++; if ($2 + 0 > 1 && $4 + 0 > 0) ok++ }
                   END { exit (n == 2 && ok == 2) ? 0 : 1 }' || exit 1
err=$("$bin/mamba2c" "$model" --quant fp32 --eval "$text" --eval-bytes 2048 2>&1) && exit 1
echo "$err"
echo "$err" | grep -q "the model's vocabulary is 50288 ids, not 256 bytes" || exit 1
