package ccc.core;

import ccc.api.Adapter;
import ccc.core.config.ConfigException;
import ccc.core.config.ConfigLoader;
import ccc.core.config.CoreConfig;
import ccc.core.process.PrivilegeDrop;
import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Predicate;

/** A core started in this JVM on a free loopback port, driven over real HTTP. */
final class TestCore implements AutoCloseable {

    static final String BASE_CONFIG = """
            adapter:
              class: test.Adapter
            server:
              host: 127.0.0.1
              port: 0
            lifecycle:
              start_timeout_seconds: 2
              stop_timeout_seconds: 2
              hook_timeout_seconds: 2
              update_timeout_seconds: 2
              shutdown_grace_seconds: 10
            """;

    final Core core;

    private TestCore(Core core) {
        this.core = core;
    }

    /** Starts a core with {@link #BASE_CONFIG} followed by {@code extraYaml}. */
    static TestCore start(Adapter adapter, String extraYaml) throws IOException, ConfigException {
        return start(adapter, extraYaml, PrivilegeDrop.system());
    }

    /** As {@link #start(Adapter, String)}, with the given view of privileges (a core that is not root, say). */
    static TestCore start(Adapter adapter, String extraYaml, PrivilegeDrop privileges) throws IOException, ConfigException {
        return new TestCore(Core.start(config(extraYaml), java.util.Optional.ofNullable(adapter), "test.Adapter", privileges));
    }

    /** Starts a core with a whole configuration of the test's own. */
    static TestCore start(Adapter adapter, CoreConfig config) throws IOException {
        return new TestCore(Core.start(config, java.util.Optional.ofNullable(adapter), "test.Adapter", PrivilegeDrop.system()));
    }

    static CoreConfig config(String extraYaml) throws ConfigException {
        String yaml = mergeAdapterSection(BASE_CONFIG, extraYaml);
        return new ConfigLoader(Map.of()).parse(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test config");
    }

    // Lets a test add keys under 'adapter:' by starting its extra YAML with indented lines.
    private static String mergeAdapterSection(String base, String extra) {
        if (extra.startsWith("  ")) {
            return base.replace("  class: test.Adapter\n", "  class: test.Adapter\n" + extra);
        }
        return base + extra;
    }

    /** One HTTP exchange's result. */
    record Reply(int status, String body, Map<String, java.util.List<String>> headers) {
        Map<String, Object> json() {
            try {
                return JSON.std.mapFrom(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        String header(String name) {
            return headers.entrySet().stream()
                    .filter(entry -> name.equalsIgnoreCase(entry.getKey()))
                    .map(entry -> entry.getValue().getFirst())
                    .findFirst().orElse(null);
        }
    }

    Reply get(String path) {
        return send("GET", path, null, null);
    }

    Reply post(String path, String json) {
        return send("POST", path, json, json == null ? null : "application/json");
    }

    Reply send(String method, String path, String body, String contentType) {
        try {
            var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + core.port() + path).toURL().openConnection();
            connection.setRequestMethod(method);
            connection.setConnectTimeout(5000);
            connection.setReadTimeout(30000);
            if (contentType != null) {
                connection.setRequestProperty("Content-Type", contentType);
            }
            if (body != null) {
                connection.setDoOutput(true);
                connection.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
            }
            int status = connection.getResponseCode();
            InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream();
            String text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return new Reply(status, text, connection.getHeaderFields());
        } catch (IOException e) {
            throw new AssertionError(method + " " + path + " failed", e);
        }
    }

    /** Sends {@code request} as raw bytes and returns the status code and body of the answer. */
    Reply raw(String request) {
        try (var socket = new java.net.Socket("127.0.0.1", core.port())) {
            socket.setSoTimeout(30000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(answer.substring(9, 12));
            String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            return new Reply(status, body, Map.of());
        } catch (IOException e) {
            throw new AssertionError("raw request failed", e);
        }
    }

    Map<String, Object> status() {
        return get("/api/status").json();
    }

    /** Waits until {@code /api/status} satisfies {@code condition}; fails after {@code timeout}. */
    Map<String, Object> awaitStatus(Predicate<Map<String, Object>> condition, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        Map<String, Object> status = status();
        while (!condition.test(status)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("status did not reach the expected state in " + timeout + ": " + status);
            }
            sleep(20);
            status = status();
        }
        return status;
    }

    Map<String, Object> awaitPhase(String phase) {
        return awaitStatus(status -> phase.equals(status.get("phase")), Duration.ofSeconds(15));
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        core.shutdown();
    }
}
