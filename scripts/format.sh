#!/usr/bin/env bash
# scripts/format.sh [--check]: formats every C++ source of the tree with the project's
# .clang-format (clang-format from Debian's clang-format package); --check changes nothing and
# fails, listing the places, when a file is not formatted (the test command runs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v clang-format > /dev/null || { echo "format: needs clang-format (apt-get install clang-format)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.hpp' '*.cc')
if [ "${1:-}" = --check ]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2> /tmp/cpusim-format.$$; then
    grep -E '^[^ ].*: (error|warning):' /tmp/cpusim-format.$$ | head -40 >&2
    echo "format: $(grep -cE '^[^ ].*: (error|warning):' /tmp/cpusim-format.$$) places are not formatted as .clang-format says; run scripts/format.sh" >&2
    rm -f /tmp/cpusim-format.$$
    exit 1
  fi
  rm -f /tmp/cpusim-format.$$
  echo "format: ${#files[@]} files formatted as .clang-format says"
else
  clang-format -i "${files[@]}"
fi
