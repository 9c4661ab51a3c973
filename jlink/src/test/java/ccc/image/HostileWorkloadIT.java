package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A workload (and an adapter) doing their worst to the core of the runtime image: flooding its
 * output, and running it out of memory. The core must keep up, or end the workload before it ends.
 */
class HostileWorkloadIT {

    /** The exit code of a core that halted on a fatal error (FatalErrors.EXIT_CODE). */
    private static final int FATAL_EXIT_CODE = 70;

    @TempDir
    Path work;

    private static String uniqueMarker() {
        return "7" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";
    }

    @Test
    void afterAFloodTheLastLinesAreInTheLogsAsSoonAsTheWorkloadMovesOn() throws Exception {
        String marker = uniqueMarker();
        Path done = work.resolve("marker-printed");
        // 12 MB of output in 100,000 lines, then a marker line, then a file that says the marker was written.
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, 'head -c 12000000 /dev/zero | tr "\\0" y | fold -w 120; echo; echo the-marker-line; touch %s; exec sleep %s']
                """.formatted(done, marker));
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{}").status());
            Instant deadline = Instant.now().plusSeconds(60);
            while (!Files.exists(done) && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(1);
            }
            assertTrue(Files.exists(done), "the workload printed its marker");
            Instant printed = Instant.now();
            String logs = core.request("GET", "/api/logs?tail=5", null).body();
            int asked = 1;
            while (!logs.contains("\"line\":\"the-marker-line\"") && Duration.between(printed, Instant.now()).toMillis() < 5000) {
                logs = core.request("GET", "/api/logs?tail=5", null).body();
                asked++;
            }
            Duration behind = Duration.between(printed, Instant.now());
            assertTrue(logs.contains("\"line\":\"the-marker-line\""), logs);
            assertTrue(logs.contains("\"line\":\"yyyy"), "the flood's last lines precede it: " + logs.substring(0, Math.min(300, logs.length())));
            assertTrue(behind.toMillis() <= 100, "the marker showed " + behind.toMillis() + " ms after it was printed");
            String log = core.output();
            long logged = log.lines().filter(line -> line.contains("INFO workload: yyyy")).count();
            assertTrue(logged < 100_000 / 4, logged + " flood lines logged");
            System.out.printf("flood then marker: the marker was in /api/logs %d ms after it was printed (%d requests); %d of 100,000 flood lines logged%n",
                    behind.toMillis(), asked, logged);
        }
    }

    @Test
    void anOutOfMemoryErrorEndsTheWorkloadTreeBeforeTheCoreExits() throws Exception {
        String marker = uniqueMarker();
        Path adapters = Files.createDirectories(work.resolve("adapters"));
        AdapterJar.build(work, adapters.resolve("greedy.jar"), "com.example.greedy.GreedyAdapter", """
                package com.example.greedy;

                import ccc.api.Adapter;
                import ccc.api.AdapterContext;
                import ccc.api.Launch;
                import ccc.api.Payload;
                import ccc.api.Workload;
                import ccc.api.WorkloadProcess;
                import java.util.ArrayList;
                import java.util.List;
                import java.util.Map;

                /** Starts a workload with a child and a grandchild; its metrics take the whole heap and keep it. */
                public final class GreedyAdapter implements Adapter {
                    private static final List<byte[]> HOARD = new ArrayList<>();
                    private WorkloadProcess process;

                    @Override
                    public Workload start(Payload payload, AdapterContext context) throws Exception {
                        String seconds = context.config().string("seconds").orElseThrow();
                        process = context.launch(Launch.of("sh", "-c", "sleep " + seconds + " & sh -c 'sleep " + seconds + "' & wait", "sh"));
                        return process;
                    }

                    @Override
                    public void stop() {
                        process.signal("KILL");
                    }

