#!/usr/bin/env bash
# tests/install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR: installs the build into WORK_DIR/prefix,
# builds tests/consumer (find_package(cpusim), cpusim::harness) against it and runs it, and runs
# the installed command.
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src/tests/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" 2>&1 || {
  cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j2 > "$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
out=$("$work/build/consumer")
echo "$out"
[ "$out" = "consumer: 5 states, byte accuracy 1" ] || { echo "install_test: unexpected output"; exit 1; }
"$work/prefix/bin/cpusim" --version
# The installed command runs the model commands from the installed library (lib/cpusim/): a
# missing model is refused from inside it, not "the library is missing".
help=$("$work/prefix/bin/cpusim" --help)
if [[ "$help" == *$'\n  train '* ]]; then  # (built with libtorch)
  set +e
  msg=$("$work/prefix/bin/cpusim" model info "$work/nothing.pt" 2>&1)
  rc=$?
  set -e
  echo "$msg"
  [ $rc = 2 ] && [[ "$msg" == *"nothing.pt"* ]] && [[ "$msg" != *"library"* ]] || {
    echo "install_test: the installed cpusim did not run a model command"; exit 1; }
fi
# The Python package, where the build has it: importable from the install tree.
if [ -d "$build/python/cpusim" ]; then
  pkg="$work/prefix/lib/python3/dist-packages"
  (cd "$work" && PYTHONPATH="$pkg" "${PYTHON:-/usr/bin/python3}" -c \
    "import cpusim; assert cpusim.__file__.startswith('$pkg'), cpusim.__file__; print('installed package', cpusim.Machine('toy'))") || {
    echo "install_test: the installed Python package does not import"; exit 1; }
fi
