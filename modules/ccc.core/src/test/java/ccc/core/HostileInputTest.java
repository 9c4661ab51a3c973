package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.log.Log;
import ccc.core.process.WorkloadOutput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Attacks by API clients and by the workload, over real HTTP against a core in this JVM: what
 * they send may be refused, logged or kept, but never grows the core without bound. The attacks
 * that need the real heap limit run against the runtime image (HostileClientsIT, HostileWorkloadIT).
 */
class HostileInputTest {

    private final String marker = Processes.uniqueSleepArgument();
    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    private TestCore core;

    @AfterEach
    void stop() {
        if (core != null) {
            core.close();
        }
        Log.redirect(System.out);
        Processes.killAll(marker);
    }

    private TestCore startProcess(String command) throws Exception {
        Log.redirect(new PrintStream(logged, true, StandardCharsets.UTF_8));
        core = TestCore.start(null, "process_management:\n  enabled: true\n  command: " + command + "\n");
        return core;
    }

    private String log() {
        return logged.toString(StandardCharsets.UTF_8);
    }

    private static String yamlList(String... items) {
        var quoted = new StringBuilder("[");
        for (String item : items) {
            quoted.append(quoted.length() > 1 ? ", " : "").append('\'').append(item.replace("'", "''")).append('\'');
        }
        return quoted.append(']').toString();
    }

    @SuppressWarnings("unchecked")
    private List<String> logLines(String query) {
        var lines = (List<Map<String, Object>>) core.get("/api/logs?" + query).json().get("lines");
        return lines.stream().map(line -> (String) line.get("line")).toList();
    }

    /**
     * The JDK's HTTP server, told a length for an answer to HEAD, warns through its logger on
     * every such request; anyone can send them. 500 pipelined HEAD requests, to routes, streams
     * and nowhere, make it log nothing, and nothing reaches the console. What the JDK's loggers
     * do log goes through the core's log (CoreLoggerFinder, which the module provides).
     */
    @Test
    void headRequestsMakeTheJdksServerLogNothingAndItsLoggersWriteThroughTheCoresLog() throws Exception {
        Log.redirect(new PrintStream(logged, true, StandardCharsets.UTF_8));
        core = TestCore.start(new SleepAdapter(), "");
        var console = new ByteArrayOutputStream();
        PrintStream out = System.out;
        PrintStream err = System.err;
        var capture = new PrintStream(console, true, StandardCharsets.UTF_8);
        String[] paths = {"/api/health", "/api/status", "/api/logs", "/api/logs?follow=true", "/metrics", "/nowhere"};
        var requests = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            requests.append("HEAD ").append(paths[i % paths.length]).append(" HTTP/1.1\r\nHost: x\r\n")
                    .append(i == 499 ? "Connection: close\r\n" : "").append("\r\n");
        }
        String answers;
        System.setOut(capture);
        System.setErr(capture);
        try (var socket = new Socket("127.0.0.1", core.core.port())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(requests.toString().getBytes(StandardCharsets.US_ASCII));
            answers = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        assertEquals(500, answers.split("HTTP/1.1 ", -1).length - 1, answers);
        assertEquals("", console.toString(StandardCharsets.UTF_8));
        assertFalse(log().contains("sendResponseHeaders"), log());
        // The server's logger is the core's: a line it logs is one line in the core's format.
        System.getLogger("com.sun.net.httpserver").log(System.Logger.Level.WARNING, "probe\nforged line");
        assertTrue(log().lines().anyMatch(line -> line.matches("\\S+ WARNING com\\.sun\\.net\\.httpserver: probe\\\\nforged line")), log());
    }

    @Test
    void signalNamesMustBeExact() throws Exception {
        core = TestCore.start(new SleepAdapter(), "");
        for (String name : List.of(" HUP", "HUP\\u0000", "HUP ", "\\tTERM", "SIG HUP")) {
            var refused = core.post("/api/signal", "{\"signal\": \"" + name + "\"}");
            assertEquals(400, refused.status(), name + ": " + refused.body());
            assertTrue(refused.json().get("detail").toString().startsWith("unknown signal"), refused.body());
        }
        assertEquals(409, core.post("/api/signal", "{\"signal\": \"sighup\"}").status(), "a name in any case, with or without SIG, is known");
    }

