#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh: venv, llama.cpp build, local models; cached), then runs
# lint, format and type checks and the whole test suite, including the end-to-end tests that
# serve real local models. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "perforch test: ruff, mypy"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
echo "perforch test: pytest"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "perforch test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
