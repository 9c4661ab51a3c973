package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.config.ConfigLoader;
import ccc.core.log.Log;
import ccc.core.process.PrivilegeDrop;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bearer-token authentication and the redaction of secrets from logs and API output. */
class SecurityTest {

    private static final String TOKEN = "s3cr3t-t0ken-for-tests";

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    private Core core;
    private final String marker = Processes.uniqueSleepArgument();

    @TempDir
    Path work;

    @AfterEach
    void stop() {
        if (core != null) {
            core.shutdown();
        }
        Log.redirect(System.out);
        Processes.killAll(marker);
    }

    private TestCore.Reply call(String method, String path, String token, String body) {
        var request = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        if (token != null) {
            request.append("Authorization: Bearer ").append(token).append("\r\n");
        }
        byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        request.append("Content-Length: ").append(bytes.length).append("\r\n\r\n").append(body == null ? "" : body);
        return raw(request.toString());
    }

    private TestCore.Reply raw(String request) {
        try (var socket = new java.net.Socket("127.0.0.1", core.port())) {
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(answer.substring(9, 12));
            String head = answer.substring(0, answer.indexOf("\r\n\r\n"));
            return new TestCore.Reply(status, answer.substring(head.length() + 4),
                    Map.of("head", List.of(head)));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private Core start(String yaml, Map<String, String> environment) throws Exception {
        Log.redirect(new PrintStream(logged, true, StandardCharsets.UTF_8));
        var config = new ConfigLoader(environment).parse(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test");
        core = Core.start(config, Optional.of(new SleepAdapter()), "test.Adapter", PrivilegeDrop.system());
        return core;
    }

    @Test
    void everyApiRouteButHealthAndReadinessNeedsTheToken() throws Exception {
        start("adapter: {class: a.B}\nserver: {host: 127.0.0.1, port: 0, auth_token: " + TOKEN + "}\n", Map.of());
        assertEquals(200, call("GET", "/api/health", null, null).status());
        for (var route : List.of(List.of("GET", "/api/status"), List.of("POST", "/api/start"), List.of("POST", "/api/stop"),
                List.of("POST", "/api/update"), List.of("POST", "/api/signal"), List.of("GET", "/api/logs"), List.of("GET", "/api/nothing"))) {
            var missing = call(route.get(0), route.get(1), null, "{}");
            assertEquals(401, missing.status(), route.toString());
            assertEquals(Map.of("detail", "missing or invalid bearer token"), missing.json());
            assertTrue(missing.headers().get("head").getFirst().toLowerCase(java.util.Locale.ROOT).contains("www-authenticate: bearer"), missing.headers().toString());
            assertEquals(401, call(route.get(0), route.get(1), TOKEN + "x", "{}").status());
            assertEquals(401, call(route.get(0), route.get(1), "", "{}").status());
        }
        assertEquals(200, call("GET", "/api/status", TOKEN, null).status());
        assertEquals(401, raw("GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic " + TOKEN + "\r\n\r\n").status());
        assertEquals(200, call("GET", "/metrics", null, null).status(), "metrics stay open unless server.auth_metrics");
        assertEquals(200, call("GET", "/api/metrics", null, null).status());
        assertFalse(logged.toString(StandardCharsets.UTF_8).contains(TOKEN), "the token is never logged");
        assertTrue(logged.toString(StandardCharsets.UTF_8).contains("auth=\"bearer token\""));
    }

    @Test
    void metricsNeedTheTokenWhenConfiguredAndTheTokenMayComeFromTheEnvironment() throws Exception {
        start("adapter: {class: a.B}\nserver: {host: 127.0.0.1, port: 0, auth_metrics: true}\n", Map.of("CCC_API_TOKEN", TOKEN));
        assertEquals(401, call("GET", "/metrics", null, null).status());
        assertEquals(401, call("GET", "/api/metrics", null, null).status());
        assertEquals(200, call("GET", "/metrics", TOKEN, null).status());
        assertEquals(200, call("GET", "/api/metrics", TOKEN, null).status());
        assertEquals(200, call("GET", "/api/health", null, null).status());
    }

    @Test
    void theTokenMayComeFromAFile() throws Exception {
        Path file = Files.writeString(work.resolve("token"), TOKEN + "\n");
        start("adapter: {class: a.B}\nserver: {host: 127.0.0.1, port: 0, auth_token_file: " + file + "}\n", Map.of());
        assertEquals(401, call("GET", "/api/status", null, null).status());
        assertEquals(200, call("GET", "/api/status", TOKEN, null).status());
        assertEquals("***", core.lifecycle() != null ? ccc.core.config.Secret.of(TOKEN).toString() : "");
    }

    @Test
    void secretPayloadValuesAreRedactedFromLogsAndApiOutput() throws Exception {
        start("""
                server: {host: 127.0.0.1, port: 0}
                process_management:
                  enabled: true
                  command: [sh, -c, 'echo "connecting with $$1"; echo "bad password $$1" >&2; exec sleep %s', sh, '--password=${db.password}']
                """.formatted(marker), Map.of());
        String secret = "hunter2-very-secret";
        assertEquals(200, call("POST", "/api/start", null, "{\"db\": {\"password\": \"" + secret + "\"}, \"api_key\": \"k-123456\"}").status());
        Instant deadline = Instant.now().plusSeconds(10);
        String logs;
        do {
            logs = call("GET", "/api/logs", null, null).body();
            Thread.sleep(20);
            // Each stream has its own pump: wait for both lines, not the first to come.
        } while (!(logs.contains("bad password") && logs.contains("connecting with")) && Instant.now().isBefore(deadline));
        assertTrue(logs.contains("connecting with --password=***"), logs);
        assertTrue(logs.contains("bad password --password=***"), logs);
        String log = logged.toString(StandardCharsets.UTF_8);
        assertFalse(log.contains(secret), log);
        assertFalse(log.contains("k-123456"), log);
        assertTrue(log.contains("api_key=***"), log);
        assertFalse(call("GET", "/api/status", null, null).body().contains(secret));
    }
}
