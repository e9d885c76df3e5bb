"""Generated workloads for a function of a Cargo crate (a ``CargoRunner`` project's).

Two modules are appended to the function's own file in a sandboxed copy of the crate, both
``#[cfg(test)]`` so that only the test build sees them: ``perforch_b``, the candidate's version
of the function (the top-level items the candidate changed, and the ``use`` lines it added)
beside the original, with ``use super::*`` so that it sees what the original sees, private
items included; and ``perforch_measure``, the lone-file measuring program (``driver.rs``,
``workload_io.rs`` and the sides calling ``super::f`` and ``perforch_b::f``) as one libtest
test. The crate's test binary is built optimized (``cargo test --release --no-run``, offline,
with the crate's own dependencies) and run as that one test, the measuring contract's
arguments passed in ``PERFORCH_ARGS`` (libtest reads the command line). One binary holds both
versions, so the harness interleaves, mirrors and serves them as it does for a lone file."""

from __future__ import annotations

import asyncio
import difflib
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from perforch_core.errors import HarnessError
from perforch_core.models import Metric, TestOutcome

from ... import stages
from ...harness.compiled import Recipe
from ...projects import kept, lock
from ...projects.base import INSIDE, SRC, copy_project, project_cache
from ...projects.kept import KeptBuilds
from ...protocol import Program
from ...sandbox import workdir
from . import workload
from .harness import DRIVER, WORKLOAD_IO, RustHarness

if TYPE_CHECKING:
    from .project import CargoRunner

# What rustc says when the crate's #![forbid(unsafe_code)] meets the counting allocator.
FORBIDS_UNSAFE = re.compile(r"implementation of an `unsafe` trait|forbid\(unsafe_code\)")
TEST = "perforch_measure::perforch_bench"  # the one test the binary runs (a unique name)
# The driver's command line comes from PERFORCH_ARGS: libtest owns the real one.
ARGS = """
fn perforch_args() -> Vec<String> {
    let mut all = vec![String::from("perforch")];
    let given = std::env::var("PERFORCH_ARGS").unwrap_or_default();
    all.extend(given.split_whitespace().map(String::from));
    all
}
"""


def crate_driver() -> str:
    """``driver.rs`` as a function of a test module: ``perforch_main`` reading its arguments
    from ``PERFORCH_ARGS``, called by the test ``perforch_bench``."""
    text = DRIVER.replace("std::env::args().collect()", "perforch_args()")
    text, found = re.subn(r"(?m)^fn main\(\)", "pub fn perforch_main()", text)
    if found != 1 or "perforch_args()" not in text:
        raise HarnessError("the Rust driver no longer has the shape the crate harness adapts")
    return f"{ARGS}{text}\n#[test]\nfn perforch_bench() {{\n    perforch_main();\n}}\n"


def _code_lines(source: str) -> list[tuple[int, int]]:
    """Per line, the bracket depth at its start and at its end, strings, characters and
    comments skipped (Rust's lexing, as far as item boundaries need it: nested block comments,
    raw strings, lifetimes against character literals)."""
    depths: list[tuple[int, int]] = []
    depth, comment, i, n = 0, 0, 0, len(source)
    line_start_depth = 0
    while i < n:
        c = source[i]
        if comment:
            if source.startswith("*/", i):
                comment, i = comment - 1, i + 2
                continue
            if source.startswith("/*", i):
                comment, i = comment + 1, i + 2
                continue
        elif source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
            continue
        elif source.startswith("/*", i):
            comment, i = 1, i + 2
            continue
        elif raw := re.match(r'b?r(#*)"', source[i : i + 300]):
            closing = '"' + raw.group(1)
            j = source.find(closing, i + raw.end())
            i = n if j < 0 else j + len(closing)
            continue
        elif c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            i = j + 1
            continue
        elif c == "'":
            if source.startswith("\\", i + 1):  # '\n', '\'', '\u{..}'
                j = source.find("'", i + 3)
                i = n if j < 0 else j + 1
                continue
            if i + 2 < n and source[i + 2] == "'":  # 'x'
                i += 3
                continue
        elif c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        if c == "\n":
            depths.append((line_start_depth, depth))
            line_start_depth = depth
        i += 1
    depths.append((line_start_depth, depth))
    return depths


ITEM = re.compile(
    r"^(?:pub(?:\([^)]*\))?\s+)?(?:(?:const|async|unsafe|extern\s+\"\w+\")\s+)*"
    r"(?P<kind>fn|use|mod)\b\s*(?P<name>\w+)?"
)


def _items(source: str) -> list[tuple[int, int, str, str | None]]:
    """The file's top-level items: (first line, last line, kind, name), lines 0-based, the
    kind ``fn``, ``use``, ``mod`` or ``other``; an item's doc comments and attributes count as
    its own (the file's own ``//!`` docs and ``#![…]`` attributes as no item's)."""
    lines = source.splitlines()
    depths = _code_lines(source)
    items: list[tuple[int, int, str, str | None]] = []
    pending: int | None = None
    start: int | None = None
    for k, text in enumerate(lines):
        at_start, at_end = depths[k] if k < len(depths) else (0, 0)
        stripped = text.strip()
        if start is None:
            if at_start != 0 or not stripped:
                continue
            if stripped.startswith(("//!", "/*!", "#![")):
                continue
            if (
                stripped.startswith(("//", "/*", "#["))
                and at_end == 0
                and not (stripped.startswith("#[") and "]" not in stripped)
            ):
                pending = k if pending is None else pending
                continue
            start = k
        code = re.sub(r"\s*//[^\"]*$", "", stripped)  # a trailing comment (not in a string)
        if at_end == 0 and code.endswith(("}", ";")):
            head = " ".join(lines[start : k + 1]).strip()
            found = ITEM.match(head)
            kind = found.group("kind") if found else "other"
            name = found.group("name") if found and kind != "use" else None
            items.append((pending if pending is not None else start, k, kind, name))
            pending = start = None
    return items


