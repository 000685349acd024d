#!/usr/bin/env bash
# scripts/same-outputs.sh OLD_CPUSIM NEW_CPUSIM [WORK_DIR]: runs the same battery of commands
# with two cpusim binaries (datagen for both profiles and both formats, verify, dataset
# info/import/export with and without --paper-layout, fp32 training on the CPU with a fixed seed,
# eval in both modes with predictions, predict, run, crosscheck and its self-test, the smoke
# pipeline) and lists every output that differs once timings are dropped. For refactors that
# must not change behaviour. HDF5 sets are compared through h5dump (Debian's hdf5-tools).
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_CPUSIM NEW_CPUSIM [WORK_DIR]" >&2; exit 2; }
command -v h5dump > /dev/null || { echo "same-outputs: needs h5dump (apt-get install hdf5-tools)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
work=${3:-$(mktemp -d)}
battery() {  # CPUSIM OUT
  local C=$1 O=$2
  rm -rf "$O"; mkdir -p "$O"; cd "$O" || exit 2
  local F="--precision fp32 --threads 1"
  $C datagen --isa bgpt --memory-size 64 --max-len 16 --train 600 --test 60 --seed 3 -o b.h5 -q > /dev/null 2>&1
  $C datagen --isa toy --train 300 --test 30 --seed 4 -o t.h5 -q > /dev/null 2>&1
  $C datagen --isa bgpt --train 200 --test 20 --seed 5 --format bin -o bins -q > /dev/null 2>&1
  $C verify --json b.h5 > verify-b.json
  $C verify --json t.h5 > verify-t.json
  $C verify --json --per-file --isa bgpt bins > verify-bins.json
  $C dataset info --json b.h5 > info-b.json
  $C dataset export b.h5 -o exp > export.txt 2>&1
  $C dataset export b.h5 --paper-layout -o exp-paper > export-paper.txt 2>&1
  $C dataset import --isa bgpt --memory-size 64 exp -o imp.h5 > import.txt 2>&1
  $C dataset import --isa bgpt --memory-size 64 --paper-layout exp-paper -o imp-paper.h5 > import-paper.txt 2>&1
  $C dataset import --isa bgpt --memory-size 64 bins -o bad.h5 > import-bad.txt 2>&1; echo "rc $?" >> import-bad.txt
  $C dataset import --isa bgpt --memory-size 64 --paper-layout --skip-invalid bins -o imp-bins.h5 > import-bins.txt 2>&1
  $C train --data b.h5 --preset tiny --copy-path $F --steps 30 --batch 8 --eval-every 10 --eval-traces 16 --seed 7 -o run -q > /dev/null 2>&1
  $C train --data t.h5 --preset tiny $F --steps 10 --batch 4 --eval-every 5 --eval-traces 8 --seed 7 -o runtoy -q > /dev/null 2>&1
  for r in run runtoy; do
    python3 -c "import json,sys
for l in open('$r/log.jsonl'):
    j=json.loads(l); [j.pop(k,None) for k in ('seconds','bytes_per_s')]; print(json.dumps(j,sort_keys=True))" > $r-losses.txt
  done
  $C eval --model run/model.pt --data b.h5 --mode teacher $F -o rep-t -q > eval-t.txt 2>&1
  $C eval --model run/model.pt --data b.h5 --mode rollout $F --write-predictions preds --paper-layout -o rep-r -q > eval-r.txt 2>&1
  $C eval --model runtoy/model.pt --data t.h5 --mode rollout $F --limit 10 -o rep-toy -q > /dev/null 2>&1
  $C verify --json --isa bgpt preds > verify-preds.json
  $C predict --model run/model.pt "$root/docs/examples/sum.asm" --set A=3 --set B=4 > predict.txt 2>&1
  $C run "$root/docs/examples/sum.asm" --set A=3 --set B=4 --set C=5 --print > run.txt 2>&1
  $C crosscheck --isa bgpt --programs 3000 --seed 2 --json > xc-b.json 2>/dev/null
  $C crosscheck --isa toy --programs 300 --self-test --json > selftest-t.json 2>/dev/null
  $C crosscheck --isa bgpt --programs 300 -q --mutate 'ADD r,r' --repro rp > mutate.txt 2>&1; echo "rc $?" >> mutate.txt
  $C pipeline --preset smoke -o pipe > /dev/null 2>&1
  for f in *.h5 pipe/data.h5; do h5dump "$f" | md5sum | sed "s|-|$f|"; done > h5.md5
  for d in exp exp-paper preds bins; do (cd $d && find . -type f | sort | xargs md5sum) > $d.md5; done
  rm -rf exp exp-paper preds bins run runtoy ./*.h5 pipe/data.h5 pipe/run pipe/model.pt pipe/predictions-rollout
  # Timings and rates are not behaviour, nor the build's commit (a working tree is "-modified"),
  # nor the decoder's description (which decoder and its passes: the predictions are compared).
  find . -type f \( -name '*.json' -o -name '*.md' -o -name '*.txt' \) -print0 |
    xargs -0 sed -i -E '/"seconds"|_per_s"|^- seconds|^- predicted_states_per_s|[0-9.]+ s \(|"commit"|^- build:|"decode"|^- decode|decoder_passes_per_patch/d'
  # The curves' data: the minutes column is the clock's.
  find . -type f -name '*.dat' -print0 | xargs -0 -r sed -i -E 's/^([0-9]+) [0-9.]+ /\1 - /'
  find . \( -name '*.png' -o -name '*.gp' \) -delete
  find . -type f | sort | xargs md5sum > ../$(basename "$O").md5
}
old=$(realpath "$1") new=$(realpath "$2")
(battery "$old" "$work/old")
(battery "$new" "$work/new")
cd "$work" || exit 2
diff -rq old new | sed 's/^/same-outputs: /'
echo "same-outputs: compared $(find old -type f | wc -l) files in $work/{old,new}"
echo "same-outputs: battery digest (md5 of every output's md5) old $(md5sum < old.md5 | cut -c1-32), new $(md5sum < new.md5 | cut -c1-32)"
