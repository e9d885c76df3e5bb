"""C++ projects: a file that tests itself (its own ``int main()`` reaching the function), or a
CMake project whose CTest tests — GoogleTest, Catch2 and doctest cases, or plain test programs
added with ``add_test`` — call the function. Cases are selected by name (``Suite.Name``, a
``TEST_CASE``'s title), plain test programs by the executable built from the sources that call
the function. Google Benchmark functions registered with ``BENCHMARK(…)`` in a program the
project builds, reaching the function the same way, are the user's benchmarks: measured
instead of the tests."""

from __future__ import annotations

import re
from pathlib import Path

from ...models import ProjectSpec, TestCase
from ...projects import testmap
from ...projects.search import add_body, calls, find_up, reaching, relative, walk
from . import SUPPORT

SOURCES = (".cpp", ".cc", ".cxx", ".c++")
MAIN = re.compile(r"\bint\s+main\s*\(")
GTEST = re.compile(r"^\s*(?:TEST|TEST_F|TEST_P|TYPED_TEST)\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)", re.M)
CASE = re.compile(
    r"^\s*(?:TEST_CASE|SCENARIO|TEST_CASE_METHOD)\s*\(\s*(?:\w+\s*,\s*)?\"([^\"]+)\"", re.M
)
ADD_EXECUTABLE = re.compile(r"add_executable\s*\(\s*([\w.-]+)([^)]*)\)", re.S)
DISCOVERED = re.compile(r"(?:gtest|catch|doctest)_discover_tests\s*\(\s*([\w.-]+)")
HEADERS = (".h", ".hpp", ".hh", ".hxx")
# add_test(NAME n COMMAND target …), add_test(n target …), $<TARGET_FILE:target>
ADD_TEST = re.compile(
    r"add_test\s*\(\s*(?:NAME\s+\S+\s+COMMAND\s+|(?!NAME\b)\S+\s+)(?:\$<TARGET_FILE:)?([\w.-]+)"
)


# BENCHMARK(BM_x), BENCHMARK(BM_x)->Arg(8), BENCHMARK_TEMPLATE(BM_x, int): the function run
BENCH = re.compile(r"^\s*BENCHMARK(?:_TEMPLATE\d*)?\s*\(\s*(\w+)", re.M)


def _body_after(text: str, start: int) -> str:
    """The brace block that follows ``start`` (a test macro's body)."""
    open_at = text.find("{", start)
    if open_at < 0:
        return ""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_at : i + 1]
    return text[open_at:]


def self_test(path: Path, source: str, function: str) -> ProjectSpec | None:
    """The file's own ``main()`` when it reaches the function."""
    if not MAIN.search(source):
        return None
    bodies = {f.name: f.code for f in SUPPORT.functions(source) if f.name != function}
    how = reaching(bodies, function)
    if "main" not in how:
        return None
    root = path.parent
    return ProjectSpec(
        kind="cpp-self-test",
        root=str(root.resolve()),
        file=path.name,
        tests=(
            TestCase(
                id="main", file=path.name, found_by=f"main() {how['main']}", code=bodies["main"]
            ),
        ),
    )


def _cmake_root(path: Path) -> Path | None:
    root = find_up(path.parent, ("CMakeLists.txt",))
    while root is not None and (root.parent / "CMakeLists.txt").exists():
        root = root.parent
    return root


