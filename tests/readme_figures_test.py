#!/usr/bin/env python3
"""tests/readme_figures_test.py ROOT: the README's quickstart figures equal the committed reports
they come from (results/*/report-*.json): each checked line's percentages, in order, are the
reports' figures rounded to two decimals. A rerun that updates results/ without the README (or
the other way round) fails here."""
import json
import re
import sys

root = sys.argv[1]
FIELDS = ["byte_accuracy", "state_accuracy", "changed_byte_accuracy"]


def report(path):
    with open(f"{root}/{path}") as f:
        return json.load(f)


def pct(j, keys):
    return [f"{100 * j[k]:.2f}" for k in keys]


def model(path, keys=FIELDS):
    return pct(report(path), keys)


def baseline(path, keys=FIELDS):
    return pct(report(path)["baseline"], keys)


def interleaved(path):  # model, baseline, model, baseline, ...
    m, b = model(path), baseline(path)
    return [x for pair in zip(m, b) for x in pair]


avx2 = "results/quickstart-avx2/report-{}.json"
old = "results/quickstart/report-{}.json"
toy = "results/quickstart-toy/report-{}.json"
toy_xeon = "results/quickstart-toy-xeon/report-{}.json"
# (the README line's start, the figures it must show in order, up to its end)
CHECKS = [
    ("| A (bcdc421) |", model(avx2.format("teacher")) + model(avx2.format("rollout"))),
    ("| do-nothing baseline |", baseline(avx2.format("teacher")) + baseline(avx2.format("rollout"))),
    ("| teacher | **", interleaved(old.format("teacher"))),
    ("| rollout | **", interleaved(old.format("rollout"))),
    ("the same recipe made 2,960 steps",
     model("results/quickstart-bf16/report-teacher.json") + model("results/quickstart-bf16/report-rollout.json")),
    ("the README's main command in a fresh clone took 25 min",
     model("results/quickstart-xeon/report-teacher.json") + model("results/quickstart-xeon/report-rollout.json")),
    ("On the developers' Xeon (2026-12-08, 609 steps",
     model(toy_xeon.format("teacher"), FIELDS[:2]) + model(toy_xeon.format("rollout"), FIELDS[:2])
     + pct(report(toy_xeon.format("teacher"))["data_memory"], ["byte_accuracy"])
     + pct(report(toy_xeon.format("rollout"))["data_memory"], ["byte_accuracy"])
     + pct(report(toy_xeon.format("rollout"))["data_memory"]["baseline"], ["byte_accuracy"])),
    ("two runs of 766 and 790 steps",
     model("results/quickstart-toy-hard/seed1/report-teacher.json", FIELDS[:2])
     + model("results/quickstart-toy-hard/seed2/report-teacher.json", FIELDS[:2])
     + model("results/quickstart-toy-hard/seed1/report-rollout.json", FIELDS[:2])
     + model("results/quickstart-toy-hard/seed2/report-rollout.json", FIELDS[:2])),
    ("teacher-forced 95.77% of bytes",
     model(toy.format("teacher"), FIELDS[:2]) + baseline(toy.format("teacher"), FIELDS[:2])
     + model(toy.format("rollout"), FIELDS[:2]) + baseline(toy.format("rollout"), FIELDS[:2])),
]

text = open(f"{root}/README.md").read()
failed = 0
for start, want in CHECKS:
    at = text.find(start)
    if at < 0:
        print(f"README.md: no line starts with {start!r}")
        failed = 1
        continue
    # The figures from the start of the line to the end of its paragraph or table row.
    end = text.find("\n|", at + 1) if start.startswith("|") else text.find("\n\n", at)
    got = re.findall(r"\d+\.\d\d(?!\d)", text[at:end])[: len(want)]
    if got != want:
        print(f"README.md: {start!r} shows {got}, the reports say {want}")
        failed = 1
    else:
        print(f"ok {start!r}: {', '.join(got)}")
sys.exit(failed)
