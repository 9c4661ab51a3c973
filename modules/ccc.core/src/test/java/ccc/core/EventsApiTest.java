package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.events.EventHub;
import ccc.core.http.ControlApi;
import ccc.core.http.Streams;
import ccc.core.log.Log;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code /api/events} and {@code /api/logs?follow=true} over real HTTP, with real workloads and a real event-stream client. */
class EventsApiTest {

    private static final Duration WAIT = Duration.ofSeconds(15);

    private final String marker = Processes.uniqueSleepArgument();
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final List<EventStreamClient> clients = new ArrayList<>();
    private TestCore core;

    private String workload() {
        return """
                process_management:
                  enabled: true
                  command: [sh, -c, 'trap "" HUP; echo started $name; exec sleep %s']
                  stop_timeout_seconds: 5
                  restart: {policy: on-failure, max_retries: 3, backoff_initial_ms: 50}
                """.formatted(marker);
    }

    private TestCore start(String extraYaml) throws Exception {
        core = TestCore.start(null, workload() + extraYaml);
        return core;
    }

    private EventStreamClient open(String path, String... headers) {
        var client = EventStreamClient.open(core.core.port(), path, headers);
        clients.add(client);
        return client;
    }

    @AfterEach
    void stop() {
        clients.forEach(EventStreamClient::close);
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
        Log.redirect(System.out);
    }

    private static List<String> summary(List<EventStreamClient.Received> events) {
        return events.stream().map(event -> switch (event.type()) {
            case "phase" -> "phase " + event.get("phase");
            case "exit" -> "exit " + event.get("exit_code") + " " + event.get("exit_signal") + (Boolean.TRUE.equals(event.get("requested")) ? " requested" : "");
            case "restart" -> "restart " + event.get("attempt") + " after " + event.get("delay_ms") + " ms";
            case "request" -> "request " + event.get("request") + (event.data().containsKey("stopping") ? " stopping=" + event.get("stopping") : "");
            default -> event.type();
        }).toList();
    }

    private static void assertIdsIncreaseByOne(List<EventStreamClient.Received> events) {
        for (int i = 1; i < events.size(); i++) {
            assertEquals(events.get(i - 1).idNumber() + 1, events.get(i).idNumber(), "ids at " + i + ": " + events);
        }
    }

