package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.ctl.Ctl;
import ccc.core.json.Json;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code ccc ctl} faced with what it should not trust: the workload's output, which reaches an
 * operator's terminal through {@code ctl events}, and a server that answers slowly or not at all.
 */
class CtlHostileTest {

    private TestCore core;
    private ServerSocket server;

    private record Run(int code, String out, String err) {
    }

    @AfterEach
    void stop() throws IOException {
        if (core != null) {
            core.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static Run ctl(Map<String, String> environment, String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = Ctl.run(args, environment, new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * The core's log escapes every control character so that outside text cannot move a
     * terminal's cursor (Security and limits); {@code ctl events} prints the exit event's last
     * lines of output for people, and the workload chooses them: an escape sequence, a bell, a
     * carriage return that overwrites the line with a forged event.
     */
    @Test
    void ctlEventsPrintsNoControlCharacterTheWorkloadWrote() throws Exception {
        core = TestCore.start(null, """
                process_management:
                  enabled: true
                  command: [sh, -c, 'printf "innocent\\033[2J\\033]0;owned\\007\\r2026-01-01T00:00:00.000000Z  phase    phase=running\\n"; exit 3']
                """);
        Map<String, String> environment = Map.of("CCC_PORT", Integer.toString(core.core.port()));
        var events = new CompletableFuture<Run>();
        Thread.ofVirtual().start(() -> events.complete(ctl(environment, "events", "--types", "exit")));
        Instant subscribed = Instant.now().plusSeconds(15);
        while (core.core.events().subscribers() < 1 && Instant.now().isBefore(subscribed)) {
            TestCore.sleep(10);
        }
        core.post("/api/start", "{}");
        core.awaitPhase("failed");
        core.core.shutdown();
        core = null;
        Run run = events.get(15, TimeUnit.SECONDS);
        assertTrue(run.out().contains("innocent"), run.out());
        assertFalse(run.out().chars().anyMatch(c -> c == 0x1b || c == 0x07 || c == '\r'),
                () -> "ctl events printed the workload's control characters raw: " + run.out().replace("\u001b", "<ESC>")
                        .replace("\u0007", "<BEL>").replace("\r", "<CR>"));
    }

    /**
     * A call that is not a stream may take {@code CoreClient.CALL_TIMEOUT} (60 s); the JDK's
     * request timeout ends at the answer's headers, so a server that sends its headers and then
     * stalls holds {@code ccc ctl status} for ever.
     */
    @Test
    void aCallWhoseAnswerStallsAfterItsHeadersEndsWithinTheCallTimeout() throws Exception {
        int port = stallingServer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
        // Its bound is CoreClient.CALL_TIMEOUT, 60 s.
        Run run = ctlWithin(60 + 15, "ccc ctl status still waits for a stalled answer 75 s after it asked (its call timeout is 60 s)",
                "--url", "http://127.0.0.1:" + port, "status");
        assertEquals(3, run.code(), run.err());
    }

    /** A stream whose answer never begins (a server that accepts and says nothing) ends once its headers are late. */
    @Test
    void aStreamWhoseAnswerNeverBeginsEndsOnceItIsLate() throws Exception {
        int port = stallingServer("");
        // Its bound is CoreClient.STREAM_BEGINS_WITHIN, 10 s.
        Run run = ctlWithin(10 + 15, "ccc ctl events still waits for an answer that never began", "--url", "http://127.0.0.1:" + port, "events");
        assertEquals(3, run.code(), run.err());
        assertTrue(run.err().contains("did not begin its answer within 10 s"), run.err());
    }

    /** A stream whose answer begins and then brings nothing, not even the heartbeat a core sends every second, ends. */
    @Test
    void aStreamThatFallsSilentEnds() throws Exception {
        int port = stallingServer("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hello\n\n");
        // Its bound is CoreClient.STREAM_SILENT_AT_MOST, 20 s.
        Run run = ctlWithin(20 + 15, "ccc ctl events still waits on a stream that fell silent", "--url", "http://127.0.0.1:" + port, "events");
        assertEquals(3, run.code(), run.err());
        assertTrue(run.err().contains("nothing came for 20 s"), run.err());
    }

    /** A server that reads one request, sends {@code sent} and then nothing for minutes; its port. */
    private int stallingServer(String sent) throws IOException {
        server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            try (Socket client = server.accept()) {
                client.getInputStream().read(new byte[8192]);
                client.getOutputStream().write(sent.getBytes(StandardCharsets.US_ASCII));
                client.getOutputStream().flush();
                Thread.sleep(Duration.ofMinutes(5));
            } catch (IOException | InterruptedException e) {
                // The test is over.
            }
        });
        return server.getLocalPort();
    }

    /** {@code ccc ctl arguments}, which must end within {@code seconds}; else the test fails saying {@code stillWaiting}. */
    private Run ctlWithin(int seconds, String stillWaiting, String... arguments) throws Exception {
        var run = CompletableFuture.supplyAsync(() -> ctl(Map.of(), arguments));
        try {
            return run.get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(stillWaiting);
        }
    }

    /** A server that answers every request with {@code head} and then {@code body} for as long as the client reads. */
    private int answeringServer(String head, byte[] body, boolean endless) throws IOException {
        server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (client) {
                            client.getInputStream().read(new byte[8192]);
                            OutputStream out = client.getOutputStream();
                            out.write(head.getBytes(StandardCharsets.US_ASCII));
                            do {
                                out.write(body);
                            } while (endless);
                        } catch (IOException e) {
                            // The client went.
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server.getLocalPort();
    }

    /** An answer that never ends is cut at {@code CoreClient.MAX_ANSWER_BYTES}, not read until the heap runs out. */
    @Test
    void aCallWhoseAnswerNeverEndsEndsAsABrokenConnection() throws Exception {
        int port = answeringServer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"phase\": \"",
                "a".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII), true);
        Run run = ctl(Map.of(), "--url", "http://127.0.0.1:" + port, "status");
        assertEquals(3, run.code(), run.err());
        assertTrue(run.err().contains("sent an answer longer than"), run.err());
    }

    /**
     * {@code --json} prints JSON, one object a line, with every control character (C0, DEL, C1)
     * and U+2028/U+2029 escaped inside its strings, as the core's log escapes them: a server's
     * answer may hold them raw (DEL, C1 and the separators are valid in a JSON string, and a
     * carriage return is valid between tokens), and a terminal acts on them.
     */
    @Test
    void jsonOutputHoldsNoControlCharacterTheServerSent() throws Exception {
        String object = "{\"phase\": \"run\u009b2J\u007f\u2028ning\",\r\"n\": 1,\n\"nested\": {\"line\": \"\u0085x\u2029\"}}";
        byte[] body = object.getBytes(StandardCharsets.UTF_8);
        int port = answeringServer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                + body.length + "\r\n\r\n", body, false);
        Run status = ctl(Map.of(), "--url", "http://127.0.0.1:" + port, "--json", "status");
        assertEquals(0, status.code(), status.err());
        assertPrintsOnlyJsonWithNoControlCharacter(status.out(), object);
        server.close();

        String line = "{\"stream\": \"stdout\", \"line\": \"a\u009b31mred\u2028b\"}\n";
        port = answeringServer("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n",
                line.getBytes(StandardCharsets.UTF_8), false);
        Run follow = ctl(Map.of(), "--url", "http://127.0.0.1:" + port, "--json", "logs", "-f");
        assertEquals(0, follow.code(), follow.err());
        assertPrintsOnlyJsonWithNoControlCharacter(follow.out(), line);
    }

    private static void assertPrintsOnlyJsonWithNoControlCharacter(String out, String sent) throws Json.InvalidJson {
        String printed = out.substring(0, out.length() - 1);
        assertEquals('\n', out.charAt(out.length() - 1), out);
        assertFalse(printed.chars().anyMatch(c -> c < 0x20 || c >= 0x7f && c <= 0x9f || c == 0x2028 || c == 0x2029),
                () -> "--json printed control characters raw: " + printed);
        assertEquals(Json.readObject(sent.getBytes(StandardCharsets.UTF_8)), Json.readObject(printed.getBytes(StandardCharsets.UTF_8)),
                "the same JSON");
    }
}