    @Test
    void aChunkSizeTheServerCannotReadIsRefusedSayingSo() throws Exception {
        core = TestCore.start(new SleepAdapter(), "");
        for (String size : List.of("80000000", "FFFFFFFF", "zz")) {
            var reply = core.raw("POST /api/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    + "Connection: close\r\n\r\n" + size + "\r\n{}\r\n0\r\n\r\n");
            assertEquals(400, reply.status(), size + ": " + reply.body());
            assertTrue(reply.body().contains("chunk") && !reply.body().contains("null"), size + ": " + reply.body());
        }
        assertEquals(200, core.get("/api/health").status());
    }

    @Test
    void inventedMethodsAreCountedAsOtherSoTheyAddNoSeries() throws Exception {
        core = TestCore.start(new SleepAdapter(), "");
        for (int i = 0; i < 300; i++) {
            String method = "X" + Long.toHexString(ThreadLocalRandom.current().nextLong()) + "M".repeat(2000);
            var reply = core.raw(method + " /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertEquals(405, reply.status());
        }
        core.raw("BREW /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        String metrics = core.get("/metrics").body();
        assertTrue(metrics.contains("ccc_http_requests_total{path=\"/api/health\",method=\"other\",code=\"405\",} 300.0"), metrics);
        assertTrue(metrics.contains("ccc_http_requests_total{path=\"other\",method=\"other\",code=\"404\",} 1.0"), metrics);
        assertFalse(metrics.contains("MMMM") || metrics.contains("BREW"), "no invented method reaches a label");
        assertTrue(metrics.length() < 20_000, metrics.length() + " characters of metrics");
    }

    @Test
    void theLogsAnswerIsStreamedInItsOldShapeWithATruncatedFlag() throws Exception {
        startProcess(yamlList("sh", "-c", "for i in 1 2 3; do echo \"out $$i\"; echo \"err $$i\" >&2; done; exec sleep " + marker));
        assertEquals(200, core.post("/api/start", "{}").status());
        Instant deadline = Instant.now().plusSeconds(10);
        while (logLines("tail=10").size() < 6 && Instant.now().isBefore(deadline)) {
            TestCore.sleep(20);
        }
        try (var socket = new Socket("127.0.0.1", core.core.port())) {
            socket.getOutputStream().write("GET /api/logs?tail=2&stream=stderr HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked"), answer);
        }
        Map<String, Object> body = core.get("/api/logs?tail=2&stream=stderr").json();
        assertEquals(List.of("lines", "truncated"), List.copyOf(body.keySet()));
        assertEquals(false, body.get("truncated"));
        @SuppressWarnings("unchecked")
        var lines = (List<Map<String, Object>>) body.get("lines");
        assertEquals(List.of("err 2", "err 3"), lines.stream().map(line -> line.get("line")).toList());
        assertEquals(List.of("timestamp", "stream", "line"), List.copyOf(lines.getFirst().keySet()));
        assertEquals("stderr", lines.getFirst().get("stream"));
        assertEquals(400, core.get("/api/logs?tail=2001").status());
    }

    /** Starts a workload that writes 600 lines of 8,000 characters, and waits until they are all in its output. */
    private void startWithFourMegabytesOfLog() throws Exception {
        // Lines of control characters, which JSON writes as six bytes each (\u0001): the 4 MiB the buffer keeps make an answer
        // of 25 MB, which no socket's buffers hold (the send buffer grows to net.ipv4.tcp_wmem's 4 MiB, about one answer of
        // plain characters), so every answer stalls until it is cut off.
        startProcess(yamlList("sh", "-c", "l=$$(head -c 8000 /dev/zero | tr '\\0' '\\001'); i=0; "
                + "while [ $$i -lt 600 ]; do echo \"$$l\"; i=$$((i+1)); done; echo done; exec sleep " + marker));
        assertEquals(200, core.post("/api/start", "{}").status());
        // Generous: on a loaded machine the 4.8 MB take a while through the pumps, and with less the answers could fit the
        // socket buffers and never be cut short, which the tests below would misread.
        Instant deadline = Instant.now().plusSeconds(60);
        while (!logLines("tail=1").equals(List.of("done")) && Instant.now().isBefore(deadline)) {
            TestCore.sleep(50);
        }
        assertEquals(List.of("done"), logLines("tail=1"), "the workload has written its log");
    }

    /**
     * As many /api/logs readers as may read at once, which read no further than their answer's
     * status line: each answer (25 MB) stops in the socket buffers. Returns once every reader's
     * answer has begun, so that each holds its slot.
     */
    private void openReadersThatNeverRead(List<Socket> readers) throws IOException {
        for (int i = 0; i < ccc.core.http.ControlApi.MAX_CONCURRENT_LOG_READS; i++) {
            var socket = new Socket();
            socket.setReceiveBufferSize(4096);
            socket.connect(new java.net.InetSocketAddress("127.0.0.1", core.core.port()));
            socket.getOutputStream().write("GET /api/logs?tail=2000 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            readers.add(socket);
        }
        for (Socket reader : readers) {
            reader.setSoTimeout(10_000);
            String status = new String(reader.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 200", status, "a reader was turned away: this test shows nothing");
        }
    }

    @Test
    void logReadersOverTheLimitAreTurnedAwayAndTheSlotsComeBack() throws Exception {
        startWithFourMegabytesOfLog();
        var readers = new ArrayList<Socket>();
        try {
            openReadersThatNeverRead(readers);
            var refused = core.get("/api/logs?tail=1");
            assertEquals(503, refused.status(), refused.body());
            assertTrue(refused.json().get("detail").toString().contains("too many /api/logs answers in progress"), refused.body());
            assertEquals(200, core.get("/api/health").status(), "the rest of the API answers");
        } finally {
            for (Socket reader : readers) {
                reader.close();
            }
        }
        Instant deadline = Instant.now().plusSeconds(10);
        int status;
        while ((status = core.get("/api/logs?tail=1").status()) != 200 && Instant.now().isBefore(deadline)) {
            TestCore.sleep(50);
        }
        assertEquals(200, status, "slots are given back when the readers go");
    }

    /**
     * Readers that never read and never leave: each answer's write stalls, and once one has been
     * pending for Streams.WRITE_TIMEOUT its connection is closed and its slot given back, while
     * the readers still hold their sockets open.
     */
    @Test
    void logReadersThatNeverReadAreCutOffAfterTheWriteTimeout() throws Exception {
        startWithFourMegabytesOfLog();
        var readers = new ArrayList<Socket>();
        try {
            // No write can have been pending longer than the readers have been there: timed from before they came, a slot
            // given back before the timeout shows however long the machine took to serve them.
            long opened = System.nanoTime();
            openReadersThatNeverRead(readers);
            assertEquals(503, core.get("/api/logs?tail=1").status(), "the stalled answers hold every slot");
            Instant deadline = Instant.now().plus(ccc.core.http.Streams.WRITE_TIMEOUT).plusSeconds(10);
            int status;
            while ((status = core.get("/api/logs?tail=1").status()) != 200 && Instant.now().isBefore(deadline)) {
                TestCore.sleep(100);
            }
            Duration freed = Duration.ofNanos(System.nanoTime() - opened);
            assertEquals(200, status, "slots are given back while the readers still hold their sockets");
            assertTrue(freed.compareTo(ccc.core.http.Streams.WRITE_TIMEOUT) >= 0, "not before the timeout: " + freed);
            // Each reader, reading at last, finds its answer cut short: the connection ends before the answer's end.
            for (Socket reader : readers) {
                reader.setSoTimeout(10_000);
                String answer;
                try {
                    answer = new String(reader.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                } catch (java.net.SocketException e) {
                    answer = "";
                }
                assertFalse(answer.contains("\"truncated\""), "the answer was cut off");
            }
            assertTrue(log().contains("closing the connection of an answer whose client reads nothing"), log());
            System.out.println("16 /api/logs readers that never read: their slots came back after " + freed.toMillis() + " ms");
        } finally {
            for (Socket reader : readers) {
                reader.close();
            }
        }
    }

    @Test
    void aSecretAcrossTheLineLimitOfARealWorkloadNeverShows() throws Exception {
        String secret = "Zq9-secret-" + ThreadLocalRandom.current().nextInt(100_000, 999_999);
        // The secret begins 5 bytes before the 8 KiB line limit, so a plain cut would split it.
        startProcess(yamlList("sh", "-c", "head -c " + (WorkloadOutput.MAX_LINE_BYTES - 5)
                + " /dev/zero | tr '\\0' a; printf '%s and more\\n' \"$$1\"; echo done; exec sleep " + marker, "sh", "${password}"));
        assertEquals(200, core.post("/api/start", "{\"password\": \"" + secret + "\"}").status());
        Instant deadline = Instant.now().plusSeconds(10);
        while (!logLines("tail=10").contains("done") && Instant.now().isBefore(deadline)) {
            TestCore.sleep(20);
        }
        List<String> lines = logLines("tail=10");
        assertTrue(lines.contains("done"), lines.toString());
        String joined = String.join("", lines);
        assertTrue(joined.contains("aaa***"), "masked in /api/logs");
        for (String part : List.of(secret, secret.substring(0, 5), secret.substring(5))) {
            assertFalse(joined.contains(part), part + " in /api/logs");
            assertFalse(log().contains(part), part + " in the log");
        }
    }

    @Test
    void aFloodingWorkloadIsLoggedWithinTheRateLimitAndTheDroppedAreCounted() throws Exception {
        startProcess(yamlList("sh", "-c", "yes 'flood of output' | head -n 400000; echo last-line; exec sleep " + marker));
        Instant started = Instant.now();
        assertEquals(200, core.post("/api/start", "{}").status());
        Instant deadline = Instant.now().plusSeconds(30);
        while (!logLines("tail=1").equals(List.of("last-line")) && Instant.now().isBefore(deadline)) {
            TestCore.sleep(20);
        }
        assertEquals(List.of("last-line"), logLines("tail=1"), "the buffer has the newest line");
        deadline = Instant.now().plus(WorkloadOutput.DROPPED_REPORT_EVERY).plusSeconds(10);
        while (!log().contains("was not logged") && Instant.now().isBefore(deadline)) {
            TestCore.sleep(50);
        }
        // Lines logged per second, by the second of their timestamps.
        var perSecond = new java.util.TreeMap<String, Integer>();
        Pattern outputLine = Pattern.compile("^(\\S{19})\\S* INFO workload: flood of output ");
        log().lines().forEach(line -> {
            Matcher m = outputLine.matcher(line);
            if (m.find()) {
                perSecond.merge(m.group(1), 1, Integer::sum);
            }
        });
        int logged = perSecond.values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(logged < 400_000 / 10, logged + " of 400,000 lines logged");
        int busiest = perSecond.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        // The bucket holds one second's worth, so a calendar second can see up to twice the rate.
        assertTrue(busiest <= 2 * WorkloadOutput.LOGGED_LINES_PER_SECOND, "busiest second: " + busiest);
        Matcher report = Pattern.compile("was not logged \\(it is in /api/logs\\) lines=(\\d+)").matcher(log());
        long dropped = 0;
        while (report.find()) {
            dropped += Long.parseLong(report.group(1));
        }
        assertTrue(dropped > 0, "the dropped lines are reported");
        System.out.printf("flood: %d lines logged over %d s (busiest second %d), %d reported as not logged, %.1f s in all%n",
                logged, perSecond.size(), busiest, dropped, Duration.between(started, Instant.now()).toMillis() / 1000.0);
    }

    /**
     * A body declared far over the limit is refused at once, its bytes unread, whatever the
     * number: {@code Long.MAX_VALUE} included, which the core also uses for a body of unknown
     * length (chunked), whose first megabytes it drains so that the client reads its 413.
     */
    @Test
    void aBodyDeclaredFarOverTheLimitIsRefusedAtOnceWhateverTheNumber() throws Exception {
        core = TestCore.start(new SleepAdapter(), "");
        for (long declared : List.of(Long.MAX_VALUE - 1, Long.MAX_VALUE)) {
            try (var socket = new Socket("127.0.0.1", core.core.port())) {
                socket.getOutputStream().write(("POST /api/stop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                        + declared + "\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII));
                // The rest of the body never comes; the answer must not wait for it (the request timeout is 30 s).
                socket.setSoTimeout(10_000);
                String answer;
                try {
                    answer = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
                } catch (java.net.SocketTimeoutException e) {
                    answer = "no answer within 10 s";
                }
                assertEquals("HTTP/1.1 413", answer, "Content-Length: " + declared);
            }
        }
        assertEquals(200, core.get("/api/health").status());
    }

    @Test
    void almostCompleteBodiesWaitForTheirShareOfTheBodyBudgetOrAreRefused() throws Exception {
        core = TestCore.start(new SleepAdapter(), "");
        String pad = "\"" + "x".repeat(100_000) + "\"";
        byte[] body = ("{\"force\": false, \"pad\": [" + String.join(",", java.util.Collections.nCopies(9, pad)) + "]}")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] head = ("POST /api/stop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        int clients = 20;
        int fit = (int) (8L * 1024 * 1024 / 1024 / ((body.length + 1023) / 1024));
        var sockets = new ArrayList<Socket>();
        try {
            for (int i = 0; i < clients; i++) {
                var socket = new Socket("127.0.0.1", core.core.port());
                socket.getOutputStream().write(head);
                // All but the last byte: the body is never complete.
                socket.getOutputStream().write(body, 0, body.length - 1);
                sockets.add(socket);
            }
            assertEquals(200, core.get("/api/health").status(), "the rest of the API answers");
            var waiting = new ArrayList<Socket>();
            int refused = 0;
            for (Socket socket : sockets) {
                // The refused are answered after the budget's wait of five seconds; the others still read their bodies.
                socket.setSoTimeout(refused + waiting.size() == 0 ? 8000 : 1000);
                try {
                    String answer = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
                    assertEquals("HTTP/1.1 503", answer);
                    refused++;
                } catch (java.net.SocketTimeoutException e) {
                    waiting.add(socket);
                }
            }
            assertEquals(fit, waiting.size(), "bodies that fit in the 8 MiB budget are read");
            assertEquals(clients - fit, refused);
            for (Socket socket : waiting) {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(body, body.length - 1, 1);
                assertEquals("HTTP/1.1 200", new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII));
            }
            assertEquals(200, core.post("/api/stop", new String(body, StandardCharsets.US_ASCII)).status(), "the budget is whole again");
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }

    @Test
    void startsThatAreSupersededTeachNoSecrets() throws Exception {
        var adapter = new SleepAdapter();
        adapter.startDelay = Duration.ofSeconds(1);
        var supervisor = Supervisor.create(TestCore.config(""), java.util.Optional.of(adapter), "test.Adapter",
                ccc.core.process.PrivilegeDrop.system());
        try {
            supervisor.lifecycle().start(supervisor.planner().start(new ccc.api.Payload(Map.of("password", "pass-word-0"))));
            Instant deadline = Instant.now().plusSeconds(10);
            while (!supervisor.output().redactor().secrets().contains("pass-word-0") && Instant.now().isBefore(deadline)) {
                TestCore.sleep(5);
            }
            // The first start has begun and takes a second; the twenty queued behind it are superseded by the last.
            for (int i = 1; i <= 20; i++) {
                supervisor.lifecycle().start(supervisor.planner().start(new ccc.api.Payload(Map.of("password", "pass-word-" + i))));
            }
            while (adapter.starts.get() < 2 && Instant.now().isBefore(deadline)) {
                TestCore.sleep(20);
            }
            assertEquals(2, adapter.starts.get(), "the first start and the last: " + supervisor.lifecycle().snapshot());
            assertEquals(java.util.Set.of("pass-word-0", "pass-word-20"), java.util.Set.copyOf(supervisor.output().redactor().secrets()));
        } finally {
            supervisor.lifecycle().shutdown(Duration.ofSeconds(10));
            Processes.killAll(adapter.marker);
        }
    }
}
