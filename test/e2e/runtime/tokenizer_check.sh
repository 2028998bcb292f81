#!/bin/sh
# The runtime's BPE tokenizer on a real tokenizer.json and a real text:
#   1. decode(encode(text)) == text on the whole file
#   2. the ids of every 7th line (about 400 lines, each with its line end) equal those of
#      tokenizers.js (@huggingface/tokenizers), an independent implementation
#   3. so do the ids of the whole file as one text
#   4. and those of each line of tokenizer-cases.txt beside this script (contractions, runs of
#      spaces, digits, scripts, emoji, special tokens in the text, text that NFC changes)
#   5. 1, 2 and 4 again with a variant of the tokenizer whose pre-tokenizer is a Sequence of a
#      Split on Llama 3's regex and a ByteLevel step (split-variant.mjs): the regex path
# tokenizers.js splits with a JavaScript RegExp, whose \s differs from Unicode's White_Space
# (which the Rust tokenizers and this runtime use) in two characters, U+0085 and U+FEFF: the
# cases keep them apart from other white space, where both splits agree.
# Usage: tokenizer_check.sh BIN_DIR SOURCE_DIR TOKENIZER.json TEXT WORK_DIR; exit 77 (skip) when
# the tokenizer or the text is absent.
set -eu
bin=$1 src=$2 tok=$3 text=$4 work=$5
cases=$(dirname "$0")/tokenizer-cases.txt
for f in "$tok" "$text"; do
  if [ ! -f "$f" ]; then
    echo "SKIP: $f is absent (set the CMake cache variable MAMBA2_DATA_DIR to the data folder)"
    exit 77
  fi
done
if [ ! -d "$src/tools/ort/node_modules/@huggingface/tokenizers" ]; then
  echo "FAIL: tools/ort/node_modules/@huggingface/tokenizers is missing: run scripts/setup.sh"
  exit 1
fi
mkdir -p "$work"
node "$(dirname "$0")/split-variant.mjs" "$tok" "$work/split-variant.json"
"$bin/mamba2-tokenize" --tokenizer "$tok" "$text" --roundtrip
"$bin/mamba2-tokenize" --tokenizer "$work/split-variant.json" "$text" --roundtrip
for run in "lines|$tok|$text|--lines 7" "whole|$tok|$text|" "cases|$tok|$cases|--lines 1" \
           "split-lines|$work/split-variant.json|$text|--lines 7" \
           "split-cases|$work/split-variant.json|$cases|--lines 1"; do
  name=${run%%|*} rest=${run#*|}
  tk=${rest%%|*} rest=${rest#*|}
  file=${rest%%|*} mode=${rest#*|}
  # shellcheck disable=SC2086
  "$bin/mamba2-tokenize" --tokenizer "$tk" "$file" $mode > "$work/ours.$name"
  # shellcheck disable=SC2086
  node "$src/tools/ort/tokenize.mjs" "$tk" "$file" $mode > "$work/js.$name"
  texts=$(wc -l < "$work/ours.$name") tokens=$(wc -w < "$work/ours.$name")
  if ! cmp -s "$work/ours.$name" "$work/js.$name"; then
    line=$(cmp "$work/ours.$name" "$work/js.$name" | sed -n 's/.* line \([0-9]*\)$/\1/p')
    echo "FAIL ($name): ids differ from tokenizers.js at output line ${line:-?}:"
    echo "  ours: $(sed -n "${line:-1}p" "$work/ours.$name" | cut -c1-300)"
    echo "  js:   $(sed -n "${line:-1}p" "$work/js.$name" | cut -c1-300)"
    exit 1
  fi
  echo "ok ($name): $texts texts, $tokens ids, identical to tokenizers.js"
done
