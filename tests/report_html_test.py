#!/usr/bin/env python3
"""tests/report_html_test.py CPUSIM WORK: report.html in a real browser. Runs the smoke pipeline,
opens each report.html in Debian's headless Chromium, and checks that the page loads with no
console error, asks for nothing outside the file, and shows report.json's figures: the headline,
every opcode, form, field and step row (on the toy machine also the data memory per opcode), the
trace counts, the step chart, the learning curves and the worst cases (wrong bytes marked)."""
import html
import json
import os
import re
import shutil
import subprocess
import sys

cpusim, work = sys.argv[1], sys.argv[2]
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    print("report_html_test: no chromium (apt-get install chromium)")
    sys.exit(1)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
for isa in ("bgpt", "toy"):
    subprocess.run([cpusim, "pipeline", "--preset", "smoke", "--isa", isa, "-o", os.path.join(work, isa)],
                   check=True, capture_output=True)


def fail(what):
    print("FAILED:", what)
    sys.exit(1)


def pct(v):
    return "-" if v is None else f"{100 * v:.2f}%"


for isa, mode in [(i, m) for i in ("bgpt", "toy") for m in ("teacher", "rollout")]:
    d = os.path.join(work, isa, f"report-{mode}")
    page = open(os.path.join(d, "report.html")).read()
    if re.search(r"(src|href)\s*=\s*\"(https?:)?//", page) or "http://" in page or "https://" in page:
        fail(f"{isa} {mode}: the page refers to something outside itself")
    res = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                          "--v=0", "--dump-dom", "file://" + os.path.join(d, "report.html")],
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0 or "</html>" not in res.stdout:
        fail(f"{isa} {mode}: chromium did not render the page: {res.stderr[-500:]}")
    console = [l for l in res.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    if console:
        fail(f"{isa} {mode}: console messages: {console}")
    dom = res.stdout
    shown = {m.group(1): html.unescape(m.group(2)) for m in re.finditer(r'id="([^"]+)"[^>]*>([^<]*)<', dom)}
    rep = json.load(open(os.path.join(d, "report.json")))

    def expect(id_, want):
        if shown.get(id_) != want:
            fail(f"{isa} {mode}: #{id_} shows {shown.get(id_)!r}, report.json says {want!r}")

    checked = 0
    for k in ("byte_accuracy", "state_accuracy", "changed_byte_accuracy"):
        expect(f"headline-{k}", pct(rep[k]))
        expect(f"headline-all_states-baseline-{k}", pct(rep["baseline"][k]))
        checked += 2
    expect("traces", str(rep["traces"]))
    expect("exact_traces", str(rep["exact_traces"]))
    tables = ["per_opcode", "per_form", "per_field", "per_length", "per_step"]
    if isa == "toy":
        tables.append("per_opcode_memory")
    elif "per_opcode_memory" in rep:
        fail(f"{isa} {mode}: a data memory reported for bgpt, which has none in its states")
    for table in tables:
        if not rep.get(table):
            fail(f"{isa} {mode}: report.json has no {table}")
        for name, row in rep[table].items():
            rid = table + "-" + re.sub(r"[^A-Za-z0-9]", "_", name)
            for k in ("byte_accuracy", "state_accuracy", "changed_byte_accuracy"):
                expect(f"{rid}-{k}", pct(row[k]))
                expect(f"{rid}-baseline-{k}", pct(row["baseline"][k]))
                checked += 2
    for svg in ("per_step_chart", "curves"):
        if f'id="{svg}"' not in dom:
            fail(f"{isa} {mode}: no {svg} chart")
    for w in rep["worst"]:
        if f'id="worst-{w["trace"]}"' not in dom:
            fail(f"{isa} {mode}: worst case {w['trace']} missing")
    if any(w["first_divergence"] >= 1 for w in rep["worst"]) and "<mark>" not in dom:
        fail(f"{isa} {mode}: a worst case with a wrong state but no byte marked")
    print(f"ok {isa} {mode}: {checked} figures as report.json says, no console message")
