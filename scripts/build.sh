#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR [cmake options...]]: configures and builds cpusim (Release, -j2;
# TARGETS=... builds only those targets).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
mkdir -p "$dir"
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" > "$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log"; exit 1; }
if [ -n "${TARGETS:-}" ]; then
  cmake --build "$dir" -j"${JOBS:-2}" --target ${TARGETS}
else
  cmake --build "$dir" -j"${JOBS:-2}"
fi
