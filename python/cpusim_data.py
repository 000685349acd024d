"""Datasets over a cpusim HDF5 trace set, for PyTorch training loops.

    from cpusim.data import TraceDataset, TraceBatches, PatchCollate   # (or cpusim_data)
    ds = TraceDataset("data.h5", split="train")
    trace = ds[0]            # torch.uint8 tensor: the image, then the states
    states = ds.states(0)    # (steps + 1, state_size)
    loader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=2,
                        collate_fn=PatchCollate.for_set(ds))
    # or slices of consecutive traces, each read from the file in one read:
    loader = DataLoader(TraceBatches(ds, 32), batch_size=None, shuffle=True, num_workers=2,
                        collate_fn=PatchCollate.for_set(ds))

Installed as `cpusim.data` (python/cpusim_data.py in the source tree). Reads through the `cpusim`
package. Each worker of a DataLoader opens
the set itself (HDF5 handles are not shared across processes).
"""

import torch

import cpusim

try:  # inside the installed package: cpusim.data beside cpusim.torch
    from cpusim.torch import BGPT
except ImportError:  # from the source tree's python/ folder
    from cpusim_torch import BGPT


def _tensor(b):
    return torch.frombuffer(bytearray(b), dtype=torch.uint8)


class TraceDataset(torch.utils.data.Dataset):
    def __init__(self, path, split="train"):
        self.path = path
        self.split = split
        ts = cpusim.TraceSet(path)
        info = ts.info()
        self.machine = ts.machine()
        self.image_size = info["image_size"]
        self.state_size = info["state_size"]
        self.isa = info["isa"]
        self.memory_size = info["memory_size"]
        self._n = info[split]
        self._set = None  # opened lazily, in the process that reads

    def _reader(self):
        if self._set is None:
            self._set = cpusim.TraceSet(self.path)
        return self._set

    def __getstate__(self):  # (a DataLoader worker opens its own reader)
        state = dict(self.__dict__)
        state["_set"] = None
        state["machine"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.machine = cpusim.Machine(self.isa, memory_size=self.memory_size)

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        if not 0 <= i < self._n:
            raise IndexError(i)
        return _tensor(self._reader().trace(self.split, i))

    def slice(self, first, count):
        """Traces [first, first + count), read from the file in one read."""
        return [_tensor(b) for b in self._reader().traces(self.split, first, count)]

    def __getitems__(self, indices):
        """A batch (PyTorch >= 2 asks for one at a time): runs of consecutive indices in one read."""
        out, k = [], 0
        while k < len(indices):
            j = k
            while j + 1 < len(indices) and indices[j + 1] == indices[j] + 1:
                j += 1
            if not (0 <= indices[k] and indices[j] < self._n):
                raise IndexError(indices[k] if indices[k] < 0 else indices[j])
            out += self.slice(indices[k], j - k + 1)
            k = j + 1
        return out

    def states(self, i):
        """Trace i's states, (steps + 1, state_size)."""
        return self[i][self.image_size:].view(-1, self.state_size)


class TraceBatches(torch.utils.data.Dataset):
    """Item k: traces [k * batch, (k + 1) * batch) of a TraceDataset (the last one shorter), read
    in one read. Use with DataLoader(batch_size=None); shuffle=True shuffles the slices."""

    def __init__(self, traces, batch):
        if batch < 1:
            raise ValueError(f"batch {batch}: expected at least 1")
        self.traces, self.batch = traces, batch

    def __len__(self):
        return (len(self.traces) + self.batch - 1) // self.batch

    def __getitem__(self, k):
        if not 0 <= k < len(self):
            raise IndexError(k)
        first = k * self.batch
        return self.traces.slice(first, min(self.batch, len(self.traces) - first))


class PatchCollate:
    """collate_fn: a list of traces (uint8 tensors) -> the model's patch layout, as cpusim's
    trainer makes it (cpusim_torch.BGPT.batch_of_traces): inputs (B, T, 16) [begin, patch 0, ..],
    targets (B, T, 16) [patch 0, .., end], the rows scored (the states after the first and the
    end), and each row's previous state when the model reads `state_prefix` bytes of it."""

    def __init__(self, image_size, state_size, state_prefix=0):
        self.image_size, self.state_size, self.state_prefix = image_size, state_size, state_prefix

    @classmethod
    def for_set(cls, ds, state_prefix=0):
        return cls(ds.image_size, ds.state_size, state_prefix)

    def __call__(self, traces):
        return BGPT.batch_of_traces([bytes(t.tolist()) for t in traces], self.image_size,
                                    self.state_size, self.state_prefix)
