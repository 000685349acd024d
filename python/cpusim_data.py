"""A torch.utils.data.Dataset over a cpusim HDF5 trace set.

    from cpusim_data import TraceDataset
    ds = TraceDataset("data.h5", split="train")
    trace = ds[0]            # torch.uint8 tensor: the image, then the states
    states = ds.states(0)    # (steps + 1, state_size)

Reads through the `cpusim` module (PYTHONPATH=build/python). Each worker of a DataLoader opens
the set itself (HDF5 handles are not shared across processes).
"""

import torch

import cpusim


class TraceDataset(torch.utils.data.Dataset):
    def __init__(self, path, split="train"):
        self.path = path
        self.split = split
        info = cpusim.TraceSet(path).info()
        self.image_size = info["image_size"]
        self.state_size = info["state_size"]
        self.isa = info["isa"]
        self.memory_size = info["memory_size"]
        self._n = info[split]
        self._set = None  # opened lazily, in the process that reads

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        if not 0 <= i < self._n:
            raise IndexError(i)
        if self._set is None:
            self._set = cpusim.TraceSet(self.path)
        return torch.frombuffer(bytearray(self._set.trace(self.split, i)), dtype=torch.uint8)

    def states(self, i):
        """Trace i's states, (steps + 1, state_size)."""
        return self[i][self.image_size:].view(-1, self.state_size)
