package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 32 clients send random start, restart, update, signal, stop and metrics calls for 30 seconds
 * to the runtime image supervising a real workload with a child process, while a checker holds
 * the invariants: at most one workload alive, {@code /api/status} true to {@code /proc}, every
 * request answered, no 5xx but those the adapter causes, no orphans or zombies at the end, and
 * the core's memory without an upward trend. Meanwhile 8 subscribers read {@code /api/events},
 * each polling {@code /api/status} too: every subscriber gets every event, with ids increasing by
 * one, and every status it polled is a phase event it got, in the order it polled them.
 */
class ChaosIT {

    private static final Pattern PHASE = Pattern.compile("\"phase\":\"(\\w+)\"");
    private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");
    private static final Duration RUN_FOR = Duration.ofSeconds(30);
    private static final String MARKER = "chaos-workload-" + ThreadLocalRandom.current().nextInt(1_000_000);

    @TempDir
    Path work;

    /**
     * The roots of live workload trees: processes with the marker on their command line whose
     * parent has not. (A shell's child shows its parent's command line between fork and exec.)
     */
    /**
     * The workloads alive, one pid each: the marked processes by session. Each workload's helper
     * starts a session of its own, which its processes keep, also a child re-parented to the core
     * when its parent has just died (seen by parents alone, such a child and its dying parent
     * looked like two workloads).
     */
    private static List<Long> workloadRoots() throws IOException {
        var bySession = new java.util.TreeMap<Long, Long>();
        for (long pid : ProcTable.withArgument(MARKER)) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                // After "pid (comm) ": state, parent, process group, session.
                long session = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3]);
                bySession.merge(session, pid, Math::min);
            } catch (IOException e) {
                // Ended while we looked.
            }
        }
        return List.copyOf(bySession.values());
    }

    private static final Pattern TIMESTAMP = Pattern.compile(",\"timestamp\":\"[^\"]*\"");
    private static final Pattern PHASE_FIELDS = Pattern.compile("\"app_status\":\"\\w+\",\"container_status\":\"running\",\"phase\":\"\\w+\",");
    private static final int SUBSCRIBERS = 8;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** One subscriber of {@code /api/events}, which also polls {@code /api/status}: what it received and what it polled, in order. */
    private static final class Subscriber {
        final List<EventStreamReader.Event> events = Collections.synchronizedList(new ArrayList<>());
        final List<String> polled = Collections.synchronizedList(new ArrayList<>());
        final AtomicBoolean polling = new AtomicBoolean(true);
        Thread reader;
        Thread poller;
        InputStream stream;

        void start(ImageProcess core, ConcurrentLinkedQueue<String> violations) throws Exception {
            var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + core.port + "/api/events")).build();
            HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                throw new AssertionError("/api/events answered " + response.statusCode());
            }
            stream = response.body();
            // The core was just launched: nothing was published yet, and the first poll is the initial snapshot.
            polled.add(core.request("GET", "/api/status", null).body());
            reader = Thread.ofPlatform().start(() -> {
                try {
                    var events = new EventStreamReader(stream);
                    for (var event = events.next(); event != null; event = events.next()) {
                        this.events.add(event);
                    }
                } catch (IOException e) {
                    // Closed at the end.
                }
            });
            poller = Thread.ofPlatform().start(() -> {
                while (polling.get()) {
                    try {
                        polled.add(core.request("GET", "/api/status", null).body());
                        Thread.sleep(ThreadLocalRandom.current().nextInt(5, 50));
                    } catch (IOException | InterruptedException e) {
                        violations.add("a subscriber's poll failed: " + e);
                        return;
                    }
                }
            });
        }

        /** Whether its last phase event is {@code status}, timestamps aside. */
        boolean caughtUpWith(String status) {
            synchronized (events) {
                for (int i = events.size() - 1; i >= 0; i--) {
                    if (events.get(i).type().equals("phase")) {
                        return withoutTimestamp(events.get(i).data()).equals(withoutTimestamp(status));
                    }
                }
            }
            return false;
        }

        /**
         * What is wrong with what it received: events that are not the core's (dropped, missed),
         * ids that do not increase by one, or a polled status that is no phase event it got after
         * the one the status before matched. A status may show a start queued before the lifecycle
         * began it: phase starting, with the other fields of the snapshot published last.
         */
        List<String> disagreements() {
            var problems = new ArrayList<String>();
            var phases = new ArrayList<String>();
            phases.add(withoutTimestamp(polled.getFirst()));
            for (int i = 0; i < events.size(); i++) {
                var event = events.get(i);
                if (event.id() == null) {
                    problems.add("an event of the stream itself: " + event);
                } else if (i > 0 && event.idNumber() != events.get(i - 1).idNumber() + 1) {
                    problems.add("id " + event.id() + " after " + events.get(i - 1).id());
                }
                if (event.type().equals("phase")) {
                    phases.add(withoutTimestamp(event.data()));
                }
            }
            int at = 0;
            for (String status : polled) {
                String wanted = withoutTimestamp(status);
                boolean queuedStart = wanted.contains("\"phase\":\"starting\"");
                int found = -1;
                for (int j = at; j < phases.size() && found < 0; j++) {
                    if (phases.get(j).equals(wanted)
                            || queuedStart && withoutPhase(phases.get(j)).equals(withoutPhase(wanted))) {
                        found = j;
                    }
                }
                if (found < 0) {
                    problems.add("polled status " + wanted + " is no phase event after " + phases.get(at));
                    break;
                }
                at = found;
            }
            return problems;
        }

        void stop() throws Exception {
            polling.set(false);
            poller.join();
            stream.close();
            reader.join();
        }
    }

    private static String withoutTimestamp(String json) {
        return TIMESTAMP.matcher(json).replaceAll("");
    }

    private static String withoutPhase(String json) {
        return PHASE_FIELDS.matcher(json).replaceAll("");
    }

    private static String group(Pattern pattern, String text) {
        Matcher matcher = pattern.matcher(text);
        return matcher.find() ? matcher.group(1) : null;
    }

    @Test
    void thirtySecondsOfRandomCallsBreakNoInvariant() throws Exception {
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, 'trap "" HUP USR1 USR2; while :; do sleep 1; done', '%s']
                  payload_file: %s
                  update: {signal: HUP}
                  stop_timeout_seconds: 2
                  restart: {policy: on-failure, backoff_initial_ms: 50, backoff_max_ms: 200}
                """.formatted(MARKER, work.resolve("payload.json")));
        try (var core = ImageProcess.launch(work, Map.of("LOG_LEVEL", "WARNING"))) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            long corePid = core.process.pid();
            var running = new AtomicBoolean(true);
            var calls = new ConcurrentHashMap<String, LongAdder>();
            var statuses = new ConcurrentHashMap<String, LongAdder>();
            var violations = new ConcurrentLinkedQueue<String>();
            var checks = new LongAdder();
            var mostAlive = new AtomicInteger();
            var rss = new ConcurrentLinkedQueue<Long>();
            var subscribers = new ArrayList<Subscriber>();
            for (int i = 0; i < SUBSCRIBERS; i++) {
                var subscriber = new Subscriber();
                subscriber.start(core, violations);
                subscribers.add(subscriber);
            }

            Thread checker = Thread.ofPlatform().start(() -> {
                long nextRss = System.nanoTime();
                while (running.get()) {
                    try {
                        List<Long> roots = workloadRoots();
                        mostAlive.accumulateAndGet(roots.size(), Math::max);
                        if (roots.size() > 1) {
                            violations.add("two workloads alive at once: " + roots);
                        }
                        String status = core.request("GET", "/api/status", null).body();
                        Long pid = group(PID, status) == null ? null : Long.parseLong(group(PID, status));
                        if ("running".equals(group(PHASE, status)) && pid != null && !ProcTable.alive(pid)) {
                            // The workload may have just ended; the status must catch up quickly.
                            Instant deadline = Instant.now().plusSeconds(2);
                            String again = status;
                            while (Instant.now().isBefore(deadline) && again.contains("\"pid\":" + pid) && "running".equals(group(PHASE, again))) {
                                Thread.sleep(20);
                                again = core.request("GET", "/api/status", null).body();
                            }
                            if (again.contains("\"pid\":" + pid) && "running".equals(group(PHASE, again))) {
                                violations.add("status says running with pid " + pid + ", which /proc does not have");
                            }
                        }
                        checks.increment();
                        if (System.nanoTime() >= nextRss) {
                            rss.add(ProcTable.rssKib(corePid));
                            nextRss += 1_000_000_000L;
                        }
                        Thread.sleep(25);
                    } catch (IOException | InterruptedException e) {
                        violations.add("checker failed: " + e);
                    }
                }
            });

            var clients = new ArrayList<Thread>();
            Instant end = Instant.now().plus(RUN_FOR);
            for (int i = 0; i < 32; i++) {
                clients.add(Thread.ofPlatform().start(() -> {
                    var random = ThreadLocalRandom.current();
                    while (Instant.now().isBefore(end)) {
                        int pick = random.nextInt(100);
                        String op;
                        ImageProcess.Reply reply;
                        try {
                            if (pick < 25) {
                                op = "start";
                                reply = core.request("POST", "/api/start", "{\"rate\": " + random.nextInt(100) + ", \"token\": \"t-" + random.nextInt() + "\"}");
                            } else if (pick < 40) {
                                op = "update";
                                reply = core.request("POST", "/api/update", "{\"rate\": " + random.nextInt(100) + "}");
                            } else if (pick < 52) {
                                op = "signal";
                                reply = core.request("POST", "/api/signal", "{\"signal\": \"" + List.of("HUP", "USR1", "USR2").get(random.nextInt(3)) + "\"}");
                            } else if (pick < 62) {
                                op = "stop";
                                reply = core.request("POST", "/api/stop", random.nextInt(5) == 0 ? "{\"force\": true}" : "{}");
                            } else if (pick < 80) {
                                op = "metrics";
                                reply = core.request("GET", "/api/metrics", null);
                            } else if (pick < 90) {
                                op = "prometheus";
                                reply = core.request("GET", "/metrics", null);
                            } else {
                                op = "status";
                                reply = core.request("GET", "/api/status", null);
                            }
                        } catch (IOException e) {
                            violations.add("a request was not answered: " + e);
                            continue;
                        }
                        calls.computeIfAbsent(op, k -> new LongAdder()).increment();
                        statuses.computeIfAbsent(op + " " + reply.status(), k -> new LongAdder()).increment();
                        boolean adapterCaused = op.equals("update") && reply.status() == 500 && reply.body().contains("workload ended");
                        if (reply.status() >= 500 && !adapterCaused) {
                            violations.add(op + " answered " + reply.status() + ": " + reply.body());
                        }
                    }
                }));
            }
            for (Thread client : clients) {
                client.join();
            }
            running.set(false);
            checker.join();

            assertEquals(200, core.request("POST", "/api/stop", "{}").status());
            Instant deadline = Instant.now().plusSeconds(20);
            while (!core.request("GET", "/api/status", null).body().contains("\"phase\":\"stopped\"") && Instant.now().isBefore(deadline)) {
                Thread.sleep(50);
            }
            Thread.sleep(1000);
            String finalStatus = core.request("GET", "/api/status", null).body();
            Instant caughtUp = Instant.now().plusSeconds(20);
            while (!subscribers.stream().allMatch(subscriber -> subscriber.caughtUpWith(finalStatus)) && Instant.now().isBefore(caughtUp)) {
                Thread.sleep(50);
            }
            for (Subscriber subscriber : subscribers) {
                subscriber.stop();
            }
            List<ProcessHandle> leftovers = ProcTable.childrenButTheWaitingHelpers(ProcessHandle.of(corePid).orElseThrow());
            long totalCalls = calls.values().stream().mapToLong(LongAdder::sum).sum();
            var byOp = new TreeMap<String, Long>();
            calls.forEach((op, count) -> byOp.put(op, count.sum()));
            var byStatus = new TreeMap<String, Long>();
            statuses.forEach((key, count) -> byStatus.put(key, count.sum()));
            List<Long> memory = new ArrayList<>(rss);
            System.out.println("chaos: " + totalCalls + " calls " + byOp + ", answers " + byStatus + ", " + checks.sum()
                    + " invariant checks, most workloads alive at once " + mostAlive.get() + ", core RSS KiB by second " + memory);
            System.out.println("chaos: " + SUBSCRIBERS + " event subscribers got " + subscribers.stream().map(s -> s.events.size()).toList()
                    + " events and polled " + subscribers.stream().map(s -> s.polled.size()).toList() + " statuses");
            for (Subscriber subscriber : subscribers) {
                assertEquals(List.of(), subscriber.disagreements());
                assertTrue(subscriber.caughtUpWith(finalStatus), "each subscriber ends with the final status");
                assertEquals(subscribers.getFirst().events, subscriber.events, "every subscriber got the same events");
            }

            assertEquals(List.of(), List.copyOf(violations));
            assertTrue(mostAlive.get() <= 1);
            assertEquals(List.of(), ProcTable.withArgument(MARKER), "no workload left after the final stop");
            assertEquals(List.of(), leftovers, "no child of the core left but the helper waiting for the next workload: no orphan, no zombie");
            assertTrue(memory.size() >= 20, "memory sampled every second: " + memory);
            int third = memory.size() / 3;
            long middle = memory.subList(third, 2 * third).stream().mapToLong(Long::longValue).max().orElseThrow();
            long last = memory.subList(2 * third, memory.size()).stream().mapToLong(Long::longValue).max().orElseThrow();
            assertTrue(last <= middle * 1.25 + 8 * 1024, "no upward trend in the core's memory: middle third " + middle + " KiB, last third " + last + " KiB");

            core.process.destroy();
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, core.process.exitValue());
        }
    }
}
