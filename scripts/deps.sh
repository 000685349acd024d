#!/usr/bin/env bash
# scripts/deps.sh [test]: installs the Debian 12 packages cpusim builds and runs with (only the
# missing ones); `test` adds what only the tests need (clang and libFuzzer for the fuzz targets,
# Chromium for the report page).
# Used by quickstart.sh and test.sh; safe to run again.
set -euo pipefail
packages=(
  build-essential cmake ccache pkg-config python3
  libboost-program-options-dev libhdf5-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libunicorn-dev libcapstone-dev
  libtorch-dev libopenblas0-pthread libgloo-dev libisal-dev
  gnuplot-nox
  python3-dev python3-torch python3-h5py pybind11-dev
  python3-venv python3-pip python3-setuptools python3-wheel  # (pip install of the Python package)
)
if [ "${1:-}" = test ]; then
  packages+=(clang clang-format libclang-rt-14-dev procps zlib1g-dev chromium)  # (procps: pgrep and ps in the process tests; zlib: inflating in a test; chromium: report.html)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
