package ccc.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The measuring half of {@link NetemUmlIT}, run inside the user-mode Linux guest next to a core
 * that shapes {@code lo}: it drives the core's API through start, live updates and stop, and
 * measures each shape on traffic the workload would send. Connects go to a listener of its own
 * (not the core's exempt API port), so each handshake crosses the shaped queue twice, SYN and
 * SYN-ACK. The figures go to a properties file on the host's file system for the test to judge.
 *
 * <p>Usage: {@code NetemProbe CORE_PORT RESULTS_FILE}
 */
public final class NetemProbe {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final int corePort;
    private final Properties results = new Properties();

    private NetemProbe(int corePort) {
        this.corePort = corePort;
    }

    public static void main(String[] args) throws IOException {
        var probe = new NetemProbe(Integer.parseInt(args[0]));
        Path file = Path.of(args[1]);
        int exit = 0;
        try {
            probe.measure();
        } catch (Exception | AssertionError e) {
            var trace = new StringWriter();
            e.printStackTrace(new PrintWriter(trace));
            probe.results.setProperty("error", trace.toString());
            exit = 1;
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            probe.results.store(out, "netem measured in a user-mode Linux guest");
        }
        System.exit(exit);
    }

    private void measure() throws Exception {
        awaitHealthy();
        try (var listener = new ServerSocket(0, 512, LOOPBACK)) {
            Thread.ofPlatform().daemon().start(() -> acceptAndDrain(listener));
            int port = listener.getLocalPort();
            // The first connects of a fresh JVM in the guest are slow for reasons of their own.
            connects("warmup", port, 20);
            connects("unshaped", port, 20);

            expect(200, "POST", "/api/start", "{\"latency_ms\": 40}");
            awaitPhase("running");
            results.setProperty("delay40.qdiscs", tc("qdisc", "show", "dev", "lo"));
            results.setProperty("delay40.filters", tc("filter", "show", "dev", "lo"));
            connects("delay40", port, 30);
            connects("delay40.api", corePort, 10);

            expect(200, "POST", "/api/update", "{\"latency_ms\": 10}");
            connects("delay10", port, 30);

            expect(200, "POST", "/api/update", "{\"latency_ms\": 40, \"jitter_ms\": 20}");
            connects("jitter", port, 80);

            expect(200, "POST", "/api/update", "{\"latency_ms\": 0, \"jitter_ms\": 0, \"loss_percent\": 10}");
            udpLoss("loss", 2000);

            expect(200, "POST", "/api/update", "{\"loss_percent\": 0, \"latency_ms\": 20, \"bandwidth_limit_mbps\": 8}");
            connects("rate8", port, 20);
            throughput("rate8", port, 2_000_000);

            expect(200, "POST", "/api/stop", "{}");
            awaitPhase("stopped");
            results.setProperty("stopped.qdiscs", tc("qdisc", "show", "dev", "lo"));
            connects("stopped", port, 20);
        }
    }

    /**
     * {@code count} TCP connects, one at a time, in milliseconds: median, 10th and 90th
     * percentiles, minimum, maximum, mean and standard deviation. The percentiles carry the
     * judgement, since the guest's scheduler adds the odd outlier.
     */
    private void connects(String name, int port, int count) throws IOException {
        var millis = new double[count];
        for (int i = 0; i < count; i++) {
            long began = System.nanoTime();
            try (var socket = new Socket()) {
                socket.connect(new InetSocketAddress(LOOPBACK, port), 10_000);
                millis[i] = (System.nanoTime() - began) / 1e6;
            }
        }
        Arrays.sort(millis);
        double mean = Arrays.stream(millis).average().orElseThrow();
        double variance = Arrays.stream(millis).map(m -> (m - mean) * (m - mean)).sum() / (count - 1);
        String prefix = name + ".connect_ms.";
        results.setProperty(prefix + "count", Integer.toString(count));
        results.setProperty(prefix + "median", format(percentile(millis, 50)));
        results.setProperty(prefix + "p10", format(percentile(millis, 10)));
        results.setProperty(prefix + "p90", format(percentile(millis, 90)));
        results.setProperty(prefix + "min", format(millis[0]));
        results.setProperty(prefix + "max", format(millis[count - 1]));
        results.setProperty(prefix + "mean", format(mean));
        results.setProperty(prefix + "stdev", format(Math.sqrt(variance)));
    }

    private static double percentile(double[] sorted, int percent) {
        return sorted[Math.min(sorted.length - 1, sorted.length * percent / 100)];
    }

    /** Sends {@code count} datagrams over the shaped {@code lo}, paced so that the receiver keeps up; counts what arrives. */
    private void udpLoss(String name, int count) throws IOException {
        try (var receiver = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
             var sender = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            receiver.setReceiveBufferSize(1 << 20);
            var counter = Thread.ofPlatform().start(() -> {
                var packet = new DatagramPacket(new byte[256], 256);
                int received = 0;
                try {
                    receiver.setSoTimeout(2000);
                    while (received < count) {
                        receiver.receive(packet);
                        received++;
                    }
                } catch (SocketTimeoutException quiet) {
                    // Everything that was going to arrive has.
                } catch (IOException e) {
                    results.setProperty(name + ".receive_error", e.toString());
                }
                results.setProperty(name + ".udp.received", Integer.toString(received));
            });
            byte[] data = new byte[100];
            var to = new InetSocketAddress(LOOPBACK, receiver.getLocalPort());
            for (int i = 0; i < count; i++) {
                sender.send(new DatagramPacket(data, data.length, to));
                if (i % 10 == 9) {
                    Thread.sleep(2);
                }
            }
            counter.join(TimeUnit.SECONDS.toMillis(30));
            results.setProperty(name + ".udp.sent", Integer.toString(count));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    /** Mbit/s of {@code bytes} sent to the listener, which reads and discards them. */
    private void throughput(String name, int port, int bytes) throws IOException {
        long began = System.nanoTime();
        try (var socket = new Socket(LOOPBACK, port); OutputStream out = socket.getOutputStream()) {
            byte[] chunk = new byte[64 * 1024];
            for (int sent = 0; sent < bytes; sent += chunk.length) {
                out.write(chunk, 0, Math.min(chunk.length, bytes - sent));
            }
            socket.shutdownOutput();
            // The listener closes once it has read everything: the end of the transfer, not of the write.
            socket.getInputStream().read();
        }
        results.setProperty(name + ".mbps", format(bytes * 8 / 1e6 / ((System.nanoTime() - began) / 1e9)));
    }

    private static void acceptAndDrain(ServerSocket listener) {
        while (!listener.isClosed()) {
            try {
                Socket socket = listener.accept();
                Thread.ofPlatform().daemon().start(() -> {
                    try (socket; InputStream in = socket.getInputStream()) {
                        in.transferTo(OutputStream.nullOutputStream());
                    } catch (IOException ignored) {
                        // The client went away.
                    }
                });
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void awaitHealthy() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            try {
                if (http("GET", "/api/health", null).startsWith("HTTP/1.1 200")) {
                    return;
                }
            } catch (IOException notYet) {
                // Not listening yet.
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the core did not answer /api/health within 120 s");
    }

    private void awaitPhase(String phase) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String status = "";
        while (System.nanoTime() < deadline) {
            status = http("GET", "/api/status", null);
            if (status.contains("\"phase\":\"" + phase + "\"")) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("never " + phase + ": " + status);
    }

    private void expect(int status, String method, String path, String body) throws IOException {
        String reply = http(method, path, body);
        if (!reply.startsWith("HTTP/1.1 " + status)) {
            throw new AssertionError(method + " " + path + " " + body + " answered " + reply);
        }
    }

    /** One HTTP/1.1 exchange with the core on a fresh connection: the whole reply. */
    private String http(String method, String path, String body) throws IOException {
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOOPBACK, corePort), 10_000);
            socket.setSoTimeout(60_000);
            String head = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + content.length + "\r\n") + "\r\n";
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(content);
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String tc(String... arguments) throws IOException, InterruptedException {
        var command = new ArrayList<>(List.of("tc"));
        command.addAll(List.of(arguments));
        var process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();
        return output;
    }

    private static String format(double value) {
        return String.format(Locale.ROOT, "%.3f", value);
    }
}
