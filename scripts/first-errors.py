#!/usr/bin/env python3
"""scripts/first-errors.py SET PREDICTIONS [--split test]: what a bgpt model gets wrong first.

For each trace of SET (an HDF5 set from cpusim datagen or dataset import) and its rollout in
PREDICTIONS (`cpusim eval --mode rollout --write-predictions DIR`), takes the first predicted state
that differs from the true one: it was made from a right history, so it is what the model does
teacher-forced. Counts those states by the instruction that made them (opcode/operands), and for
the binary operations (ADD .. XOR) says what the predicted result byte is: the operation of the
right operands is the truth, so a wrong byte is either the operation applied to a wrong operand
(one operand fetched twice, or another register or ACC in its place: an operand fetched from the
wrong place), or a saturated or zero value where the truth is neither (the magnitude decided
wrong), or another value (with how many bits are off).
"""
import argparse
import collections
import os
import sys

import h5py
import numpy as np

OPS = ["HLT", "CLR", "INC", "DEC", "SHL", "SHR", "ROL", "ROR", "NOT", "PUSH", "POP", "LOADI", "SWAP",
       "ADD", "SUB", "MUL", "DIV", "AND", "OR", "XOR", "MOV"]
FIELDS = ["PC", "ACC", "IR0", "IR1", "IR2", "IR3"] + list("ABCDEFGHIJ")
BINARY = ("ADD", "SUB", "MUL", "DIV", "AND", "OR", "XOR")


def apply(op, x, y):
    """The bgpt binary operation on 8-bit values (spec/bgpt-cpu.md)."""
    return {"ADD": min(x + y, 255), "SUB": max(x - y, 0), "MUL": min(x * y, 255),
            "DIV": x // y if y else 255, "AND": x & y, "OR": x | y, "XOR": x ^ y}[op]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set")
    ap.add_argument("predictions")
    ap.add_argument("--split", default="test")
    a = ap.parse_args()
    try:
        f = h5py.File(a.set, "r")
    except OSError as e:
        sys.exit(f"{a.set}: not a readable HDF5 set ({e})")
    isa = f.attrs.get("isa")
    isa = isa.decode() if isinstance(isa, bytes) else isa
    if isa != "bgpt":
        sys.exit(f"{a.set}: isa {isa}: this script reads bgpt states only")
    g, img = f[a.split], int(f.attrs["image_size"])
    off = g["offsets"][:]
    by_insn, kinds = collections.Counter(), collections.defaultdict(collections.Counter)
    traces = wrong = 0
    for i in range(len(off) - 1):
        path = os.path.join(a.predictions, f"{a.split}-{i:07d}.bin")
        if not os.path.exists(path):
            continue
        traces += 1
        st = g["bytes"][off[i]:off[i + 1]][img:].reshape(-1, 16)
        p = np.fromfile(path, dtype=np.uint8)[img:]
        p = p[:len(p) // 16 * 16].reshape(-1, 16)
        for k in range(1, min(len(st), len(p))):
            if np.array_equal(p[k], st[k]):
                continue
            wrong += 1
            prev = st[k - 1]
            op = OPS[prev[2]] if prev[2] < len(OPS) else f"op{prev[2]}"
            operands = int(prev[3] != 0) + int(prev[4] != 0) + int(prev[5] != 0)
            by_insn[f"{op}/{operands}"] += 1
            if op in BINARY:
                acc, regs = int(prev[1]), [int(v) for v in prev[6:]]
                a1, a2, a3 = (int(v) for v in prev[3:6])
                x, y, dest = (acc, regs[a1 - 1], 1) if a2 == 0 else \
                    (regs[a1 - 1], regs[a2 - 1], 5 + (a3 or a1))
                t, q = int(st[k][dest]), int(p[k][dest])
                if t == q:
                    kind = "result right, another byte wrong"
                elif x != y and q in (apply(op, x, x), apply(op, y, y)):
                    kind = "an operand fetched twice"
                elif any(q in (apply(op, x, z), apply(op, z, y)) for z in regs + [acc]):
                    kind = "another register as an operand"
                elif q in (0, 255) and t not in (0, 255):
                    kind = f"{q} where the truth is neither"
                else:
                    x_or = t ^ q
                    kind = f"{bin(x_or).count('1')} bit{'s' if bin(x_or).count('1') > 1 else ''} off"
                kinds[f"{op}/{operands}"][kind] += 1
            break
    print(f"{traces} rollouts, {wrong} with a wrong state; the first wrong state by instruction "
          f"(opcode/operands):")
    print("  " + ", ".join(f"{k} {n}" for k, n in by_insn.most_common()))
    print("the binary operations' result byte in those states (opcode/operands: states):")
    for key in sorted(kinds, key=lambda k: (BINARY.index(k.split("/")[0]), k)):
        n = sum(kinds[key].values())
        print(f"  {key} {n}: " + ", ".join(f"{kind} {c}" for kind, c in kinds[key].most_common()))

if __name__ == "__main__":
    main()
