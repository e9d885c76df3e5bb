// PerfOrch's sides for a generated workload on a method of a Maven or Gradle project
// (profiler/languages/java/project_workload.py): PerforchBench and PerforchWorkload as for a
// lone file, and each side's classes and resources loaded through a class loader of its own
// above the project's dependencies (this program's class path), so that one JVM holds the
// original and the candidate. What to load is in measure/sides.txt (relative to the work
// dir): an "entry NAME" line, "class QUALIFIED.NAME" lines (the classes of the method's file,
// outermost first), and "a PATH" / "b PATH" lines (each side's class path).

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

final class PerforchSides {
    static final String CONFIG = "measure/sides.txt";
    static final String INPUTS = "perforch_inputs.txt";
    static PerforchWorkload wa, wb;

    static void open() throws Exception {
        String entry = null;
        List<String> classes = new ArrayList<>();
        List<URL> a = new ArrayList<>();
        List<URL> b = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(CONFIG))) {
            int space = line.indexOf(' ');
            if (space < 0) continue;
            String value = line.substring(space + 1);
            switch (line.substring(0, space)) {
                case "entry" -> entry = value;
                case "class" -> classes.add(value);
                case "a" -> a.add(new File(value).toURI().toURL());
                case "b" -> b.add(new File(value).toURI().toURL());
                default -> throw new IllegalStateException("a bad line in " + CONFIG + ": " + line);
            }
        }
        if (entry == null) throw new IllegalStateException(CONFIG + " names no entry");
        ClassLoader parent = PerforchSides.class.getClassLoader();
        String[] names = classes.toArray(new String[0]);
        wa = new PerforchWorkload(new URLClassLoader(a.toArray(new URL[0]), parent), "", names, entry);
        wb = new PerforchWorkload(new URLClassLoader(b.toArray(new URL[0]), parent), "", names, entry);
    }

    static void prepare() throws Exception {
        open();
        wa.load(INPUTS);
        wb.load(INPUTS);
    }

    static void run(int which) throws Exception {
        if (which == 0) wa.run();
        else if (which == 1) wb.run();
    }

    static void serve() throws Exception {
        open();
        PerforchWorkload.serve(wa, wb);
    }
}
