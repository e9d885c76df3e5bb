import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;

/**
 * PerfOrch's measuring driver for a lone Java file, contract 2 (profiler/harness/contract.py says
 * what each command reads and prints). Compiled with both sides' test programs (packages pa and
 * pb) and a PerforchSides class whose run(which) runs the baseline's tests (0), the candidate's
 * (1) or nothing (2) — or their method on a generated workload's inputs, which prepare() reads
 * before anything is timed; serve() calls it on one input at a time (PerforchWorkload). The JIT needs a longer calibration: K doubles until a batch costs the target,
 * and the harness asks for a timed warm-up. Time is the process's CPU time (all threads), read
 * through the JNI library named by -Dperforch.clock (perforch_clock.c).
 */
public class PerforchBench {
    static final int CONTRACT = 2;
    static final com.sun.management.ThreadMXBean BEAN =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static native long processCpuNanos();

    static double lastWall;

    static double batch(int which, long k, boolean util) throws Exception {
        long w0 = System.nanoTime(), c0 = processCpuNanos();
        for (long i = 0; i < k; i++) PerforchSides.run(which);
        double cpu = processCpuNanos() - c0, wall = System.nanoTime() - w0;
        lastWall = wall;
        return util ? (wall > 0 ? cpu / wall : 1.0) : cpu;
    }

    // Bytes this thread allocated during one test-suite run (the JVM's own counter).
    static double allocated(int which, double floorBytes) throws Exception {
        long before = BEAN.getCurrentThreadAllocatedBytes();
        PerforchSides.run(which);
        double v = BEAN.getCurrentThreadAllocatedBytes() - before;
        return v < floorBytes ? floorBytes : v;
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        int n = c.length;
        return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }

    static void usage(String why) {
        System.err.println(why + "\nusage: measure 2 MODE PAIRS SEED TARGET_NS FLOOR_BYTES"
            + " WARMUP_NS MAX_K | hold 2 SIDE CPU_NS WALL_NS | count 2 SIDE N | serve 2");
        System.exit(2);
    }

    static double num(String[] args, int i) {
        try {
            return Double.parseDouble(args[i]);
        } catch (RuntimeException e) {
            usage("a number is missing or malformed");
            return 0;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) usage("no command");
        if ((int) num(args, 1) != CONTRACT) usage("this driver speaks contract 2");
        System.load(System.getProperty("perforch.clock"));
        if (args[0].equals("serve")) {
            PerforchSides.serve();
            return;
        }
        PerforchSides.prepare();
        if (args[0].equals("hold") && args.length == 5) {
            int side = (int) num(args, 2);
            double cpuNs = num(args, 3), wallNs = num(args, 4);
            long c0 = processCpuNanos(), w0 = System.nanoTime();
            while (processCpuNanos() - c0 < cpuNs && System.nanoTime() - w0 < wallNs) {
                PerforchSides.run(side);
            }
            return;
        }
        if (args[0].equals("count") && args.length == 4) {
            int side = (int) num(args, 2);
            for (long i = 0, n = (long) num(args, 3); i < n; i++) PerforchSides.run(side);
            return;
        }
        if (!args[0].equals("measure") || args.length != 9) usage("bad command");
        String mode = args[2];
        boolean util = mode.equals("cpu_per_wall"), bytes = mode.equals("allocated");
        if (!util && !bytes && !mode.equals("cpu_time")) usage("unknown mode");
        int pairs = (int) num(args, 3);
        if (pairs < 1) usage("PAIRS must be at least 1");
        long seed = (long) num(args, 4) * 6364136223846793005L + 1442695040888963407L;
        double targetNs = num(args, 5), floorBytes = num(args, 6), warmupNs = num(args, 7);
        long maxK = (long) num(args, 8);
        // The first and second runs of each side, before anything else: a candidate that keeps
        // results between calls is much cheaper the second time than the baseline is.
        double[] first = {batch(0, 1, false), batch(1, 1, false)};
        double[] second = {batch(0, 1, false), batch(1, 1, false)};
        long k = 1;
        // The slower side's batch: neither side's batches run long, whichever is side 0.
        while (k < maxK && Math.max(batch(0, k, false), batch(1, k, false)) < targetNs) k *= 2;
        if (warmupNs > 0) {
            long until = System.nanoTime() + (long) warmupNs;
            while (System.nanoTime() < until) { batch(0, k, false); batch(1, k, false); }
        } else {
            for (int w = 0; w < 2; w++) { batch(0, k, false); batch(1, k, false); }
        }
        double[] ratios = new double[pairs], va = new double[pairs], vb = new double[pairs];
        double[] wa = new double[pairs], wb = new double[pairs];
        for (int p = 0; p < pairs; p++) {
            seed ^= seed << 13; seed ^= seed >>> 7; seed ^= seed << 17;
            int lead = (int) (seed & 1);
            double[] t = new double[2], w = new double[2];
            for (int side : new int[] {lead, 1 - lead}) {
                t[side] = bytes ? allocated(side, floorBytes) : batch(side, k, util);
                w[side] = bytes ? 0 : lastWall / k;
            }
            double per = util || bytes ? 1.0 : (double) k;
            va[p] = t[0] / per; vb[p] = t[1] / per; ratios[p] = t[0] / t[1];
            wa[p] = w[0]; wb[p] = w[1];
        }
        String unit = bytes ? "B" : util ? "ratio" : "ns";
        System.out.printf(Locale.ROOT, "PERFORCH_RESULT {\"contract\": %d, \"ratio\": %.9g, "
            + "\"baseline\": %.9g, \"candidate\": %.9g, \"unit\": \"%s\", \"k\": %d, "
            + "\"wall_baseline\": %.9g, \"wall_candidate\": %.9g, \"first\": [%.9g, %.9g], "
            + "\"second\": [%.9g, %.9g]}%n",
            CONTRACT, median(ratios), median(va), median(vb), unit, k, median(wa), median(wb),
            first[0], first[1], second[0], second[1]);
    }
}
