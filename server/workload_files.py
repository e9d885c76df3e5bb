"""A generated workload saved as a file the user keeps, in their project's style: a pytest
file (Python: beside the project's own tests), a benchmark in the function's language where
one is written (Go: a ``Benchmark…`` in a ``_test.go`` file, its inputs in ``testdata/``),
else the input generator as a ``.py`` script. Shared by the CLI's ``--save-workload FILE`` and
the editor's ``perforch.saveWorkload``; never overwrites a file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from perforch_core import languages, workloads
from perforch_core.errors import ConfigError, PerfOrchError
from perforch_core.models import Task, Workload
from profiler.protocol import InputsResult


class InputsWriter(Protocol):
    async def workload_inputs(
        self, generator: str, size: int, seeds: Sequence[int]
    ) -> InputsResult: ...


@dataclass(frozen=True)
class Saved:
    """What saving did: the files written (none when refused) and what to tell the user."""

    message: str
    files: list[Path] = field(default_factory=list)


def suggested(path: Path, task: Task, workload: Workload) -> Path:
    """Where the file goes unless the user says otherwise: a Python project's test file in the
    directory of its tests that exercise the function (not its doctests), else beside the
    function's file; a benchmark named as its language wants; else the generator as
    ``<fn>_workload.py``."""
    fn = task.entry_point
    support = languages.support(task.language)
    if support.workload_test_file:
        project = task.tests.project
        files = [t.file for t in project.tests if t.file != project.file] if project else []
        where = Path(project.root) / Path(files[0]).parent if project and files else path.parent
        return where / f"test_{fn}_perforch.py"
    try:
        bench = support.benchmark_file(task, workload)
    except ConfigError:
        bench = None
    if bench is not None:
        return path.parent / f"{fn.lower()}_perforch{bench.name_suffix}"
    return path.parent / f"{fn}_workload.py"


def package_module(path: Path) -> str:
    """A lone Python file's module as pytest imports it: dotted through the packages around it
    (``maths/perfect_number.py`` in a package ``maths`` is ``maths.perfect_number``; the test
    beside it is imported as ``maths.test_…``, so a bare ``perfect_number`` would not import)."""
    parts, where = [path.stem], path.parent
    while (where / "__init__.py").exists() and where != where.parent:
        parts.insert(0, where.name)
        where = where.parent
    return ".".join(parts)


async def save(
    profiler: InputsWriter, path: Path, task: Task, workload: Workload, saving: Path
) -> Saved:
    """Write ``workload`` for ``task`` (the function in ``path``) as ``saving``."""
    if saving.exists():
        return Saved(f"not saved: {saving} exists")
    support = languages.support(task.language)
    if support.workload_test_file:
        module = None if task.tests.project else package_module(path)
        saving.write_text(workloads.as_test_file(task, workload, module), encoding="utf-8")
        return Saved(f"saved the generated workload as {saving}", [saving])
    if saving.suffix == ".py":
        saving.write_text(workloads.as_generator_script(task, workload), encoding="utf-8")
        return Saved(f"saved the input generator as {saving}", [saving])
    try:
        bench = support.benchmark_file(task, workload)
    except ConfigError as exc:
        return Saved(f"not saved: {exc}" + (f" ({exc.hint})" if exc.hint else ""))
    if bench is None:
        return Saved(
            f"not saved: a {support.label} benchmark file from the workload is not written yet; "
            "give a .py FILE to keep its input generator"
        )
    if not saving.name.endswith(bench.name_suffix):
        return Saved(
            f"not saved: a {support.label} benchmark file's name ends in {bench.name_suffix}"
        )
    if saving.resolve().parent != path.resolve().parent:
        return Saved(f"not saved: the benchmark goes beside {path.name}, in {path.parent}")
    data = saving.parent / bench.data_path
    if data.exists():
        return Saved(f"not saved: {data} exists")
    try:
        inputs = await profiler.workload_inputs(workload.generator, workload.size, workload.seeds)
    except PerfOrchError as exc:  # the job's result is still shown
        return Saved(f"not saved: the inputs could not be written: {exc}")
    if not inputs.ok or inputs.json_text is None:
        return Saved(f"not saved: the inputs could not be written: {inputs.error}")
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(inputs.json_text, encoding="utf-8")
    saving.write_text(bench.text, encoding="utf-8")
    return Saved(
        f"saved the generated workload as {saving} with its inputs in {data} "
        f"({data.stat().st_size / 1e6:.1f} MB); run it with {bench.run_hint}",
        [saving, data],
    )
