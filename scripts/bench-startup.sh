#!/usr/bin/env bash
# scripts/bench-startup.sh [RUNS] [CPUSIM...]: how long a command takes from exec to exit for
# commands that never touch a model (`--version`, `run` of an example, `asm`, `verify` of a small
# set) and one that does (`model info` of a missing file: the torch library loaded, then the
# refusal). Each command runs RUNS times (default 50); prints a Markdown table of the minimum and
# the median wall time in milliseconds per binary (default build/cli/cpusim).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-50}
shift || true
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$root/build/cli/cpusim")
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-startup.XXXXXX")
trap 'rm -rf "$work"' EXIT
"${bins[0]}" datagen --isa bgpt --memory-size 64 --max-len 16 --train 0 --test 20 -q -o "$work/s.h5"
python3 - "$runs" "$root" "$work" "${bins[@]}" <<'PY'
import statistics, subprocess, sys, time
runs, root, work, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
cmds = [["--version"],
        ["run", f"{root}/docs/examples/sum.asm", "--set", "A=3", "--set", "B=4"],
        ["asm", f"{root}/docs/examples/countdown.asm", "-o", f"{work}/c.bin"],
        ["verify", f"{work}/s.h5"],
        ["model", "info", f"{work}/missing.pt"]]
print("| binary | command | min ms | median ms |")
print("|---|---|---|---|")
for b in bins:
    for c in cmds:
        t = []
        for _ in range(runs):
            s = time.perf_counter()
            subprocess.run([b] + c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t.append((time.perf_counter() - s) * 1000)
        print(f"| {b} | `cpusim {' '.join(x.replace(work, '$W').replace(root + '/', '') for x in c)}` "
              f"| {min(t):.1f} | {statistics.median(t):.1f} |")
PY
