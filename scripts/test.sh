#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh: venv, llama.cpp build, local models, the extension and
# code-server; cached), then runs lint, format and type checks, the extension's checks and unit
# tests, and the whole test suite, including the end-to-end tests that serve real local models
# and drive real editors. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "perforch test: ruff, mypy"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
echo "perforch test: the VS Code extension (tsc, eslint, vitest; the .vsix was built by setup)"
# shellcheck source=scripts/node-env.sh
. scripts/node-env.sh
npm run --silent typecheck
npm run --silent lint
npm test --silent
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