def discover(path: Path, source: str, function: str) -> ProjectSpec | None:
    own = self_test(path, source, function)
    if own is not None:
        return own
    root = _cmake_root(path)
    if root is None:
        return None
    lists = {
        relative(f, root): f.read_text(encoding="utf-8", errors="replace")
        for f in walk(root, ("CMakeLists.txt",))
    }
    cmake = "\n".join(lists.values())
    if "add_test" not in cmake and "discover_tests" not in cmake:
        return None
    helpers: dict[str, str] = {}
    cases: list[tuple[str, str, str]] = []  # (id, file, body)
    texts: dict[str, str] = {}  # test-side source files (not headers) by path
    for file in walk(root, SOURCES + HEADERS):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rel = relative(file, root)
        # Every function of the project may lead to the function (a test calls the library's
        # API, which calls it): the call search follows them all.
        for f in SUPPORT.functions(text):
            if f.name not in ("TEST", "TEST_F", "TEST_P", "TEST_CASE", "main", function):
                add_body(helpers, f.name, f.code)
        if file.suffix in HEADERS or file.resolve() == path.resolve():
            continue
        texts[rel] = text
        for m in GTEST.finditer(text):
            cases.append((f"case:{m.group(1)}.{m.group(2)}", rel, _body_after(text, m.end())))
        for m in CASE.finditer(text):
            cases.append((f"case:{m.group(1)}", rel, _body_after(text, m.end())))
    how = reaching(helpers, function)

    def reason(text: str) -> str | None:
        callee = next((c for c in [function, *how] if calls(text, c)), None)
        if callee is None:
            return None
        return f"calls {function}" if callee == function else f"calls {callee} → {how[callee][6:]}"

    found = [(cid, rel, body, reason(body)) for cid, rel, body in cases]
    tests = [
        TestCase(id=cid, file=rel, found_by=why, code=body)
        for cid, rel, body, why in found
        if why is not None
    ]
    discovered = set(DISCOVERED.findall(cmake))
    registered = {m.group(1) for m in ADD_TEST.finditer(cmake)}  # targets ctest runs
    case_files = {rel for _, rel, _ in cases}
    exe_files: dict[str, str] = {}  # a test program's first source (a traced map names it)
    for m in ADD_EXECUTABLE.finditer(cmake):
        target, sources = m.group(1), m.group(2)
        files = [rel for rel in texts if Path(rel).name in sources.split() or rel in sources]
        if files:
            exe_files[target] = files[0]
        if target in discovered or target not in registered:
            continue  # its cases are listed one by one (selected above), or it is no test
        whys = [
            (rel, why)
            for rel in files
            for why in (
                [w for _, r, _, w in found if r == rel and w]
                if rel in case_files
                else [w for w in [reason(texts[rel])] if w]
            )
        ]
        if whys:  # ctest runs the program whole: its cases cannot be chosen one by one
            rel, why = whys[0]
            tests = [t for t in tests if not (t.id.startswith("case:") and t.file in files)]
            tests.append(TestCase(id=f"exe:{target}", file=rel, found_by=f"{rel} {why}"))
    benchmarks = []
    for target, rel in exe_files.items():  # Google Benchmark programs the project builds
        text = texts[rel]
        bodies = {f.name: f.code for f in SUPPORT.functions(text)}
        for name in dict.fromkeys(BENCH.findall(text)):
            reached = reason(bodies.get(name, ""))
            if reached is not None and "benchmark/benchmark.h" in text:
                benchmarks.append(
                    TestCase(
                        id=f"bench:{target}:{name}", file=rel, found_by=reached, code=bodies[name]
                    )
                )
    others = len(cases) - sum(1 for t in tests if t.id.startswith("case:"))
    # A traced map is keyed by the function's file, the test sources and the CMake lists.
    depends = [(rel, text.encode()) for rel, text in {**texts, **lists}.items()]
    depends.append((relative(path, root), source.encode()))
    map_key = testmap.key(function, depends)
    case_of = {cid: (rel, body) for cid, rel, body in cases}

    def file_of(tid: str) -> str:
        return exe_files.get(tid[4:], "") if tid.startswith("exe:") else case_of.get(tid, ("",))[0]

    traced = testmap.traced_tests(
        map_key, file_of, lambda tid: case_of[tid][1] if tid in case_of else ""
    )
    if traced is not None:  # the ctest tests whose gcov counts show the function ran
        tests, others = traced
    return ProjectSpec(
        kind="cmake",
        root=str(root.resolve()),
        file=relative(path, root),
        tests=tuple(tests),
        others=others,
        benchmarks=tuple(benchmarks),
        options={testmap.KEY_OPTION: map_key},
    )
