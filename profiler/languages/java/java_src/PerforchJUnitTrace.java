// PerforchJUnitTrace: runs every JUnit test of a project once with the JaCoCo agent attached
// and keeps what each test ran. Before each test the agent's record is reset; after it the
// record is written to DIR/<n>.exec and "<n> TAB <class>#<method>" appended to DIR/index.tsv
// (a nested class's tests count as its top-level class's, as discovery names them).
// A test that throws what JUnit does not recover from (an OutOfMemoryError from a test that
// allocates gigabytes on purpose) ends the launch: its record is kept and the tests not yet
// run are launched again without it.
//
// Usage: java -javaagent:<jacoco agent>=output=none,includes=<package>.* \
//          -cp <console-standalone.jar>:<deps>:<classes>:<test-classes>:<this> \
//          PerforchJUnitTrace TEST_CLASSES DIR

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import org.junit.platform.engine.FilterResult;
import org.junit.platform.engine.TestDescriptor;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.PostDiscoveryFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

public final class PerforchJUnitTrace implements TestExecutionListener {
    private final Path dir;
    private final Object agent;
    private final Method reset;
    private final Method data;
    private final Set<String> done = new HashSet<>(); // unique ids of finished tests, containers
    private final Set<String> abandoned = new HashSet<>(); // class#method that ended a launch
    private TestPlan plan;
    private TestIdentifier current;
    private int count;

    private PerforchJUnitTrace(Path dir) throws ReflectiveOperationException {
        this.dir = dir;
        // The agent's jar is on the system class path; its API is reached by name so that
        // this class builds against the JUnit launcher alone.
        this.agent = Class.forName("org.jacoco.agent.rt.RT").getMethod("getAgent").invoke(null);
        Class<?> api = Class.forName("org.jacoco.agent.rt.IAgent");
        this.reset = api.getMethod("reset");
        this.data = api.getMethod("getExecutionData", boolean.class);
    }

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    @Override
    public void executionStarted(TestIdentifier id) {
        if (id.isTest()) {
            call(reset);
            current = id;
        }
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        done.add(id.getUniqueId());
        if (id.isTest()) {
            current = null;
            keep(id);
        }
    }

    /** The test that was running when the launch ended (its record kept), or null. */
    private String abandon() {
        if (current == null) {
            return null;
        }
        TestIdentifier id = current;
        current = null;
        keep(id);
        String method = methodOf(id);
        abandoned.add(method);
        return method;
    }

    /** Whether a test discovered again already ran (or ended a launch). */
    private boolean ran(TestDescriptor descriptor) {
        if (done.contains(descriptor.getUniqueId().toString())) {
            return true;
        }
        Optional<TestSource> source = descriptor.getSource();
        return source.isPresent()
                && source.get() instanceof MethodSource
                && abandoned.contains(name((MethodSource) source.get()));
    }

    private void keep(TestIdentifier id) {
        byte[] record = (byte[]) call(data, true);
        count++;
        try {
            Files.write(dir.resolve(count + ".exec"), record);
            String line = count + "\t" + methodOf(id) + "\n";
            Files.write(
                    dir.resolve("index.tsv"),
                    line.getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** class#method of the test (or of the method that made it: a factory, a template). */
    private String methodOf(TestIdentifier id) {
        TestIdentifier at = id;
        while (at != null) {
            Optional<TestSource> source = at.getSource();
            if (source.isPresent() && source.get() instanceof MethodSource) {
                return name((MethodSource) source.get());
            }
            at = plan == null ? null : plan.getParent(at).orElse(null);
        }
        return id.getUniqueId();
    }

    private static String name(MethodSource method) {
        String cls = method.getClassName();
        int nested = cls.indexOf('$');
        return (nested < 0 ? cls : cls.substring(0, nested)) + "#" + method.getMethodName();
    }

    private Object call(Method method, Object... args) {
        try {
            return method.invoke(agent, args);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the JaCoCo agent did not answer", e);
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args[1]);
        PerforchJUnitTrace listener = new PerforchJUnitTrace(dir);
        PostDiscoveryFilter notYet =
                descriptor -> FilterResult.includedIf(!listener.ran(descriptor));
        Launcher launcher = LauncherFactory.create();
        for (int launch = 1; ; launch++) {
            LauncherDiscoveryRequest request =
                    LauncherDiscoveryRequestBuilder.request()
                            .selectors(
                                    DiscoverySelectors.selectClasspathRoots(
                                            Set.of(Paths.get(args[0]))))
                            // one test at a time: the agent's record is the whole JVM's
                            .configurationParameter(
                                    "junit.jupiter.execution.parallel.enabled", "false")
                            .filters(notYet)
                            .build();
            try {
                launcher.execute(request, listener);
                break;
            } catch (Throwable error) { // what JUnit rethrows: the launch ended early
                String method = listener.abandon();
                if (method == null || launch >= 20) {
                    throw error;
                }
                System.err.println("perforch: " + method + " ended the launch (" + error + ")");
            }
        }
        Files.write(dir.resolve("done"), new byte[0]);
        System.exit(0); // threads a test left running must not keep the JVM alive
    }
}
