/**
 * PerfOrch's launcher for a test program's main: runs it, then says that it finished. A
 * candidate calling System.exit(0) inside the tests ends the JVM before that line, so its run
 * does not count as passed (the exit code alone would say it did).
 */
public final class PerforchMain {
    public static void main(String[] args) throws Throwable {
        java.lang.reflect.Method main = Class.forName(args[0]).getMethod("main", String[].class);
        main.setAccessible(true);
        try {
            main.invoke(null, (Object) java.util.Arrays.copyOfRange(args, 1, args.length));
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
        System.out.println();
        System.out.println("PERFORCH-TESTS-FINISHED");
    }
}
