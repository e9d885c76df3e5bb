import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * PerfOrch's generated inputs for Java (profiler/harness/compiled.py says how they are used): the
 * method's arguments arrive in the token form py_workload.py's "encode" writes and are read into
 * the parameters' own (generic) types by reflection; what it returns, and its arguments
 * afterwards, leave as JSON, which py_workload.py compares. Tokens: "i 42", "f 0.5", "b 1",
 * "s 5:hello" (a byte count, then UTF-8 bytes), "n", "l 3 ..." (a list), "d 2 k v k v" (a dict).
 */
final class PerforchWorkload {
    static final class InputError extends RuntimeException {
        InputError(String why) {
            super("the generated input does not fit the parameter: " + why);
        }
    }

    final Method method;
    final Object target; // null for a static method
    final List<byte[]> encoded = new ArrayList<>();
    final List<Object[]> inputs = new ArrayList<>();
    boolean mutates; // the original changes its arguments: each measured call reads its own copy
    static Object sink;

    /**
     * The method named {@code entry} in the first of {@code classes} (package {@code pkg}) that
     * loads and has one; the names come from a search of the source for "class NAME".
     */
    PerforchWorkload(String pkg, String[] classes, String entry) throws Exception {
        this(PerforchWorkload.class.getClassLoader(), pkg + ".", classes, entry);
    }

    /**
     * The same, the classes named {@code prefix + name} loaded by {@code loader}: a project's
     * classes, one class loader per side.
     */
    PerforchWorkload(ClassLoader loader, String prefix, String[] classes, String entry)
            throws Exception {
        Method found = null;
        for (String name : classes) {
            Class<?> cls;
            try {
                cls = Class.forName(prefix + name, true, loader);
            } catch (ClassNotFoundException | NoClassDefFoundError e) {
                continue; // a word after "class" in a comment, or a nested class
            }
            for (Method m : cls.getDeclaredMethods()) {
                if (m.getName().equals(entry)) {
                    if (found != null && found.getDeclaringClass() == m.getDeclaringClass()) {
                        throw new IllegalStateException("more than one method named " + entry);
                    }
                    if (found == null) found = m;
                }
            }
            if (found != null) break;
        }
        if (found == null) throw new IllegalStateException("no method named " + entry);
        found.setAccessible(true);
        method = found;
        if (Modifier.isStatic(found.getModifiers())) {
            target = null;
        } else {
            var ctor = found.getDeclaringClass().getDeclaredConstructor();
            ctor.setAccessible(true);
            target = ctor.newInstance();
        }
    }

    // -- reading ----------------------------------------------------------------------------
    static final class Cursor {
        final byte[] data;
        int at;

        Cursor(byte[] data) {
            this.data = data;
        }

        char tag() {
            while (at < data.length && data[at] == ' ') at++;
            if (at >= data.length) throw new InputError("the input ended early");
            return (char) data[at++];
        }

        String word() {
            while (at < data.length && data[at] == ' ') at++;
            int start = at;
            while (at < data.length && data[at] != ' ' && data[at] != ':') at++;
            return new String(data, start, at - start, StandardCharsets.US_ASCII);
        }

        long integer() {
            try {
                return Long.parseLong(word());
            } catch (NumberFormatException e) {
                throw new InputError("a number was expected");
            }
        }

        String str() {
            int n = (int) integer();
            if (n < 0 || at >= data.length || data[at] != ':' || data.length - at - 1 < n) {
                throw new InputError("a broken string");
            }
            String s = new String(data, at + 1, n, StandardCharsets.UTF_8);
            at += n + 1;
            return s;
        }
    }

    static Class<?> raw(Type t) {
        if (t instanceof Class<?> c) return c;
        if (t instanceof ParameterizedType p) return (Class<?>) p.getRawType();
        throw new InputError("a parameter of type " + t.getTypeName());
    }

    static Type arg(Type t, int i) {
        if (t instanceof ParameterizedType p) return p.getActualTypeArguments()[i];
        return Object.class;
    }

