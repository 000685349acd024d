"""A PyTorch reference of cpusim's bGPT, in plain torch.

Loads a model exported with `cpusim model export MODEL.pt --format safetensors -o M.safetensors`
(the weights, and the model's configuration in the header's metadata) and computes the same
teacher-forced logits as cpusim's libtorch model, for the paper's architecture and for every
option cpusim adds (copy path, previous state as prefix tokens or attention memory, program
memory, byte bits and waves, the paper's "bin" begin patch).

    from cpusim_torch import BGPT
    m = BGPT.load("m.safetensors")          # or BGPT.from_pretrained(DIR): export --format hf
    logits = m.teacher_logits_of_traces([trace_bytes], image_bytes=64, state_bytes=16)
    states = m.rollout(image_and_first_state, image_bytes=64, state_bytes=16, max_steps=20)

Dimensions: B traces, T patches, S = 16 bytes per patch, D width, H heads, V = 257 symbols
(256 = padding, begin and end), N scored patches, P bytes of the previous state.
"""

import json
import math
import struct

import torch
import torch.nn.functional as F

S = 16   # bytes per patch
V = 257  # byte values and the padding symbol
PAD = 256

# Every field of cpusim's ModelConfig (model/config.h, the checkpoint's "model" object) and what
# this reference does with it. A field missing here makes BGPT refuse the model, and
# tests/python_module_test.py fails when cpusim has a field this table lacks: a model option
# added to cpusim is added here too.
CONFIG_FIELDS = {
    "patch_size": "bytes per patch: must be 16 (S)",
    "max_patches": "rows of patch_pos (not read otherwise)",
    "patch_layers": "patch_blocks.0 .. patch_layers-1",
    "byte_layers": "byte_blocks.0 .. byte_layers-1",
    "width": "the model width D",
    "heads": "attention heads",
    "copy_path": "copy_emb added at each byte position (byte_logits)",
    "gelu": "tanh or erf (approximate='none')",
    "copy_stride": "patches back the copy path reads (teacher_logits)",
    "state_prefix": "bytes of the previous state read before the feature",
    "prefix_memory": "the prefix as attention memory instead of tokens",
    "program_memory": "image bytes read as attention memory (program_kv)",
    "program_attention": "rows or trace: the same function (this reference gives each row a copy)",
    "address_bits": "address_maps of the image positions' bits added to program_pos (program_kv)",
    "byte_bits": "bit maps added to the byte, patch and copy embeddings",
    "byte_waves": "maps of each byte's waves (cos, sin of its value) added as the bit maps are",
    "position_waves": "maps of the waves of each position's index added to prefix_pos and program_pos",
    "feature_every_byte": "feat @ feature_maps added at every byte position (byte_logits)",
    "begin_patch": "pad or bin (patch_features)",
}


def check_config(config):
    """Raises ValueError for a model this reference cannot compute."""
    unknown = sorted(set(config) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"model option(s) {unknown} unknown to this reference (CONFIG_FIELDS)")
    if config.get("patch_size", S) != S:
        raise ValueError(f"patch_size {config['patch_size']}: this reference computes {S}-byte patches")


def load_safetensors(path):
    """The tensors (as fp32) and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    types = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
    tensors = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=types[e["dtype"]]).reshape(e["shape"]).float()
    return tensors, header.get("__metadata__", {})


def waves_of(n):
    """(n, 17): for i < n, (-1)^i, then cos and sin of 2 pi i / P for P = 4, 8, .., 512."""
    v = torch.arange(n, dtype=torch.float64)
    cols = [torch.cos(v * math.pi)]
    for period in (4, 8, 16, 32, 64, 128, 256, 512):
        cols += [torch.cos(v * (2 * math.pi / period)), torch.sin(v * (2 * math.pi / period))]
    return torch.stack(cols, 1).float()


def wave_features():
    """(V, 17): each byte value's waves (waves_of); 0 for the padding symbol."""
    return torch.cat([waves_of(256), torch.zeros(1, 17)])


def bit_signs():
    """(V, 8): each byte value's bits as +-1, least significant first; 0 for the padding symbol."""
    v = torch.arange(256).unsqueeze(1)
    bits = (v >> torch.arange(8)) & 1
    return torch.cat([bits.float() * 2 - 1, torch.zeros(1, 8)])


