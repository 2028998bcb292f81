#!/usr/bin/env bash
# Sets up, builds and runs every test: the release build (warnings are errors) runs the whole
# suite; the sanitizer build (ASan + UBSan) runs the unit and lit tests again.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${MAMBA2_JOBS:-$(nproc)}

bash "$root/scripts/setup.sh"

echo "== release build"
bash "$root/scripts/build.sh" release
echo "== release tests"
ctest --test-dir "$root/build" -j "$jobs" --output-on-failure --timeout 600

if [ "${MAMBA2_SKIP_ASAN:-0}" != "1" ]; then
  echo "== sanitizer build (ASan + UBSan)"
  bash "$root/scripts/build.sh" asan
  echo "== sanitizer tests (unit + lit)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$root/build-asan" -j "$jobs" -L "unit|lit" --output-on-failure --timeout 600
fi
