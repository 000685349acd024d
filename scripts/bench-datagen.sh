#!/usr/bin/env bash
# scripts/bench-datagen.sh PAPER_SIM [TRAIN] [PAPER_N]: `cpusim datagen` beside the bGPT paper's
# own generator, in one run on one machine, on the paper's distribution (bgpt, 1024-byte memory,
# programs of 1..255 instructions). PAPER_SIM is the paper's cpu-simulation.py (from its
# repository; not part of cpusim). cpusim makes TRAIN training instances (default 2,100,000: the
# paper's set) plus 1% for test, with every core; the paper's script makes PAPER_N (default 2,000)
# on one core, as it runs. Prints both rates (instances/s) and their ratio, as JSON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
paper=${1:?usage: scripts/bench-datagen.sh PAPER_SIM [TRAIN] [PAPER_N]}
train=${2:-2100000}
paper_n=${3:-2000}
cpusim=${CPUSIM:-$root/build/cli/cpusim}
python=${PYTHON:-/usr/bin/python3}  # Debian's (python3-tqdm)
[ -x "$cpusim" ] || { echo "bench-datagen: $cpusim not built (scripts/build.sh build)" >&2; exit 2; }
"$python" -c 'import tqdm' 2>/dev/null || { echo "bench-datagen: the paper's script needs python3-tqdm (apt-get install python3-tqdm)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-datagen.XXXXXX")
trap 'rm -rf "$work"' EXIT
jobs=$(nproc)
test=$((train / 100))

echo "== cpusim datagen: $train + $test instances, -j$jobs" >&2
/usr/bin/time -f '%e s %M KiB' -o "$work/cpusim.time" \
  "$cpusim" datagen --isa bgpt --train "$train" --test "$test" --seed 2024 -j"$jobs" --json -q -o "$work/set.h5" > "$work/cpusim.json"
rm -f "$work/set.h5"

echo "== the paper's generator: $paper_n instances, one process" >&2
start=$(date +%s.%N)
(cd "$work" && "$python" "$paper" --mode generate --dir_path paper --num_train_instance "$paper_n" --num_test_instance 0 \
  --random_seed 2024 > /dev/null 2> "$work/paper.log")
end=$(date +%s.%N)
made=$(find "$work/paper/train" -name '*.bin' | wc -l)

"$python" - "$work/cpusim.json" "$work/cpusim.time" "$start" "$end" "$paper_n" "$made" "$jobs" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
wall, rss = open(sys.argv[2]).read().split()[0::2]
start, end, n, made, jobs = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
paper_rate = n / (end - start)
total = c["train"] + c["test"]
out = {
    "cpusim": {"instances": total, "seconds": c["seconds"], "wall_s": float(wall), "instances_per_s": c["instances_per_s"],
               "end_to_end_instances_per_s": total / float(wall), "mb_per_s": c["mb_per_s"], "file_bytes": c["file_bytes"],
               "peak_rss_mib": int(rss) / 1024, "jobs": jobs},
    "paper": {"instances": n, "files": made, "seconds": end - start, "instances_per_s": paper_rate},
    "ratio": c["instances_per_s"] / paper_rate,
    "ratio_end_to_end": total / float(wall) / paper_rate,
}
print(json.dumps(out, indent=2))
EOF
