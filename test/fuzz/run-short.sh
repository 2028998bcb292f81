#!/bin/sh
# A short, seeded fuzzing run for CI (scripts/fuzz.sh runs the same fuzzers long).
# usage: run-short.sh FUZZER MAMBA2_AS WORKDIR RUNS m2b|copy SEED...
#   m2b:  each SEED is an assembly file, assembled into the corpus
#   copy: each SEED is a file or a folder of files, copied into the corpus
set -e
fuzzer=$1 as=$2 work=$3 runs=$4 mode=$5
shift 5
rm -rf "$work" && mkdir -p "$work/corpus"
for seed in "$@"; do
  if [ "$mode" = m2b ]; then
    "$as" "$seed" -o "$work/corpus/$(basename "$seed" .s).m2b"
  elif [ -d "$seed" ]; then
    cp "$seed"/* "$work/corpus/"
  else
    cp "$seed" "$work/corpus/"
  fi
done
case "$fuzzer" in
  *onnx) maxlen=65536 ;;
  *) maxlen=4096 ;;
esac
cd "$work"
exec "$fuzzer" -runs="$runs" -seed=1 -max_len=$maxlen -timeout=10 -rss_limit_mb=4096 corpus
