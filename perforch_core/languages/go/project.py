"""Go modules: the package directory of the function (all of its files, ``_test`` external
test packages included) inside the module that ``go.mod`` roots. Its ``Test…`` functions that
call the function, directly or through helpers anywhere in the package, judge it; they run with
``go test -run`` against the user's module cache, offline. Its ``Benchmark…`` functions that
reach the function the same way are the user's benchmarks: measured instead of the tests."""

from __future__ import annotations

from pathlib import Path

from ...models import ProjectSpec, TestCase
from ...projects import testmap
from ...projects.search import add_body, find_up, reaching, relative
from . import SUPPORT


def discover(path: Path, function: str) -> ProjectSpec | None:
    root = find_up(path.parent, ("go.mod",))
    if root is None:
        return None
    package = path.parent
    bodies: dict[str, str] = {}
    test_funcs: dict[str, str] = {}  # name → file
    bench_funcs: dict[str, str] = {}
    depends: list[tuple[str, bytes]] = []  # what a traced map of the tests is keyed by
    for file in sorted(package.glob("*.go")):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        depends.append((file.name, text.encode()))
        for span in SUPPORT.functions(text):
            add_body(bodies, span.name, span.code)
            if not file.name.endswith("_test.go"):
                continue
            if span.name.startswith("Test") and "*testing.T" in span.header:
                test_funcs[span.name] = relative(file, root)
            elif span.name.startswith("Benchmark") and "*testing.B" in span.header:
                bench_funcs[span.name] = relative(file, root)
    how = reaching(bodies, function)
    tests = [
        TestCase(id=name, file=file, found_by=how[name], code=bodies[name])
        for name, file in test_funcs.items()
        if name in how
    ]
    benchmarks = [
        TestCase(id=name, file=file, found_by=how[name], code=bodies[name])
        for name, file in bench_funcs.items()
        if name in how
    ]
    others = len(test_funcs) - len(tests)
    map_key = testmap.key(function, depends)
    traced = testmap.traced_tests(
        map_key, lambda name: test_funcs.get(name, ""), lambda name: bodies.get(name, "")
    )
    if traced is not None:  # the tests that ran the function's lines replace the guess
        tests, others = traced
    return ProjectSpec(
        kind="go",
        root=str(root.resolve()),
        file=relative(path, root),
        tests=tuple(tests),
        others=others,
        workdir=relative(package, root) or ".",
        benchmarks=tuple(benchmarks),
        options={testmap.KEY_OPTION: map_key},
    )
