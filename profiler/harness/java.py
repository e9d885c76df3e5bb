"""The Java harness: ``javac`` then ``java Main`` (HumanEval-X's ``class Solution`` plus
``public class Main``), with JVM flags that fit the sandbox's address-space limit (measured in
shared/notes/profiler.md: the default JVM needs 4 GiB of address space, these run in 512 MiB)."""

from __future__ import annotations

import glob

from perforch_core.models import Language

from ..protocol import RunTestsParams
from ..sandbox import Limits
from ..toolchains import java
from .compiled import CompiledHarness, Recipe

JVM_FLAGS = (
    "-Xmx128m",
    "-Xss512k",
    "-XX:ReservedCodeCacheSize=32m",
    "-XX:MaxMetaspaceSize=64m",
    "-XX:CompressedClassSpaceSize=32m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
)
JAVAC_FLAGS = (
    "-J-Xmx256m",
    "-J-XX:+UseSerialGC",
    "-J-XX:ReservedCodeCacheSize=64m",
    "-J-XX:MaxMetaspaceSize=128m",
    "-J-XX:CompressedClassSpaceSize=64m",
    "-J-XX:TieredStopAtLevel=1",
    "-nowarn",
    "-encoding",
    "UTF-8",
)


class JavaHarness(CompiledHarness):
    language = Language.JAVA
    failure_markers = ("Exception", "Error", "at Main", "at Solution")
    run_limits = Limits(wall_s=30, cpu_s=30, address_space_mb=1024)

    def test_recipe(self, source: str, params: RunTestsParams) -> Recipe:
        tc = java()
        bin_dir = tc.home / "bin"
        return Recipe(
            files={"Main.java": source},
            compile=[
                "sh",
                "-c",
                f"mkdir -p classes && {bin_dir}/javac {' '.join(JAVAC_FLAGS)} -d classes Main.java",
            ],
            artifact="classes",
            run=[str(bin_dir / "java"), *JVM_FLAGS, "-cp", "classes", "Main"],
            key=f"{tc.version} {' '.join(JAVAC_FLAGS)}",
            ro_binds=[tc.home, *glob.glob("/etc/java*")],
            compile_limits=Limits(wall_s=120, cpu_s=120, address_space_mb=2048),
        )
