// PerforchJUnitBench: measures a Java project's own JUnit tests as the workload, baseline (A)
// against candidate (B) interleaved in one JVM. Each side's main and test classes live in a
// class loader of their own (the JUnit Platform, the engines and the project's dependencies in
// the shared parent), so both versions of the function are loaded at once.
//
// Time is the process's CPU time (all threads), read through the JNI library named by
// -Dperforch.clock (perforch_clock.c).
//
// Usage: java -Dperforch.clock=<libperforchclock.so> -cp <console-standalone.jar>:<deps>:<this>
//        PerforchJUnitBench REQUEST RESULT
// REQUEST lines: "metric exec_time|cpu_utilization|max_memory", "pairs N", "seed N",
// "pattern REGEX" (fully qualified method names), then "a PATH", "b PATH" (class path entries
// of each side, one per line) and "class NAME" (the test classes to select).
// RESULT: one JSON object {"contract", "ratio", "baseline", "candidate", "unit", "k",
// "wall_baseline", "wall_candidate", "first", "second"} (contract 2) or {"harness_error"}.

import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.MethodFilter;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

public final class PerforchJUnitBench {
    static final int CONTRACT = 2;
    // The measuring contract's constants (profiler/harness/contract.py), from the request.
    long targetBatchNs = -1; // a batch costs about this much CPU
    long warmupNs = -1; // CPU per side before measuring (the JIT)
    long maxK = -1;
    double floorBytes = -1; // allocation differences under this are noise, not gains

    static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    final Launcher launcher = LauncherFactory.create();

    static native long processCpuNanos();

    /** The process's CPU time, every thread's, ended ones too (ns resolution). */
    static long cpuNow() {
        return processCpuNanos();
    }

    double lastWall; // per run, of the last batch

    static final class Side {
        final ClassLoader loader;
        final LauncherDiscoveryRequest request;

        Side(ClassLoader loader, LauncherDiscoveryRequest request) {
            this.loader = loader;
            this.request = request;
        }
    }

    Side side(List<String> path, List<String> classes, String pattern) throws Exception {
        URL[] urls = new URL[path.size()];
        for (int i = 0; i < urls.length; i++) {
            urls[i] = new File(path.get(i)).toURI().toURL();
        }
        ClassLoader loader = new URLClassLoader(urls, PerforchJUnitBench.class.getClassLoader());
        LauncherDiscoveryRequestBuilder builder = LauncherDiscoveryRequestBuilder.request();
        for (String name : classes) {
            builder.selectors(DiscoverySelectors.selectClass(Class.forName(name, false, loader)));
        }
        builder.filters(MethodFilter.includeMethodNamePatterns(pattern));
        return new Side(loader, builder.build());
    }

    /** Runs one side's selected tests once; throws when one fails or none ran. */
    void run(Side s) {
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        t.setContextClassLoader(s.loader);
        try {
            SummaryGeneratingListener listener = new SummaryGeneratingListener();
            launcher.execute(s.request, listener);
            TestExecutionSummary summary = listener.getSummary();
            if (summary.getTotalFailureCount() > 0) {
                Throwable first = summary.getFailures().get(0).getException();
                throw new IllegalStateException("a test failed while measuring: " + first);
            }
            if (summary.getTestsSucceededCount() == 0) {
                throw new IllegalStateException("no test ran");
            }
        } finally {
            t.setContextClassLoader(before);
        }
    }

    double batch(Side s, int k, String metric) {
        if (metric.equals("max_memory")) {
            long id = Thread.currentThread().getId();
            long a0 = THREADS.getThreadAllocatedBytes(id);
            run(s);
            return Math.max(floorBytes, THREADS.getThreadAllocatedBytes(id) - a0);
        }
        long w0 = System.nanoTime();
        long c0 = cpuNow();
        for (int i = 0; i < k; i++) {
            run(s);
        }
        long cpu = cpuNow() - c0;
        long wall = System.nanoTime() - w0;
        lastWall = (double) wall / k;
        if (metric.equals("cpu_utilization")) {
            return wall > 0 ? (double) cpu / wall : 1.0;
        }
        return (double) cpu / k;
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        int n = c.length;
        return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }

    public static void main(String[] args) throws Exception {
        Path result = Path.of(args[1]);
        try {
            System.load(System.getProperty("perforch.clock"));
            Files.writeString(result, new PerforchJUnitBench().measure(Path.of(args[0])));
        } catch (Throwable e) {
            String text = String.valueOf(e).replace("\\", "\\\\").replace("\"", "\\\"");
            Files.writeString(result, "{\"harness_error\": \"" + text.replace("\n", " ") + "\"}");
        }
    }

