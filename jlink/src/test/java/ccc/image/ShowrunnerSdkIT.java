package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime image driven as the SDK's generation of Showrunner drives an app, with no call to
 * the control API: the configuration in a file, SIGHUP to apply a new one, {@code /healthz} and
 * {@code /metrics} on the SDK's port, SIGTERM to end it, and an ephemeral workload's exit code as
 * the core's.
 */
class ShowrunnerSdkIT {

    private static final Pattern START = Pattern.compile("start (\\d+) (\\S+)");

    @TempDir
    Path work;

    private final String marker = "m" + ThreadLocalRandom.current().nextInt(100_000, 999_999);
    private final int sdkPort;

    ShowrunnerSdkIT() throws IOException {
        sdkPort = ImageProcess.freePort();
    }

    private Path appJson() {
        return work.resolve("app.json");
    }

    private Path seen() {
        return work.resolve("seen.txt");
    }

    /**
     * A config-only workload that records its pid and the greeting it was started with, and on
     * SIGHUP the payload file the core rewrote; with {@code liveUpdate} false it has no live update.
     */
    private void writeConfig(boolean liveUpdate) throws IOException {
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, 'echo "start $$$$ $$0" >> %1$s; trap ''echo "hup $$$$ $$(cat %2$s)" >> %1$s'' HUP; while :; do sleep 1 & wait $$!; done', "${greeting}", %3$s]
                  payload_file: %2$s
                %4$s""".formatted(seen(), work.resolve("payload.json"), marker,
                liveUpdate ? "  update: {signal: HUP, rewrite_payload_file: true}\n" : ""));
    }

    /** The core with the SDK's contract switched on by environment, as an image run by the SDK's Showrunner would be. */
    private ImageProcess launch(Map<String, String> extra) throws IOException {
        var environment = new java.util.HashMap<>(Map.of("CCC_SHOWRUNNER_SDK", "true", "SHOWRUNNER_CONFIG_PATH", appJson().toString(),
                "SHOWRUNNER_METRICS_PORT", Integer.toString(sdkPort)));
        environment.putAll(extra);
        return ImageProcess.launch(work, environment);
    }

    private ImageProcess.Reply sdk(String path) throws IOException {
        return ImageProcess.request("127.0.0.1", sdkPort, "GET", path, null);
    }

    private String awaitHealth(ImageProcess core, Predicate<String> condition) throws IOException {
        Instant deadline = Instant.now().plusSeconds(30);
        String body = "";
        while (Instant.now().isBefore(deadline)) {
            if (!core.process.isAlive()) {
                throw new AssertionError("the core exited with " + core.process.exitValue() + ": " + core.output());
            }
            try {
                body = sdk("/healthz").body();
                if (condition.test(body)) {
                    return body;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            ImageProcess.sleep(10);
        }
        throw new AssertionError("/healthz never satisfied the condition: " + body + "\n" + core.output());
    }

    /** Waits until the workload has written a line matching {@code line}; returns the match. */
    private Matcher awaitSeen(ImageProcess core, Pattern line, String greeting) throws IOException {
        Instant deadline = Instant.now().plusSeconds(30);
        while (Instant.now().isBefore(deadline)) {
            if (Files.exists(seen())) {
                List<String> lines = Files.readAllLines(seen());
                for (String text : lines.reversed()) {
                    Matcher match = line.matcher(text);
                    if (match.find() && text.contains(greeting)) {
                        return match;
                    }
                }
            }
            ImageProcess.sleep(5);
        }
        throw new AssertionError(line + " with " + greeting + " never seen: "
                + (Files.exists(seen()) ? Files.readString(seen()) : "(nothing)") + "\n" + core.output());
    }

    /** Waits (10 s at most) until the SDK's /metrics holds {@code sample}: an exposition is rendered once a second, so one may predate the change. */
    private void awaitMetrics(String sample) throws IOException {
        Instant deadline = Instant.now().plusSeconds(10);
        String metrics = sdk("/metrics").body();
        while (!metrics.contains(sample) && Instant.now().isBefore(deadline)) {
            ImageProcess.sleep(50);
            metrics = sdk("/metrics").body();
        }
        assertTrue(metrics.contains(sample), sample + " in\n" + metrics);
    }

    private static void send(String signal, long pid) throws Exception {
        var kill = new ProcessBuilder("kill", "-s", signal, Long.toString(pid)).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -s " + signal);
    }

    private void assertEndsCleanlyOnSigterm(ImageProcess core) throws Exception {
        send("TERM", core.process.pid());
        assertTrue(core.process.waitFor(30, TimeUnit.SECONDS), "ends within its grace: " + core.output());
        assertEquals(0, core.process.exitValue(), core.output());
        assertTrue(core.output().contains("shut down clean=true"), core.output());
        assertEquals(List.of(), ProcTable.withArgument(marker), "no workload left");
    }

    @Test
    void theFileStartsTheWorkloadSighupAppliesANewOneLiveAndSigtermEndsAll() throws Exception {
        writeConfig(true);
        Files.writeString(appJson(), "{\"greeting\": \"hello\"}");
        try (var core = launch(Map.of())) {
            assertTrue(awaitHealth(core, body -> body.contains("\"status\":\"running\"")).matches(
                    "\\{\"status\":\"running\",\"reason\":\"\",\"uptime_seconds\":\\d+\\.\\d\\}"));
            long pid = Long.parseLong(awaitSeen(core, START, "hello").group(1));

            String metrics = sdk("/metrics").body();
            for (String family : List.of("# TYPE app_uptime_seconds gauge", "config_reloads_total 0.0",
                    "app_info{name=\"process_management\",version=\"", "# TYPE process_cpu_percent gauge",
                    "# TYPE process_memory_mb gauge", "ccc_workload_up 1.0", "# TYPE container_cpu_percent gauge")) {
                assertTrue(metrics.contains(family), family + " in\n" + metrics);
            }
            promtoolAccepts(metrics);

            Files.writeString(appJson(), "{\"greeting\": \"bonjour\"}");
            Instant hup = Instant.now();
            send("HUP", core.process.pid());
            Matcher applied = awaitSeen(core, Pattern.compile("hup (\\d+) .*\"greeting\":\"bonjour\""), "bonjour");
            Duration took = Duration.between(hup, Instant.now());
            assertEquals(pid, Long.parseLong(applied.group(1)), "the same workload, updated live");
            awaitOutput(core, "configuration reloaded how=\"live update\"");
            awaitMetrics("config_reloads_total 1.0");
            System.out.println("SIGHUP to the workload's trap, update applied live: " + took.toMillis() + " ms; core: "
                    + core.output().lines().filter(line -> line.contains("configuration reloaded")).findFirst().orElseThrow());

            Files.writeString(appJson(), "{\"greeting\": ");
            send("HUP", core.process.pid());
            String refused = awaitHealth(core, body -> body.contains("reload refused"));
            assertTrue(refused.contains("\"status\":\"running\"") && refused.contains(appJson() + " is not valid JSON at line 1"), refused);
            assertEquals(List.of(pid), ProcTable.withArgument(marker), "the running workload was left alone");
            awaitMetrics("ccc_config_reloads_refused_total 1.0");

            assertEndsCleanlyOnSigterm(core);
        }
    }

    @Test
    void aWorkloadWithoutLiveUpdateIsRestartedWithTheNewConfiguration() throws Exception {
        writeConfig(false);
        Files.writeString(appJson(), "{\"greeting\": \"hello\"}");
        try (var core = launch(Map.of())) {
            long first = Long.parseLong(awaitSeen(core, START, "hello").group(1));
            Files.writeString(appJson(), "{\"greeting\": \"bonjour\"}");
            Instant hup = Instant.now();
            send("HUP", core.process.pid());
            long second = Long.parseLong(awaitSeen(core, START, "bonjour").group(1));
            Duration took = Duration.between(hup, Instant.now());
            assertNotEquals(first, second, "a new workload");
            assertFalse(ProcTable.alive(first), "the old one is gone");
            awaitOutput(core, "configuration reloaded how=restart because=\"live-update not supported\"");
            assertTrue(awaitHealth(core, body -> body.contains("\"status\":\"running\"")).contains("\"reason\":\"\""));
            System.out.println("SIGHUP to the restarted workload's first line, live update not supported: " + took.toMillis() + " ms");
            assertEndsCleanlyOnSigterm(core);
        }
    }

    @Test
    void aBrokenFileAtStartLeavesTheCoreAnsweringInError() throws Exception {
        writeConfig(true);
        Files.writeString(appJson(), "[\"greeting\"]");
        try (var core = launch(Map.of())) {
            String health = awaitHealth(core, body -> body.contains("\"status\":\"error\""));
            assertTrue(health.contains("\"reason\":\"" + appJson() + " must be a JSON object, got an array\""), health);
            assertFalse(Files.exists(seen()), "nothing was started");
            Files.writeString(appJson(), "{\"greeting\": \"fixed\"}");
            send("HUP", core.process.pid());
            awaitSeen(core, START, "fixed");
            assertEndsCleanlyOnSigterm(core);
        }
    }

    /** An ephemeral workload {@code sh -c SCRIPT}; returns the core's exit code and how long it took to follow the workload. */
    private int runEphemeral(String script, String payload) throws Exception {
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, '%s', "${name}", %s]
                showrunner_sdk: {lifecycle: ephemeral}
                """.formatted(script, marker));
        Files.writeString(appJson(), payload);
        try (var core = launch(Map.of())) {
            assertTrue(core.process.waitFor(60, TimeUnit.SECONDS), "an ephemeral core ends with its workload: " + core.output());
            Instant ended = Instant.now();
            String output = core.output();
            output.lines().filter(line -> line.contains("workload exited on its own")).findFirst().ifPresent(line ->
                    System.out.println("ephemeral: workload exit to core exit: "
                            + Duration.between(Instant.parse(line.substring(0, line.indexOf(' '))), ended).toMillis() + " ms"));
            assertTrue(output.contains("shut down clean=true"), output);
            assertEquals(List.of(), ProcTable.withArgument(marker), "no workload left");
            return core.process.exitValue();
        }
    }

    @Test
    void anEphemeralWorkloadsExitCodeIsTheCores() throws Exception {
        assertEquals(3, runEphemeral("echo job $$0; exit 3", "{\"name\": \"three\"}"));
        assertEquals(0, runEphemeral("echo job $$0", "{\"name\": \"zero\"}"));
    }

    @Test
    void anEphemeralWorkloadKilledBySignalEndsTheCoreWith128PlusN() throws Exception {
        assertEquals(128 + 9, runEphemeral("kill -KILL $$$$", "{\"name\": \"killed\"}"));
    }

    @Test
    void anEphemeralWorkloadThatCannotStartEndsTheCoreWithTwo() throws Exception {
        assertEquals(2, runEphemeral("echo never", "{\"other\": 1}"));
    }

    private static void awaitOutput(ImageProcess core, String fragment) throws IOException {
        Instant deadline = Instant.now().plusSeconds(20);
        while (!core.output().contains(fragment)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("'" + fragment + "' expected in\n" + core.output());
            }
            ImageProcess.sleep(10);
        }
    }

    /** promtool parses the exposition; its one possible lint is about process_memory_mb, a name the SDK's contract fixes. */
    static void promtoolAccepts(String text) throws Exception {
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/promtool")), "promtool (Debian package prometheus) is not installed");
        var promtool = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        promtool.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        promtool.getOutputStream().close();
        String verdict = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(promtool.waitFor(30, TimeUnit.SECONDS));
        if (promtool.exitValue() == 3) {
            assertEquals(List.of("process_memory_mb metric names should not contain abbreviated units"),
                    verdict.lines().filter(line -> !line.isBlank()).toList(), text);
        } else {
            assertEquals(0, promtool.exitValue(), verdict + "\n" + text);
        }
    }
}
