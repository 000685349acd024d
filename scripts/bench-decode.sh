#!/usr/bin/env bash
# scripts/bench-decode.sh MODEL DATA [LIMIT] [-- EVAL_OPTIONS...]: the two byte decoders side by
# side on one model and one set, in one run on one machine: `cpusim eval --decode bytewise` and
# `--decode draft`, teacher-forced and in rollouts, on the first LIMIT test traces (default all),
# with the predictions written. Checks that both decoders give the same report figures and the
# same prediction files, and prints a Markdown table: seconds, predicted states/s (eval's own
# count, scoring included), the decoder's passes per patch, and the speed-up.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:?usage: scripts/bench-decode.sh MODEL DATA [LIMIT] [-- EVAL_OPTIONS...]}
data=${2:?usage: scripts/bench-decode.sh MODEL DATA [LIMIT] [-- EVAL_OPTIONS...]}
limit=${3:-0}
shift $(($# < 3 ? $# : 3))
[ "${1:-}" = "--" ] && shift
cpusim=${CPUSIM:-$root/build/cli/cpusim}
[ -x "$cpusim" ] || { echo "bench-decode: $cpusim not built (scripts/build.sh build)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-decode.XXXXXX")
trap 'rm -rf "$work"' EXIT
for mode in teacher rollout; do
  for dec in bytewise draft; do
    echo "== eval --mode $mode --decode $dec" >&2
    "$cpusim" eval --model "$model" --data "$data" --limit "$limit" --mode "$mode" --decode "$dec" \
      -q --write-predictions "$work/$mode-$dec-preds" -o "$work/$mode-$dec" "$@" > /dev/null
  done
  if ! diff -r -q "$work/$mode-bytewise-preds" "$work/$mode-draft-preds" > "$work/diff" 2>&1; then
    echo "bench-decode: $mode: the decoders' predictions differ:" >&2
    head -5 "$work/diff" >&2
    exit 1
  fi
done
python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
same = ["traces", "byte_accuracy", "state_accuracy", "changed_byte_accuracy", "matched_bytes",
        "state_bytes", "per_opcode", "first_divergence"]
print("| mode | decoder | traces | seconds | predicted states/s | passes per patch | speed-up |")
print("|---|---|---|---|---|---|---|")
bad = []
for mode in ["teacher", "rollout"]:
    r = {d: json.load(open(f"{work}/{mode}-{d}/report.json")) for d in ["bytewise", "draft"]}
    bad += [f"{mode} {k}" for k in same if r["bytewise"].get(k) != r["draft"].get(k)]
    base = r["bytewise"]["predicted_states_per_s"]
    for d in ["bytewise", "draft"]:
        x = r[d]
        print(f"| {mode} | {d} | {x['traces']} | {x['seconds']:.1f} | {x['predicted_states_per_s']:.0f} "
              f"| {x['decoder_passes_per_patch']:.2f} | {x['predicted_states_per_s'] / base:.2f}x |")
print("\npredictions identical file for file; report figures "
      + ("identical" if not bad else "DIFFERENT: " + ", ".join(bad)))
sys.exit(1 if bad else 0)
EOF
