#!/usr/bin/env bash
# Sets up everything PerfOrch needs on a fresh machine, idempotently:
#   - bubblewrap (Debian package), the sandbox for generated code; Boost headers;
#   - the compiled languages' test libraries (Rust crates as rlibs, Go's testify), built once,
#     and the JUnit console launcher; the fixture projects' dependencies in the user's caches;
#   - a virtualenv in .venv with the project (editable) and its dev tools;
#   - llama-cpp-python, compiled once and cached under $HOME/.cache/perforch (keyed by version);
#   - the VS Code extension's toolchain and .vsix, code-server and Chromium (scripts/setup-editor.sh);
#   - the local GGUF models named in $PERFORCH_SETUP_MODELS (default: the Qwen pool + SmolLM2),
#     downloaded once into the cache with size and sha256 checks.
# A second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PERFORCH_CACHE="${PERFORCH_CACHE:-$HOME/.cache/perforch}"
MODELS="${PERFORCH_SETUP_MODELS:-qwen2.5-coder-1.5b qwen2.5-coder-0.5b smollm2-135m}"

# bubblewrap isolates generated code (namespaces, uid nobody); setpriv (util-linux) drops to
# nobody inside it when we run as root.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "perforch setup: installing bubblewrap (the sandbox for generated code) with apt-get"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "perforch setup: bubblewrap is required to sandbox generated code: sudo apt-get install bubblewrap" >&2
    exit 1
  fi
fi
command -v setpriv >/dev/null 2>&1 || { echo "perforch setup: setpriv (util-linux) is missing" >&2; exit 1; }
# Boost headers: two HumanEval-X C++ problems (CPP/22, CPP/137) include them.
if [ ! -d /usr/include/boost ] && [ "$(id -u)" = 0 ]; then
  echo "perforch setup: installing Boost headers (libboost-dev) for the C++ benchmark tests"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libboost-dev >/dev/null
fi

# Google Benchmark: the C++ project fixture has benchmarks written with it (a user's own
# benchmarks are measured instead of the tests; tests/fixtures/projects/cpp/rangeutil/bench).
if [ ! -f /usr/include/benchmark/benchmark.h ] && [ "$(id -u)" = 0 ]; then
  echo "perforch setup: installing Google Benchmark (libbenchmark-dev) for the C++ project tests"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libbenchmark-dev >/dev/null
fi

# Neovim: the second real LSP client of the test suite (headless, tests/editors).
if ! command -v nvim >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "perforch setup: installing Neovim (a real LSP client for the editor tests)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim >/dev/null
fi

# The pyenv shim adds 200+ ms per start: build the venv on the real interpreter.
PY_BASE=$(python3.11 -c 'import sys; print(sys.executable)')
if [ ! -x .venv/bin/python ]; then
  echo "perforch setup: creating .venv (Python $("$PY_BASE" -V 2>&1 | cut -d' ' -f2))"
  "$PY_BASE" -m venv .venv
fi
stamp=.venv/.perforch-installed
want=$(cat pyproject.toml scripts/setup.sh | md5sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  WHEELDIR=$(scripts/build-llama-wheel.sh "$PY_BASE")
  echo "perforch setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
  # The exact llama.cpp build for this CPU (replaces any other build of the same version).
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --force-reinstall \
    "$WHEELDIR"/llama_cpp_python-*.whl
  .venv/bin/python -m pip install -q --disable-pip-version-check --find-links "$WHEELDIR" \
    -e ".[local,report]" --group dev
  echo "$want" > "$stamp"
fi
# Test libraries for the compiled languages (Rust crates, Go's testify), fetched once.
.venv/bin/python -m profiler.toolchains
# The fixture projects' dependencies in the user's caches, as a user who built them has them.
bash scripts/setup-fixtures.sh
# The VS Code extension (.vsix) and real VS Code for its test: Node 24, code-server, Chromium.
bash scripts/setup-editor.sh >/dev/null
# Models: `perforch models install` downloads and verifies; a no-op for installed ones.
# shellcheck disable=SC2086
.venv/bin/perforch models install $MODELS
