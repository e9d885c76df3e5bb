"""The Java harness: ``javac`` then ``java Main`` (HumanEval-X's ``class Solution`` plus
``public class Main``), with JVM flags that fit the sandbox's address-space limit (measured in
shared/notes/profiler.md: the default JVM needs 4 GiB of address space, these run in 512 MiB)."""

from __future__ import annotations

import glob
import re

from perforch_core.errors import HarnessError
from perforch_core.models import Language, Metric

from ..protocol import CompareParams, RunTestsParams
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
# Measuring wants the optimizing JIT (C2): no TieredStopAtLevel there.
BENCH_JVM_FLAGS = tuple(f for f in JVM_FLAGS if "TieredStopAtLevel" not in f)
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
        return self._recipe({"Main.java": source}, ["Main"], JVM_FLAGS)

    def bench_recipe(
        self, baseline: str, candidate: str, params: CompareParams, seed: int
    ) -> Recipe:
        """Both test programs in packages ``pa`` / ``pb`` of one JVM, driven by PerforchBench
        (thread CPU time from the ThreadMXBean, ≥ 0.5 s of JIT warm-up)."""
        if params.metric not in (Metric.EXEC_TIME, Metric.CPU_UTILIZATION):
            raise HarnessError(f"{params.metric.value} is not measured for Java yet")
        if not re.search(r"public\s+class\s+Main\b", baseline + candidate):
            raise HarnessError("the Java test program has no public class Main")
        util = "true" if params.metric is Metric.CPU_UTILIZATION else "false"
        driver = JAVA_DRIVER.replace("PAIRS", str(params.pairs)).replace("UTIL", util)
        files = {
            "pa/Main.java": f"package pa;\n{baseline}",
            "pb/Main.java": f"package pb;\n{candidate}",
            "PerforchBench.java": driver,
        }
        # The seed is a run argument: one build serves every process.
        return self._recipe(files, ["PerforchBench", str(seed)], BENCH_JVM_FLAGS)

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
        )


JAVA_DRIVER = """import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

public class PerforchBench {
    static final ThreadMXBean BEAN = ManagementFactory.getThreadMXBean();
    static final String[] NO_ARGS = new String[0];

    static double batch(int which, long k, boolean util) throws Exception {
        long w0 = System.nanoTime(), c0 = BEAN.getCurrentThreadCpuTime();
        for (long i = 0; i < k; i++) {
            if (which == 0) pa.Main.main(NO_ARGS); else pb.Main.main(NO_ARGS);
        }
        double cpu = BEAN.getCurrentThreadCpuTime() - c0, wall = System.nanoTime() - w0;
        return util ? (wall > 0 ? cpu / wall : 1.0) : cpu;
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        int n = c.length;
        return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }

    public static void main(String[] args) throws Exception {
        boolean util = UTIL;
        long seed = args.length > 0 ? Long.parseLong(args[0]) : 1;
        seed = seed * 6364136223846793005L + 1442695040888963407L;
        long k = 1;
        while (k < (1L << 26) && batch(0, k, false) < 2e6) k *= 2;
        // The JIT needs time: warm both sides up for at least half a second.
        long until = System.nanoTime() + 500_000_000L;
        while (System.nanoTime() < until) { batch(0, k, false); batch(1, k, false); }
        int pairs = PAIRS;
        double[] ratios = new double[pairs], va = new double[pairs], vb = new double[pairs];
        for (int p = 0; p < pairs; p++) {
            seed ^= seed << 13; seed ^= seed >>> 7; seed ^= seed << 17;
            int first = (int) (seed & 1);
            double[] t = new double[2];
            t[first] = batch(first, k, util);
            t[1 - first] = batch(1 - first, k, util);
            double per = util ? 1.0 : (double) k;
            va[p] = t[0] / per; vb[p] = t[1] / per; ratios[p] = t[0] / t[1];
        }
        System.out.printf(java.util.Locale.ROOT, "PERFORCH_RESULT {\\"ratio\\": %.9g, "
            + "\\"baseline\\": %.9g, \\"candidate\\": %.9g, \\"unit\\": \\"%s\\", "
            + "\\"k\\": %d}%n", median(ratios), median(va), median(vb),
            util ? "ratio" : "ns", k);
    }
}
"""
