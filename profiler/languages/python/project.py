"""pytest projects: the selected tests (node ids, doctests included) run with the user's
interpreter on the copy, the copy's import root first on ``sys.path`` so that it shadows an
editable install of the user's tree; measured in one process by ``pytest_bench.py``."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from perforch_core.errors import HarnessError
from perforch_core.models import Metric, ProjectSpec, TestInputs, TestOutcome

from ...harness import contract, python_exe
from ...harness.base import ProcessResult
from ...harness.generated import GeneratedInputs
from ...projects.base import (
    INSIDE,
    SRC,
    Runner,
    Step,
    build_failure,
    copy_project,
    junit_cases,
    measured,
    outcome,
    project_cache,
    step,
)
from ...protocol import CompareParams, Program, RunTestsParams, TraceResult
from ...sandbox import RunResult, workdir

PLUGIN = "perforch_pytest_bench"
PAIRS = 20


def interpreter(spec: ProjectSpec, chosen: str | None) -> str:
    exe = chosen or spec.options.get("python") or sys.executable
    return shutil.which(exe) or exe


def _python_env(spec: ProjectSpec, plugins: bool = False) -> dict[str, str]:
    """The copy's import root first on the path (it shadows an editable install of the
    user's tree), then the copy itself."""
    import_root = spec.options.get("import_root", ".")
    path = [f"{SRC}/{import_root}"] if import_root != "." else []
    if plugins:
        path.insert(0, f"{INSIDE}/plugins")
    return {
        "PYTHONPATH": ":".join([*path, SRC]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
    }


def _pytest_step(spec: ProjectSpec, exe: str, extra: list[str], plugins: bool = False) -> Step:
    doctest = ["--doctest-modules"] if any("docstring" in t.found_by for t in spec.tests) else []
    env = _python_env(spec, plugins)
    # pytest-benchmark's options exist only where its plugin is loaded: the user's interpreter
    # has it when their benchmarks judge (they need its fixture), PerfOrch's when installed.
    bench = bool(spec.benchmarks)
    own = spec.options.get("python")
    if Path(exe).resolve() == Path(sys.executable).resolve() and not (
        own and Path(own).resolve() == Path(exe).resolve()
    ):
        # PerfOrch's own interpreter standing in for a project without one: its pytest plugins
        # (pytest-asyncio, pytest-lsp, …) are not the project's, and a project that turns
        # warnings into errors fails on theirs. A project's own interpreter keeps its plugins.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        if importlib.util.find_spec("pytest_benchmark") is not None:
            extra = ["-p", "pytest_benchmark.plugin", *extra]  # the projects' benchmark fixture
            bench = True
    if bench:  # benchmark(f, …) calls f once: our own loop measures it
        extra = ["--benchmark-disable", *extra]
    return Step(
        argv=[
            exe,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            SRC,
            *doctest,
            *extra,
            *(t.id for t in spec.tests),
        ],
        env=env,
        ro_binds=python_exe.binds(exe),
    )


TRACE_PLUGIN = "perforch_pytest_trace"
INPUTS_PLUGIN = "perforch_pytest_inputs"


def _ship(wd: Path, files: dict[str, str]) -> None:
    """Copy this package's sandbox scripts into ``wd/plugins`` (on the path when pytest runs
    with ``plugins=True``): name there → file here."""
    plugins = wd / "plugins"
    plugins.mkdir()
    for name, shipped in files.items():
        (plugins / name).write_text(resources.files(__package__).joinpath(shipped).read_text())


class PytestRunner(Runner):
    in_process = frozenset(Metric)  # all four, in one pytest process (pytest_bench.py)
    reads_test_inputs = True  # pytest_inputs.py

    def __init__(self) -> None:
        self.generated_inputs = PytestInputs()

    # Interpreted calls cost more than the clock: a batch costs ~2 ms of the process's CPU.
    constants = contract.Constants(target_batch_ns=2_000_000, max_k=1 << 20)

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        exe = interpreter(spec, params.program.interpreter)
        s = _pytest_step(spec, exe, [f"--junitxml={INSIDE}/junit.xml"])
        run = await step(wd, cache, s, params.timeout_s)
        cases = junit_cases(wd / "junit.xml")
        if "No module named pytest" in run.stderr_tail:
            raise HarnessError(
                f"pytest is not installed for {exe}",
                hint="install pytest into the interpreter that runs your project (--python)",
            )
        if run.returncode in (2, 3, 4):  # interrupted: the tests could not even be collected
            return build_failure("collecting the tests", run)
        return outcome(cases, run, len(spec.tests), run.wall_s)

    async def trace(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TraceResult:
        """Every test under the project's root on the current code (not only its configured
        ``testpaths``: the static search also looks everywhere, and a ``bench/`` of test files
        is a workload worth having), each under a profile hook: which of them reach the
        function. A file that does not even import is skipped, not fatal."""
        _ship(wd, {f"{TRACE_PLUGIN}.py": "pytest_trace.py"})
        request = {
            "function": params.program.entry_point,
            "file": f"/{spec.file}",
            "out": f"{INSIDE}/trace.json",
        }
        (wd / "trace-request.json").write_text(json.dumps(request))
        exe = interpreter(spec, params.program.interpreter)
        everything = spec.model_copy(update={"tests": ()})
        extra = [
            "-p",
            TRACE_PLUGIN,
            f"--perforch-trace={INSIDE}/trace-request.json",
            "--continue-on-collection-errors",
            SRC,
        ]
        if any("docstring" in t.found_by for t in spec.tests):
            extra.append("--doctest-modules")
        run = await step(wd, cache, _pytest_step(everything, exe, extra, True), params.timeout_s)
        found = wd / "trace.json"
        if run.returncode in (2, 3, 4) or not found.is_file():
            return TraceResult(error=build_failure("collecting the tests", run).error)
        data = json.loads(found.read_text())
        return TraceResult(reached=list(data["reached"]), ran=int(data["ran"]))

    async def test_inputs(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestInputs:
        """The selected tests on the copy, each under ``py_inputs.Recorder``: the arguments
        they call the function with (``pytest_inputs.py``)."""
        _ship(wd, {f"{INPUTS_PLUGIN}.py": "pytest_inputs.py", "py_inputs.py": "py_inputs.py"})
        request = {
            "function": params.program.entry_point,
            "file": f"/{spec.file}",
            "out": f"{INSIDE}/inputs.json",
        }
        (wd / "inputs-request.json").write_text(json.dumps(request))
        exe = interpreter(spec, params.program.interpreter)
        extra = ["-p", INPUTS_PLUGIN, f"--perforch-inputs={INSIDE}/inputs-request.json"]
        run = await step(wd, cache, _pytest_step(spec, exe, extra, True), params.timeout_s)
        found = wd / "inputs.json"
        if not found.is_file():
            why = build_failure("running the tests", run).error or "no result"
            return TestInputs(ok=False, error=why[:600])
        data = json.loads(found.read_text())
        return TestInputs(
            ok=True,
            inputs=tuple(data["inputs"]),
            calls=int(data["calls"]),
            unreadable=int(data["unreadable"]),
        )

    async def compare_once(
        self,
        spec: ProjectSpec,
        wd: Path,
        cache: Path,
        params: CompareParams,
        candidate: str,
        seed: int,
    ) -> ProcessResult:
        """Baseline (the copy's file) and candidate interleaved in one pytest process."""
        _ship(wd, {f"{PLUGIN}.py": "pytest_bench.py", "py_measuring.py": "py_measuring.py"})
        (wd / "candidate.py").write_text(candidate)
        request = {
            "module": spec.options["module"],
            "function": params.program.entry_point,
            "candidate": f"{INSIDE}/candidate.py",
            "metric": params.metric.value,
            "pairs": params.pairs or PAIRS,
            "seed": seed,
            "out": f"{INSIDE}/result.json",
            "constants": self.constants.as_request(),
            # Generated inputs, when refinement has them: measured instead of the tests.
            "workload": (
                params.program.workload.model_dump(mode="json") if params.program.workload else None
            ),
        }
        (wd / "request.json").write_text(json.dumps(request))
        exe = interpreter(spec, params.program.interpreter)
        # The user's benchmarks, when they reach the function, are the measured tests.
        measured_spec = (
            spec.model_copy(update={"tests": spec.benchmarks}) if spec.benchmarks else spec
        )
        bench_args = ["-p", PLUGIN, f"--perforch-bench={INSIDE}/request.json"]
        s = _pytest_step(measured_spec, exe, bench_args, True)
        run = await step(wd, cache, s, params.timeout_s, measuring=True)
        return measured(wd / "result.json", run)


class PytestInputs(GeneratedInputs):
    """Generated inputs for a function of a pytest project: ``py_workload.py`` runs beside a
    sandboxed copy of the project (the original in place), imports the function's module by
    name as the project's own code does, and runs the candidate's module as its twin."""

    async def _run_workload_runner(
        self, program: Program, files: dict[str, str], request: dict[str, Any], wall_s: float
    ) -> tuple[dict[str, Any] | None, RunResult]:
        spec = program.tests.project
        if spec is None or spec.kind != "pytest":
            raise HarnessError("generated workloads run in pytest projects and lone files only")
        exe = interpreter(spec, program.interpreter)
        cache = project_cache(spec)
        with workdir("perforch-project-") as wd:
            await asyncio.to_thread(copy_project, spec, wd / "src", files["module_a.py"])
            for name, text in files.items():
                (wd / name).write_text(text)
            source = resources.files(__package__).joinpath("py_workload.py").read_text()
            (wd / "py_workload.py").write_text(source)
            (wd / "request.json").write_text(
                json.dumps({**request, "import": spec.options["module"]})
            )
            s = Step(
                argv=[exe, "py_workload.py", "request.json", "result.json"],
                cwd=INSIDE,
                env=_python_env(spec),
                ro_binds=python_exe.binds(exe),
            )
            run = await step(wd, cache, s, wall_s, measuring=True)  # it times calls
            found = wd / "result.json"
            return (json.loads(found.read_text()) if found.is_file() else None), run
