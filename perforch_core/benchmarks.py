"""Benchmark loaders: HumanEvalPack records as ``Task``s (Python so far).

Data lives outside the package (``$PERFORCH_BENCHMARKS``, default ``../shared/benchmarks`` next
to this checkout). Known-broken problems (``shared/benchmarks/README.md``) are listed in
:data:`EXCLUDED` with the reason, and skipped by :func:`load`.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .models import Language, Task, TestSpec
from .source import python as py_source

EXCLUDED: dict[str, str] = {
    "CPP/23": "its tests call strlen on literals, not the candidate: any candidate passes",
    "Go/95": "the reference solution depends on Go's random map order (passes ~half the time)",
    "Rust/32": "random polynomials; Newton's method without an iteration cap may not converge",
    "Rust/50": "unseeded random tests",
}

_DIRS = {
    Language.PYTHON: "python",
    Language.CPP: "cpp",
    Language.JAVA: "java",
    Language.GO: "go",
    Language.RUST: "rust",
}


def benchmarks_dir() -> Path:
    env = os.environ.get("PERFORCH_BENCHMARKS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


@dataclass(frozen=True)
class Record:
    task_id: str
    entry_point: str
    prompt: str
    declaration: str
    canonical_solution: str
    buggy_solution: str
    test: str
    example_test: str
    description: str

    @property
    def number(self) -> int:
        return int(self.task_id.split("/")[1])


def records(language: Language, *, include_excluded: bool = False) -> Iterator[Record]:
    path = benchmarks_dir() / "humanevalpack" / _DIRS[language] / "humanevalpack.jsonl.gz"
    if not path.is_file():
        raise ConfigError(
            f"HumanEvalPack data not found at {path}",
            hint="set PERFORCH_BENCHMARKS to the folder holding humanevalpack/",
        )
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            raw = json.loads(line)
            if raw["task_id"] in EXCLUDED and not include_excluded:
                continue
            yield Record(
                task_id=raw["task_id"],
                entry_point=raw["entry_point"],
                prompt=raw["prompt"],
                declaration=raw.get("declaration", ""),
                canonical_solution=raw["canonical_solution"],
                buggy_solution=raw["buggy_solution"],
                test=raw["test"],
                example_test=raw.get("example_test", ""),
                description=raw.get("docstring") or raw.get("instruction", ""),
            )


def record(task_id: str) -> Record:
    language = {
        "Python": Language.PYTHON,
        "CPP": Language.CPP,
        "Java": Language.JAVA,
        "Go": Language.GO,
        "Rust": Language.RUST,
    }.get(task_id.split("/")[0])
    if language is None:
        raise ConfigError(f"unknown HumanEvalPack task id {task_id!r} (e.g. Python/3)")
    for r in records(language, include_excluded=True):
        if r.task_id == task_id:
            return r
    raise ConfigError(f"no HumanEvalPack task {task_id}")


def python_module(r: Record, body: str) -> tuple[str, str]:
    """(module prefix, function code) for a Python record with ``body`` as the body."""
    source = r.prompt + body
    span = py_source.find_function(source, r.entry_point, r.task_id)
    prefix, _ = py_source.split_module(source, span)
    return prefix, span.code


def python_task(r: Record, *, buggy: bool = False) -> Task:
    prefix, code = python_module(r, r.buggy_solution if buggy else r.canonical_solution)
    span = py_source.find_function(r.prompt + r.canonical_solution, r.entry_point)
    return Task(
        id=r.task_id,
        language=Language.PYTHON,
        entry_point=r.entry_point,
        module="solution",
        prefix=prefix,
        signature=span.header,
        description=span.docstring or r.description,
        current_code=code,
        tests=TestSpec(kind="check", source=r.test, origin=r.task_id),
    )
