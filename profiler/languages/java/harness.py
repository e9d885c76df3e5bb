"""The Java harness: ``javac`` then ``java Main`` (HumanEval-X's ``class Solution`` plus
``public class Main``), with JVM flags that fit the sandbox's address-space limit (measured in
shared/notes/profiler.md: the default JVM needs 4 GiB of address space, these run in 512 MiB)."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness.compiled import CompiledHarness, Recipe
from ...sandbox import Limits
from .javac_service import JavacService
from .toolchain import java

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
# Measuring wants the optimizing JIT (C2): no TieredStopAtLevel there.
BENCH_JVM_FLAGS = tuple(f for f in JVM_FLAGS if "TieredStopAtLevel" not in f)
JAVAC_FLAGS = (
    "-J-Xmx256m",
    "-J-XX:+UseSerialGC",
    "-J-XX:ReservedCodeCacheSize=64m",
    "-J-XX:MaxMetaspaceSize=128m",
    "-J-XX:CompressedClassSpaceSize=64m",
    "-J-XX:TieredStopAtLevel=1",
    "-proc:none",  # no annotation processors: compiling runs no code from the sources
    "-nowarn",
    "-encoding",
    "UTF-8",
)
PUBLIC_CLASS = re.compile(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)")
PACKAGE_DECL = re.compile(r"^\s*package\s+[\w.]+\s*;", re.M)
JAVAC_SERVICE_FLAGS = [f for f in JAVAC_FLAGS if not f.startswith("-J") and f != "-proc:none"]


class JavaHarness(CompiledHarness):
    language = Language.JAVA
    failure_markers = ("Exception", "Error", "at Main", "at Solution")
    run_limits = Limits(wall_s=30, cpu_s=30, address_space_mb=1024)
    default_pairs = 20  # the cost is JVM start-up and JIT warm-up, not the pairs
    counter_method = "bytes allocated by the measuring thread (ThreadMXBean)"
    no_instructions = "the JIT makes Java's instruction counts vary by about 1 %"

    def _files(
        self, module: str, tests: TestSpec, package: str | None
    ) -> tuple[dict[str, str], str]:
        """The sources (their ``package`` declarations replaced by ``package``, or dropped) and
        the class whose ``main`` runs the tests."""
        decl = f"package {package};\n" if package else ""
        folder = f"{package}/" if package else ""
        if tests.file is None:  # HumanEval-X: the tests are `public class Main`, appended
            program = self.with_tests(module, tests)
            if not re.search(r"public\s+class\s+Main\b", program):
                raise HarnessError("the Java test program has no public class Main")
            return {f"{folder}Main.java": decl + program}, "Main"
        main = Path(tests.file).stem
        public = PUBLIC_CLASS.search(module)
        module_file = f"{public.group(1)}.java" if public else "PerforchModule.java"
        return {
            f"{folder}{module_file}": decl + PACKAGE_DECL.sub("", module),
            f"{folder}{main}.java": decl + PACKAGE_DECL.sub("", tests.source),
        }, main

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        files, main = self._files(module, tests, None)
        return self._recipe(files, [main], JVM_FLAGS)

    def bench_recipe(self, baseline: str, candidate: str, tests: TestSpec) -> Recipe:
        """Both test programs in packages ``pa`` / ``pb`` of one JVM, driven by PerforchBench
        (thread CPU time from the ThreadMXBean, ≥ 0.5 s of JIT warm-up)."""
        files_a, main = self._files(baseline, tests, "pa")
        files_b, _ = self._files(candidate, tests, "pb")
        driver = JAVA_DRIVER.replace("MAIN_CLASS", main)
        # One build serves every process and metric: the driver's arguments.
        return self._recipe(
            {**files_a, **files_b, "PerforchBench.java": driver}, ["PerforchBench"], BENCH_JVM_FLAGS
        )

    def __init__(self) -> None:
        self.javac = JavacService(JAVAC_SERVICE_FLAGS)

    async def aclose(self) -> None:
        await self.javac.aclose()

    def _recipe(self, files: dict[str, str], main: list[str], jvm: tuple[str, ...]) -> Recipe:
        tc = java()
        bin_dir = tc.home / "bin"
        javac = f"{bin_dir}/javac {' '.join(JAVAC_FLAGS)} -d classes {' '.join(files)}"
        return Recipe(
            files=files,
            compile=["sh", "-c", f"mkdir -p classes && {javac}"],
            artifact="classes",
            run=[str(bin_dir / "java"), *jvm, "-cp", "classes", *main],
            key=f"{tc.version} {' '.join(JAVAC_FLAGS)}",
            ro_binds=[tc.home, *glob.glob("/etc/java*")],
            compile_limits=Limits(wall_s=120, cpu_s=120, address_space_mb=2048),
            compiler=self.javac,
        )


JAVA_DRIVER = """import java.lang.management.ManagementFactory;
import java.util.Arrays;

