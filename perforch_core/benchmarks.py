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
from .languages.python import source as py_source
from .models import Language, Task, TestSpec

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
    language: Language
    entry_point: str
    prompt: str
    declaration: str
    canonical_solution: str
    buggy_solution: str
    test: str
    example_test: str
    description: str
    test_setup: str = ""

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
                language=language,
                test_setup=raw.get("test_setup", ""),
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


def _signature_start(prompt: str) -> int:
    """Offset of the last line of ``prompt`` that opens the function (its signature)."""
    lines = prompt.rstrip().splitlines(keepends=True)
    offset = len(prompt.rstrip()) - len(lines[-1])
    return max(offset, 0)


def task(r: Record, *, buggy: bool = False) -> Task:
    """A HumanEvalPack record as a Task in any language: the function is the signature line
    plus the (canonical or buggy) body; the module around it is the prompt's head (and Go's test
    setup); the tests are appended to make the test program."""
    if r.language is Language.PYTHON:
        return python_task(r, buggy=buggy)
    body = r.buggy_solution if buggy else r.canonical_solution
    start = _signature_start(r.prompt)
    prefix = (r.test_setup if r.language is Language.GO else "") + r.prompt[:start]
    code, suffix = r.prompt[start:] + body, ""
    if r.language is Language.JAVA:
        # The body closes the method and then the class: the class brace belongs to the module.
        head, _, _tail = code.rstrip().rpartition("}")
        code, suffix = head.rstrip() + "\n", "}\n"
    return Task(
        id=r.task_id,
        language=r.language,
        entry_point=r.entry_point,
        prefix=prefix,
        suffix=suffix,
        signature=r.prompt[start:].rstrip(),
        description=r.description,
        current_code=code,
        tests=TestSpec(kind="program", source=r.test, origin=r.task_id),
    )
