#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine, idempotently.
# Debian packages through apt-get, tools/ort's npm packages through npm; nothing else is
# downloaded.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
  build-essential cmake ninja-build git pkg-config ccache
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  zlib1g-dev libcli11-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  libxrt-dev uuid-dev libflatbuffers-dev flatbuffers-compiler nlohmann-json3-dev libicu-dev
  clang-14 clang-format clang-tidy libclang-rt-14-dev
  python3-torch python3-onnx python3-numpy python3-pytest libopenblas0-pthread libdnnl-dev

)
# Node.js and npm: the machine's own if present, Debian's otherwise.
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi

# tools/ort's npm packages: onnxruntime-node (its install script downloads GPU libraries and
# fails offline; the CPU library ships inside the package, so install with --ignore-scripts)
# and @huggingface/tokenizers (pure JavaScript, the tokenizer tests' independent reference).
ort_dir="$root/tools/ort"
if [ ! -d "$ort_dir/node_modules/onnxruntime-node" ] ||
   [ ! -d "$ort_dir/node_modules/@huggingface/tokenizers" ]; then
  echo "setup: installing onnxruntime-node and @huggingface/tokenizers into $ort_dir"
  (cd "$ort_dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
else
  echo "setup: onnxruntime-node and @huggingface/tokenizers present"
fi
