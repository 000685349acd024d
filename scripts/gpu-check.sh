#!/usr/bin/env bash
# scripts/gpu-check.sh: the prepared GPU check (one H100/H200 with the CUDA image described in
# ../shared/GPU.md: libtorch 2.x with CUDA from its PyTorch, no Unicorn, no network).
#   1. builds cpusim, bench_model and the model tests against that libtorch;
#   2. correctness on the card: the model tests with their loaded models on CUDA (KV-cached
#      rollout equal to uncached, CUDA predictions equal to the CPU's, CUDA graph steps equal
#      to eager ones), and later, time allowing, the smoke pipeline (datagen, train, eval both
#      modes, reports) with --device cuda;
#   3. speed: bench_model --device=cuda (the paper preset's training at the paper's settings,
#      batch 64, the exact GELU, CUDA graphs; KV-cached rollouts of 1..256 programs), `cpusim
#      train` on the paper's task eagerly and with --cuda-graphs, `cpusim eval --mode rollout`;
#   4. an operator profile of `cpusim train` (host and device time per libtorch operator), a
#      rollout on the machine's CPU in fp32 and bf16 (a backtrace if one crashes), and the
#      whole model test suite on that machine's CPU (libtorch 2.x arithmetic), time allowing
#      (GPU_CHECK_BUDGET_S, default 400 s, after which optional stages are skipped).
# Prints a short table last; logs and JSON go to $OUT (or ./gpu-check-out).
# Needs Debian 12 .deb files in .deb/ (carried by the device tool; the image lacks them):
#   apt-get download libboost1.74-dev libboost-program-options1.74.0 \
#     libboost-program-options1.74-dev nlohmann-json3-dev libbenchmark-dev libbenchmark1debian libgtest-dev
set -uo pipefail
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1
t0=$(date +%s)
stage() { echo "== [$(( $(date +%s) - t0 )) s] $*"; }
fail() { echo "FAILED: $*"; failures="${failures:-}$*; "; }

stage "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
py=/opt/torch/.venv/bin/python3
[ -x "$py" ] || py=python3
"$py" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
torch_prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')

