"""The Rust harness: ``rustc --test`` against prebuilt rlibs of the crates HumanEval-X uses
(``profiler.toolchains``), so builds need neither cargo nor network. A test program is the
module plus its ``#[cfg(test)] mod tests``; the test binary runs single-threaded."""

from __future__ import annotations

from perforch_core.models import Language

from ..protocol import RunTestsParams
from ..sandbox import Limits
from ..toolchains import rust
from .compiled import CompiledHarness, Recipe

FLAGS = ("--edition", "2021", "-O", "-A", "warnings")


class RustHarness(CompiledHarness):
    language = Language.RUST
    failure_markers = ("panicked", "assertion", "FAILED", "left:", "right:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)

    def test_recipe(self, source: str, params: RunTestsParams) -> Recipe:
        tc = rust()
        externs = tc.externs()
        deps = next(iter(externs.values())).parent
        args = [str(tc.rustc), *FLAGS, "--test", "-L", f"dependency={deps}"]
        for name, path in externs.items():
            args += ["--extern", f"{name}={path}"]
        return Recipe(
            files={"main.rs": source},
            compile=[*args, "-o", "prog", "main.rs"],
            artifact="prog",
            run=["./prog", "--test-threads=1"],
            key=f"{tc.version} {' '.join(FLAGS)} {sorted(externs.items())}",
            ro_binds=[tc.sysroot, deps],
            compile_limits=Limits(wall_s=180, cpu_s=180, address_space_mb=8192),
        )
