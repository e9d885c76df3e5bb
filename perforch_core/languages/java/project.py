"""Java projects built by Maven (``pom.xml``) or Gradle (``build.gradle[.kts]``), with JUnit
Jupiter (JUnit 5 and 6) tests in ``src/test/java``. Test methods (``@Test``,
``@ParameterizedTest``, ``@RepeatedTest``, ``@TestFactory``, ``@TestTemplate``) that call the
function, directly or through helpers in the test sources, judge it; the profiler compiles the
project's sources and runs those methods with the JUnit Platform console launcher."""

from __future__ import annotations

import re
from pathlib import Path

from ...models import ProjectKind, ProjectSpec, TestCase
from ...projects import testmap
from ...projects.search import add_body, find_up, reaching, relative, walk
from . import SUPPORT

TEST_ANNOTATION = re.compile(
    r"@(?:org\.junit\.jupiter\.api\.)?(?:Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\b"
)
PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.M)
BUILD_FILES = ("pom.xml", "build.gradle", "build.gradle.kts")


def discover(path: Path, function: str) -> ProjectSpec | None:
    root = find_up(path.parent, BUILD_FILES)
    if root is None:
        return None
    kind: ProjectKind = "maven" if (root / "pom.xml").exists() else "gradle"
    test_src = root / "src" / "test" / "java"
    bodies: dict[str, str] = {}
    # The class's own methods: a test of its public method exercises the private helper the
    # method calls. Such a test must name the class (``apply`` is everybody's method name).
    own_class = path.stem
    try:
        own_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        own_text = ""
    own = SUPPORT.functions(own_text) if own_text else []
    depends = [(relative(path, root), own_text.encode())]  # what a traced map is keyed by
    for span in own:
        if span.name != function:
            add_body(bodies, span.name, span.code)
    tests: dict[str, str] = {}  # id → file
    mentions: dict[str, bool] = {}  # test file → names the function's class
    for file in walk(test_src, (".java",)) if test_src.is_dir() else ():
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        depends.append((relative(file, root), text.encode()))
        package = PACKAGE.search(text)
        cls = f"{package.group(1)}.{file.stem}" if package else file.stem
        mentions[relative(file, root)] = re.search(rf"\b{re.escape(own_class)}\b", text) is not None
        for span in SUPPORT.functions(text):
            if TEST_ANNOTATION.search(span.header.split("(")[0]):
                key = f"{cls}#{span.name}"
                tests[key] = relative(file, root)
                bodies[key] = span.code
            else:
                add_body(bodies, span.name, span.code)
    how = reaching(bodies, function)
    found = [
        TestCase(id=t, file=f, found_by=how[t], code=bodies[t])
        for t, f in tests.items()
        if t in how and (mentions[f] or how[t] == f"calls {function}")
    ]
    others = len(tests) - len(found)
    map_key = testmap.key(function, depends)
    traced = testmap.traced_tests(map_key, lambda t: tests.get(t, ""), lambda t: bodies.get(t, ""))
    if traced is not None:  # the tests whose JaCoCo record covers the function replace the guess
        found, others = traced
    return ProjectSpec(
        kind=kind,
        root=str(root.resolve()),
        file=relative(path, root),
        tests=tuple(found),
        others=others,
        options={testmap.KEY_OPTION: map_key},
    )