stage "dependencies from .deb/"
mkdir -p /tmp/deb
for f in .deb/*.deb; do dpkg -x "$f" /tmp/deb; done
export LD_LIBRARY_PATH=/tmp/deb/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}

stage "configure"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if ! cmake -S . -B build-gpu "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCPUSIM_WITH_UNICORN=OFF \
    -DCMAKE_PREFIX_PATH="/tmp/deb/usr;$torch_prefix" > "$out/configure.log" 2>&1; then
  tail -40 "$out/configure.log"
  exit 1
fi
grep -iE "torch|boost|benchmark|gtest|hdf5" "$out/configure.log" | head -8

stage "build"
keep_going=(-k)
[ ${#gen[@]} -gt 0 ] && keep_going=(-k 0)
build() {
  cmake --build build-gpu -j"$(nproc)" --target cpusim bench_model cpusim_model_tests -- "${keep_going[@]}" \
    > "$out/build.log" 2>&1
}
if ! build; then
  grep -m 40 -A 5 -E "error|Error" "$out/build.log"
  fail "build"
  if grep -q "graphs.cpp" "$out/build.log"; then  # the CUDA graph code alone failed: build without it
    cmake -S . -B build-gpu -DCPUSIM_CUDA_GRAPHS=OFF >> "$out/configure.log" 2>&1 && build || fail "build without graphs"
  fi
fi
bin=build-gpu/cli/cpusim
[ -x "$bin" ] || { echo "no cpusim binary"; exit 1; }

left() { echo $(( budget - ($(date +%s) - t0) )); }
budget=${GPU_CHECK_BUDGET_S:-400}
stage "model tests with the loaded models on CUDA"
if [ -x build-gpu/tests/cpusim_model_tests ]; then
  CPUSIM_TEST_DEVICE=cuda timeout 120 build-gpu/tests/cpusim_model_tests \
    --gtest_filter='Training.CheckpointReload*:Training.CudaGraph*:Training.Padded*:Model.*' --gtest_brief=1 \
    || fail "model tests on CUDA"
fi

stage "bench_model --device=cuda"
timeout 240 build-gpu/bench/bench_model --device=cuda --benchmark_filter=-graphs --benchmark_out="$out/bench-model-cuda.json" \
  --benchmark_out_format=json --benchmark_counters_tabular=true || fail "bench_model"
stage "bench_model --device=cuda, CUDA graphs"
timeout 150 build-gpu/bench/bench_model --device=cuda --benchmark_filter=graphs \
  --benchmark_out="$out/bench-model-cuda-graphs.json" --benchmark_out_format=json --benchmark_counters_tabular=true \
  || fail "bench_model graphs"

stage "cpusim train on the paper's task (paper preset, batch 16, bf16 autocast)"
timeout 60 $bin datagen --isa bgpt --train 2000 --test 64 --seed 3 -q -o "$out/paper.h5" || fail "datagen"
timeout 90 $bin train --data "$out/paper.h5" --preset paper --batch 16 --steps 25 --warmup 10 --eval-every 0 \
  --checkpoint-every 0 --eval-traces 16 --device cuda -q --timing -o "$out/paper-timing" 2>&1 | grep "time per step" \
  | tee -a "$out/summary.txt" || fail "train --timing"
# "loss-on batch steps [graphs]": graph runs capture a graph per new batch shape in their first
# steps, so they run longer and are measured over their second half.
for run in "all 16 40" "all 16 80 graphs" "states 16 40" "all 64 40" "all 64 60 graphs"; do
  set -- $run
  [ "$(left)" -gt 60 ] || { echo "skipped train $run: out of time"; continue; }
  name=paper-$1-b$2${4:+-$4}
  timeout 120 $bin train --data "$out/paper.h5" --preset paper --batch $2 --steps $3 --warmup 10 --eval-every 0 \
    --checkpoint-every 0 --eval-traces 16 --loss-on $1 --device cuda ${4:+--cuda-graphs} -o "$out/$name" \
    2>&1 | grep -E "CUDA graphs|error" | tail -2 | tee -a "$out/summary.txt" || true
  [ -f "$out/$name/log.jsonl" ] || { fail "train $run"; continue; }
  "$py" - "$out/$name/log.jsonl" "$run" <<'PY' | tee -a "$out/summary.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
a, b = rows[len(rows) // 4 if len(rows) <= 40 else len(rows) // 2 - 1], rows[-1]  # past start-up (and captures)
rate = (b["bytes_per_s"] * b["seconds"] - a["bytes_per_s"] * a["seconds"]) / (b["seconds"] - a["seconds"])
print(f"cpusim train, paper preset, bf16, {sys.argv[2]}: {rate/1e6:.3f} MB/s of trace bytes "
      f"({(b['seconds'] - a['seconds']) / (b['step'] - a['step']) * 1000:.0f} ms/step, steps {a['step']}..{b['step']})")
PY
done

stage "cpusim eval --mode rollout (paper preset checkpoint)"
for b in 64 1; do
  [ "$(left)" -gt 45 ] || { echo "skipped eval batch $b: out of time"; continue; }
  lim=$([ $b = 1 ] && echo 8 || echo 64)
  timeout 60 $bin eval --model "$out/paper-all-b16/model.pt" --data "$out/paper.h5" --mode rollout --limit $lim \
    --batch $b --device cuda --json -q -o "$out/paper-eval-b$b" > "$out/paper-eval-b$b.json" || fail "eval b$b"
  "$py" - "$out/paper-eval-b$b/report.json" $b <<'PY' | tee -a "$out/summary.txt"
import json, sys
j = json.load(open(sys.argv[1]))
m = j.get("meta", j)
print(f"cpusim eval rollout, paper preset, batch {sys.argv[2]}: {m['predicted_states_per_s']:.1f} states/s "
      f"({j['states']} states, {m['seconds']:.1f} s)")
PY
done

if [ "$(left)" -gt 60 ]; then
  stage "smoke pipeline on CUDA"
  timeout 120 $bin pipeline --preset smoke --device cuda -o "$out/smoke" 2>&1 | tail -9 || fail "smoke pipeline"
  for d in cpu cuda; do
    timeout 60 $bin eval --model "$out/smoke/model.pt" --data "$out/smoke/data.h5" --mode rollout --precision fp32 \
      --device $d --json -q -o "$out/smoke/rollout-fp32-$d" > "$out/smoke-rollout-fp32-$d.json" || fail "eval $d"
  done
  "$py" - "$out" <<'PY' || fail "cpu/cuda comparison"
import json, sys
a = json.load(open(sys.argv[1] + "/smoke-rollout-fp32-cpu.json"))
b = json.load(open(sys.argv[1] + "/smoke-rollout-fp32-cuda.json"))
for k in ("byte_accuracy", "state_accuracy", "changed_byte_accuracy"):
    print(f"smoke rollout fp32 {k}: cpu {a[k]:.6f}  cuda {b[k]:.6f}")
PY
fi

if [ "$(left)" -gt 60 ]; then
  stage "operator profile of cpusim train (paper preset, host and device time per operator)"
  timeout 60 $bin train --data "$out/paper.h5" --preset paper --batch 16 --steps 9 --warmup 5 --eval-every 0 \
    --checkpoint-every 0 --eval-traces 16 --device cuda -q --profile "$out/paper-profile.json" -o "$out/paper-profile" \
    && "$py" scripts/profile-summary.py "$out/paper-profile.json" --top 25 | tee -a "$out/summary.txt" \
    || fail "train --profile"
fi

if [ "$(left)" -gt 60 ]; then
  stage "bf16 rollout on this machine's CPU (libtorch 2.x; a backtrace if it crashes)"
  [ -f "$out/smoke/model.pt" ] || timeout 60 $bin pipeline --preset smoke --stages datagen,train --device cuda \
    -o "$out/smoke" > /dev/null 2>&1 || fail "smoke datagen/train"
  cpu_rollout=(eval --model "$out/smoke/model.pt" --data "$out/smoke/data.h5" --mode rollout --device cpu -q)
  for prec in fp32 bf16; do
    if timeout 60 $bin "${cpu_rollout[@]}" --precision $prec -o "$out/smoke/cpu-$prec" > "$out/cpu-$prec.txt" 2>&1; then
      echo "cpu $prec rollout: ok"
    else
      fail "cpu $prec rollout (rc $?)"
      for env in ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX512_CORE; do
        env $env timeout 60 $bin "${cpu_rollout[@]}" --precision $prec -o "$out/smoke/cpu-$prec-x" > /dev/null 2>&1
        echo "  with $env: rc $?"
      done
      PATH=$PATH:/usr/local/cuda/bin timeout 120 cuda-gdb -q -batch -ex run -ex bt -ex 'info threads' \
        --args $bin "${cpu_rollout[@]}" --precision $prec -o "$out/smoke/cpu-$prec-gdb" 2>&1 | grep -v "^\[New Thread\|^\[Thread" | tail -45
    fi
  done
fi

if [ "$(left)" -gt 40 ] && [ -x build-gpu/tests/cpusim_model_tests ]; then
  stage "all model tests on this machine's CPU (libtorch 2.x)"
  timeout "$(( $(left) - 10 ))" build-gpu/tests/cpusim_model_tests --gtest_brief=1 > "$out/model-tests-cpu.log" 2>&1 \
    || fail "model tests on CPU"
  tail -4 "$out/model-tests-cpu.log"
fi

stage "summary"
nvidia-smi --query-gpu=name --format=csv,noheader
"$py" - "$out"/bench-model-cuda*.json <<'PY'
import json, sys
for f in sys.argv[1:]:
    try:
        runs = json.load(open(f))["benchmarks"]
    except (OSError, ValueError) as e:
        print(f"{f}: unreadable ({e})")
        continue
    for b in runs:
        if b.get("run_type") == "aggregate": continue
        extra = "  ".join(f"{k} {b[k]:,.1f}" for k in ("bytes/s", "GFLOP/s", "states/s") if k in b)
        print(f"{b['name']:<50} {b['real_time']:9.2f} ms  {extra}  {b.get('label', '')}")
PY
cat "$out/summary.txt" 2>/dev/null
echo "failures: ${failures:-none}"