def candidate_module(baseline: str, candidate: str, entry: str) -> str:
    """``mod perforch_b``: the candidate's top-level items that differ from the original's
    (at least its ``fn entry``, public), and the ``use`` lines it added."""
    items = _items(candidate)
    if not any(kind == "fn" and name == entry for _, _, kind, name in items):
        raise HarnessError(f"fn {entry} is not at the top level of its file")
    old, new = baseline.splitlines(), candidate.splitlines()
    changed: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            changed.update(range(j1, j2))
    uses: list[str] = []
    body: list[str] = []
    for start, end, kind, name in items:
        touched = any(start <= line <= end for line in changed)
        if kind == "use":
            if touched:
                uses += new[start : end + 1]
        elif (kind == "fn" and name == entry) or (touched and kind != "mod"):
            body += [*new[start : end + 1], ""]
    text = workload.make_public("\n".join(body), entry)
    inner = "\n".join(["use super::*;", *uses, "", text])
    indented = "\n".join(f"    {line}" if line else "" for line in inner.splitlines())
    return f"\n#[cfg(test)]\n#[allow(warnings, clippy::all)]\nmod perforch_b {{\n{indented}\n}}\n"


def measure_module(baseline: str, entry: str) -> str:
    """``mod perforch_measure``: the measuring program calling the original (``super``) and
    the candidate (``perforch_b``) as one test."""
    sides = workload.sides(baseline, entry, "super", "super::perforch_b")
    return (
        "\n#[cfg(test)]\n"
        "#[allow(warnings, clippy::all)]\n"
        f"mod perforch_measure {{\nuse super::*;\n{WORKLOAD_IO}\n{sides}\n{crate_driver()}\n}}\n"
    )


def is_binary(file: str) -> bool:
    """Whether the function's file belongs to a binary target (its unit tests are the bin's)."""
    path = PurePosixPath(file)
    return path.name == "main.rs" or "bin" in path.parts[:-1]


class RustCrateWorkloads(RustHarness):
    """Probing, differential testing, scaling and measuring on generated inputs for a Cargo
    crate's function: the lone-file measuring program as a test of the crate itself."""

    no_instructions = "not offered for a crate's generated workload yet"

    def __init__(self, runner: CargoRunner) -> None:
        super().__init__()
        self._runner = runner
        self._kept = KeptBuilds()

    async def aclose(self) -> None:
        self._kept.clear()

    def method(self, metric: Metric) -> str:
        return (
            f"{super().method(metric)}; both versions in your crate's test binary, built with "
            "--release"
        )

    async def _built(
        self, program: Program, baseline: str, candidate: str, entry: str | None
    ) -> tuple[Recipe, Path]:
        spec = program.tests.project
        if spec is None or entry is None:
            raise HarnessError("a crate's generated workload needs the project and function")
        appended = candidate_module(baseline, candidate, entry) + measure_module(baseline, entry)
        recipe = Recipe(
            files={},
            compile=[],
            artifact="prog.test",
            run=[
                "sh",
                "-c",
                # -q: libtest's "test NAME ... " would share the program's first line.
                f'PERFORCH_ARGS="$*" exec ./prog.test -q --nocapture --test-threads=1 {TEST}',
                "sh",
            ],
            key="rust crate",
            env={"PATH": "/usr/bin:/bin", "RUST_BACKTRACE": "0"},
        )
        built_key = kept.key(spec.root, spec.file, appended)
        found = self._kept.get(built_key, recipe.artifact)
        if found is not None:
            return recipe, found
        cache = project_cache(spec)
        target = "--bins" if is_binary(spec.file) else "--lib"
        cwd = f"{SRC}/{spec.workdir}" if spec.workdir != "." else SRC
        async with lock(cache):
            with workdir("perforch-crate-") as wd:
                await stages.report("building your crate's tests with the measuring program")
                await asyncio.to_thread(copy_project, spec, wd / "src", baseline + appended)
                crate = spec.options.get("crate", "")
                packages = f'-p "{crate}"' if crate else ""
                built = await self._runner.build_tests(
                    wd, cache, f"test --release {target}", packages, cwd
                )
                if isinstance(built, TestOutcome):
                    if FORBIDS_UNSAFE.search(built.error or ""):
                        raise HarnessError(
                            "your crate forbids unsafe code (#![forbid(unsafe_code)]), and the "
                            "measuring program's counting allocator is unsafe: generated "
                            "workloads are not offered for it yet"
                        )
                    raise HarnessError(
                        f"the measuring program did not build in your crate: {built.error}"
                    )
                if len(built) != 1:
                    names = ", ".join(name for name, _ in built) or "none"
                    raise HarnessError(f"expected one test binary for {spec.file}, got {names}")
                directory = self._kept.new_dir(built_key)
                local = wd / Path(built[0][1]).relative_to(INSIDE)
                shutil.copy2(local, directory / recipe.artifact)
        return recipe, directory / recipe.artifact
