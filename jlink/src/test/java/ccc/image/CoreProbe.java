package ccc.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What an attack test measures of a running core: its Java heap, and how fast its health check answers. */
final class CoreProbe {

    private static final Pattern GENERATION = Pattern.compile("(DefNew|Tenured)\\s+total (\\d+)K, used (\\d+)K");
    private static final Pattern HISTOGRAM_ROW = Pattern.compile("^\\s*\\d+:\\s+\\d+\\s+(\\d+)\\s+(\\S+)", Pattern.MULTILINE);
    private static final byte[] HEALTH_REQUEST = "GET /api/health HTTP/1.1\r\nHost: ccc\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private CoreProbe() {
    }

    /**
     * The core's heap in KiB, as the JVM reports it ({@code jcmd} of the JDK that runs the tests).
     *
     * @param liveKib the objects that survive a full collection (the class histogram, without the
     *     filler arrays the JVM lays over unused space)
     * @param committedKib what the heap has grown to, at most the {@code -Xmx} bound
     */
    record Heap(long liveKib, long committedKib) {
        @Override
        public String toString() {
            return String.format("%.1f MiB live (heap %.1f MiB committed)", liveKib / 1024.0, committedKib / 1024.0);
        }
    }

    /** The heap now, after a full collection. */
    static Heap heap(long pid) throws IOException, InterruptedException {
        // The class histogram runs a full collection first.
        String histogram = jcmd(pid, "GC.class_histogram");
        long live = 0;
        Matcher row = HISTOGRAM_ROW.matcher(histogram);
        while (row.find()) {
            if (!row.group(2).contains("FillerElement")) {
                live += Long.parseLong(row.group(1));
            }
        }
        long committed = 0;
        Matcher generation = GENERATION.matcher(jcmd(pid, "GC.heap_info"));
        while (generation.find()) {
            committed += Long.parseLong(generation.group(2));
        }
        if (live == 0 || committed == 0) {
            throw new AssertionError("no heap figures from jcmd: " + histogram.lines().limit(5).toList());
        }
        return new Heap(live / 1024, committed);
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError("jcmd " + command + " failed: " + output);
        }
        return output;
    }

    /** How long {@code GET /api/health} takes on a new connection, from connecting to the whole answer; fails on anything but 200. */
    static Duration healthOnNewConnection(String host, int port) throws IOException {
        long began = System.nanoTime();
        try (var connection = new KeepAlive(host, port)) {
            connection.health();
        }
        return Duration.ofNanos(System.nanoTime() - began);
    }

    /** One HTTP/1.1 connection kept open, asking {@code /api/health} again and again. */
    static final class KeepAlive implements AutoCloseable {
        private final Socket socket = new Socket();
        private final InputStream in;
        private final OutputStream out;

        KeepAlive(String host, int port) throws IOException {
            socket.connect(new InetSocketAddress(host, port), 5000);
            socket.setSoTimeout(10_000);
            socket.setTcpNoDelay(true);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        /** Asks once; returns how long the whole answer took. */
        Duration health() throws IOException {
            long began = System.nanoTime();
            out.write(HEALTH_REQUEST);
            out.flush();
            String head = readHead();
            if (!head.startsWith("HTTP/1.1 200")) {
                throw new IOException("health answered " + head.lines().findFirst().orElse(head));
            }
            Matcher length = Pattern.compile("(?i)content-length: (\\d+)").matcher(head);
            if (!length.find()) {
                throw new IOException("no Content-Length in " + head);
            }
            if (in.readNBytes(Integer.parseInt(length.group(1))).length != Integer.parseInt(length.group(1))) {
                throw new IOException("the connection closed during the body");
            }
            return Duration.ofNanos(System.nanoTime() - began);
        }

        private String readHead() throws IOException {
            var head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("the connection closed" + (head.isEmpty() ? "" : " after " + head));
                }
                head.append((char) b);
            }
            return head.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
