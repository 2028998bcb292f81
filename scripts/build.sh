#!/usr/bin/env bash
# Configures and builds the project. Usage: scripts/build.sh [release|asan]
#   release  -> build/       (warnings are errors)
#   asan     -> build-asan/  (AddressSanitizer + UndefinedBehaviorSanitizer)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=${1:-release}
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
case "$kind" in
  release) dir="$root/build"; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir="$root/build-asan"; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAMBA2_SANITIZE=ON) ;;
  *) echo "build.sh: unknown build kind '$kind' (release or asan)" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" -G Ninja "${flags[@]}" "${launcher[@]}" >/dev/null
ninja -C "$dir" -j "${MAMBA2_JOBS:-$(nproc)}"
