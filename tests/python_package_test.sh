#!/usr/bin/env bash
# tests/python_package_test.sh BUILD_DIR ROOT WORK: the `cpusim` Python package installed with pip
# from the source tree, offline (a venv with Debian's site packages, --no-build-isolation: the
# build backend is Debian's setuptools), the compiled module taken from BUILD_DIR
# (CPUSIM_BUILD_DIR); then used from outside the tree as the README says: the machine stated
# once, a set's machine, the submodules, and help() showing the docstrings.
set -euo pipefail
build=${1:?usage: python_package_test.sh BUILD_DIR ROOT WORK}
root=${2:?}
work=${3:?}
python=${PYTHON:-/usr/bin/python3}
rm -rf "$work"
mkdir -p "$work"
"$python" -m venv --system-site-packages "$work/venv"
CPUSIM_BUILD_DIR="$build" "$work/venv/bin/pip" install -q --no-build-isolation --no-deps --no-index "$root"
"$build/cli/cpusim" datagen -q --isa bgpt --memory-size 64 --train 20 --test 4 --seed 1 -o "$work/s.h5"
cd "$work"  # (not the source tree: the installed package is the one imported)
"$work/venv/bin/python" - "$work/s.h5" <<'PY'
import io, contextlib, sys
import cpusim, cpusim.data, cpusim.torch
assert cpusim.__file__.startswith(sys.prefix), f"imported {cpusim.__file__}, not the venv's"
m = cpusim.TraceSet(sys.argv[1]).machine()
assert m == cpusim.Machine("bgpt", memory_size=64), m
t = m.run(m.assemble("LOADI 5\nHLT"))
assert m.verify([t])["byte_accuracy"] == 1.0
ds = cpusim.data.TraceDataset(sys.argv[1], "train")
assert len(ds) == 20 and ds.machine == m
batch = cpusim.data.PatchCollate.for_set(ds)([ds[0], ds[1]])
assert batch[0].shape[2] == 16
assert issubclass(cpusim.torch.BGPT, __import__("torch").nn.Module)
out = io.StringIO()
with contextlib.redirect_stdout(out):
    help(cpusim.Machine)
    help(cpusim)
assert "stated once" in out.getvalue() and "cpusim.torch" in out.getvalue()
print("ok: pip-installed cpusim", cpusim.__version__, "from", cpusim.__file__)
PY
