package ccc.image;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The runtime image's launcher run as a real process, and an HTTP client for it. */
final class ImageProcess implements AutoCloseable {

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    static final Path IMAGE = Path.of(System.getProperty("ccc.image", "target/ccc")).toAbsolutePath();
    static final Path REPOSITORY = Path.of(System.getProperty("ccc.repository", "..")).toAbsolutePath().normalize();

    final Process process;
    final int port;
    final Path log;
    final String host;

    private ImageProcess(Process process, int port, Path log, String host) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.host = host;
    }

    /** Starts {@code bin/ccc} in {@code workDir} on a free port, with extra environment and arguments. */
    static ImageProcess launch(Path workDir, Map<String, String> environment, String... args) throws IOException {
        return launchUnder(List.of(), workDir, environment, args);
    }

    /** Starts {@code bin/ccc} under a wrapper command such as {@code unshare}. */
    static ImageProcess launchUnder(List<String> wrapper, Path workDir, Map<String, String> environment, String... args) throws IOException {
        return launchUnder(wrapper, IMAGE, workDir, environment, args);
    }

    /** Starts {@code bin/ccc} of the runtime image at {@code image} (a copy, say) under a wrapper command. */
    static ImageProcess launchUnder(List<String> wrapper, Path image, Path workDir, Map<String, String> environment, String... args)
            throws IOException {
        int port = freePort();
        var command = new ArrayList<String>(wrapper);
        command.add(image.resolve("bin/ccc").toString());
        command.addAll(List.of(args));
        Path log = Files.createTempFile(workDir, "core", ".log");
        var builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("CCC_PORT", Integer.toString(port));
        builder.environment().put("CCC_HOST", "127.0.0.1");
        builder.environment().putAll(environment);
        String host = environment.getOrDefault("CCC_HOST", "127.0.0.1");
        return new ImageProcess(builder.start(), port, log, host.equals("0.0.0.0") ? "127.0.0.1" : host);
    }

    /**
     * A port free now and never handed out before in this JVM: a test that takes two (the control
     * API's and the SDK's) would otherwise now and then be given the same one twice, since each is
     * free again the moment it is handed out.
     */
    static int freePort() throws IOException {
        while (true) {
            try (var socket = new ServerSocket(0)) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            }
        }
    }

    /** Waits until {@code /api/health} answers 200; returns how long that took since {@code since}. */
    Duration awaitHealthy(Instant since, Duration timeout) throws IOException {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new AssertionError("the core exited with " + process.exitValue() + ": " + output());
            }
            try {
                if (request("GET", "/api/health", null).status() == 200) {
                    return Duration.between(since, Instant.now());
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            sleep(5);
        }
        throw new AssertionError("not healthy within " + timeout + ": " + output());
    }

    /**
     * Waits until {@code /api/ready} answers 200: the core has finished setting up (the liveness
     * probe is answered from the moment it listens, before that).
     */
    void awaitReady(Duration timeout) throws IOException {
        Instant deadline = Instant.now().plus(timeout);
        while (request("GET", "/api/ready", null).status() != 200) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("not ready within " + timeout + ": " + output());
            }
            sleep(5);
        }
    }

    /** A status code and body. */
    record Reply(int status, String body) {
    }

    Reply request(String method, String path, String json) throws IOException {
        return request(host, port, method, path, json);
    }

    /** One HTTP exchange with a core at {@code host:port}. */
    static Reply request(String host, int port, String method, String path, String json) throws IOException {
        return request(host, port, method, path, json, null);
    }

    /** One HTTP exchange with a core at {@code host:port}, with a bearer token when {@code token} is not null. */
    static Reply request(String host, int port, String method, String path, String json, String token) throws IOException {
        var connection = (HttpURLConnection) URI.create("http://" + host + ":" + port + path).toURL().openConnection();
        connection.setRequestMethod(method);
        if (token != null) {
            connection.setRequestProperty("Authorization", "Bearer " + token);
        }
        connection.setConnectTimeout(5000);
        connection.setReadTimeout(30000);
        if (json != null) {
            connection.setDoOutput(true);
            connection.setRequestProperty("Content-Type", "application/json");
            connection.getOutputStream().write(json.getBytes(StandardCharsets.UTF_8));
        }
        int status = connection.getResponseCode();
        var in = status < 400 ? connection.getInputStream() : connection.getErrorStream();
        return new Reply(status, in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }

    String output() throws IOException {
        return Files.readString(log);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Kills what the core started, until nothing is left (a process forked just before the kill
     * comes to the core, which reaps what ends), then the core; returns once they are gone, or
     * after ten seconds: the test's temporary directory is removed next, and a workload still
     * writing into it would make that fail.
     */
    @Override
    public void close() {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<ProcessHandle> left;
        while (!(left = process.descendants().toList()).isEmpty() && System.nanoTime() < deadline) {
            left.forEach(ProcessHandle::destroyForcibly);
            for (ProcessHandle handle : left) {
                try {
                    handle.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    break;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        process.destroyForcibly();
        try {
            process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
