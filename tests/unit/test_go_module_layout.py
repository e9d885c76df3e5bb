"""How a Go module's copy is laid out for a generated workload's measuring program: the
function's package twice (original and candidate, each renamed, without the package's tests)
and a driver importing both by the module's path; a method is recognised and refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec
from profiler.languages.go.module_workload import DRIVER_DIR, is_method, lay_out

SETKIT = Path(__file__).resolve().parents[1] / "fixtures/projects/go/setkit"


def _spec(root: Path) -> ProjectSpec:
    return ProjectSpec(kind="go", root=str(root), file="sets/sets.go", tests=(), workdir="sets")


def test_the_package_is_copied_twice_and_the_driver_imports_both(tmp_path: Path):
    src = tmp_path / "src"
    shutil.copytree(SETKIT, src)
    candidate = "package sets\n\nfunc HasDuplicates(items []int) bool { return false }\n"
    driver, cgo = lay_out(src, _spec(src), candidate, "HasDuplicates")
    assert driver == DRIVER_DIR and not cgo
    a, b = src / "sets/perforch_a", src / "sets/perforch_b"
    assert sorted(p.name for p in a.iterdir()) == ["doc.go", "perforch_entry.go", "sets.go"]
    assert (a / "sets.go").read_text().startswith("package perforch_a\n")
    assert "contains(items[i+1:]" in (a / "sets.go").read_text()  # the original
    assert (b / "sets.go").read_text() == candidate.replace("package sets", "package perforch_b")
    assert (b / "doc.go").read_text().splitlines()[1] == "package perforch_b"
    assert "var PerforchEntry = HasDuplicates" in (b / "perforch_entry.go").read_text()
    sides = (src / driver / "perforch_sides_test.go").read_text()
    assert sides.startswith("//go:build go1.21\n")  # go.mod says 1.16: the driver uses `any`
    assert '"example.com/setkit/sets/perforch_a"' in sides
    assert '"example.com/setkit/sets/perforch_b"' in sides


def test_a_package_at_the_module_root_and_a_clash_are_handled(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "go.mod").write_text("module example.com/flat\n\ngo 1.22\n")
    (src / "go.sum").write_text("")
    (src / "flat.go").write_text("package flat\n\nfunc Sum(xs []int) int { return 0 }\n")
    spec = ProjectSpec(kind="go", root=str(src), file="flat.go", tests=())
    driver, _ = lay_out(src, spec, (src / "flat.go").read_text(), "Sum")
    assert '"example.com/flat/perforch_a"' in (src / driver / "perforch_sides_test.go").read_text()
    # The module's own files stay out of the copies (a go.mod would make each a module apart).
    assert sorted(p.name for p in (src / "perforch_a").iterdir()) == [
        "flat.go",
        "perforch_entry.go",
    ]
    with pytest.raises(HarnessError, match="already has a directory named perforch_a"):
        lay_out(src, spec, (src / "flat.go").read_text(), "Sum")


def test_methods_are_told_from_functions():
    source = (SETKIT / "sets/sets.go").read_text()
    assert is_method(source, "Add") and is_method(source, "Len")
    assert not is_method(source, "HasDuplicates") and not is_method(source, "contains")
    assert not is_method("func Map[T any](xs []T) []T { return xs }\n", "Map")
