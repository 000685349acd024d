#!/usr/bin/env bash
# scripts/quickstart.sh [OUT_DIR]: the main job. Installs dependencies, builds cpusim, then runs
# the quickstart: generate a dataset, emulate an example program, and verify traces.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/quickstart}
"$root/scripts/deps.sh"
echo "== build"
"$root/scripts/build.sh" "$root/build"
cpusim="$root/build/cli/cpusim"
rm -rf "$out"
mkdir -p "$out"

echo "== datagen: bgpt (the paper's CPU), 64-byte memory, programs of 1..16 instructions"
"$cpusim" datagen --isa bgpt --memory-size 64 --train 20000 --test 2000 --seed 1 -o "$out/data.h5"
"$cpusim" dataset info "$out/data.h5"

echo "== run: an example program on the emulator"
"$cpusim" run "$root/docs/examples/sum.asm" --set A=3 --set B=4 --set C=5 -o "$out/sum.bin" --print

echo "== verify: the dataset re-executed from each trace's image and first state"
"$cpusim" verify --strict "$out/data.h5"
