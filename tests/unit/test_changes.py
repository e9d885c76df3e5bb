"""The functions a working tree's changes touch (git diff against a ref)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from perforch_core import changes
from perforch_core.errors import ConfigError

PY = "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n"
GO = "package m\n\nfunc X() int {\n\treturn 1\n}\n\nfunc Y() int {\n\treturn 2\n}\n"


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def test_the_functions_whose_lines_changed_are_found_in_every_language(tmp_path: Path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "m.py").write_text(PY)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.go").write_text(GO)
    (tmp_path / "notes.txt").write_text("x\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    (tmp_path / "m.py").write_text(PY.replace("return 2", "return 2 + 0"))  # b only
    (tmp_path / "pkg" / "m.go").write_text(GO.replace("\treturn 1\n", "\t// one\n\treturn 1\n"))
    (tmp_path / "notes.txt").write_text("y\n")  # not code
    found = changes.changed_functions(tmp_path / "pkg")  # anywhere in the repository
    assert [(c.path.name, c.function, c.lines) for c in found] == [
        ("m.py", "b", (5, 6)),
        ("m.go", "X", (3, 6)),
    ]
    # Against a ref where everything is new: every function.
    assert len(changes.changed_functions(tmp_path, "4b825dc642cb6eb9a060e54bf8d69288fbee4904")) == 5


def test_a_deletion_marks_the_function_it_happened_in():
    diff = "+++ b/m.py\n@@ -6,1 +5,0 @@\n-    x = 1\n+++ /dev/null\n@@ -1 +0,0 @@\n"
    assert changes.changed_lines(diff) == {"m.py": [(5, 5)]}


def test_outside_a_repository_the_error_says_so(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read the changes"):
        changes.changed_functions(tmp_path)
