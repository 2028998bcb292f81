#!/bin/sh
# A short, seeded fuzzing run for CI: assemble the seed, fuzz for a fixed number of inputs.
# usage: run-short.sh FUZZER MAMBA2_AS SEED_S WORKDIR
set -e
rm -rf "$4" && mkdir -p "$4/corpus"
"$2" "$3" -o "$4/corpus/seed.m2b"
exec "$1" -runs=3000 -seed=1 -max_len=4096 -timeout=10 "$4/corpus"