    static Object read(Cursor c, Type t) {
        Class<?> k = raw(t);
        char tag = c.tag();
        if (tag == 'n' && !k.isPrimitive()) return null;
        if (k == int.class || k == Integer.class) return (int) integer(c, tag);
        if (k == long.class || k == Long.class) return integer(c, tag);
        if (k == short.class || k == Short.class) return (short) integer(c, tag);
        if (k == byte.class || k == Byte.class) return (byte) integer(c, tag);
        if (k == boolean.class || k == Boolean.class) return integer(c, tag) != 0;
        if (k == double.class || k == Double.class) return number(c, tag);
        if (k == float.class || k == Float.class) return (float) number(c, tag);
        if (k == char.class || k == Character.class) {
            if (tag == 'i') return (char) c.integer();
            String s = string(c, tag);
            if (s.length() != 1) throw new InputError("a one-character string for a char");
            return s.charAt(0);
        }
        if (k == String.class || k == CharSequence.class) return string(c, tag);
        if (k == Optional.class) {
            c.at--;
            return Optional.ofNullable(read(c, arg(t, 0)));
        }
        if (k.isArray()) {
            if (tag != 'l') throw new InputError("a list was expected");
            int n = (int) c.integer();
            Object a = Array.newInstance(k.getComponentType(), n);
            for (int i = 0; i < n; i++) Array.set(a, i, read(c, k.getComponentType()));
            return a;
        }
        if (Map.class.isAssignableFrom(k)) {
            if (tag != 'd') throw new InputError("a dict was expected");
            Map<Object, Object> m = k.isAssignableFrom(HashMap.class) ? new HashMap<>()
                : k.isAssignableFrom(TreeMap.class) ? new TreeMap<>() : new LinkedHashMap<>();
            for (int i = 0, n = (int) c.integer(); i < n; i++) {
                Object key = read(c, arg(t, 0));
                m.put(key, read(c, arg(t, 1)));
            }
            return m;
        }
        if (Collection.class.isAssignableFrom(k)) {
            if (tag != 'l') throw new InputError("a list was expected");
            Collection<Object> out = k.isAssignableFrom(ArrayList.class) ? new ArrayList<>()
                : k.isAssignableFrom(HashSet.class) ? new HashSet<>() : new TreeSet<>();
            for (int i = 0, n = (int) c.integer(); i < n; i++) out.add(read(c, arg(t, 0)));
            return out;
        }
        throw new InputError("a parameter of type " + t.getTypeName());
    }

    static long integer(Cursor c, char tag) {
        if (tag != 'i' && tag != 'b') throw new InputError("an integer was expected");
        return c.integer();
    }

    static double number(Cursor c, char tag) {
        if (tag != 'f' && tag != 'i' && tag != 'b') throw new InputError("a number was expected");
        String w = c.word();
        return switch (w) {
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            case "nan" -> Double.NaN;
            default -> {
                try {
                    yield Double.parseDouble(w);
                } catch (NumberFormatException e) {
                    throw new InputError("a number was expected");
                }
            }
        };
    }

    static String string(Cursor c, char tag) {
        if (tag != 's') throw new InputError("a string was expected");
        return c.str();
    }

    Object[] readArgs(byte[] payload) {
        return readArgs(new Cursor(payload));
    }

    Object[] readArgs(Cursor c) {
        Type[] types = method.getGenericParameterTypes();
        if (c.tag() != 'l' || c.integer() != types.length) {
            throw new InputError(types.length + " arguments were expected");
        }
        Object[] args = new Object[types.length];
        for (int i = 0; i < args.length; i++) args[i] = read(c, types[i]);
        return args;
    }

    // -- writing ----------------------------------------------------------------------------
    static void writeString(StringBuilder b, String s) {
        b.append('"');
        for (byte ch : s.getBytes(StandardCharsets.UTF_8)) {
            int u = ch & 0xff;
            if (u == '"' || u == '\\') b.append('\\').append((char) u);
            else if (u < 0x20 || u >= 0x7f) b.append(String.format("\\u%04x", u));
            else b.append((char) u);
        }
        b.append('"');
    }

