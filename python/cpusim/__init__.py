"""cpusim from Python: the paper's CPU (bgpt) and cpusim's toy machine.

    import cpusim
    m = cpusim.Machine("bgpt", memory_size=64)     # the machine, stated once
    trace = m.run(m.assemble("INC A\\nHLT"))        # the trace file's bytes, as `cpusim run`
    m.verify([trace])                              # the paper's score, as `cpusim verify --json`
    ts = cpusim.TraceSet("data.h5"); ts.machine()  # a set (cpusim datagen) and its machine

Submodules: `cpusim.torch`, a PyTorch reference of cpusim's bGPT (`BGPT.from_pretrained(DIR)`
for a folder written by `cpusim model export --format hf`, teacher-forced logits, greedy
rollouts), and `cpusim.data`, Datasets over trace sets for training loops (`TraceDataset`,
`TraceBatches`, `PatchCollate`). Both import torch; `import cpusim` alone does not.
"""

from ._cpusim import (Error, Machine, TraceSet, assemble, disassemble, image_size, machine_of,
                      run, state_size, verify)

__all__ = ["Error", "Machine", "TraceSet", "assemble", "disassemble", "image_size", "machine_of",
           "run", "state_size", "verify"]
__version__ = "0.1.0"
