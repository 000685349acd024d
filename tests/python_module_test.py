"""tests/python_module_test.py: the `cpusim` Python module and python/'s Dataset, from Python.

Run by CTest: python3 tests/python_module_test.py CPUSIM_BIN WORK_DIR DOCS_DIR, with PYTHONPATH
holding build/python and python/. Exits non-zero on the first failed check.
"""

import os
import shutil
import random
import re
import subprocess
import sys

import cpusim


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def main(binary, work, docs):
    os.makedirs(work, exist_ok=True)
    # The assembler and disassembler agree with each other and with `cpusim asm`.
    prog = cpusim.assemble("LOADI 5\nPOP B\nADD B, B, C\nHLT\n")
    check(len(prog) == 16, "4 instructions, 16 bytes")
    check(cpusim.disassemble(prog) == "LOADI 5\nPOP B\nADD B, B, C\nHLT\n", "disassemble(assemble(x)) == x")
    # Random programs run exactly as `cpusim run` runs them, from zeros and from given states.
    rng = random.Random(5)
    mnemonics = ["INC", "DEC", "LOADI {v}", "POP {r}", "PUSH {r}", "ADD {r}, {r}, {r}", "XOR {r}", "MUL {r}",
                 "SWAP {r}, {r}", "SHL {r}", "CLR {r}", "MOV {r}, {r}", "SUB {r}, {r}"]
    regs = "ABCDEFGHIJ"
    ran = 0
    for k in range(40):
        n = rng.randint(1, 14)
        lines = [rng.choice(mnemonics).format(v=rng.randint(0, 255), r=rng.choice(regs)) for _ in range(n)]
        text = "\n".join(lines) + "\nHLT\n"
        path = os.path.join(work, f"p{k}.asm")
        with open(path, "w") as f:
            f.write(text)
        sets = {r: rng.randint(0, 255) for r in regs[:3]}
        out = os.path.join(work, f"t{k}.bin")
        args = [binary, "run", "-q", "--memory-size", "64", path, "-o", out]
        for r, v in sets.items():
            args += ["--set", f"{r}={v}"]
        res = subprocess.run(args, capture_output=True, text=True)
        check(res.returncode == 0, f"cpusim run {path}: {res.stderr}")
        with open(out, "rb") as f:
            want = f.read()
        init = want[64:80]  # the state cpusim ran from (its --set edits applied)
        got = cpusim.run(cpusim.assemble(text), memory_size=64, state=init)
        check(got == want, f"program {k}: the module's trace differs from cpusim run's")
        ran += 1
    check(ran == 40, f"only {ran} random programs ran")
    # verify: a run is exact; a changed byte is counted.
    t = bytearray(cpusim.run(prog, memory_size=64))
    v = cpusim.verify([bytes(t)], memory_size=64)
    check(v["byte_accuracy"] == 1.0 and v["exact_traces"] == 1, f"verify of a true trace: {v}")
    t[-1] ^= 1
    v = cpusim.verify([bytes(t)], memory_size=64)
    check(v["matched_bytes"] == v["state_bytes"] - 1, f"verify counts one wrong byte: {v}")
    # Errors are Python exceptions with cpusim's message.
    try:
        cpusim.assemble("BOGUS A")
        check(False, "a bad mnemonic raises")
    except cpusim.Error as e:
        check("unknown mnemonic" in str(e), str(e))
    # The trace set reader and the Dataset agree with h5py, and the h5py example of the docs runs.
    data = os.path.join(work, "data.h5")
    subprocess.run([binary, "datagen", "-q", "--isa", "bgpt", "--memory-size", "64", "--train", "50", "--test", "5",
                    "--seed", "3", "-o", data], check=True)
    import h5py
    from cpusim_data import TraceDataset
    ts = cpusim.TraceSet(data)
    check(ts.info()["train"] == 50 and ts.info()["state_size"] == 16, str(ts.info()))
    ds = TraceDataset(data, "train")
    with h5py.File(data, "r") as f:
        off = f["train"]["offsets"][:]
        for i in (0, 17, 49):
            raw = bytes(f["train"]["bytes"][off[i]:off[i + 1]])
            check(ts.trace("train", i) == raw, f"trace {i}: TraceSet differs from h5py")
            check(bytes(ds[i].tolist()) == raw, f"trace {i}: Dataset differs from h5py")
            check(cpusim.verify([raw], memory_size=64)["byte_accuracy"] == 1.0, f"trace {i} re-executes exactly")
    check(len(ds) == 50 and ds.states(0).shape[1] == 16, "Dataset length and state shape")
    # Batches for training loops: slices in one read, the trainer's patch layout, DataLoader
    # workers (each opens the set itself), equal to what h5py's bytes give.
    from cpusim_data import PatchCollate, TraceBatches
    import torch
    import torch.nn.functional as F
    from cpusim_torch import BGPT
    with h5py.File(data, "r") as f:
        off = f["train"]["offsets"][:]
        raws = [bytes(f["train"]["bytes"][off[i]:off[i + 1]]) for i in range(50)]
    check([bytes(t.tolist()) for t in ds.slice(3, 9)] == raws[3:12], "Dataset.slice")
    check([bytes(t.tolist()) for t in ds.__getitems__([4, 5, 6, 20, 7])] == [raws[i] for i in (4, 5, 6, 20, 7)],
          "Dataset.__getitems__")
    collate = PatchCollate.for_set(ds, state_prefix=16)
    for loader in (torch.utils.data.DataLoader(ds, batch_size=8, num_workers=2, collate_fn=collate),
                   torch.utils.data.DataLoader(TraceBatches(ds, 8), batch_size=None, num_workers=2,
                                               collate_fn=collate)):
        batches = list(loader)
        check(len(batches) == 7, f"50 traces in batches of 8: {len(batches)} batches")
        for k, got in enumerate(batches):
            want = BGPT.batch_of_traces(raws[8 * k:8 * k + 8], 64, 16, 16)
            check(all(torch.equal(a, b) for a, b in zip(got, want)), f"batch {k} in the trainer's layout")
        check(batches[0][0].shape[2] == 16 and batches[-1][0].shape[0] == 2, "patch layout and the last batch")
    # A model as a Hugging Face-style folder: the PyTorch reference loads it with from_pretrained
    # and its greedy rollouts are eval's predictions, byte for byte (fp32; the smoke recipe's
    # options: copy path, previous state and program as attention memory, byte bits).
    run_dir = os.path.join(work, "hf-run")
    for d in (run_dir, os.path.join(work, "hf"), os.path.join(work, "hf-preds"), os.path.join(work, "hf-rep")):
        shutil.rmtree(d, ignore_errors=True)
    subprocess.run([binary, "train", "--data", data, "--preset", "smoke", "--steps", "40", "--precision", "fp32",
                    "--threads", "1", "--seed", "5", "-q", "-o", run_dir], check=True)
    subprocess.run([binary, "model", "export", os.path.join(run_dir, "model.pt"), "--format", "hf",
                    "-o", os.path.join(work, "hf")], check=True, capture_output=True)
    check(sorted(os.listdir(os.path.join(work, "hf"))) == ["README.md", "config.json", "model.safetensors"],
          "the hf folder's files")
    with open(os.path.join(work, "hf", "README.md")) as f:
        check("held-out loss at step 40" in f.read(), "the model card names the run's last evaluation")
    subprocess.run([binary, "eval", "--model", os.path.join(run_dir, "model.pt"), "--data", data, "--split", "train",
                    "--limit", "12", "--mode", "rollout", "--precision", "fp32", "--threads", "1", "-q",
                    "--write-predictions", os.path.join(work, "hf-preds"), "-o", os.path.join(work, "hf-rep")],
                   check=True, capture_output=True)
    # Read back by cpusim: the same predictions, file for file.
    back = os.path.join(work, "hf-back.pt")
    subprocess.run([binary, "model", "import", os.path.join(work, "hf"), "-o", back], check=True, capture_output=True)
    shutil.rmtree(os.path.join(work, "hf-preds2"), ignore_errors=True)
    shutil.rmtree(os.path.join(work, "hf-rep2"), ignore_errors=True)
    subprocess.run([binary, "eval", "--model", back, "--data", data, "--split", "train", "--limit", "12", "--mode",
                    "rollout", "--precision", "fp32", "--threads", "1", "-q", "--write-predictions",
                    os.path.join(work, "hf-preds2"), "-o", os.path.join(work, "hf-rep2")], check=True, capture_output=True)
    for name in sorted(os.listdir(os.path.join(work, "hf-preds"))):
        with open(os.path.join(work, "hf-preds", name), "rb") as a, open(os.path.join(work, "hf-preds2", name), "rb") as b:
            check(a.read() == b.read(), f"{name}: the imported folder predicts what the model did")
    ref = BGPT.from_pretrained(os.path.join(work, "hf"))
    check(isinstance(ref, torch.nn.Module) and ref.machine["memory_size"] == 64
          and sum(p.numel() for p in ref.parameters()) > 0, "from_pretrained: an nn.Module and its machine")
    preds = {}
    for dirpath, _, files in os.walk(os.path.join(work, "hf-preds")):
        for name in files:
            if name.endswith(".bin"):
                with open(os.path.join(dirpath, name), "rb") as f:
                    preds[name] = f.read()
    check(len(preds) == 12, f"12 predicted traces: {len(preds)}")
    for raw in raws[:12]:
        steps = (len(raw) - 64) // 16 - 1
        mine = ref.rollout(raw[:80], 64, 16, steps)
        name = [n for n, p in preds.items() if p[:80] == raw[:80]]
        check(len(name) == 1 and preds[name[0]] == raw[:80] + mine,
              f"the reference's rollout equals eval's prediction ({len(mine)} bytes)")
    # It trains: a few steps of the reference from the DataLoader lower the loss on that batch.
    inputs, targets, rows, context = next(iter(torch.utils.data.DataLoader(
        ds, batch_size=16, collate_fn=PatchCollate.for_set(ds, state_prefix=ref.c.get("state_prefix", 0)))))
    opt = torch.optim.AdamW(ref.parameters(), lr=3e-3)
    losses = []
    for _ in range(6):
        loss = F.cross_entropy(ref(inputs, targets, rows, context).reshape(-1, 257),
                               targets.reshape(-1, 16).index_select(0, rows).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    check(losses[-1] < losses[0], f"the reference trains: {losses}")
    # The machine stated once: a set's, a trace folder's, or one made by hand, and its calls.
    m = ts.machine()
    check(m == cpusim.Machine("bgpt", memory_size=64) and m.state_size == 16 and m.image_size == 64,
          repr(m))
    check(m != cpusim.Machine("bgpt"), "another memory size is another machine")
    one = m.run(m.assemble("INC A\nHLT"), state=bytes(16))
    check(m.verify([one])["byte_accuracy"] == 1.0 and len(one) == 64 + 3 * 16, "Machine.run then verify")
    try:
        cpusim.verify([one])  # the default machine (1024 bytes) is not this trace's
        check(False, "a 64-byte trace is refused by the 1024-byte machine")
    except cpusim.Error as e:
        check("too short" in str(e), str(e))
    # A slice of traces in one read: the traces read one by one.
    batch = ts.traces("train", 10, 7)
    check(batch == [ts.trace("train", i) for i in range(10, 17)], "TraceSet.traces == trace() one by one")
    check(ts.traces("test", 0, 5) == [ts.trace("test", i) for i in range(5)] and ts.traces("train", 50, 0) == [],
          "TraceSet.traces at the ends")
    for first, count in ((48, 3), (51, 0)):
        try:
            ts.traces("train", first, count)
            check(False, f"traces {first}+{count} of 50 raise")
        except IndexError:
            pass
    folder = os.path.join(work, "bins")
    shutil.rmtree(folder, ignore_errors=True)  # (a rerun's work folder holds the last run's)
    subprocess.run([binary, "datagen", "-q", "--isa", "toy", "--train", "3", "--test", "1", "--seed", "2",
                    "--format", "bin", "-o", folder], check=True)
    fm = cpusim.machine_of(folder)
    check(fm == cpusim.Machine("toy") and fm.isa == "toy", repr(fm))
    try:
        cpusim.machine_of(work)
        check(False, "a folder without cpusim.json raises")
    except cpusim.Error as e:
        check("cpusim.json" in str(e), str(e))
    with open(os.path.join(docs, "dataset-format.md")) as f:
        example = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    res = subprocess.run([sys.executable, "-c", example], cwd=work, capture_output=True, text=True)
    check(res.returncode == 0 and "traces;" in res.stdout, "the docs' h5py example: " + res.stdout + res.stderr)
    # Every model option cpusim has is known to the PyTorch reference (a new one must be added there).
    import json
    import cpusim_torch
    res = subprocess.run([binary, "train", "--preset", "tiny", "--dry-run"], capture_output=True, text=True)
    fields = set(json.loads(res.stdout)["model"])
    check(fields == set(cpusim_torch.CONFIG_FIELDS),
          f"ModelConfig fields {sorted(fields)} vs the reference's CONFIG_FIELDS {sorted(cpusim_torch.CONFIG_FIELDS)}")
    try:
        cpusim_torch.check_config({"width": 64, "some_new_option": 1})
        check(False, "the reference refuses a model option it does not know")
    except ValueError:
        pass
    print(f"ok: {ran} random programs as cpusim run, verify, TraceSet and Dataset as h5py, the docs' example, "
          f"the reference's {len(fields)} model fields")


if __name__ == "__main__":
    main(*sys.argv[1:4])
