import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;

/**
 * PerfOrch's measuring driver for a lone Java file, contract 1 (profiler/harness/contract.py says
 * what each command reads and prints). Compiled with both sides' test programs (packages pa and
 * pb) and a PerforchSides class whose run(which) runs the baseline's tests (0), the candidate's
 * (1) or nothing (2). The JIT needs a longer calibration: K doubles until a batch costs the target,
 * and the harness asks for a timed warm-up.
 */
public class PerforchBench {
    static final int CONTRACT = 1;
    static final com.sun.management.ThreadMXBean BEAN =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static double batch(int which, long k, boolean util) throws Exception {
        long w0 = System.nanoTime(), c0 = BEAN.getCurrentThreadCpuTime();
        for (long i = 0; i < k; i++) PerforchSides.run(which);
        double cpu = BEAN.getCurrentThreadCpuTime() - c0, wall = System.nanoTime() - w0;
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
        System.err.println(why + "\nusage: measure 1 MODE PAIRS SEED TARGET_NS FLOOR_BYTES"
            + " WARMUP_NS MAX_K | hold 1 SIDE CPU_NS WALL_NS | count 1 SIDE N");
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
        if ((int) num(args, 1) != CONTRACT) usage("this driver speaks contract 1");
        if (args[0].equals("hold") && args.length == 5) {
            int side = (int) num(args, 2);
            double cpuNs = num(args, 3), wallNs = num(args, 4);
            long c0 = BEAN.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            while (BEAN.getCurrentThreadCpuTime() - c0 < cpuNs && System.nanoTime() - w0 < wallNs) {
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
        long k = 1;
        while (k < maxK && batch(0, k, false) < targetNs) k *= 2;
        if (warmupNs > 0) {
            long until = System.nanoTime() + (long) warmupNs;
            while (System.nanoTime() < until) { batch(0, k, false); batch(1, k, false); }
        } else {
            for (int w = 0; w < 2; w++) { batch(0, k, false); batch(1, k, false); }
        }
        double[] ratios = new double[pairs], va = new double[pairs], vb = new double[pairs];
        for (int p = 0; p < pairs; p++) {
            seed ^= seed << 13; seed ^= seed >>> 7; seed ^= seed << 17;
            int first = (int) (seed & 1);
            double[] t = new double[2];
            for (int side : new int[] {first, 1 - first}) {
                t[side] = bytes ? allocated(side, floorBytes) : batch(side, k, util);
            }
            double per = util || bytes ? 1.0 : (double) k;
            va[p] = t[0] / per; vb[p] = t[1] / per; ratios[p] = t[0] / t[1];
        }
        String unit = bytes ? "B" : util ? "ratio" : "ns";
        System.out.printf(Locale.ROOT, "PERFORCH_RESULT {\"contract\": %d, \"ratio\": %.9g, "
            + "\"baseline\": %.9g, \"candidate\": %.9g, \"unit\": \"%s\", \"k\": %d}%n",
            CONTRACT, median(ratios), median(va), median(vb), unit, k);
    }
}
