package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Watching the runtime image instead of polling it: {@code /api/events} read by {@code curl -N}
 * and by the JDK's HTTP client, {@code /api/logs?follow=true} read by {@code ccc ctl logs -f},
 * {@code ccc ctl} itself, streams that come and go by the thousand, a client that stops reading,
 * and the launcher that execs the JVM.
 */
class EventsIT {

    private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private final String marker = "7" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";
    private final List<Process> clients = new ArrayList<>();

    @TempDir
    Path work;

    @AfterEach
    void endClients() throws IOException {
        clients.forEach(Process::destroyForcibly);
        for (long pid : ProcTable.withArgument(marker)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private ImageProcess launch(String extraYaml, Map<String, String> environment) throws IOException {
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, 'trap "" HUP; echo started $name; exec sleep %s']
                  stop_timeout_seconds: 5
                  restart: {policy: on-failure, max_retries: 3, backoff_initial_ms: 50}
                """.formatted(marker) + extraYaml);
        var core = ImageProcess.launch(work, environment);
        core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
        return core;
    }

    private static String awaitStatus(ImageProcess core, String fragment) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        String status = "";
        while (Instant.now().isBefore(deadline)) {
            status = core.request("GET", "/api/status", null).body();
            if (status.contains(fragment)) {
                return status;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("status never showed " + fragment + ": " + status);
    }

    private static long pidOf(String status) {
        Matcher matcher = PID.matcher(status);
        assertTrue(matcher.find(), status);
        return Long.parseLong(matcher.group(1));
    }

    private static void awaitOutput(ImageProcess core, String line) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        while (!core.request("GET", "/api/logs?tail=2000", null).body().contains("\"line\":\"" + line + "\"")) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("the workload never printed " + line);
            }
            Thread.sleep(10);
        }
    }

    private static void awaitFile(Path file, String fragment) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        while (!Files.exists(file) || !Files.readString(file).contains(fragment)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError(file + " never held " + fragment + ": " + (Files.exists(file) ? Files.readString(file) : "(none)"));
            }
            Thread.sleep(10);
        }
    }

    private static List<String> summary(List<EventStreamReader.Event> events) {
        return events.stream().map(event -> switch (event.type()) {
            case "phase" -> "phase " + event.field("phase");
            case "exit" -> "exit " + event.field("exit_code") + " " + event.field("exit_signal") + ("true".equals(event.field("requested")) ? " requested" : "");
            case "restart" -> "restart " + event.field("attempt");
            case "request" -> "request " + event.field("request");
            default -> event.type();
        }).toList();
    }

    private static double median(List<Double> values) {
        return values.stream().sorted().toList().get(values.size() / 2);
    }

    /** A JDK client reading {@code /api/events}: each event with the moment it arrived. */
    private record Timed(EventStreamReader.Event event, Instant arrived) {
    }

    private static Thread readEvents(ImageProcess core, String path, ConcurrentLinkedQueue<Timed> into) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.port + path)).build();
        HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        return Thread.ofPlatform().daemon().start(() -> {
            try (InputStream body = response.body()) {
                var reader = new EventStreamReader(body);
                for (var event = reader.next(); event != null; event = reader.next()) {
                    into.add(new Timed(event, Instant.now()));
                }
            } catch (IOException e) {
                // The core ended, or the test did.
            }
        });
    }

    @Test
    void curlAndTheJdkClientSeeAStartStopCrashAndRestartInOrderWithIncreasingIds() throws Exception {
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/curl")), "curl is not installed (apt-get install curl)");
        try (var core = launch("", Map.of())) {
            Path curlOutput = work.resolve("curl.txt");
            var curl = new ProcessBuilder("curl", "-sN", "http://127.0.0.1:" + core.port + "/api/events")
                    .redirectOutput(curlOutput.toFile()).redirectErrorStream(true).start();
            clients.add(curl);
            var timed = new ConcurrentLinkedQueue<Timed>();
            readEvents(core, "/api/events?types=phase", timed);
            // The heartbeat says curl is reading.
            awaitFile(curlOutput, ":\n");

            assertEquals(200, core.request("POST", "/api/start", "{\"name\": \"one\"}").status());
            awaitStatus(core, "\"phase\":\"running\"");
            assertEquals(200, core.request("POST", "/api/stop", "{}").status());
            awaitStatus(core, "\"phase\":\"stopped\"");
            assertEquals(200, core.request("POST", "/api/start", "{\"name\": \"two\"}").status());
            long crashing = pidOf(awaitStatus(core, "\"phase\":\"running\""));
            awaitOutput(core, "started two");
            ProcessHandle.of(crashing).orElseThrow().destroyForcibly();
            awaitStatus(core, "\"restarts\":1");
            awaitStatus(core, "\"phase\":\"running\"");
            assertEquals(200, core.request("POST", "/api/stop", "{}").status());
            awaitStatus(core, "\"phase\":\"stopped\"");

            // The last stop's events reach curl, and the stream goes on.
            Instant deadline = Instant.now().plusSeconds(10);
            List<EventStreamReader.Event> events = EventStreamReader.parse(Files.readString(curlOutput));
            while (summary(events).stream().filter(line -> line.equals("phase stopped")).count() < 2 && Instant.now().isBefore(deadline)) {
                Thread.sleep(20);
                events = EventStreamReader.parse(Files.readString(curlOutput));
            }
            assertEquals(List.of(
                    "request start", "phase starting", "phase running",
                    "request stop", "phase stopping", "exit 143 TERM requested", "phase stopped",
                    "request start", "phase starting", "phase running",
                    "exit 137 KILL", "phase backoff", "restart 1", "phase starting", "phase running",
                    "request stop", "phase stopping", "exit 143 TERM requested", "phase stopped"), summary(events));
            for (int i = 1; i < events.size(); i++) {
                assertEquals(events.get(i - 1).idNumber() + 1, events.get(i).idNumber(), "ids increase by one: " + events);
            }
            assertTrue(curl.isAlive(), "the stream stays open");

            // The JDK client asked for phases only: the same phase events, with the same ids.
            List<EventStreamReader.Event> phases = events.stream().filter(event -> event.type().equals("phase")).toList();
            deadline = Instant.now().plusSeconds(10);
            while (timed.size() < phases.size() && Instant.now().isBefore(deadline)) {
                Thread.sleep(10);
            }
            assertEquals(phases, timed.stream().map(Timed::event).toList());
            var latencies = timed.stream().map(t -> Duration.between(Instant.parse(t.event().field("timestamp")), t.arrived()).toNanos() / 1e6).toList();
            System.out.printf("events: from a phase's publication to the JDK client: median %.2f ms, worst %.2f ms over %d events%n",
                    median(latencies), latencies.stream().mapToDouble(Double::doubleValue).max().orElseThrow(), latencies.size());
        }
    }

    /** {@code bin/ccc ctl ARGS} of the runtime image; its exit code and output. */
    private record Ctl(int code, String out, String err, long millis) {
    }

    private Ctl ctl(Map<String, String> environment, String stdin, String... args) throws Exception {
        var command = new ArrayList<>(List.of(ImageProcess.IMAGE.resolve("bin/ccc").toString(), "ctl"));
        command.addAll(List.of(args));
        var builder = new ProcessBuilder(command);
        builder.environment().clear();
        builder.environment().putAll(environment);
        Path out = Files.createTempFile(work, "ctl", ".out");
        Path err = Files.createTempFile(work, "ctl", ".err");
        builder.redirectOutput(out.toFile()).redirectError(err.toFile());
        long began = System.nanoTime();
        Process process = builder.start();
        try (var in = process.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "ccc ctl " + String.join(" ", args) + " ended");
        return new Ctl(process.exitValue(), Files.readString(out), Files.readString(err), (System.nanoTime() - began) / 1_000_000);
    }

    @Test
    void cccCtlDrivesTheRuntimeImageAndSaysWhyItFails() throws Exception {
        String token = "events-it-token-" + ThreadLocalRandom.current().nextInt(1_000_000);
        try (var core = launch("", Map.of("CCC_API_TOKEN", token))) {
            Map<String, String> environment = Map.of("CCC_PORT", Integer.toString(core.port), "CCC_API_TOKEN", token);
            Ctl status = ctl(environment, "", "status");
            assertEquals(0, status.code(), status.err());
            assertTrue(status.out().lines().anyMatch(line -> line.matches("phase +idle")), status.out());

            Ctl started = ctl(environment, "{\"name\": \"via-ctl\"}", "start", "--payload", "-");
            assertEquals(0, started.code(), started.err());
            assertEquals("start initiated\n", started.out());

            var follow = new ProcessBuilder(ImageProcess.IMAGE.resolve("bin/ccc").toString(), "ctl", "logs", "-f", "--tail", "5");
            follow.environment().putAll(environment);
            Process following = follow.redirectErrorStream(true).start();
            clients.add(following);
            var lines = new BufferedReader(new InputStreamReader(following.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("started via-ctl", lines.readLine());
            Ctl restarted = ctl(environment, "{\"name\": \"again\"}", "start", "--payload", "-");
            assertEquals(0, restarted.code());
            assertEquals("started again", lines.readLine(), "a new line, as it comes");
            // Whoever read it goes (kubectl exec ended without a terminal): the client ends at its next line.
            lines.close();
            assertEquals(0, ctl(environment, "{\"name\": \"once-more\"}", "start", "--payload", "-").code());
            assertTrue(following.waitFor(30, TimeUnit.SECONDS), "ccc ctl logs -f ends once its output is gone");
            assertEquals(0, following.exitValue());

            Ctl stopped = ctl(environment, "", "stop");
            assertEquals(0, stopped.code(), stopped.err());
            assertEquals("stop initiated\n", stopped.out());
            awaitTokenStatus(core, token, "\"phase\":\"stopped\"");

            Ctl json = ctl(environment, "", "--json", "status");
            assertTrue(json.out().startsWith("{\"app_status\":\"stopped\""), json.out());

            Ctl wrongToken = ctl(Map.of("CCC_PORT", Integer.toString(core.port), "CCC_API_TOKEN", "wrong"), "", "status");
            assertEquals(1, wrongToken.code());
            assertEquals("ccc ctl: the core answered 401: missing or invalid bearer token (give the token in CCC_API_TOKEN or with --token-file)\n",
                    wrongToken.err());
            Ctl noToken = ctl(Map.of("CCC_PORT", Integer.toString(core.port)), "", "events");
            assertEquals(1, noToken.code(), "streams need the token as every /api path does");
            Ctl usage = ctl(environment, "", "signal");
            assertEquals(2, usage.code());
            Ctl unreachable = ctl(Map.of("CCC_PORT", Integer.toString(ImageProcess.freePort())), "", "status");
            assertEquals(3, unreachable.code());
            assertTrue(unreachable.err().startsWith("ccc ctl: cannot reach the core at http://127.0.0.1:"), unreachable.err());
            System.out.println("ccc ctl status on the runtime image took " + status.millis() + " ms, stop " + stopped.millis() + " ms");
        }
    }

    private static void awaitTokenStatus(ImageProcess core, String token, String fragment) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        while (!ImageProcess.request(core.host, core.port, "GET", "/api/status", null, token).body().contains(fragment)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("status never showed " + fragment);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void logsFollowKeepsUpWithTenThousandLinesASecondAndEndsWhenTheClientGoes() throws Exception {
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, 'i=0; while [ $$i -lt 50 ]; do seq $$((i * 1000)) $$((i * 1000 + 999)); sleep 0.1; i=$$((i + 1)); done; exec sleep %s']
                """.formatted(marker));
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            var follow = new ProcessBuilder(ImageProcess.IMAGE.resolve("bin/ccc").toString(), "ctl", "logs", "-f", "--tail", "0");
            follow.environment().put("CCC_PORT", Integer.toString(core.port));
            Process following = follow.start();
            clients.add(following);
            var lines = new BufferedReader(new InputStreamReader(following.getInputStream(), StandardCharsets.UTF_8));
            // ccc ctl is a JVM: it is following once the core has a follower.
            Instant deadline = Instant.now().plusSeconds(30);
            while (ThreadDump.of(core.process.pid(), work).named("stream /api/logs") == 0) {
                assertTrue(Instant.now().isBefore(deadline), "ccc ctl logs -f never connected");
                Thread.sleep(50);
            }
            Instant asked = Instant.now();
            assertEquals(200, core.request("POST", "/api/start", "{}").status());
            var received = new ArrayList<String>(50_000);
            Instant first = null;
            String line;
            while (received.size() < 50_000 && (line = lines.readLine()) != null) {
                if (first == null) {
                    first = Instant.now();
                }
                received.add(line);
            }
            Instant last = Instant.now();
            for (int i = 0; i < received.size(); i++) {
                if (!received.get(i).equals(Integer.toString(i))) {
                    throw new AssertionError("line " + i + " is '" + received.get(i) + "': a gap or a reordering; around it: "
                            + received.subList(Math.max(0, i - 3), Math.min(received.size(), i + 3)));
                }
            }
            assertEquals(50_000, received.size());
            double seconds = Duration.between(first, last).toNanos() / 1e9;
            System.out.printf("logs -f: 50,000 lines printed at about 10,000 a second reached ccc ctl in order, without a gap, in %.2f s"
                    + " (%.0f lines/s; start to first line %d ms)%n", seconds, 49_999 / seconds, Duration.between(asked, first).toMillis());

            following.destroy();
            assertTrue(following.waitFor(10, TimeUnit.SECONDS));
            Instant gone = Instant.now();
            while (ThreadDump.of(core.process.pid(), work).named("stream /api/logs") > 0) {
                assertTrue(Duration.between(gone, Instant.now()).toSeconds() < 10, "the follower's stream ends once its client is gone");
                Thread.sleep(50);
            }
            System.out.println("logs -f: the stream's thread ended " + Duration.between(gone, Instant.now()).toMillis() + " ms after ccc ctl did");
        }
    }

    @Test
    void aThousandStreamsOpenedAndDroppedGiveBackTheirThreadsAndMemory() throws Exception {
        try (var core = launch("", Map.of())) {
            long pid = core.process.pid();
            assertEquals(200, core.request("POST", "/api/start", "{\"name\": \"a\"}").status());
            awaitStatus(core, "\"phase\":\"running\"");
            // Warm up the paths a stream takes, then measure.
            open(core, 20, new AtomicInteger()).forEach(EventsIT::drop);
            Thread.sleep(3000);
            var heapBefore = CoreProbe.heap(pid);
            int threadsBefore = ThreadDump.of(pid, work).threads();
            long osThreadsBefore = osThreads(pid);
            int fdsBefore = ProcTable.openFds(pid);

            Instant began = Instant.now();
            var refused = new AtomicInteger();
            var first = open(core, 50, refused);
            int whileOpen = ThreadDump.of(pid, work).named("stream /api/");
            first.forEach(EventsIT::drop);
            int opened = first.size();
            while (opened < 1000) {
                int batch = Math.min(50, 1000 - opened);
                open(core, batch, refused).forEach(EventsIT::drop);
                opened += batch;
            }
            int refusedWhileFull = refused.get();
            long took = Duration.between(began, Instant.now()).toMillis();
            Instant dropped = Instant.now();
            ThreadDump after = ThreadDump.of(pid, work);
            while ((after.named("stream /api/") > 0) && Duration.between(dropped, Instant.now()).toSeconds() < 10) {
                Thread.sleep(100);
                after = ThreadDump.of(pid, work);
            }
            long freedMs = Duration.between(dropped, Instant.now()).toMillis();
            var heapAfter = CoreProbe.heap(pid);
            int threadsAfter = ThreadDump.of(pid, work).threads();
            long osThreadsAfter = osThreads(pid);
            int fdsAfter = ProcTable.openFds(pid);
            System.out.printf("1,000 streams (events and logs, %d refused for a moment while the last batch's places were being freed) opened and"
                    + " dropped in %d ms; all freed %d ms after the last; threads (virtual and platform) %d -> %d, OS threads %d -> %d,"
                    + " descriptors %d -> %d, heap %s -> %s%n", refusedWhileFull, took, freedMs, threadsBefore, threadsAfter, osThreadsBefore,
                    osThreadsAfter, fdsBefore, fdsAfter, heapBefore, heapAfter);
            assertEquals(50, whileOpen, "each open stream has its thread");
            assertEquals(0, after.named("stream /api/"), "no stream's thread is left");
            assertTrue(threadsAfter <= threadsBefore + 2, threadsBefore + " -> " + threadsAfter);
            assertTrue(osThreadsAfter <= osThreadsBefore + 2, osThreadsBefore + " -> " + osThreadsAfter);
            assertTrue(fdsAfter <= fdsBefore + 4, fdsBefore + " -> " + fdsAfter);
            assertTrue(heapAfter.liveKib() <= heapBefore.liveKib() + 1024, heapBefore + " -> " + heapAfter);
            assertEquals(200, core.request("GET", "/api/health", null).status());
        }
    }

    private static long osThreads(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream().filter(line -> line.startsWith("Threads:"))
                .mapToLong(line -> Long.parseLong(line.replaceAll("\\D", ""))).findFirst().orElseThrow();
    }

    /**
     * Opens {@code count} streams (one in five a log follow); a stream refused while the places of
     * streams dropped before are being freed is asked again, and counted in {@code refused}. Each
     * answered 200 with its headers at once: its thread is writing the stream.
     */
    private static List<HttpResponse<InputStream>> open(ImageProcess core, int count, AtomicInteger refused) throws Exception {
        var open = new ArrayList<HttpResponse<InputStream>>();
        for (int i = 0; i < count; i++) {
            String path = i % 5 == 0 ? "/api/logs?follow=true&tail=1" : "/api/events";
            var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.port + path)).build();
            Instant deadline = Instant.now().plusSeconds(10);
            while (true) {
                HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
                if (response.statusCode() == 200) {
                    open.add(response);
                    break;
                }
                response.body().close();
                assertEquals(503, response.statusCode());
                assertTrue(Instant.now().isBefore(deadline), "places never came back");
                refused.incrementAndGet();
                Thread.sleep(50);
            }
        }
        return open;
    }

    /** Drops a stream: the client closes its connection. */
    private static void drop(HttpResponse<InputStream> stream) {
        try {
            stream.body().close();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A client that sends its request and then reads nothing. */
    private static Socket sleepingClient(ImageProcess core, String path) throws IOException {
        var socket = new Socket();
        socket.setReceiveBufferSize(4096);
        socket.connect(new InetSocketAddress("127.0.0.1", core.port));
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: ccc\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    @Test
    void aSubscriberThatStopsReadingIsDroppedWhileHealthAndTheLifecycleGoOn() throws Exception {
        try (var core = launch("", Map.of())) {
            assertEquals(200, core.request("POST", "/api/start", "{\"name\": \"a\"}").status());
            awaitStatus(core, "\"phase\":\"running\"");
            try (Socket sleeper = sleepingClient(core, "/api/events")) {
                var flooding = new AtomicBoolean(true);
                var signals = new AtomicInteger();
                var floods = new ArrayList<Thread>();
                for (int i = 0; i < 3; i++) {
                    floods.add(Thread.ofPlatform().start(() -> {
                        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.port + "/api/signal"))
                                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"signal\": \"HUP\"}")).build();
                        while (flooding.get()) {
                            try {
                                if (HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                                    signals.incrementAndGet();
                                }
                            } catch (IOException | InterruptedException e) {
                                return;
                            }
                        }
                    }));
                }
                var health = new ConcurrentLinkedQueue<Double>();
                var prober = Thread.ofPlatform().start(() -> {
                    try (var probe = new CoreProbe.KeepAlive("127.0.0.1", core.port)) {
                        while (flooding.get()) {
                            health.add(probe.health().toNanos() / 1e6);
                            Thread.sleep(10);
                        }
                    } catch (IOException | InterruptedException e) {
                        health.add(Double.MAX_VALUE);
                    }
                });
                Instant began = Instant.now();
                while (!core.output().contains("an event subscriber fell behind and is dropped") && Duration.between(began, Instant.now()).toSeconds() < 180) {
                    Thread.sleep(50);
                }
                long toDrop = Duration.between(began, Instant.now()).toMillis();
                assertTrue(core.output().contains("an event subscriber fell behind and is dropped"), "dropped within 3 minutes");
                int signalsToDrop = signals.get();
                Instant restart = Instant.now();
                assertEquals(200, core.request("POST", "/api/start", "{\"name\": \"b\"}").status());
                awaitStatus(core, "\"restarts\":1");
                awaitStatus(core, "\"phase\":\"running\"");
                long restartMs = Duration.between(restart, Instant.now()).toMillis();
                awaitOutputLine(core, "closing the connection of a stream whose client fell behind");
                long closedMs = Duration.between(began, Instant.now()).toMillis() - toDrop;
                flooding.set(false);
                for (Thread flood : floods) {
                    flood.join();
                }
                prober.join();
                List<Double> sorted = health.stream().sorted().toList();
                double medianMs = sorted.get(sorted.size() / 2);
                System.out.printf("a subscriber that reads nothing: dropped after %d signal events in %d ms, its connection closed %d ms later;"
                        + " a restart meanwhile took %d ms; /api/health on a kept-alive connection: %d probes, median %.2f ms,"
                        + " 99th percentile %.2f ms, worst %.2f ms%n", signalsToDrop, toDrop, closedMs, restartMs, sorted.size(), medianMs,
                        sorted.get(sorted.size() * 99 / 100), sorted.getLast());
                assertTrue(medianMs < 10, "/api/health median " + medianMs + " ms while the subscriber was dropped");
                assertFalse(sorted.contains(Double.MAX_VALUE), "every probe answered");
                sleeper.setSoTimeout(30_000);
                String received = new String(sleeper.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(received.startsWith("HTTP/1.1 200"));
                assertFalse(received.endsWith("\r\n0\r\n\r\n"), "its stream was cut off, not ended");
            }
        }
    }

    private static void awaitOutputLine(ImageProcess core, String fragment) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!core.output().contains(fragment)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("never logged: " + fragment);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void streamsOutliveTheServersRequestAndIdleTimers() throws Exception {
        try (var core = launch("server:\n  host: 127.0.0.1\n  request_timeout_seconds: 1\n  idle_timeout_seconds: 1\n", Map.of())) {
            var events = new ConcurrentLinkedQueue<Timed>();
            Thread reader = readEvents(core, "/api/events", events);
            Thread.sleep(4000);
            assertTrue(reader.isAlive(), "the stream is still open four times past both timers");
            assertEquals(200, core.request("POST", "/api/start", "{\"name\": \"late\"}").status());
            awaitStatus(core, "\"phase\":\"running\"");
            Instant deadline = Instant.now().plusSeconds(10);
            while (events.stream().noneMatch(t -> "running".equals(t.event().field("phase"))) && Instant.now().isBefore(deadline)) {
                Thread.sleep(10);
            }
            assertEquals(List.of("request start", "phase starting", "phase running"), summary(events.stream().map(Timed::event).toList()));
        }
    }

    @Test
    void streamsCutOffByTheWatchdogLeaveNoConnectionBehindInTheServersLimit() throws Exception {
        // 8 MB at a pace followers can take, which fills the sockets of those that read nothing, then 30 MB
        // at once, which makes them fall behind while their writes wait: the watchdog must cut them off.
        Files.writeString(work.resolve("config.yaml"), """
                server:
                  host: 127.0.0.1
                  max_connections: 6
                  idle_timeout_seconds: 1
                process_management:
                  enabled: true
                  command: [sh, -c, 'i=0; while [ $$i -lt 8 ]; do head -c 1000000 /dev/zero | tr "\\000" x | fold -w 1000; sleep 0.25; i=$$((i + 1)); done;
                    head -c 30000000 /dev/zero | tr "\\000" x | fold -w 1000; exec sleep %s']
                """.formatted(marker));
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            var sleepers = new ArrayList<Socket>();
            try {
                for (int i = 0; i < 4; i++) {
                    sleepers.add(sleepingClient(core, "/api/logs?follow=true&tail=0"));
                }
                Instant deadline = Instant.now().plusSeconds(30);
                while (ThreadDump.of(core.process.pid(), work).named("stream /api/logs") < 4) {
                    assertTrue(Instant.now().isBefore(deadline), "four followers");
                    Thread.sleep(50);
                }
                assertEquals(200, core.request("POST", "/api/start", "{}").status());
                deadline = Instant.now().plusSeconds(60);
                while (ThreadDump.of(core.process.pid(), work).named("stream /api/logs") > 0) {
                    assertTrue(Instant.now().isBefore(deadline), "the four streams end");
                    Thread.sleep(200);
                }
                int cutOff = core.output().split("closing the connection of a stream whose client fell behind", -1).length - 1;
                System.out.println("four followers that read nothing fell behind a 38 MB flood; the watchdog cut off " + cutOff
                        + " of them, whose writes were stuck (any other ended with its last event)");
                assertTrue(cutOff >= 1, "the test went through the watchdog's path");
                // Idle connections (this test's own) are closed after a second; then every place must be free.
                Thread.sleep(1500);
                var probes = new ArrayList<CoreProbe.KeepAlive>();
                try {
                    for (int i = 0; i < 6; i++) {
                        var probe = new CoreProbe.KeepAlive("127.0.0.1", core.port);
                        probes.add(probe);
                        probe.health();
                    }
                } finally {
                    for (var probe : probes) {
                        probe.close();
                    }
                }
            } finally {
                for (Socket sleeper : sleepers) {
                    sleeper.close();
                }
            }
        }
    }

    @Test
    void theLauncherExecsTheImagesJvmWithItsOptionsAndWorksThroughALink() throws Exception {
        Files.writeString(work.resolve("config.yaml"), "process_management:\n  enabled: true\n  command: [sleep, '" + marker + "']\n");
        Path link = Files.createSymbolicLink(work.resolve("ccc-link"), ImageProcess.IMAGE.resolve("bin/ccc"));
        int port = ImageProcess.freePort();
        var builder = new ProcessBuilder(link.toString(), "--config", "config.yaml").directory(work.toFile())
                .redirectErrorStream(true).redirectOutput(work.resolve("core.log").toFile());
        builder.environment().put("CCC_PORT", Integer.toString(port));
        builder.environment().put("CCC_HOST", "127.0.0.1");
        builder.environment().put("CCC_JAVA_OPTIONS", " -Dccc.launcher.test=one\t-Xss600k\n");
        Process core = builder.start();
        clients.add(core);
        Instant deadline = Instant.now().plusSeconds(30);
        while (true) {
            try {
                if (ImageProcess.request("127.0.0.1", port, "GET", "/api/health", null).status() == 200) {
                    break;
                }
            } catch (IOException e) {
                assertTrue(Instant.now().isBefore(deadline), Files.readString(work.resolve("core.log")));
                Thread.sleep(20);
            }
        }
        String image = ImageProcess.IMAGE.toRealPath().toString();
        List<String> commandLine = List.of(Files.readString(Path.of("/proc", Long.toString(core.pid()), "cmdline")).split("\0"));
        assertEquals(List.of(image + "/bin/java", "-XX:AOTCache=" + image + "/lib/ccc.aot", "--enable-native-access=ccc.core",
                "-Dccc.launcher.test=one", "-Xss600k", "-m", "ccc.core/ccc.core.Main", "--config", "config.yaml"), commandLine,
                "the launcher's own process became the JVM, so signals reach the core");
        var probe = new ProcessBuilder(ImageProcess.IMAGE.resolve("bin/ccc").toString(), "--probe");
        probe.environment().put("CCC_PORT", Integer.toString(port));
        Process probed = probe.redirectErrorStream(true).start();
        assertTrue(probed.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, probed.exitValue(), new String(probed.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        core.destroy();
        assertTrue(core.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, core.exitValue(), "SIGTERM reached the core, which stopped in order");

        // An image without an AOT cache starts without the option.
        Path copy = work.resolve("image");
        Process copying = new ProcessBuilder("cp", "-al", ImageProcess.IMAGE.toString(), copy.toString()).inheritIO().start();
        assertEquals(0, copying.waitFor());
        Files.delete(copy.resolve("lib/ccc.aot"));
        Process version = new ProcessBuilder(copy.resolve("bin/ccc").toString(), "--version").redirectErrorStream(true).start();
        String printed = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(version.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, version.exitValue(), printed);
        assertTrue(printed.startsWith("ccc "), printed);
        assertFalse(printed.contains("AOT"), "no complaint about a missing cache: " + printed);
    }
}
