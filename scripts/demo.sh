#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh), then runs the main job on the offline default: the local
# Qwen2.5-Coder models optimize a slow function from examples/ for execution time, and PerfOrch
# prints the models tried, the measured before/after with its confidence interval, and the diff.
# The file is not changed (add --apply to the perforch command to write the result).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/perforch optimize examples/slow_functions.py::has_duplicates --metric exec_time
