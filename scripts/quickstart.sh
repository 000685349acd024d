#!/usr/bin/env bash
# scripts/quickstart.sh [OUT_DIR]: the main job. Installs dependencies, builds cpusim, then runs
# the quickstart pipeline on the CPU: datagen -> train -> eval (teacher and rollout) -> reports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/quickstart}
"$root/scripts/deps.sh"
echo "== build"
JOBS=${JOBS:-2} TARGETS="cpusim cpusim_python" "$root/scripts/build.sh" "$root/build"
cpusim="$root/build/cli/cpusim"
mkdir -p "$out"
echo "== an example program on the emulator"
"$cpusim" run "$root/docs/examples/sum.asm" --set A=3 --set B=4 --set C=5 --print
echo "== pipeline (writes $out)"
"$cpusim" pipeline --preset quickstart -o "$out"
echo "== the rollout predictions re-scored independently by cpusim verify"
"$cpusim" verify --isa bgpt --memory-size 64 "$out/predictions-rollout"
echo "== headline (teacher)"
sed -n '/## Headline/,/predicted without/p' "$out/report-teacher/report.md"
echo "== headline (rollout)"
sed -n '/## Headline/,/predicted without/p' "$out/report-rollout/report.md"
