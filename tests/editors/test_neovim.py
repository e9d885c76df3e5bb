"""The Optimize scenario in a second real client: headless Neovim (0.7, from Debian) running
``perforch lsp`` with a real local model (shared/notes/editor-testing.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import local_models_installed
from tests.text_checks import same_but_added_imports

pytestmark = [pytest.mark.llm, pytest.mark.slow]

REPO = Path(__file__).parents[2]
SCRIPT = Path(__file__).with_name("nvim_optimize.lua")
BIG = "local/qwen2.5-coder-1.5b"


def test_optimize_in_headless_neovim(tmp_path: Path):
    assert shutil.which("nvim"), "Neovim missing: run scripts/setup.sh (it installs it)"
    assert local_models_installed("qwen2.5-coder-1.5b"), "run scripts/setup.sh"
    source = (REPO / "examples" / "slow_functions.py").read_text()
    target = tmp_path / "slow_functions.py"
    target.write_text(source)
    out = tmp_path / "nvim.json"
    line = source.splitlines().index("    for i in range(len(items)):")
    env = {
        **os.environ,
        "PERFORCH_NVIM_FILE": str(target),
        "PERFORCH_NVIM_OUT": str(out),
        "PERFORCH_NVIM_PYTHON": sys.executable,
        "PERFORCH_NVIM_MEMORY": str(tmp_path / "memory.sqlite"),
        "PERFORCH_NVIM_PICK": BIG,
        "PERFORCH_NVIM_LINE": str(line),
        "PERFORCH_NVIM_ACTION": "PerfOrch: Optimize has_duplicates for exec time (choose model…)",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    run = subprocess.run(
        ["timeout", "600", "nvim", "--headless", "--clean", "-u", str(SCRIPT)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=660,
    )
    assert out.exists(), f"nvim wrote nothing (exit {run.returncode}): {run.stderr[-2000:]}"
    result = json.loads(out.read_text())
    assert result["errors"] == [], result
    kinds = [p["kind"] for p in result["progress"]]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    events = [e["kind"] for e in result["events"]]
    assert events[0] == "job_started" and events[-1] == "job_finished", events
    assert "measurement_sample" in events, json.dumps(result["events"], indent=0)[-6000:]
    assert result["questions"], "the model question was not asked"
    assert [e["model"] for e in result["events"] if e["kind"] == "model_chosen"] == [BIG]
    assert len(result["edits"]) == 1, result["messages"]
    # One change annotation per hunk (Neovim applies them all): the hunk's lines, the numbers.
    annotations = result["edits"][0]["edit"]["changeAnnotations"]
    assert annotations and set(annotations) == {
        f"perforch.result.{n}" for n in range(1, len(annotations) + 1)
    }
    for annotation in annotations.values():
        assert annotation["needsConfirmation"] is True and annotation["label"].endswith(BIG)
        assert annotation["label"].startswith("change ") and "exec time −" in annotation["label"]
    text = result["final_text"]
    assert text != source
    assert same_but_added_imports(
        text.split("def has_duplicates")[0], source.split("def has_duplicates")[0]
    )
    assert text.split("def count_primes")[1] == source.split("def count_primes")[1]
    namespace: dict[str, object] = {}
    exec(compile(text, "slow_functions.py", "exec"), namespace)
    assert namespace["has_duplicates"]([3, 1, 4, 1]) is True  # type: ignore[operator]
