#!/usr/bin/env bash
# Builds llama-cpp-python once (it compiles llama.cpp, ~7-20 min on 2 cores) and caches the
# wheel under $HOME/.cache/perforch, keyed by version and build flags. Prints the wheel dir.
# Usage: build-llama-wheel.sh PYTHON
#
# Flags: llama.cpp's default -march=native turns on AMX on recent Xeons, and the first matrix
# multiply then segfaults inside these VMs (seen here). So we never build "native": we pick
# AVX-512 (without AMX) when the CPU has it -- 2-3x faster generation than AVX2 here -- and
# x86-64-v3 (AVX2, FMA, F16C) otherwise.
set -euo pipefail
PY=${1:?python interpreter}
VERSION=0.3.36
V3="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
  VARIANT=avx512
  FLAGS="$V3 -DGGML_AVX512=ON"
  grep -qw avx512_vnni /proc/cpuinfo && FLAGS="$FLAGS -DGGML_AVX512_VNNI=ON"
  grep -qw avx512vbmi /proc/cpuinfo && FLAGS="$FLAGS -DGGML_AVX512_VBMI=ON"
  grep -qw avx512_bf16 /proc/cpuinfo && FLAGS="$FLAGS -DGGML_AVX512_BF16=ON"
else
  VARIANT=x86-64-v3
  FLAGS="$V3"
fi
KEY=$(echo "$FLAGS" | md5sum | cut -c1-8)
DIR="${PERFORCH_CACHE:-$HOME/.cache/perforch}/wheels/llama-cpp-python-$VERSION-$VARIANT-$KEY"
if ! ls "$DIR"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "perforch: building llama-cpp-python $VERSION for $VARIANT (compiles llama.cpp once, 7-20 min; cached in $DIR)" >&2
  rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp"
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$PY" -m pip wheel --no-deps \
    --no-cache-dir --no-binary llama-cpp-python -w "$DIR.tmp" "llama-cpp-python==$VERSION" >&2
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
fi
echo "$DIR"
