"""The C++ harness (g++): a test program is the module plus its tests (``int main`` with
asserts); it passes when it exits 0.

Measuring: both programs go into one binary, each inside its own namespace with ``main`` renamed
(``return 0;`` added, since falling off a non-``main`` function is undefined), ``#include`` lines
hoisted; a driver calibrates K calls per batch (~1 ms of process CPU time), warms up and runs
interleaved A/B batch pairs in random order. The same binary holds one side's tests for the memory
launcher (``hold``) and runs them a fixed number of times for valgrind (``count``).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness.compiled import FINISHED, INPUTS, CompiledHarness, Recipe
from ...sandbox import Limits
from .toolchain import cpp

FLAGS = ("-std=c++17", "-O2", "-w")
# int main() / int main(void) / int main(int argc, char** argv) and its spellings
MAIN = re.compile(
    r"\bint\s+main\s*\(\s*(?:void\s*)?"
    r"(?P<args>int\s+\w+\s*,\s*(?P<const>const\s+)?char\s*(?:\*\s*\*?\s*\w+\s*(?:\[\s*\])?))?"
    r"\s*\)\s*\{"
)
INCLUDE = re.compile(r"^\s*#\s*include\s*[<\"].*$", re.M)
LOCAL_INCLUDE = re.compile(r"^\s*#\s*include\s*\".*$", re.M)


def _closing_brace(src: str, open_at: int) -> int:
    """Index of the brace closing the one at ``open_at``, skipping strings, chars, comments."""
    depth, i, n = 0, open_at, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i < 0 else i
        elif src.startswith("/*", i):
            i = src.find("*/", i + 2)
            i = n if i < 0 else i + 1
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            i = j
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise HarnessError("unbalanced braces in the test program")


def as_callable(program: str, name: str) -> tuple[list[str], str]:
    """(the program's #include lines, the rest with ``main`` turned into ``int name()``). A
    ``main(int argc, char** argv)`` (a test framework's: ``InitGoogleTest(&argc, argv)``)
    keeps its parameters under another name, and ``name()`` calls it as ``./prog`` would be."""
    includes = [m.group(0).strip() for m in INCLUDE.finditer(program)]
    body = INCLUDE.sub("", program)
    m = MAIN.search(body)
    if m is None:
        raise HarnessError("the test program has no int main() or main(int argc, char** argv)")
    close = _closing_brace(body, m.end() - 1)
    head, call = f"int {name}() {{", ""
    if m["args"]:
        char = "const char" if m["const"] else "char"
        head = f"int {name}_main({m['args']}) {{"
        call = (
            f'\nint {name}() {{\n    static char perforch_prog[] = "prog";\n'
            f"    static {char}* perforch_argv[] = {{perforch_prog, nullptr}};\n"
            f"    return {name}_main(1, perforch_argv);\n}}\n"
        )
    body = body[: m.start()] + head + body[m.end() : close] + "\nreturn 0;\n" + body[close:]
    return includes, body + call


DRIVER = Path(__file__).with_name("driver.cpp").read_text()
WORKLOAD_IO = Path(__file__).with_name("workload_io.hpp").read_text()
SIDES = """
int perforch_side(int which) {
    if (which == 0) return perforch_a::perforch_tests();
    return which == 1 ? perforch_b::perforch_tests() : 0;
}
void perforch_prepare() {}
bool perforch_serve(int, const char*, size_t, std::string&) { return false; }
long perforch_arity() { return -1; }
bool perforch_mutates() { return false; }
"""
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def workload_sides(entry: str) -> str:
    """The driver's sides for a generated workload: each side's run calls ``entry`` on every
    input (``workload_io.hpp``), and ``serve`` calls it on one."""
    if not IDENTIFIER.fullmatch(entry):
        raise HarnessError(f"{entry!r} is not a C++ function name")
    fa, fb = f"&perforch_a::{entry}", f"&perforch_b::{entry}"
    return f"""
static perforch_io::Workload<decltype({fa})> perforch_wa{{{fa}, {{}}}};
static perforch_io::Workload<decltype({fb})> perforch_wb{{{fb}, {{}}}};
void perforch_prepare() {{
    perforch_wa.load("{INPUTS}");
    perforch_wb.load("{INPUTS}");
}}
int perforch_side(int which) {{
    if (which == 0) return perforch_wa.run();
    return which == 1 ? perforch_wb.run() : 0;
}}
bool perforch_serve(int which, const char* payload, size_t n, std::string& reply) {{
    perforch_io::Cursor c{{payload, payload + n}};
    if (which == 0) reply = perforch_io::answer({fa}, c);
    else if (which == 1) reply = perforch_io::answer({fb}, c);
    else return false;
    return true;
}}
long perforch_arity() {{ return (long)perforch_io::Signature<decltype({fa})>::arity; }}
bool perforch_mutates() {{ return perforch_io::Signature<decltype({fa})>::mutates; }}
"""


class CppHarness(CompiledHarness):
    language = Language.CPP
    failure_markers = ("Assertion", "failed", "terminate", "what()")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)
    counter_method = "peak bytes live through a counting global operator new"
    generated_inputs = True

    def _recipe(self, source: str) -> Recipe:
        tc = cpp()
        pch = tc.pch_dir(FLAGS)
        include = ["-I", str(pch)] if (pch / "bits").is_dir() else []
        return Recipe(
            files={"main.cpp": source},
            compile=[str(tc.gxx), *FLAGS, *include, "-o", "prog", "main.cpp"],
            artifact="prog",
            run=["./prog"],
            key=f"g++ {tc.version} {' '.join(FLAGS)} pch={bool(include)}",
            ro_binds=[pch] if include else [],
            compile_limits=Limits(wall_s=120, cpu_s=120, address_space_mb=4096),
        )

    @staticmethod
    def with_tests(module: str, tests: TestSpec) -> str:
        """The module, then the tests; a test file's ``#include "…"`` lines are dropped (they
        name the module or its header, whose text is already there)."""
        source = LOCAL_INCLUDE.sub("", tests.source) if tests.file else tests.source
        return f"{module.rstrip()}\n\n{source}"

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        """The tests' ``main`` called from PerfOrch's, which prints :data:`FINISHED` after it
        returns 0: a candidate calling ``exit(0)`` inside the tests is not a pass."""
        program = self.with_tests(module, tests)
        try:
            includes, body = as_callable(program, "perforch_tests")
        except HarnessError:  # a main this cannot rename: its exit code alone decides
            return self._recipe(program)
        launcher = (
            "int main() {\n    int rc = perforch_tests();\n"
            f'    if (rc == 0) std::printf("\\n{FINISHED}\\n");\n    return rc;\n}}\n'
        )
        source = "\n".join([*includes, "#include <cstdio>"]) + f"\n{body}\n{launcher}"
        return dataclasses.replace(self._recipe(source), finished_marker=FINISHED)

    def bench_recipe(
        self, baseline: str, candidate: str, tests: TestSpec, entry: str | None = None
    ) -> Recipe:
        inc_a, body_a = as_callable(self.with_tests(baseline, tests), "perforch_tests")
        inc_b, body_b = as_callable(self.with_tests(candidate, tests), "perforch_tests")
        includes = "\n".join(
            dict.fromkeys(["#include <cstddef>", "#include <string>", *inc_a, *inc_b])
        )
        io, sides = (WORKLOAD_IO, workload_sides(entry)) if entry else ("", SIDES)
        return self._recipe(
            f"{includes}\n{io}\nnamespace perforch_a {{\n{body_a}\n}}\n"
            f"namespace perforch_b {{\n{body_b}\n}}\n{sides}\n{DRIVER}"
        )