                    @Override
                    public Map<String, Object> metrics() {
                        while (true) {
                            HOARD.add(new byte[1024 * 1024]);
                        }
                    }
                }
                """);
        Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  class: com.example.greedy.GreedyAdapter
                  seconds: "%s"
                adapters_dir: adapters
                """.formatted(marker));
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{}").status());
            Instant deadline = Instant.now().plusSeconds(20);
            while (ProcTable.withArgument(marker).size() < 2 && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(20);
            }
            List<Long> workload = ProcTable.withArgument(marker);
            assertTrue(workload.size() >= 2, "the workload's sleeps run: " + workload);
            try {
                core.request("GET", "/api/metrics", null);
            } catch (java.io.IOException e) {
                // The core may halt before it answers.
            }
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS), "the core exits");
            int exitCode = core.process.exitValue();
            deadline = Instant.now().plusSeconds(5);
            while (!ProcTable.withArgument(marker).isEmpty() && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(20);
            }
            String output = core.output();
            assertEquals(FATAL_EXIT_CODE, exitCode, output);
            assertEquals(List.of(), ProcTable.withArgument(marker), "no process of the workload remains");
            assertTrue(output.contains("ERROR core: fatal error: the workload's processes were killed and the core exits"
                    + " error=\"java.lang.OutOfMemoryError: Java heap space\" exit_code=70"), output);
            System.out.printf("out of memory: the core exited %d; %d workload processes (%s) ended with it%n", exitCode, workload.size(), workload);
        }
    }

    /**
     * A container's process limit (its cgroup's {@code pids.max}) counts the core's threads and
     * the workload's processes together, so the workload can take every place, whatever its user:
     * a fork bomb that retries each failed fork holds them all. The core must still answer its
     * requests (those that need a new thread of their own included, refused where they cannot
     * have one) and end the bomb when asked, rather than halting as on a failure of the virtual
     * machine: no thread failed to run, one was not created.
     */
    @Test
    void aWorkloadTakingEveryProcessTheContainerAllowsEndsNeitherTheCoreNorItsAnswers() throws Exception {
        Requirements.require(ProcTable.isRoot(), "a pids cgroup of the test's own needs root (run the tests as root to cover it)");
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/perl")), "perl (Debian's essential perl-base) is not installed");
        Path cgroup = newPidsCgroup("ccc-pids-" + ProcessHandle.current().pid());
        Requirements.require(cgroup != null, "no pids cgroup can be made here (cgroup v1 /sys/fs/cgroup/pids, or v2 with pids in the root's subtree_control)");
        // Forks children that sleep; a fork that fails is tried again 2 ms later, for ever. ($$ is a literal $.)
        Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  run_as_user: nobody
                process_management:
                  enabled: true
                  command: [perl, -e, 'while (1) { my $$pid = fork; if (!defined $$pid) { select(undef, undef, undef, 0.002) } elsif ($$pid == 0) { sleep 1000; exit 0 } }']
                  stop_timeout_seconds: 2
                """);
        var wrapper = List.of("sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", cgroup.resolve("cgroup.procs").toString());
        try (var core = ImageProcess.launchUnder(wrapper, work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            core.awaitReady(Duration.ofSeconds(30));
            long limit = pidsCurrent(cgroup) + 64;
            Files.writeString(cgroup.resolve("pids.max"), Long.toString(limit));
            assertEquals(200, core.request("POST", "/api/start", "{}").status());
            Instant deadline = Instant.now().plusSeconds(30);
            while (refusedForks(cgroup) == 0 && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(20);
            }
            assertTrue(refusedForks(cgroup) > 0, "the workload took every place: " + pidsCurrent(cgroup) + " of " + limit);
            long refusedBefore = refusedForks(cgroup);
            var answers = new java.util.LinkedHashMap<String, Integer>();
            for (String path : List.of("/api/metrics", "/metrics", "/metrics?name[]=container_pids", "/api/status")) {
                ImageProcess.Reply reply;
                try {
                    reply = core.request("GET", path, null);
                } catch (java.io.IOException e) {
                    throw new AssertionError(path + " was not answered (" + e + "); the core "
                            + (core.process.isAlive() ? "runs" : "exited with " + core.process.exitValue()) + ": " + core.output(), e);
                }
                assertTrue(reply.status() == 200 || reply.status() == 503 && reply.body().contains("\"detail\""), path + ": " + reply);
                answers.put(path, reply.status());
            }
            assertTrue(refusedForks(cgroup) > refusedBefore, "the places were still all taken while the core answered");
            assertTrue(core.process.isAlive(), "the core runs: " + core.output());
            try {
                assertEquals(200, core.request("POST", "/api/stop", "{}").status());
            } catch (java.io.IOException e) {
                throw new AssertionError("/api/stop was not answered (" + e + "); the core "
                        + (core.process.isAlive() ? "runs" : "exited with " + core.process.exitValue()) + ": " + core.output(), e);
            }
            deadline = Instant.now().plusSeconds(20);
            while (!core.request("GET", "/api/status", null).body().contains("\"phase\":\"stopped\"") && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(20);
            }
            assertTrue(core.request("GET", "/api/status", null).body().contains("\"phase\":\"stopped\""), core.output());
            long left = pidsCurrent(cgroup);
            assertTrue(left < limit - 32, "the bomb's processes ended: " + left + " of " + limit + " places taken");
            assertEquals(200, core.request("GET", "/api/metrics", null).status());
            System.out.printf("a workload holding all %d places of its cgroup: the core answered %s and stopped it; %d places taken after%n",
                    limit, answers, left);
        } finally {
            removeCgroup(cgroup);
        }
    }

    /** A new pids cgroup (v1, or v2 under the root), or null where none can be made. */
    private static Path newPidsCgroup(String name) throws java.io.IOException {
        Path v1 = Path.of("/sys/fs/cgroup/pids");
        Path v2 = Path.of("/sys/fs/cgroup");
        Path parent;
        if (Files.isWritable(v1.resolve("cgroup.procs"))) {
            parent = v1;
        } else if (Files.isReadable(v2.resolve("cgroup.subtree_control"))
                && List.of(Files.readString(v2.resolve("cgroup.subtree_control")).trim().split(" ")).contains("pids")) {
            parent = v2;
        } else {
            return null;
        }
        try {
            return Files.createDirectory(parent.resolve(name));
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static long pidsCurrent(Path cgroup) throws java.io.IOException {
        return Long.parseLong(Files.readString(cgroup.resolve("pids.current")).trim());
    }

    /** How many forks and clones the cgroup's limit refused ({@code pids.events}' {@code max}). */
    private static long refusedForks(Path cgroup) throws java.io.IOException {
        return Files.readAllLines(cgroup.resolve("pids.events")).stream()
                .filter(line -> line.startsWith("max "))
                .mapToLong(line -> Long.parseLong(line.substring(4).trim()))
                .sum();
    }

    /** Removes the cgroup once whatever was in it has ended. */
    private static void removeCgroup(Path cgroup) throws java.io.IOException {
        if (cgroup == null) {
            return;
        }
        Instant deadline = Instant.now().plusSeconds(10);
        while (pidsCurrent(cgroup) > 0 && Instant.now().isBefore(deadline)) {
            // A core that did not end its workload leaves it here.
            Files.readAllLines(cgroup.resolve("cgroup.procs")).forEach(pid -> ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly));
            ImageProcess.sleep(20);
        }
        Files.delete(cgroup);
    }

    /**
     * The SDK's configuration file is the workload's to replace: it swaps a FIFO and a file at its
     * name without pause while the core is sent SIGHUP after SIGHUP, on one CPU (one carrier for
     * the core's virtual threads). A read that opened the FIFO would wait for a writer in the
     * kernel; the API must answer throughout.
     */
    @Test
    void aFifoSwappedInForTheSdkConfigurationNeverStallsTheApiOnOneCpu() throws Exception {
        String marker = uniqueMarker();
        Path sdk = Files.createDirectories(work.resolve("sdk"));
        Files.writeString(sdk.resolve("app.json"), "{}");
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, 'cd %s; while :; do rm -f f; mkfifo f; mv -f f app.json; echo "{}" > r; mv -f r app.json; done', "%s"]
                """.formatted(sdk, marker));
        int sdkPort = ImageProcess.freePort();
        try (var core = ImageProcess.launch(work, Map.of("CCC_SHOWRUNNER_SDK", "true", "SHOWRUNNER_CONFIG_PATH", sdk.resolve("app.json").toString(),
                "SHOWRUNNER_METRICS_PORT", Integer.toString(sdkPort), "JDK_JAVA_OPTIONS", "-XX:ActiveProcessorCount=1"))) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            Instant deadline = Instant.now().plusSeconds(20);
            while (ProcTable.withArgument(marker).isEmpty() && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(20);
            }
            assertTrue(!ProcTable.withArgument(marker).isEmpty(), "the swapping workload runs: " + core.output());
            Duration slowest = Duration.ZERO;
            for (int hangup = 0; hangup < 40; hangup++) {
                assertEquals(0, new ProcessBuilder("kill", "-HUP", Long.toString(core.process.pid())).start().waitFor());
                ImageProcess.sleep(50);
                Instant asked = Instant.now();
                assertEquals(200, core.request("GET", "/api/health", null).status());
                assertEquals(200, ImageProcess.request("127.0.0.1", sdkPort, "GET", "/healthz", null).status());
                Duration took = Duration.between(asked, Instant.now());
                slowest = took.compareTo(slowest) > 0 ? took : slowest;
                // The bound the attack is measured against: a stalled API never answers at all.
                assertTrue(took.toMillis() < 1000, "health answered after " + took.toMillis() + " ms\n" + core.output());
            }
            String output = core.output();
            assertFalse(output.contains("could not be read within"), output);
            long refused = output.lines().filter(line -> line.contains("is not a regular file")).count();
            System.out.printf("SDK configuration swapped with a FIFO under 40 SIGHUPs on one CPU: slowest health answer %d ms; %d reloads refused a FIFO%n",
                    slowest.toMillis(), refused);
        }
    }

    /**
     * The example adapter's stats file is the workload's: with the runner stopped, a FIFO and a
     * file are swapped at its name without pause while /api/metrics is asked again and again, on
     * one CPU. An adapter read that opened the FIFO would wait for a writer in the kernel; the API
     * must answer throughout, and the figures must be figures, not a timeout.
     */
    @Test
    void aFifoSwappedInForTheAdaptersStatsFileNeverStallsTheApiOnOneCpu() throws Exception {
        Path flows = Files.writeString(work.resolve("flows-" + uniqueMarker() + ".txt"), "1 http://127.0.0.1:9/unreachable\n");
        Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  class: ccc.adapter.example.ExampleAdapter
                """);
        try (var core = ImageProcess.launch(work, Map.of("JDK_JAVA_OPTIONS", "-XX:ActiveProcessorCount=1"))) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{\"flowfile\": \"" + flows + "\"}").status());
            Instant deadline = Instant.now().plusSeconds(20);
            List<Long> runner = ProcTable.withArgument(flows.toString());
            while (runner.isEmpty() && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(20);
                runner = ProcTable.withArgument(flows.toString());
            }
            assertEquals(1, runner.size(), "the flow runner runs: " + core.output());
            List<String> arguments = List.of(Files.readString(Path.of("/proc/" + runner.getFirst() + "/cmdline")).split("\0"));
            Path stats = Path.of(arguments.get(arguments.indexOf("--stats") + 1));
            while (!Files.exists(stats) && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(20);
            }
            // Stopped, the runner no longer rewrites the file: what is at its name is what the swapper put there.
            assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(runner.getFirst())).start().waitFor());
            var swapping = new java.util.concurrent.atomic.AtomicBoolean(true);
            Path regular = stats.resolveSibling(".regular");
            Path fifo = stats.resolveSibling(".fifo");
            Thread swapper = Thread.ofPlatform().start(() -> {
                try {
                    while (swapping.get()) {
                        Files.writeString(regular, "sent=5\n");
                        Files.move(regular, stats, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
                            Files.move(fifo, stats, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Duration slowest = Duration.ZERO;
            int fromTheFile = 0;
            try {
                for (int round = 0; round < 40; round++) {
                    Instant asked = Instant.now();
                    String metrics = core.request("GET", "/api/metrics", null).body();
                    assertEquals(200, core.request("GET", "/api/health", null).status());
                    Duration took = Duration.between(asked, Instant.now());
                    slowest = took.compareTo(slowest) > 0 ? took : slowest;
                    assertFalse(metrics.contains("timed out") || metrics.contains("still running"), metrics);
                    fromTheFile += metrics.contains("\"requests_sent\":5") ? 1 : 0;
                    // The bound the attack is measured against: a stalled API never answers at all.
                    assertTrue(took.toMillis() < 1000, "metrics and health answered after " + took.toMillis() + " ms");
                    // A new reading each round: the figures are kept for a second.
                    ImageProcess.sleep(1000);
                }
            } finally {
                swapping.set(false);
                swapper.join();
                new ProcessBuilder("kill", "-CONT", Long.toString(runner.getFirst())).start().waitFor();
            }
            assertTrue(fromTheFile > 0, "the file was read between swaps");
            System.out.printf("stats file swapped with a FIFO, 40 metrics readings on one CPU: slowest metrics and health %d ms; %d readings from the file%n",
                    slowest.toMillis(), fromTheFile);
        }
    }
}
