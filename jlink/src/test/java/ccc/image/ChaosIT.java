package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
 * the core's memory without an upward trend.
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
    private static List<Long> workloadRoots() throws IOException {
        List<Long> marked = ProcTable.withArgument(MARKER);
        return marked.stream()
                .filter(pid -> ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(parent -> !marked.contains(parent.pid())).orElse(true))
                .toList();
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
            List<ProcessHandle> leftovers = ProcessHandle.of(corePid).orElseThrow().children().toList();
            long totalCalls = calls.values().stream().mapToLong(LongAdder::sum).sum();
            var byOp = new TreeMap<String, Long>();
            calls.forEach((op, count) -> byOp.put(op, count.sum()));
            var byStatus = new TreeMap<String, Long>();
            statuses.forEach((key, count) -> byStatus.put(key, count.sum()));
            List<Long> memory = new ArrayList<>(rss);
            System.out.println("chaos: " + totalCalls + " calls " + byOp + ", answers " + byStatus + ", " + checks.sum()
                    + " invariant checks, most workloads alive at once " + mostAlive.get() + ", core RSS KiB by second " + memory);

            assertEquals(List.of(), List.copyOf(violations));
            assertTrue(mostAlive.get() <= 1);
            assertEquals(List.of(), ProcTable.withArgument(MARKER), "no workload left after the final stop");
            assertEquals(List.of(), leftovers, "no child of the core left: no orphan, no zombie");
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
