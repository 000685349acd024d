#!/usr/bin/env python3
"""scripts/plot-learning.py: learning curves of `cpusim train` runs, drawn with gnuplot.

Usage: plot-learning.py [--title T] -o OUT.png LABEL=RUN_DIR [LABEL=RUN_DIR ...]

Reads each run's log.jsonl (the rows with held-out figures) and draws two panels against
training minutes: held-out exact patches (for bgpt, exact next states, teacher-forced) and
held-out loss, one line per run. Also writes OUT.dat with the numbers it plotted.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def read_log(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"plot-learning: {path}:{n}: not a JSON line ({e.msg})")
            if "eval_loss" in r:
                rows.append((r["seconds"] / 60, r["eval_loss"], 100 * r.get("eval_exact_patches", float("nan")), r["step"]))
    if not rows:
        sys.exit(f"plot-learning: {path}: no held-out rows (train with --eval-every N)")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="held-out figures against training time")
    ap.add_argument("runs", nargs="+", metavar="LABEL=RUN_DIR")
    a = ap.parse_args()
    runs = []
    for spec in a.runs:
        label, _, d = spec.partition("=")
        if not d:
            label, d = os.path.basename(os.path.normpath(spec)), spec
        runs.append((label, read_log(os.path.join(d, "log.jsonl"))))
    dat = a.output + ".dat"
    with open(dat + ".tmp", "w") as f:
        for label, rows in runs:
            f.write(f"# {label}: minutes eval_loss exact_patches_pct step\n")
            for m, loss, ex, step in rows:
                f.write(f"{m:.4f} {loss:.6f} {ex:.4f} {step}\n")
            f.write("\n\n")
    os.replace(dat + ".tmp", dat)
    tmp_png = a.output + ".tmp.png"
    plots = lambda col: ", ".join(
        f"'{dat}' index {i} using 1:{col} with linespoints title '{label}'" for i, (label, _) in enumerate(runs))
    script = f"""set terminal pngcairo size 1200,500 noenhanced font ',10'
set output '{tmp_png}'
set multiplot layout 1,2 title '{a.title}'
set xlabel 'training minutes'
set grid
set key bottom right
set ylabel 'held-out exact patches (%)'
set yrange [0:100]
plot {plots(3)}
set key top right
set ylabel 'held-out loss'
set yrange [*:*]
set logscale y
plot {plots(2)}
unset multiplot
"""
    with tempfile.NamedTemporaryFile("w", suffix=".gp", delete=False) as g:
        g.write(script)
    try:
        subprocess.run(["gnuplot", g.name], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"plot-learning: gnuplot failed ({e}); the numbers are in {dat}")
    finally:
        os.unlink(g.name)
    os.replace(tmp_png, a.output)
    print(f"wrote {a.output} and {dat}")


if __name__ == "__main__":
    main()
