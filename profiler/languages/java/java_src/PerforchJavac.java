import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * A warm javac for the profiler (javac in a cold JVM costs ~0.85 s, in a warm one 20-60 ms).
 * One request per stdin line: a directory; every .java file under it is compiled into
 * DIR/classes with the given options. One reply line: "RC <code> <base64 of javac's output>".
 * Runs inside the sandbox; -proc:none means compiling runs no code from the sources.
 */
public class PerforchJavac {
    public static void main(String[] args) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        PrintStream replies =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err); // nothing but replies on stdout
        BufferedReader requests =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = requests.readLine()) != null) {
            Path dir = Paths.get(line.trim());
            List<String> argv = new ArrayList<>(List.of(args));
            argv.add("-proc:none");
            argv.add("-d");
            argv.add(dir.resolve("classes").toString());
            try (Stream<Path> files = Files.walk(dir)) {
                files.filter(p -> p.toString().endsWith(".java")).forEach(p -> argv.add(p.toString()));
            }
            Files.createDirectories(dir.resolve("classes"));
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            int rc;
            try {
                rc = javac.run(null, output, output, argv.toArray(new String[0]));
            } catch (RuntimeException | Error e) {
                rc = 3;
                output.writeBytes(e.toString().getBytes(StandardCharsets.UTF_8));
            }
            replies.println("RC " + rc + " " + Base64.getEncoder().encodeToString(output.toByteArray()));
        }
    }
}
