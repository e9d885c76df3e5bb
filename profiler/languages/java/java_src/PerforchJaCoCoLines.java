// PerforchJaCoCoLines: which tests ran a function's lines, from the per-test JaCoCo records
// PerforchJUnitTrace wrote. The classes compiled from the function's source file are analysed
// against each record (JaCoCo's own Analyzer maps its probes to source lines).
//
// Usage: java -cp <org.jacoco.core + asm jars>:<this> PerforchJaCoCoLines \
//          CLASSES PACKAGE_PATH SOURCE_NAME FIRST LAST DIR
// Reads DIR/index.tsv and DIR/<n>.exec; writes DIR/reached.tsv: "reached <class>#<method>"
// for every test that ran one of SOURCE_NAME's lines FIRST..LAST, then "ran <tests>".

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jacoco.core.analysis.Analyzer;
import org.jacoco.core.analysis.CoverageBuilder;
import org.jacoco.core.analysis.ISourceFileCoverage;
import org.jacoco.core.tools.ExecFileLoader;

public final class PerforchJaCoCoLines {
    public static void main(String[] args) throws IOException {
        Path classes = Paths.get(args[0]);
        String pkg = args[1];
        String source = args[2];
        int first = Integer.parseInt(args[3]);
        int last = Integer.parseInt(args[4]);
        Path dir = Paths.get(args[5]);

        Map<String, byte[]> compiled = new LinkedHashMap<>();
        Path pkgDir = pkg.isEmpty() ? classes : classes.resolve(pkg);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(pkgDir, "*.class")) {
            for (Path file : files) {
                compiled.put(file.toString(), Files.readAllBytes(file));
            }
        }
        Set<String> ran = new LinkedHashSet<>();
        Set<String> reached = new LinkedHashSet<>();
        List<String> index = Files.readAllLines(dir.resolve("index.tsv"), StandardCharsets.UTF_8);
        for (String line : index) {
            String[] cols = line.split("\t", 2);
            if (cols.length < 2) {
                continue;
            }
            String test = cols[1];
            ran.add(test);
            if (reached.contains(test)) {
                continue;
            }
            ExecFileLoader loader = new ExecFileLoader();
            loader.load(dir.resolve(cols[0] + ".exec").toFile());
            CoverageBuilder builder = new CoverageBuilder();
            Analyzer analyzer = new Analyzer(loader.getExecutionDataStore(), builder);
            for (Map.Entry<String, byte[]> entry : compiled.entrySet()) {
                analyzer.analyzeClass(entry.getValue(), entry.getKey());
            }
            for (ISourceFileCoverage file : builder.getSourceFiles()) {
                if (!file.getPackageName().equals(pkg) || !file.getName().equals(source)) {
                    continue;
                }
                for (int n = Math.max(first, file.getFirstLine()); n <= last; n++) {
                    if (file.getLine(n).getInstructionCounter().getCoveredCount() > 0) {
                        reached.add(test);
                        break;
                    }
                }
            }
        }
        StringBuilder out = new StringBuilder();
        for (String test : reached) {
            out.append("reached ").append(test).append('\n');
        }
        out.append("ran ").append(ran.size()).append('\n');
        Files.write(dir.resolve("reached.tsv"), out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