    private void awaitOutput(String line) {
        Instant deadline = Instant.now().plus(WAIT);
        while (!core.get("/api/logs").body().contains("\"line\":\"" + line + "\"")) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("the workload never printed " + line);
            }
            TestCore.sleep(10);
        }
    }

    private long runningPid() {
        return ((Number) core.awaitPhase("running").get("pid")).longValue();
    }

    @Test
    void aStartStopCrashAndRestartYieldExactlyTheEventsExpectedInOrder() throws Exception {
        start("");
        var events = open("/api/events");
        assertEquals(200, events.status());
        assertEquals("text/event-stream; charset=utf-8", events.response.headers().firstValue("Content-Type").orElseThrow());

        assertEquals(200, core.post("/api/start", "{\"name\": \"one\"}").status());
        var firstRun = events.until(event -> "running".equals(event.get("phase")), WAIT);
        assertEquals(200, core.post("/api/stop", "{}").status());
        var stopped = events.until(event -> "stopped".equals(event.get("phase")), WAIT);
        assertEquals(200, core.post("/api/start", "{\"name\": \"two\"}").status());
        var secondRun = events.until(event -> "running".equals(event.get("phase")), WAIT);
        long crashed = ((Number) secondRun.getLast().get("pid")).longValue();
        awaitOutput("started two");
        ProcessHandle.of(crashed).orElseThrow().destroyForcibly();
        var restarted = events.until(event -> "running".equals(event.get("phase")), WAIT);
        assertEquals(200, core.post("/api/stop", "{\"force\": true}").status());
        var forced = events.until(event -> "stopped".equals(event.get("phase")), WAIT);

        var all = new ArrayList<EventStreamClient.Received>();
        List.of(firstRun, stopped, secondRun, restarted, forced).forEach(all::addAll);
        assertEquals(List.of(
                "request start", "phase starting", "phase running",
                "request stop stopping=true", "phase stopping", "exit 143 TERM requested", "phase stopped",
                "request start", "phase starting", "phase running",
                "exit 137 KILL", "phase backoff", "restart 1 after 50 ms", "phase starting", "phase running",
                "request stop stopping=true", "phase stopping", "exit 137 KILL requested", "phase stopped"), summary(all));
        assertIdsIncreaseByOne(all);

        var backoff = restarted.get(1);
        assertEquals(crashed, ((Number) secondRun.getLast().get("pid")).longValue());
        assertEquals(137, backoff.get("exit_code"));
        assertEquals("workload exited with code 137 (SIGKILL)", backoff.get("last_error"));
        assertEquals(1, restarted.getLast().get("restarts"));
        assertEquals("started two", ((List<?>) restarted.getFirst().get("stdout")).getLast(), "the exit carries the workload's last lines");
        // A phase event holds what /api/status showed at that moment, timestamp aside.
        Map<String, Object> status = core.status();
        status.remove("timestamp");
        var last = new java.util.LinkedHashMap<>(forced.getLast().data());
        last.remove("timestamp");
        assertEquals(status, last);
        assertEquals(Boolean.TRUE, forced.getFirst().get("force"));
    }

    @Test
    void aClientReconnectingWithLastEventIdLosesNothing() throws Exception {
        start("");
        var steady = open("/api/events");
        var interrupted = open("/api/events");
        core.post("/api/start", "{\"name\": \"a\"}");
        var before = interrupted.until(event -> "running".equals(event.get("phase")), WAIT);
        interrupted.close();
        // While it is away: a signal, a restart and a stop.
        core.post("/api/signal", "{\"signal\": \"HUP\"}");
        core.post("/api/start", "{\"name\": \"b\"}");
        runningPid();
        core.post("/api/stop", "{}");
        var uninterrupted = steady.until(event -> "stopped".equals(event.get("phase")), WAIT);

        var resumed = open("/api/events", "Last-Event-ID", before.getLast().id());
        var after = resumed.until(event -> "stopped".equals(event.get("phase")), WAIT);
        var joined = new ArrayList<>(before);
        joined.addAll(after);
        assertEquals(uninterrupted, joined, "the same events, with the same ids and data");
        assertIdsIncreaseByOne(joined);
    }

    @Test
    void typesFilterTheStreamAndUnknownTypesOrIdsAreRefused() throws Exception {
        start("");
        var exitsAndRestarts = open("/api/events?types=exit,restart");
        core.post("/api/start", "{\"name\": \"a\"}");
        ProcessHandle.of(runningPid()).orElseThrow().destroyForcibly();
        assertEquals(List.of("exit 137 KILL", "restart 1 after 50 ms"), summary(List.of(exitsAndRestarts.next(WAIT), exitsAndRestarts.next(WAIT))));

        var unknown = open("/api/events?types=phase,crash");
        assertEquals(400, unknown.status());
        assertEquals("unknown event type 'crash' in 'types'; the types are phase, exit, restart, request, traffic, shutdown", unknown.detail());
        assertEquals(400, open("/api/events?types=").status());
        assertEquals(400, open("/api/events?types=phase,,exit").status());
        var badId = open("/api/events", "Last-Event-ID", "yesterday");
        assertEquals(400, badId.status());
        assertTrue(((String) badId.detail()).startsWith("Last-Event-ID must be a whole number"), badId.detail().toString());
        assertEquals(400, open("/api/logs?follow=yes").status());
    }

    @Test
    void theBearerTokenIsNeededAsOnEveryApiPath() throws Exception {
        var config = new ccc.core.config.ConfigLoader(Map.of("CCC_API_TOKEN", "s3cret-token-of-the-core")).parse(
                new java.io.ByteArrayInputStream((TestCore.BASE_CONFIG + workload()).getBytes(StandardCharsets.UTF_8)), "test config");
        core = TestCore.start(null, config);
        var refused = open("/api/events");
        assertEquals(401, refused.status());
        assertEquals("missing or invalid bearer token", refused.detail());
        assertEquals(401, open("/api/logs?follow=true").status());
        var allowed = open("/api/events?types=request", "Authorization", "Bearer s3cret-token-of-the-core");
        assertEquals(200, allowed.status());
    }

    @Test
    void theSubscriberLimitAnswers503AndAClosedClientsPlaceComesBackAtOnce() throws Exception {
        start("");
        var streams = new ArrayList<EventStreamClient>();
        for (int i = 0; i < EventHub.MAX_SUBSCRIBERS; i++) {
            streams.add(open("/api/events"));
        }
        var refused = open("/api/events");
        assertEquals(503, refused.status());
        assertEquals("too many event subscribers (at most 64); try again shortly", refused.detail());
        streams.forEach(EventStreamClient::close);
        Instant closed = Instant.now();
        while (core.core.events().subscribers() > 0 && Duration.between(closed, Instant.now()).compareTo(Duration.ofSeconds(10)) < 0) {
            TestCore.sleep(10);
        }
        long took = Duration.between(closed, Instant.now()).toMillis();
        System.out.println("64 closed clients noticed and their places freed in " + took + " ms");
        assertEquals(0, core.core.events().subscribers());
        assertEquals(0, core.core.streams().active());
        assertTrue(took <= 2 * Streams.HEARTBEAT_EVERY.toMillis() + 1000, "freed within two heartbeats: " + took + " ms");
        assertEquals(200, open("/api/events").status());

        var followers = new ArrayList<EventStreamClient>();
        for (int i = 0; i < ControlApi.MAX_LOG_FOLLOWERS; i++) {
            followers.add(open("/api/logs?follow=true"));
        }
        var tooMany = open("/api/logs?follow=true");
        assertEquals(503, tooMany.status());
        assertEquals("too many /api/logs?follow=true streams (at most 16); try again shortly", tooMany.detail());
        assertEquals(200, core.get("/api/logs").status(), "a plain tail is still answered");
    }

    /** A client that sends its request and then reads nothing: its receive window closes and stays closed. */
    private Socket sleepingClient(String path) throws IOException {
        var socket = new Socket();
        socket.setReceiveBufferSize(4096);
        socket.connect(new InetSocketAddress("127.0.0.1", core.core.port()));
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: ccc\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    @Test
    void aClientThatStopsReadingIsDroppedWithoutDelayingHealthOrTheLifecycle() throws Exception {
        Log.redirect(new PrintStream(log, true, StandardCharsets.UTF_8));
        start("");
        core.post("/api/start", "{\"name\": \"a\"}");
        runningPid();
        var reader = open("/api/events?types=phase");
        try (Socket sleeper = sleepingClient("/api/events")) {
            // WINCH, whose default is to be ignored: the restart below must not be killed by the flood before its shell is up.
            var flooding = new AtomicBoolean(true);
            var signals = new AtomicInteger();
            var floods = new ArrayList<Thread>();
            var http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            for (int i = 0; i < 4; i++) {
                floods.add(Thread.ofPlatform().start(() -> {
                    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.core.port() + "/api/signal"))
                            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"signal\": \"WINCH\"}")).build();
                    while (flooding.get()) {
                        try {
                            if (http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                                signals.incrementAndGet();
                            }
                        } catch (IOException | InterruptedException e) {
                            return;
                        }
                    }
                }));
            }
            var health = new ConcurrentLinkedQueue<Long>();
            var prober = Thread.ofPlatform().start(() -> {
                var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.core.port() + "/api/health")).build();
                while (flooding.get()) {
                    long began = System.nanoTime();
                    try {
                        http.send(request, HttpResponse.BodyHandlers.ofString());
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                    health.add(System.nanoTime() - began);
                    TestCore.sleep(10);
                }
            });
            Instant began = Instant.now();
            while (!log.toString(StandardCharsets.UTF_8).contains("an event subscriber fell behind and is dropped")
                    && Duration.between(began, Instant.now()).toSeconds() < 120) {
                TestCore.sleep(20);
            }
            Duration toDrop = Duration.between(began, Instant.now());
            int signalsToDrop = signals.get();
            // The lifecycle goes on meanwhile: a restart while the flood goes on, timed.
            Instant restart = Instant.now();
            core.post("/api/start", "{\"name\": \"b\"}");
            var restarted = core.awaitStatus(status -> "running".equals(status.get("phase")) && ((Number) status.get("restarts")).intValue() == 1, WAIT);
            long restartMs = Duration.between(restart, Instant.now()).toMillis();
            // It reads nothing: after DROP_GRACE its connection is closed and its place freed.
            Instant dropped = Instant.now();
            while (core.core.events().subscribers() > 1 && Duration.between(dropped, Instant.now()).toSeconds() < 30) {
                TestCore.sleep(20);
            }
            long freedMs = Duration.between(dropped, Instant.now()).toMillis();
            flooding.set(false);
            for (Thread flood : floods) {
                flood.join();
            }
            prober.join();

            List<Long> sorted = health.stream().sorted().toList();
            double medianMs = sorted.get(sorted.size() / 2) / 1e6;
            System.out.printf("slow subscriber: dropped after %d signals in %d ms; freed %d ms after; a restart took %d ms meanwhile;"
                    + " /api/health %d probes, median %.2f ms, 99th %.2f ms, worst %.2f ms%n", signalsToDrop, toDrop.toMillis(), freedMs, restartMs,
                    sorted.size(), medianMs, sorted.get(sorted.size() * 99 / 100) / 1e6, sorted.getLast() / 1e6);
            assertTrue(log.toString(StandardCharsets.UTF_8).contains("an event subscriber fell behind and is dropped"), "the sleeper was dropped");
            assertEquals(1, core.core.events().subscribers(), "the sleeper's place is free; the reader keeps its own");
            assertTrue(medianMs < 10, "/api/health median " + medianMs + " ms");
            assertEquals(1, restarted.get("restarts"));
            // The reader that kept up has every phase event, and was not dropped.
            var phases = reader.until(event -> "running".equals(event.get("phase")) && Integer.valueOf(1).equals(event.get("restarts")), WAIT);
            assertFalse(phases.stream().anyMatch(event -> event.type().equals("dropped")));
            // What reached the sleeper's socket ends where the core closed it, without a final chunk.
            sleeper.setSoTimeout(10_000);
            byte[] received = sleeper.getInputStream().readAllBytes();
            String text = new String(received, StandardCharsets.UTF_8);
            assertTrue(text.startsWith("HTTP/1.1 200"), text.substring(0, Math.min(200, text.length())));
            assertFalse(text.endsWith("\r\n0\r\n\r\n"), "cut off, not ended");
        }
    }

    @Test
    void aSlowReaderThatFallsBehindGetsAFinalEventSayingWhy() throws Exception {
        Log.redirect(new PrintStream(log, true, StandardCharsets.UTF_8));
        start("");
        core.post("/api/start", "{\"name\": \"a\"}");
        runningPid();
        // A client that reads its answer's headers, then nothing until it has fallen behind, then everything.
        var slow = (java.net.HttpURLConnection) URI.create("http://127.0.0.1:" + core.core.port() + "/api/events?types=request").toURL().openConnection();
        assertEquals(200, slow.getResponseCode());
        var http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.core.port() + "/api/signal"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"signal\": \"WINCH\"}")).build();
        Instant began = Instant.now();
        while (!log.toString(StandardCharsets.UTF_8).contains("an event subscriber fell behind and is dropped")
                && Duration.between(began, Instant.now()).toSeconds() < 120) {
            for (int i = 0; i < 50; i++) {
                http.send(request, HttpResponse.BodyHandlers.ofString());
            }
        }
        var received = new ArrayList<ccc.core.ctl.ServerSentEvents.Event>();
        try (var stream = new ccc.core.ctl.ServerSentEvents(slow.getInputStream())) {
            for (var next = stream.next(); next.isPresent(); next = stream.next()) {
                received.add(next.get());
            }
        }
        var dropped = received.getLast();
        assertEquals("dropped", dropped.type(), "the stream ends with the event saying why");
        assertNull(dropped.id(), "the final event leaves the client's last id at the last event it got");
        Map<String, Object> why = com.fasterxml.jackson.jr.ob.JSON.std.mapFrom(dropped.data());
        assertTrue(((String) why.get("reason")).startsWith("the client fell behind: 1024 events were waiting"), why.toString());
        assertEquals(Long.parseLong(received.get(received.size() - 2).id()), ((Number) why.get("last_event_id")).longValue());
        for (int i = 1; i < received.size() - 1; i++) {
            assertEquals(Long.parseLong(received.get(i - 1).id()) + 1, Long.parseLong(received.get(i).id()), "no gap before the drop");
        }
        System.out.println("a reader that paused got " + (received.size() - 1) + " events, then: " + why);
    }

    @Test
    void logsFollowSendsTheTailThenNewLinesAsEventsOrNdjson() throws Exception {
        start("");
        core.post("/api/start", "{\"name\": \"first\"}");
        runningPid();
        var sse = open("/api/logs?follow=true&tail=1");
        var first = sse.next(WAIT);
        assertEquals("line", first.type());
        assertEquals("started first", first.get("line"));
        assertEquals("stdout", first.get("stream"));

        var http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        var ndjsonRequest = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.core.port() + "/api/logs?follow=true&tail=1"))
                .header("Accept", "application/x-ndjson").build();
        var ndjson = http.send(ndjsonRequest, HttpResponse.BodyHandlers.ofLines());
        assertEquals("application/x-ndjson", ndjson.headers().firstValue("Content-Type").orElseThrow());
        var lines = ndjson.body().filter(line -> !line.isEmpty()).iterator();
        assertTrue(lines.next().contains("\"line\":\"started first\""));

        core.post("/api/start", "{\"name\": \"second\"}");
        var second = sse.next(WAIT);
        assertEquals("started second", second.get("line"));
        assertTrue(second.idNumber() > first.idNumber());
        String next = lines.next();
        assertTrue(next.startsWith("{\"timestamp\":") && next.contains("\"stream\":\"stdout\",\"line\":\"started second\"}"), next);
        ndjson.body().close();

        // Resuming after the first line skips the tail and gives the second at once.
        var resumed = open("/api/logs?follow=true", "Last-Event-ID", first.id());
        assertEquals(second, resumed.next(WAIT));
    }

    @Test
    void aShutdownEndsEachStreamAfterTheStopsEvents() throws Exception {
        start("");
        core.post("/api/start", "{\"name\": \"a\"}");
        runningPid();
        var events = open("/api/events?types=phase,exit,shutdown");
        var follower = open("/api/logs?follow=true&tail=0");
        core.core.shutdown();
        core = null;
        var received = events.until(event -> "stopped".equals(event.get("phase")), WAIT);
        assertEquals(List.of("shutdown", "phase stopping", "exit 143 TERM requested", "phase stopped"), summary(received));
        assertTrue(events.ended(WAIT), "the stream ends once the stop's events are sent");
        assertTrue(follower.ended(WAIT));
    }
}