    static String json(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v);
        return b.toString();
    }

    static void write(StringBuilder b, Object v) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Boolean x) {
            b.append(x);
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d)) b.append("NaN");
            else if (Double.isInfinite(d)) b.append(d > 0 ? "Infinity" : "-Infinity");
            else b.append(Double.toString(d)); // "1.0", "0.1", "1.0E10": a float stays a float
        } else if (v instanceof Number x) {
            b.append(x.longValue());
        } else if (v instanceof Character x) {
            writeString(b, String.valueOf(x));
        } else if (v instanceof CharSequence x) {
            writeString(b, x.toString());
        } else if (v instanceof Optional<?> o) {
            write(b, o.orElse(null));
        } else if (v.getClass().isArray()) {
            b.append('[');
            for (int i = 0; i < Array.getLength(v); i++) {
                if (i > 0) b.append(',');
                write(b, Array.get(v, i));
            }
            b.append(']');
        } else if (v instanceof Map<?, ?> m) {
            List<String> items = new ArrayList<>();
            for (var e : m.entrySet()) items.add("[" + json(e.getKey()) + "," + json(e.getValue()) + "]");
            items.sort(null); // a HashMap's order is not the caller's concern: sorted, alike
            b.append('[').append(String.join(",", items)).append(']');
        } else if (v instanceof Set<?> s) {
            List<String> items = new ArrayList<>();
            for (Object x : s) items.add(json(x));
            items.sort(null);
            b.append('[').append(String.join(",", items)).append(']');
        } else if (v instanceof Collection<?> xs) {
            b.append('[');
            boolean first = true;
            for (Object x : xs) {
                if (!first) b.append(',');
                first = false;
                write(b, x);
            }
            b.append(']');
        } else {
            writeString(b, v.getClass().getName());
        }
    }

    // -- running ----------------------------------------------------------------------------
    void load(String path) throws IOException {
        byte[] data = Files.readAllBytes(Path.of(path));
        mutates = Files.exists(Path.of(path + ".mutates"));
        Cursor c = new Cursor(data);
        if (c.tag() != 'l') throw new InputError("the inputs file is not a list");
        for (long i = 0, n = c.integer(); i < n; i++) {
            int start = c.at;
            inputs.add(readArgs(c));
            encoded.add(java.util.Arrays.copyOfRange(data, start, c.at));
        }
    }

    /** One run: the method once on every input (on its own copy when it changes them). */
    void run() throws Exception {
        for (int i = 0; i < inputs.size(); i++) {
            Object[] args = mutates ? readArgs(encoded.get(i)) : inputs.get(i);
            sink = method.invoke(target, args);
        }
    }

    static final com.sun.management.ThreadMXBean BEAN =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    long warmedNs; // CPU time this side has spent warming the JIT up for timed calls

    /**
     * One call for "serve": the reply py_workload.py's Remote reads. A timed call (its cost is
     * wanted) comes after the method has run for 0.5 s of CPU time in this JVM, on copies of
     * its input, as the measuring runs warm up: timed cold, the interpreter's cost would scale
     * the workload for code the JIT makes a hundred times faster.
     */
    String answer(byte[] payload, boolean timed) {
        Object[] args;
        try {
            args = readArgs(payload);
        } catch (InputError e) {
            return "{\"input_error\": " + json(e.getMessage()) + "}";
        }
        for (int i = 0; timed && warmedNs < 500_000_000L && i < 100_000; i++) {
            long w0 = PerforchBench.processCpuNanos();
            try {
                method.invoke(target, readArgs(payload));
            } catch (InvocationTargetException | IllegalAccessException e) {
                break; // the timed call below reports it
            } finally {
                warmedNs += PerforchBench.processCpuNanos() - w0;
            }
        }
        String before = json(args);
        String returned = "null", raised = "null";
        long bytes0 = BEAN.getCurrentThreadAllocatedBytes();
        long c0 = PerforchBench.processCpuNanos(), c1;
        try {
            Object out = method.invoke(target, args);
            c1 = PerforchBench.processCpuNanos();
            returned = json(out);
        } catch (InvocationTargetException e) {
            c1 = PerforchBench.processCpuNanos();
            raised = json(e.getCause().getClass().getName());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        long bytes = BEAN.getCurrentThreadAllocatedBytes() - bytes0;
        String after = json(args);
        return "{\"returned\": " + returned + ", \"raised\": " + raised + ", \"args_after\": "
            + after + ", \"changed\": " + !after.equals(before) + ", \"ns\": " + (c1 - c0)
            + ", \"peak\": " + bytes + "}";
    }

    /** "serve": a line "call SIDE N" and N bytes per call, one JSON line back per call. */
    static void serve(PerforchWorkload a, PerforchWorkload b) throws IOException {
        System.out.println("{\"arity\": " + a.method.getParameterCount() + ", \"mutates\": null}");
        System.out.flush();
        DataInputStream in = new DataInputStream(System.in);
        while (true) {
            String line = readLine(in);
            if (line == null) return;
            String[] parts = line.trim().split(" ");
            if (parts.length < 3 || !parts[0].equals("call")) System.exit(2);
            int side = Integer.parseInt(parts[1]);
            byte[] payload = new byte[Integer.parseInt(parts[2])];
            boolean timed = parts.length > 3 && parts[3].equals("1");
            in.readFully(payload);
            System.out.println((side == 0 ? a : b).answer(payload, timed));
            System.out.flush();
        }
    }

    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int ch; (ch = in.read()) != '\n'; ) {
            if (ch < 0) return line.size() == 0 ? null : line.toString(StandardCharsets.US_ASCII);
            line.write(ch);
        }
        return line.toString(StandardCharsets.US_ASCII);
    }
}
