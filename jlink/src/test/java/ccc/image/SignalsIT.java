package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Signals to the runtime image's core: HUP is logged and ignored, and every signal whose default
 * would end the JVM runs the stop sequence first, then exits 0 with no workload left.
 */
class SignalsIT {

    private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");

    @TempDir
    Path work;

    private final String marker = "5" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";

    /** A core supervising {@code sleep <marker>}, running. */
    private ImageProcess coreWithRunningWorkload() throws IOException {
        return coreWithRunningWorkload(List.of());
    }

    /** As {@link #coreWithRunningWorkload()}, the core started by {@code wrapper}. */
    private ImageProcess coreWithRunningWorkload(List<String> wrapper) throws IOException {
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sleep, '%s']
                """.formatted(marker));
        var core = ImageProcess.launchUnder(wrapper, work, Map.of());
        core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
        assertEquals(200, core.request("POST", "/api/start", "{}").status());
        return core;
    }

    @Test
    void aStopSignalAsTheCoreBeginsToAnswerStopsItInOrderWithExitZero() throws Exception {
        // The core answers probes as soon as it listens, before its own signal handling is in place: a signal then is
        // held and served once it is (before, the JVM's own handling exited with 130 or 143).
        for (int launch = 0; launch < 10; launch++) {
            try (var core = ImageProcess.launch(work, Map.of())) {
                core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
                send(launch % 2 == 0 ? "TERM" : "INT", core.process.pid());
                assertTrue(core.process.waitFor(30, TimeUnit.SECONDS), "still running after the signal: " + core.output());
                assertEquals(0, core.process.exitValue(), core.output());
            }
        }
    }

    @Test
    void sighupIsLoggedAndIgnoredAndTheWorkloadKeepsRunning() throws Exception {
        try (var core = coreWithRunningWorkload()) {
            long workload = awaitRunningPid(core);
            send("HUP", core.process.pid());
            awaitOutput(core, "signal received and ignored signal=SIGHUP");
            send("HUP", core.process.pid());
            awaitOccurrences(core, "signal received and ignored signal=SIGHUP", 2);
            assertTrue(core.process.isAlive(), core.output());
            assertEquals(200, core.request("GET", "/api/health", null).status());
            assertEquals(workload, awaitRunningPid(core), "the same workload, never restarted");
            assertTrue(ProcTable.alive(workload));
            assertFalse(core.output().contains("shutting down"), core.output());

            send("INT", core.process.pid());
            assertEndsCleanly(core, workload, "INT");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT"})
    void aCoreStartedWithItsSignalsIgnoredStillHandlesThem(String signal) throws Exception {
        // nohup, or a script's background job, starts the core with HUP or INT ignored; the JVM then leaves them ignored
        // (and TERM, should a parent ignore it), so that no stop or reload would ever reach the core.
        try (var core = coreWithRunningWorkload(List.of("sh", "-c", "trap '' TERM INT HUP; exec \"$0\" \"$@\""))) {
            long workload = awaitRunningPid(core);
            assertEquals(java.util.Optional.of(core.process.pid()), ProcessHandle.of(workload).flatMap(ProcessHandle::parent).map(ProcessHandle::pid),
                    "the shell exec'd the core: the workload is the core's child");
            send("HUP", core.process.pid());
            awaitOutput(core, "signal received and ignored signal=SIGHUP");
            send(signal, core.process.pid());
            assertEndsCleanly(core, workload, signal);
            assertTrue(core.output().contains("signals ignored when the core started are handled as any other signals=SIGHUP,SIGINT,SIGTERM"),
                    core.output());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT", "USR1", "ALRM", "VTALRM", "PROF", "IO", "PWR", "XCPU", "STKFLT"})
    void aSignalThatWouldEndTheJvmStopsTheWorkloadFirstAndExitsZero(String signal) throws Exception {
        try (var core = coreWithRunningWorkload()) {
            long workload = awaitRunningPid(core);
            send(signal, core.process.pid());
            assertEndsCleanly(core, workload, signal);
        }
    }

    private void assertEndsCleanly(ImageProcess core, long workload, String signal) throws Exception {
        assertTrue(core.process.waitFor(30, TimeUnit.SECONDS), "ends within its grace: " + core.output());
        assertEquals(0, core.process.exitValue(), core.output());
        String output = core.output();
        assertTrue(output.contains("signal received signal=SIG" + signal), output);
        assertTrue(output.contains("shut down clean=true"), output);
        assertFalse(ProcTable.alive(workload), "the workload is gone");
        assertEquals(List.of(), ProcTable.withArgument(marker), "no workload process left");
    }

    private static void send(String signal, long pid) throws Exception {
        var kill = new ProcessBuilder("kill", "-s", signal, Long.toString(pid)).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -s " + signal);
    }

    private static long awaitRunningPid(ImageProcess core) throws IOException {
        Instant deadline = Instant.now().plusSeconds(20);
        String body = "";
        while (Instant.now().isBefore(deadline)) {
            body = core.request("GET", "/api/status", null).body();
            Matcher pid = PID.matcher(body);
            if (body.contains("\"phase\":\"running\"") && pid.find()) {
                return Long.parseLong(pid.group(1));
            }
            ImageProcess.sleep(20);
        }
        throw new AssertionError("never running: " + body + "\n" + core.output());
    }

    private static void awaitOutput(ImageProcess core, String fragment) throws IOException {
        awaitOccurrences(core, fragment, 1);
    }

    private static void awaitOccurrences(ImageProcess core, String fragment, int count) throws IOException {
        Instant deadline = Instant.now().plusSeconds(20);
        while (core.output().split(Pattern.quote(fragment), -1).length - 1 < count) {
            if (Instant.now().isAfter(deadline) || !core.process.isAlive()) {
                throw new AssertionError(count + " × '" + fragment + "' expected; alive=" + core.process.isAlive() + "\n" + core.output());
            }
            ImageProcess.sleep(20);
        }
    }
}
