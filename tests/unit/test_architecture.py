"""Layering rules of DESIGN §3, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import perforch_core
import server

ROOT = Path(__file__).resolve().parents[2]
PYTEST_PLUGINS = ("pytest_bench.py", "pytest_trace.py", "pytest_inputs.py")


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


def _modules(path: Path) -> set[str]:
    """The absolute modules ``path`` imports, in full (``perforch_core.models``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_profiler_depends_on_stdlib_pydantic_and_the_wire_types_only():
    """The daemon shares exactly the wire types (``perforch_core.models``) and the error tree
    (``perforch_core.errors``) with the core; the client, which runs in the core's process and
    implements its ``ProfilerPort``, may also import the port's types and pygls's JSON-RPC
    client."""
    import sys

    # pyseccomp: the sandbox's seccomp layer (ctypes over libseccomp2), a deliberate addition;
    # numpy and scipy: the decision's statistics (profiler/stats.py).
    # py_measuring, py_inputs: shipped beside the Python sandbox scripts (py_runner and the
    # pytest plugins), which import them by those names inside the sandbox.
    shipped = {"py_measuring", "py_inputs"}
    allowed = {"pydantic", "profiler", "__future__", "pyseccomp", "numpy", "scipy", *shipped}
    shared = {"perforch_core.models", "perforch_core.errors"}
    # The pytest plugins the profiler copies into the sandbox run under pytest in the user's
    # interpreter, never in the daemon.
    plugins = [ROOT / "profiler" / "languages" / "python" / f for f in PYTEST_PLUGINS]
    assert all(p.exists() for p in plugins)
    for path in (ROOT / "profiler").rglob("*.py"):
        modules = _modules(path)
        core = {m for m in modules if m.split(".")[0] == "perforch_core"}
        client = path.name == "client.py"
        ports = {"perforch_core.ports"} if client else set()
        assert core <= shared | ports, (path, core - shared - ports)
        foreign = {
            m.split(".")[0]
            for m in modules - core
            if m.split(".")[0] not in allowed | set(sys.stdlib_module_names)
        }
        if path in plugins:
            foreign -= {"pytest"}
        if client:  # its JSON-RPC connection is pygls's client (as esbonio's)
            foreign -= {"pygls", "lsprotocol", "cattrs"}  # cattrs: a type only
        assert not foreign, (path, foreign)


def test_server_package_is_this_projects():
    assert Path(server.__file__).resolve().is_relative_to(ROOT)


def test_public_api_is_exactly_all():
    for name in perforch_core.__all__:
        assert getattr(perforch_core, name) is not None
    assert "Executor" in perforch_core.__all__ and "JobEvent" in perforch_core.__all__
