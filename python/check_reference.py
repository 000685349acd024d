"""Checks the PyTorch reference against cpusim's libtorch model (a CTest test runs it).

    python3 check_reference.py MODEL.safetensors CASE.safetensors

CASE holds what cpusim computed for a batch: the traces ("trace.I"), the batch made of them
(inputs, targets, rows, context), and libtorch's teacher-forced logits; its metadata the image
and state sizes. The reference must make the same batch from the traces and the same logits to
float tolerance. Exit 0 when it does, 1 otherwise.
"""

import sys

import torch

from cpusim_torch import BGPT, load_safetensors


def main(model_path, case_path):
    m = BGPT.load(model_path)
    case, meta = load_safetensors(case_path)
    traces = [bytes(case[f"trace.{i}"].long().tolist()) for i in range(int(meta["traces"]))]
    inputs, targets, rows, context = BGPT.batch_of_traces(traces, int(meta["image_bytes"]), int(meta["state_bytes"]),
                                                          m.c.get("state_prefix", 0))
    ok = True
    for name, ours in (("inputs", inputs), ("targets", targets), ("rows", rows), ("context", context)):
        if ours is None and name not in case:
            continue
        if ours is None or not torch.equal(ours.float(), case[name]):
            print(f"{name}: the reference's batch differs from cpusim's")
            ok = False
    with torch.no_grad():
        logits = m.teacher_logits(inputs, targets, rows, context)
    want = case["logits"]
    diff = (logits - want).abs().max().item()
    scale = want.abs().max().item()
    same_argmax = (logits.argmax(-1) == want.argmax(-1)).float().mean().item()
    print(f"logits {tuple(logits.shape)}: max |diff| {diff:.3g} (max |logit| {scale:.3g}), argmax agrees on "
          f"{100 * same_argmax:.2f}% of bytes")
    if logits.shape != want.shape or diff > 1e-4 * max(1.0, scale):
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
