#!/usr/bin/env bash
# The main job on the default model: set up, build, then take the model through every stage of
# the chain that exists today and generate text with it.
#   scripts/run.sh [--prompt TEXT] [--tokens N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prompt="It is a truth universally acknowledged"
tokens=120
while [ $# -gt 0 ]; do
  case "$1" in
    --prompt) prompt=$2; shift 2 ;;
    --tokens) tokens=$2; shift 2 ;;
    *) echo "run.sh: unknown option '$1' (--prompt TEXT, --tokens N)" >&2; exit 2 ;;
  esac
done
model="$root/models/austen/mamba2-austen.onnx"

bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release

echo
echo "== mamba2c: read, check and shape-infer $model"
"$root/build/bin/mamba2c" "$model"

echo
echo "== onnxruntime: greedy generation with the default model"
node "$root/tools/ort/generate.mjs" "$model" --prompt "$prompt" --tokens "$tokens"