class BGPT(torch.nn.Module):
    """cpusim's bGPT as a torch.nn.Module: its tensors are the module's parameters (named as in
    cpusim, "." spelled "__" inside the ParameterDict), so it trains with any optimiser; the
    derived tables (byte bits and waves) are recomputed from them at each use."""

    def __init__(self, tensors, config):
        super().__init__()
        check_config(config)
        self.params = torch.nn.ParameterDict(
            {k.replace(".", "__"): torch.nn.Parameter(v) for k, v in tensors.items()})
        self.w = {k: self.params[k.replace(".", "__")] for k in tensors}
        self.c = config
        self.D = config["width"]
        self.H = config["heads"]
        self.gelu = "tanh" if config.get("gelu", "tanh") == "tanh" else "none"
        self.register_buffer("signs", bit_signs(), persistent=False)
        self.register_buffer("waves", wave_features(), persistent=False)

    def _extra(self, t, bits, waves):
        """t plus the maps of bits and waves the model has (the tensors named bits and waves)."""
        if self.c.get("byte_bits", False):
            t = t + self.signs @ self.w[bits]
        if self.c.get("byte_waves", False):
            t = t + self.waves @ self.w[waves]
        return t

    @property
    def byte_table(self):
        return self._extra(self.w["byte_emb.weight"], "byte_bits", "byte_waves")

    @property
    def patch_table(self):
        t = self.w["patch_emb.weight"]
        if self.c.get("byte_bits", False):
            t = t + torch.matmul(self.signs.unsqueeze(0), self.w["patch_bits"]).reshape(S * V, self.D)
        if self.c.get("byte_waves", False):
            t = t + torch.matmul(self.waves.unsqueeze(0), self.w["patch_waves"]).reshape(S * V, self.D)
        return t

    @property
    def copy_table(self):
        if not self.c.get("copy_path", False):
            return None
        return self._extra(self.w["copy_emb.weight"], "copy_bits", "copy_waves")

    @classmethod
    def load(cls, path):
        """A safetensors export (cpusim model export --format safetensors)."""
        tensors, meta = load_safetensors(path)
        return cls(tensors, json.loads(meta["cpusim_model"]))

    @classmethod
    def from_pretrained(cls, folder):
        """A model folder (cpusim model export --format hf): config.json and model.safetensors.
        The machine it was trained for is `model.machine` (config.json's cpusim_meta.isa)."""
        with open(f"{folder}/config.json") as f:
            config = json.load(f)
        tensors, _ = load_safetensors(f"{folder}/model.safetensors")
        m = cls(tensors, config["cpusim_model"])
        m.machine = config.get("cpusim_meta", {}).get("isa")
        return m

    def forward(self, inputs, targets, rows, context=None):
        """Teacher-forced logits (N, S, V): see teacher_logits."""
        return self.teacher_logits(inputs, targets, rows, context)

    # ---- blocks ---------------------------------------------------------------------------
    def _ln(self, name, x):
        return F.layer_norm(x, (self.D,), self.w[name + ".weight"], self.w[name + ".bias"], 1e-5)

    def _lin(self, name, x):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def memory(self, p, m):
        """Block p's keys and values of m (B, M, D), without running m through it: (B, H, M, K) each."""
        B, M, D = m.shape
        W, b = self.w[p + "qkv.weight"], self.w[p + "qkv.bias"]
        kv = F.linear(self._ln(p + "ln1", m), W[D:], b[D:]).view(B, M, 2, self.H, D // self.H)
        kv = kv.permute(2, 0, 3, 1, 4)
        return kv[0], kv[1]

    def block(self, p, x, past=None):
        """GPT-2 block p on x (B, T, D); `past` (k, v) come first and are all visible. Returns the
        output and the keys and values of x."""
        B, T, D = x.shape
        K = D // self.H
        qkv = self._lin(p + "qkv", self._ln(p + "ln1", x)).view(B, T, 3, self.H, K).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        ka, va = (torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)) if past is not None else (k, v)
        tk = ka.size(2)
        att = (q @ ka.transpose(-2, -1)) / math.sqrt(K)
        mask = torch.ones(T, tk, dtype=torch.bool).tril(tk - T)
        att = att.masked_fill(~mask, float("-inf"))
        y = (att.softmax(-1) @ va).transpose(1, 2).reshape(B, T, D)
        h = x + self._lin(p + "proj", y)
        return h + self._lin(p + "out", F.gelu(self._lin(p + "fc", self._ln(p + "ln2", h)), approximate=self.gelu)), (k, v)

    # ---- the patch decoder ----------------------------------------------------------------
    def patch_features(self, patches):
        """(B, T, S) symbols, patch 0 the begin patch (any content: the model's own is used) -> (B, T, D)."""
        patches = patches.clone()
        if self.c.get("begin_patch", "pad") == "bin":
            patches[:, 0, :] = PAD
            patches[:, 0, :3] = torch.tensor(list(b"bin"))
        else:
            patches[:, 0, :] = PAD
        B, T, _ = patches.shape
        x = F.embedding(patches + torch.arange(S) * V, self.patch_table).sum(2) + self.w["patch_bias"]
        x = x + self.w["patch_pos.weight"][:T]
        for i in range(self.c["patch_layers"]):
            x, _ = self.block(f"patch_blocks.{i}.", x)
        return self._ln("patch_ln", x)

    # ---- the byte decoder -----------------------------------------------------------------
    def program_kv(self, inputs):
        """Per byte block, the keys and values of each trace's program image (inputs' patches 1..)."""
        Pm = self.c.get("program_memory", 0)
        if Pm <= 0:
            return None
        B = inputs.size(0)
        image = inputs[:, 1:1 + Pm // S].reshape(B, Pm)
        pos = self.w["program_pos.weight"]
        if self.c.get("address_bits", False):
            A = max(1, (Pm - 1).bit_length())
            bits = (torch.arange(Pm).unsqueeze(1) >> torch.arange(A)) & 1
            pos = pos + (bits.float() * 2 - 1) @ self.w["address_maps"]
        if self.c.get("position_waves", False):
            pos = pos + waves_of(Pm) @ self.w["program_waves"]
        h = F.embedding(image, self.byte_table) + pos.unsqueeze(0)
        return [self.memory(f"byte_blocks.{l}.", h) for l in range(self.c["byte_layers"])]

    def byte_logits(self, feat, target, prev, context=None, program=None, row_trace=None):
        """Teacher-forced logits (N, S, V) of patches `target` (N, S) from their patch features
        (N, D), the input patch before each (N, S; the copy path), the previous state (N, P) and
        the program memory of program_kv (indexed by row_trace)."""
        L = self.c["byte_layers"]
        past = [None] * L
        if program is not None:
            past = [(k.index_select(0, row_trace), v.index_select(0, row_trace)) for k, v in program]
        if self.c.get("state_prefix", 0) > 0:
            pos = self.w["prefix_pos.weight"]
            if self.c.get("position_waves", False):
                pos = pos + waves_of(pos.size(0)) @ self.w["prefix_waves"]
            h = F.embedding(context, self.byte_table) + pos.unsqueeze(0)
            for l in range(L):
                p = f"byte_blocks.{l}."
                if self.c.get("prefix_memory", False):
                    kv = self.memory(p, h)
                else:
                    h2, kv = self.block(p, h, past[l])
                    h = h2
                past[l] = kv if past[l] is None else (torch.cat([past[l][0], kv[0]], 2), torch.cat([past[l][1], kv[1]], 2))
        x = torch.cat([feat.unsqueeze(1), F.embedding(target[:, :S - 1], self.byte_table)], 1)
        x = x + self.w["byte_pos.weight"][:S].unsqueeze(0)
        if self.c.get("copy_path", False):
            x = x + F.embedding(prev, self.copy_table)
        if self.c.get("feature_every_byte", False):
            x = x + (feat @ self.w["feature_maps"]).unsqueeze(1)
        for l in range(L):
            x, _ = self.block(f"byte_blocks.{l}.", x, past[l])
        return self._ln("byte_ln", x) @ self.byte_table.t()

    def teacher_logits(self, inputs, targets, rows, context=None):
        """cpusim's scored logits of a batch: inputs and targets (B, T, S), rows (N) indexes into
        the flattened (B * T) positions, context (N, P) the previous state of each row."""
        B, T, _ = inputs.shape
        feats = self.patch_features(inputs).reshape(B * T, self.D).index_select(0, rows)
        tgt = targets.reshape(B * T, S).index_select(0, rows)
        # The copy path's patch: input position p holds trace patch p - 1, so the patch copy_stride
        # before the target is at p - (copy_stride - 1), within the row's own trace.
        back = torch.clamp(torch.remainder(rows, T), max=self.c.get("copy_stride", 1) - 1)
        prev = inputs.reshape(B * T, S).index_select(0, rows - back)
        return self.byte_logits(feats, tgt, prev, context, self.program_kv(inputs), torch.div(rows, T, rounding_mode="floor"))

    # ---- from trace bytes -----------------------------------------------------------------
    @staticmethod
    def batch_of_traces(traces, image_bytes, state_bytes, prefix=0):
        """What cpusim's trainer makes of traces (image, then states, whole patches): inputs
        [begin, patch 0 ..], targets [patch 0 .., end], the rows of the states after the first
        and of the end patch, and each row's previous state (prefix bytes, or None)."""
        ip, sp = image_bytes // S, state_bytes // S
        T = max(len(t) // S for t in traces) + 1
        B = len(traces)
        inputs = torch.full((B, T, S), PAD, dtype=torch.long)
        targets = torch.full((B, T, S), PAD, dtype=torch.long)
        rows, ctx = [], []
        for b, t in enumerate(traces):
            n = len(t) // S
            x = torch.tensor(list(t[:n * S]), dtype=torch.long).view(n, S)
            inputs[b, 1:n + 1] = x
            targets[b, :n] = x
            for p in range(ip + sp, n + 1):
                rows.append(b * T + p)
                if prefix:
                    k = (p - ip) // sp
                    frm = (ip + (k - 1) * sp) * S
                    ctx.append([t[frm + j] if frm + j < n * S else PAD for j in range(prefix)])
        context = torch.tensor(ctx, dtype=torch.long) if prefix else None
        return inputs, targets, torch.tensor(rows, dtype=torch.long), context

    def teacher_logits_of_traces(self, traces, image_bytes, state_bytes):
        inputs, targets, rows, context = self.batch_of_traces(traces, image_bytes, state_bytes,
                                                              self.c.get("state_prefix", 0))
        return self.teacher_logits(inputs, targets, rows, context)

    # ---- greedy rollouts ------------------------------------------------------------------
    @torch.no_grad()
    def rollout(self, prefix, image_bytes, state_bytes, max_steps):
        """Greedy byte-by-byte rollout of one program, as `cpusim eval --mode rollout` predicts:
        from `prefix` (the image, then the initial state: bytes), each predicted state fed
        back, until a state fetches HLT (its IR byte is 0), the model writes the end symbol, or
        `max_steps` states. Returns the predicted states' bytes (the trace file's tail). No
        caches: every byte recomputes the whole history (a reference, not a fast path)."""
        ip, sp = image_bytes // S, state_bytes // S
        P, stride = self.c.get("state_prefix", 0), self.c.get("copy_stride", 1)
        seq = torch.full((1, 1 + ip + sp, S), PAD, dtype=torch.long)
        seq[0, 1:] = torch.tensor(list(prefix[:(ip + sp) * S]), dtype=torch.long).view(ip + sp, S)
        program = self.program_kv(seq)
        row = torch.zeros(1, dtype=torch.long)
        ctx = torch.tensor([list(prefix[ip * S:ip * S + P])], dtype=torch.long) if P else None
        out = bytearray()
        for _ in range(max_steps):
            state = []
            for _ in range(sp):
                if seq.size(1) >= self.c["max_patches"]:
                    return bytes(out)
                feat = self.patch_features(seq)[:, -1]
                prev = seq[:, -stride]  # the patch copy_stride before the one predicted
                cur = torch.zeros(1, S, dtype=torch.long)
                for i in range(S):
                    cur[0, i] = self.byte_logits(feat, cur, prev, ctx, program, row)[0, i].argmax()
                state += cur[0].tolist()
                seq = torch.cat([seq, cur.unsqueeze(1)], 1)
            if PAD in state:
                break  # the model ended the trace
            out += bytes(state)
            if state[2] == 0:  # IR: HLT fetched, the last state
                break
            if P:
                ctx = torch.tensor([state[:P]], dtype=torch.long)
        return bytes(out)