    String measure(Path request) throws Exception {
        String metric = "exec_time";
        String pattern = ".*";
        int pairs = 20;
        long seed = 1;
        List<String> a = new ArrayList<>();
        List<String> b = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        for (String line : Files.readAllLines(request, StandardCharsets.UTF_8)) {
            int space = line.indexOf(' ');
            if (space < 0) {
                continue;
            }
            String key = line.substring(0, space);
            String value = line.substring(space + 1);
            switch (key) {
                case "metric" -> metric = value;
                case "pairs" -> pairs = Integer.parseInt(value);
                case "seed" -> seed = Long.parseLong(value);
                case "pattern" -> pattern = value;
                case "a" -> a.add(value);
                case "b" -> b.add(value);
                case "class" -> classes.add(value);
                case "contract" -> {
                    if (Integer.parseInt(value) != CONTRACT) {
                        throw new IllegalArgumentException("this driver speaks contract 2");
                    }
                }
                case "target_batch_ns" -> targetBatchNs = Long.parseLong(value);
                case "warmup_ns" -> warmupNs = Long.parseLong(value);
                case "max_k" -> maxK = Long.parseLong(value);
                case "floor_bytes" -> floorBytes = Double.parseDouble(value);
                case "hold_cpu_ns", "hold_wall_ns", "sampled_min_ns" -> { }
                default -> throw new IllegalArgumentException("unknown request line: " + line);
            }
        }
        if (targetBatchNs < 0 || warmupNs < 0 || maxK < 0 || floorBytes < 0) {
            throw new IllegalArgumentException("the request lacks the contract's constants");
        }
        Side sa = side(a, classes, pattern);
        Side sb = side(b, classes, pattern);
        // The first and second runs of each side, before anything else: a candidate that keeps
        // results between calls is much cheaper the second time than the baseline is.
        double[] first = {batch(sa, 1, "exec_time"), batch(sb, 1, "exec_time")};
        double[] second = {batch(sa, 1, "exec_time"), batch(sb, 1, "exec_time")};
        // Warm up both sides (the JIT), then calibrate k runs per batch on the slower side.
        for (Side s : new Side[] {sa, sb}) {
            long c0 = cpuNow();
            int runs = 0;
            while (cpuNow() - c0 < warmupNs && runs < 10_000) {
                run(s);
                runs++;
            }
        }
        int k = 1;
        if (!metric.equals("max_memory")) {
            while (true) {
                long spent = 0;
                for (Side s : new Side[] {sa, sb}) {
                    long c0 = cpuNow();
                    for (int i = 0; i < k; i++) {
                        run(s);
                    }
                    spent = Math.max(spent, cpuNow() - c0);
                }
                if (spent >= targetBatchNs || k >= maxK) {
                    break;
                }
                k = spent <= 0 ? k * 2 : (int) Math.min(k * 2L, k * targetBatchNs / spent + 1);
            }
        }
        Random rng = new Random(seed);
        double[] ratios = new double[pairs];
        double[] va = new double[pairs];
        double[] vb = new double[pairs];
        double[] wa = new double[pairs];
        double[] wb = new double[pairs];
        boolean timed = !metric.equals("max_memory");
        for (int p = 0; p < pairs; p++) {
            boolean aFirst = rng.nextBoolean();
            double x;
            double y;
            if (aFirst) {
                x = batch(sa, k, metric);
                wa[p] = timed ? lastWall : 0;
                y = batch(sb, k, metric);
                wb[p] = timed ? lastWall : 0;
            } else {
                y = batch(sb, k, metric);
                wb[p] = timed ? lastWall : 0;
                x = batch(sa, k, metric);
                wa[p] = timed ? lastWall : 0;
            }
            va[p] = x;
            vb[p] = y;
            ratios[p] = y > 0 ? x / y : 1.0;
        }
        String unit = metric.equals("exec_time") ? "ns" : metric.equals("max_memory") ? "B" : "ratio";
        return String.format(
                java.util.Locale.ROOT,
                "{\"contract\": %d, \"ratio\": %s, \"baseline\": %s, \"candidate\": %s, "
                        + "\"unit\": \"%s\", \"k\": %d, \"wall_baseline\": %s, "
                        + "\"wall_candidate\": %s, \"first\": [%s, %s], \"second\": [%s, %s]}",
                CONTRACT, median(ratios), median(va), median(vb), unit, k, median(wa),
                median(wb), first[0], first[1], second[0], second[1]);
    }
}
