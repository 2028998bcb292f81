#!/usr/bin/env bash
# clang-format (every C++ file) and clang-tidy (every translation unit of build/) checks.
#   scripts/lint.sh [format|tidy|all]   (default all; needs a configured build/ for tidy)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
what=${1:-all}
cd "$root"
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.hpp' '*.cc' | grep -v '^models/')
status=0
if [ "$what" = format ] || [ "$what" = all ]; then
  if ! clang-format --dry-run -Werror "${files[@]}"; then
    echo "lint: clang-format: the files above differ from .clang-format (fix: clang-format -i FILE)"
    status=1
  fi
fi
if [ "$what" = tidy ] || [ "$what" = all ]; then
  db="$root/build/compile_commands.json"
  [ -f "$db" ] || { echo "lint: $db missing: run scripts/build.sh first" >&2; exit 2; }
  mapfile -t tus < <(printf '%s\n' "${files[@]}" | grep -E '\.(cpp|cc)$' \
    | while read -r f; do grep -q "\"file\": \"$root/$f\"" "$db" && echo "$f"; done)
  if [ "${#tus[@]}" -gt 0 ]; then
    printf '%s\n' "${tus[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$root/build" --quiet \
      || status=1
  fi
fi
exit $status
