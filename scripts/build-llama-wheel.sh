#!/usr/bin/env bash
# Builds llama-cpp-python once (it compiles llama.cpp with -march=native, ~10-20 min on 2 cores)
# and caches the wheel under $HOME/.cache/perforch, keyed by version and this CPU's flags.
# Prints the wheel directory on stdout. Usage: build-llama-wheel.sh PYTHON
set -euo pipefail
PY=${1:?python interpreter}
VERSION=0.3.36
CPU_KEY=$(grep -m1 '^flags' /proc/cpuinfo | md5sum | cut -c1-10)
DIR="${PERFORCH_CACHE:-$HOME/.cache/perforch}/wheels/llama-cpp-python-$VERSION-$CPU_KEY"
if ! ls "$DIR"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "perforch: building llama-cpp-python $VERSION (compiles llama.cpp once, 10-20 min; cached in $DIR)" >&2
  mkdir -p "$DIR.tmp"
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$PY" -m pip wheel --no-deps --no-binary llama-cpp-python \
    -w "$DIR.tmp" "llama-cpp-python==$VERSION" >&2
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
fi
echo "$DIR"