// measure MODE PAIRS SEED | hold SIDE | count SIDE N
public class PerforchBench {
    static final com.sun.management.ThreadMXBean BEAN =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    static final String[] NO_ARGS = new String[0];

    static void run(int which) throws Exception {
        if (which == 0) pa.MAIN_CLASS.main(NO_ARGS);
        else if (which == 1) pb.MAIN_CLASS.main(NO_ARGS);
    }

    static double batch(int which, long k, boolean util) throws Exception {
        long w0 = System.nanoTime(), c0 = BEAN.getCurrentThreadCpuTime();
        for (long i = 0; i < k; i++) run(which);
        double cpu = BEAN.getCurrentThreadCpuTime() - c0, wall = System.nanoTime() - w0;
        return util ? (wall > 0 ? cpu / wall : 1.0) : cpu;
    }

    // Bytes this thread allocated during one test-suite run (the JVM's own counter).
    static double allocated(int which) throws Exception {
        long before = BEAN.getCurrentThreadAllocatedBytes();
        run(which);
        double v = BEAN.getCurrentThreadAllocatedBytes() - before;
        return v < 16384 ? 16384 : v;  // differences under 16 KiB are noise, not gains
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        int n = c.length;
        return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 1 && args[0].equals("hold")) {
            int side = Integer.parseInt(args[1]);
            long c0 = BEAN.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            while (BEAN.getCurrentThreadCpuTime() - c0 < 60_000_000L
                   && System.nanoTime() - w0 < 2_000_000_000L) run(side);
            return;
        }
        if (args.length > 2 && args[0].equals("count")) {
            int side = Integer.parseInt(args[1]);
            for (long i = 0, n = Long.parseLong(args[2]); i < n; i++) run(side);
            return;
        }
        if (args.length < 4 || !args[0].equals("measure")) {
            System.err.println("usage: measure MODE PAIRS SEED | hold SIDE | count SIDE N");
            System.exit(2);
        }
        int mode = Integer.parseInt(args[1]), pairs = Integer.parseInt(args[2]);
        boolean util = mode == 1;
        long seed = Long.parseLong(args[3]) * 6364136223846793005L + 1442695040888963407L;
        long k = 1;
        while (k < (1L << 26) && batch(0, k, false) < 2e6) k *= 2;
        // The JIT needs time: warm both sides up for at least half a second.
        long until = System.nanoTime() + 500_000_000L;
        while (System.nanoTime() < until) { batch(0, k, false); batch(1, k, false); }
        double[] ratios = new double[pairs], va = new double[pairs], vb = new double[pairs];
        for (int p = 0; p < pairs; p++) {
            seed ^= seed << 13; seed ^= seed >>> 7; seed ^= seed << 17;
            int first = (int) (seed & 1);
            double[] t = new double[2];
            for (int side : new int[] {first, 1 - first}) {
                t[side] = mode == 2 ? allocated(side) : batch(side, k, util);
            }
            double per = mode == 0 ? (double) k : 1.0;
            va[p] = t[0] / per; vb[p] = t[1] / per; ratios[p] = t[0] / t[1];
        }
        String unit = mode == 2 ? "B" : util ? "ratio" : "ns";
        System.out.printf(java.util.Locale.ROOT, "PERFORCH_RESULT {\\"ratio\\": %.9g, "
            + "\\"baseline\\": %.9g, \\"candidate\\": %.9g, \\"unit\\": \\"%s\\", "
            + "\\"k\\": %d}%n", median(ratios), median(va), median(vb), unit, k);
    }
}
"""
