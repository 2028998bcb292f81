#!/usr/bin/env bash
# Writes docs/accuracy.md: quantisation accuracy of the default model against fp32 on its
# held-out novel (Persuasion, read from Debian's r-cran-janeaustenr) and on WikiText-2.
#   bash bench/compiler/accuracy.sh [BUILD_DIR] [extra mamba2-accuracy-bench options]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
shift || true
ninja -C "$build" mamba2-accuracy-bench >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root/models" && /usr/bin/python3 -c "
from mamba2ref.austen import load_books
open('$tmp/persuasion.txt', 'w').write(load_books()['persuasion'])")
wiki="$root/../shared/data/wikitext-2-raw-test.txt"
args=(--model "$root/models/austen/mamba2-austen.onnx" --heldout "$tmp/persuasion.txt"
      --out "$root/docs/accuracy.md")
if [ -f "$wiki" ]; then args+=(--wikitext "$wiki"); else echo "accuracy.sh: $wiki is absent; held-out text only" >&2; fi
"$build/bin/mamba2-accuracy-bench" "${args[@]}" "$@"
