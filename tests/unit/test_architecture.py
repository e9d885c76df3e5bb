"""Layering rules of DESIGN §3, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import perforch_core
import server

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[Path, set[str]]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        out[path] = names
    return out


def test_core_imports_no_editor_protocol_and_no_server():
    for path, names in _imports("perforch_core").items():
        assert not names & {"pygls", "lsprotocol", "server"}, path


def test_only_the_gateway_imports_litellm():
    importers = [
        p.relative_to(ROOT).as_posix()
        for pkg in ("perforch_core", "profiler", "server")
        for p, names in _imports(pkg).items()
        if "litellm" in names
    ]
    assert importers == ["perforch_core/llm/gateway.py"]


def test_profiler_depends_on_stdlib_pydantic_and_core_models_only():
    # pyseccomp: the sandbox's seccomp layer (ctypes over libseccomp2), a deliberate addition.
    allowed = {"perforch_core", "pydantic", "profiler", "__future__", "pyseccomp"}
    import sys

    # pytest_bench.py is a pytest plugin the profiler copies into the sandbox: it runs under
    # pytest in the user's interpreter, never in the daemon.
    plugin = ROOT / "profiler" / "projects" / "pytest_bench.py"
    for path, names in _imports("profiler").items():
        foreign = {n for n in names - allowed if n not in sys.stdlib_module_names}
        if path == plugin:
            foreign -= {"pytest"}
        assert not foreign, (path, foreign)


def test_server_package_is_this_projects():
    assert Path(server.__file__).resolve().is_relative_to(ROOT)


def test_public_api_is_exactly_all():
    for name in perforch_core.__all__:
        assert getattr(perforch_core, name) is not None
    assert "Executor" in perforch_core.__all__ and "JobEvent" in perforch_core.__all__
