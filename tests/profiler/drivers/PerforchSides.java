// Test sides for the Java driver: side 1 allocates 1 MiB, side 0 and 2 nothing.
final class PerforchSides {
    static byte[] keep;

    static void run(int which) {
        if (which == 1) keep = new byte[1 << 20];
    }

    // A program built for the tests, not for a generated workload: nothing to read or serve.
    static void prepare() {}

    static void serve() {
        throw new IllegalStateException("not built for generated inputs");
    }
}
