#!/usr/bin/env bash
# scripts/gpu-check.sh: the prepared GPU check (one H100/H200, the GPU image of ../shared/GPU.md):
# builds cpusim against that image's libtorch 2.x with CUDA (no Unicorn there), checks that
# training and generation run on the card, and times the paper preset's training step and
# KV-cached rollouts. Prints a short table last; logs go to $OUT (or ./gpu-check-out).
# Needs Debian 12's Boost.Program_options .deb files in .deb/ (apt-get download
# libboost-program-options1.74.0 libboost-program-options1.74-dev), carried by the device tool.
set -euo pipefail
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
if ls .deb/*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/deb && for f in .deb/*.deb; do dpkg -x "$f" /tmp/deb; done
  export LD_LIBRARY_PATH=/tmp/deb/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
  prefix_extra=";/tmp/deb/usr"
fi
torch_prefix=$(/opt/torch/.venv/bin/python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCPUSIM_WITH_UNICORN=OFF -DCPUSIM_BENCH=ON \
  -DCMAKE_PREFIX_PATH="$torch_prefix${prefix_extra:-}" > "$out/configure.log" 2>&1 || { cat "$out/configure.log"; exit 1; }
cmake --build build-gpu -j16 > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
bin=build-gpu/cli/cpusim
# Correctness on the card: a smoke pipeline on CUDA, and the model tests on the CPU build there.
$bin pipeline --preset smoke --device cuda -o "$out/smoke" 2>&1 | tail -12
# Paper preset: training throughput with bf16 autocast (batch 16, 1024-byte memory, 1..255 instructions).
$bin datagen --isa bgpt --train 4000 --test 64 --seed 3 -q -o "$out/paper.h5"
$bin train --data "$out/paper.h5" --preset paper --batch 16 --steps 60 --warmup 10 --eval-every 0 \
  --checkpoint-every 0 --device cuda -q -o "$out/paper-run"
python3 - "$out/paper-run/log.jsonl" <<'PY' | tee "$out/train-throughput.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last = rows[-1]; mid = rows[len(rows) // 3]
rate = (last["bytes_per_s"] * last["seconds"] - mid["bytes_per_s"] * mid["seconds"]) / (last["seconds"] - mid["seconds"])
print(f"paper preset training: {rate/1e6:.3f} MB/s of trace bytes (steps {mid['step']}..{last['step']}, bf16)")
PY
$bin eval --model "$out/paper-run/model.pt" --data "$out/paper.h5" --mode rollout --limit 64 --batch 64 \
  --device cuda -q -o "$out/paper-eval" | tee "$out/rollout.txt"
grep -o '"predicted_states_per_s": [0-9.]*' "$out/paper-eval/report.json" | tee -a "$out/rollout.txt"
echo "== summary"
cat "$out/train-throughput.txt" "$out/rollout.txt"
