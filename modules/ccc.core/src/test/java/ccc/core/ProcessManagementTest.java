package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.log.Level;
import ccc.core.log.Log;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config-only workloads: the core runs the configured command itself, with real processes. */
class ProcessManagementTest {

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;

    @TempDir
    Path work;

    private TestCore start(String processManagement) throws Exception {
        core = TestCore.start(null, "process_management:\n  enabled: true\n" + processManagement.indent(2));
        return core;
    }

    @AfterEach
    void stopCore() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
    }

    private static String yamlList(String... items) {
        var quoted = new StringBuilder("[");
        for (String item : items) {
            quoted.append(quoted.length() > 1 ? ", " : "").append('\'').append(item.replace("'", "''")).append('\'');
        }
        return quoted.append(']').toString();
    }

    private List<String> logLines(String stream) {
        @SuppressWarnings("unchecked")
        var lines = (List<Map<String, Object>>) core.get("/api/logs?tail=2000&stream=" + stream).json().get("lines");
        return lines.stream().map(line -> (String) line.get("line")).toList();
    }

    private void awaitLog(String stream, String line) {
        Instant deadline = Instant.now().plusSeconds(10);
        while (!logLines(stream).contains(line)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("no line '" + line + "' in " + logLines(stream));
            }
            TestCore.sleep(20);
        }
    }

    private static void awaitFile(Path file) {
        Instant deadline = Instant.now().plusSeconds(10);
        while (!Files.exists(file)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError(file + " never appeared");
            }
            TestCore.sleep(10);
        }
    }

    @Test
    void placeholdersFillExactlyOneArgumentEachWithoutAShell() throws Exception {
        start("command: " + yamlList("sh", "-c", "printf '<%s>\\n' \"$$@\"; exec sleep " + marker, "sh",
                "${flowfile}", "${config.sim_users}", "--name=${name}", "$$HOME", "${empty}") + "\n");
        var reply = core.post("/api/start",
                "{\"flowfile\": \"my flows; rm -rf /.txt\", \"config\": {\"sim_users\": 25}, \"name\": \"$(id)\", \"empty\": \"\"}");
        assertEquals(200, reply.status(), reply.body());
        core.awaitPhase("running");
        awaitLog("stdout", "<>");
        assertEquals(List.of("<my flows; rm -rf /.txt>", "<25>", "<--name=$(id)>", "<$HOME>", "<>"), logLines("stdout"));
    }

    @Test
    void aPlaceholderThePayloadCannotFillIsA400NamingTheKey() throws Exception {
        start("command: " + yamlList("sleep", "${config.seconds}") + "\n");
        var missing = core.post("/api/start", "{\"config\": {}}");
        assertEquals(400, missing.status());
        assertEquals("payload key 'config.seconds' is missing; the configured command needs it", missing.json().get("detail"));
        var object = core.post("/api/start", "{\"config\": {\"seconds\": {\"a\": 1}}}");
        assertEquals(400, object.status());
        assertEquals("payload key 'config.seconds' must be a string, number or boolean, got an object", object.json().get("detail"));
        var nul = core.post("/api/start", "{\"config\": {\"seconds\": null}}");
        assertEquals(400, nul.status());
        assertTrue(((String) nul.json().get("detail")).startsWith("payload key 'config.seconds' is null"));
        assertEquals("idle", core.status().get("phase"), "nothing was started");
    }

    @Test
    void environmentAndWorkingDirectoryAreApplied() throws Exception {
        start("command: " + yamlList("sh", "-c", "echo \"$$GREETING $$(pwd)\"; exec sleep " + marker) + "\n"
                + "env: {GREETING: 'hello ${who}'}\n"
                + "working_dir: " + work + "\n");
        core.post("/api/start", "{\"who\": \"world\"}");
        core.awaitPhase("running");
        awaitLog("stdout", "hello world " + work.toRealPath());
    }

    @Test
    void aPayloadFileAndSighupMakeAFileConfiguredProgramLiveUpdatable() throws Exception {
        Path payload = work.resolve("conf/payload.json");
        Path seen = work.resolve("seen.json");
        start("command: " + yamlList("sh", "-c", "trap 'cp " + payload + " " + seen + "' HUP; echo trapped; while :; do sleep 0.02; done", marker) + "\n"
                + "payload_file: " + payload + "\n"
                + "update: {signal: HUP}\n");
        core.post("/api/start", "{\"rate\": 10, \"target\": \"a\"}");
        core.awaitPhase("running");
        awaitLog("stdout", "trapped"); // a HUP before the trap would end the shell
        assertEquals("{\"rate\":10,\"target\":\"a\"}", Files.readString(payload));
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(payload));

        var update = core.post("/api/update", "{\"rate\": 20}");
        assertEquals(200, update.status(), update.body());
        assertEquals(Map.of("message", "update applied"), update.json());
        awaitFile(seen);
        assertEquals("{\"rate\":20,\"target\":\"a\"}", Files.readString(seen), "the update is merged over the start payload");
    }

    @Test
    void withoutAnUpdateSectionAnUpdateIsNotSupported() throws Exception {
        start("command: " + yamlList("sleep", marker) + "\n");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        var reply = core.post("/api/update", "{}");
        assertEquals(409, reply.status());
        assertEquals("live-update not supported", reply.json().get("detail"));
    }

    @Test
    void theConfiguredStopSignalIsSent() throws Exception {
        Path got = work.resolve("got-int");
        var status = startWithATrapAndStop("touch " + got + "; exit 0", "INT", work.resolve("trap-set"), "stop_signal: INT\n");
        assertTrue(Files.exists(got), "the workload received SIGINT");
        assertEquals(0, status.get("exit_code"));
    }

    /** Starts a shell that runs {@code action} on {@code signal}, stops it once the trap is set, and returns its end. */
    private Map<String, Object> startWithATrapAndStop(String action, String signal, Path trapped, String config) throws Exception {
        start("command: " + yamlList("sh", "-c", "trap '" + action + "' " + signal + "; touch " + trapped
                + "; while :; do sleep 0.02; done", marker) + "\n" + config);
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        // `running` comes once the shell runs, perhaps before it has set the trap.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(trapped) && System.nanoTime() < deadline) {
            TestCore.sleep(10);
        }
        core.post("/api/stop", null);
        return core.awaitPhase("stopped");
    }

    @Test
    void whatTheWorkloadStartsToCleanUpOnItsStopSignalIsNotSentTheSignalInTurn() throws Exception {
        // As systemd and Docker stop: the signal goes to what runs when it is sent, and KILL only at the timeout. The
        // core sent it again to every process it found during the stop, so a trap's cleanup was killed as it began.
        for (int stop = 0; stop < 5; stop++) {
            Path cleaned = work.resolve("cleaned-" + stop);
            var status = startWithATrapAndStop("sh -c \"sleep 0.3 && touch " + cleaned + "\"; exit 0", "TERM",
                    work.resolve("trap-set-" + stop), "stop_timeout_seconds: 10\n");
            assertTrue(Files.exists(cleaned), "stop " + stop + ": the cleanup ran to its end");
            assertEquals(0, status.get("exit_code"), "stop " + stop);
            core.close();
            core = null;
        }
    }

    @Test
    void aWorkloadIgnoringSigtermIsKilledAfterTheStopTimeout() throws Exception {
        start("command: " + yamlList("sh", "-c", "trap '' TERM; while :; do sleep 0.02; done", marker) + "\n"
                + "stop_timeout_seconds: 0.5\n");
        core.post("/api/start", "{}");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        TestCore.sleep(100);
        Instant asked = Instant.now();
        core.post("/api/stop", null);
        var status = core.awaitPhase("stopped");
        long took = Duration.between(asked, Instant.now()).toMillis();
        assertTrue(took >= 500, "waited the stop timeout first, took " + took + " ms");
        assertEquals(137, status.get("exit_code"));
        assertEquals("KILL", status.get("exit_signal"));
        assertFalse(Processes.alive(pid));
    }

    @Test
    void nothingOfTheTreeSurvivesAStopNotEvenDoubleForkedGrandchildren() throws Exception {
        String child = Processes.uniqueSleepArgument();
        String escaped = Processes.uniqueSleepArgument();
        try {
            start("command: " + yamlList("sh", "-c",
                    "sleep " + child + " & (setsid sleep " + escaped + " &) ; exec sleep " + marker) + "\n");
            core.post("/api/start", "{}");
            core.awaitPhase("running");
            // setsid(1) may fork on its way to sleep: wait for the sleep itself, re-parented to the core.
            Instant deadline = Instant.now().plusSeconds(5);
            while (Processes.withArgument(child).isEmpty() || Processes.withArgument(escaped).stream().noneMatch(pid ->
                    ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L) == ProcessHandle.current().pid()
                            && ProcessHandle.of(pid).flatMap(handle -> handle.info().command()).orElse("").endsWith("sleep"))) {
                assertTrue(Instant.now().isBefore(deadline),
                        "the double-forked grandchild was re-parented to the core, a child subreaper: " + Processes.withArgument(escaped));
                TestCore.sleep(10);
            }
            core.post("/api/stop", null);
            core.awaitPhase("stopped");
            assertEquals(List.of(), Processes.withArgument(marker));
            assertEquals(List.of(), Processes.withArgument(child));
            assertEquals(List.of(), Processes.withArgument(escaped));
        } finally {
            Processes.killAll(child);
            Processes.killAll(escaped);
        }
    }

    @Test
    void aWorkloadFloodingItsOutputNeverBlocks() throws Exception {
        Level before = Log.threshold();
        // 10 MiB of output is 160,000 log lines; keep them out of the test report.
        Log.configure(Level.WARNING, Log.Format.TEXT);
        try {
            start("command: " + yamlList("sh", "-c", "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq"
                    + " | head -c 10485760; echo done >&2; exec sleep " + marker) + "\n");
            core.post("/api/start", "{}");
            core.awaitPhase("running");
            Instant deadline = Instant.now().plusSeconds(30);
            while (Processes.withArgument(marker).isEmpty()) {
                assertTrue(Instant.now().isBefore(deadline), "the workload got past its 10 MiB of output");
                TestCore.sleep(20);
            }
            awaitLog("stderr", "done");
            // stdout has its own pipe and pump: up to a pipe's worth of it (about 1,000 lines) may still be on its way.
            List<String> stdout = logLines("stdout");
            Instant caughtUp = Instant.now().plusSeconds(10);
            while (stdout.size() < 2000 - 1 && Instant.now().isBefore(caughtUp)) {
                TestCore.sleep(20);
                stdout = logLines("stdout");
            }
            assertEquals(2000 - 1, stdout.size(), "the ring buffer keeps the newest lines");
            assertTrue(stdout.stream().allMatch(line -> line.startsWith("0123456789abcdef")), stdout.getLast());
        } finally {
            Log.configure(before, Log.Format.TEXT);
        }
    }

    @Test
    void theLastOutputLinesReachTheAdapterWhenTheWorkloadExits() throws Exception {
        var hooks = new SleepAdapter();
        core = TestCore.start(hooks, "process_management:\n  enabled: true\n  command: "
                + yamlList("sh", "-c", "echo first; echo last-out; echo last-err >&2; exit 2", marker) + "\n");
        core.post("/api/start", "{}");
        core.awaitPhase("failed");
        var exit = hooks.lastExit;
        assertEquals(2, exit.exitCode());
        assertFalse(exit.requested());
        assertEquals(List.of("first", "last-out"), exit.stdoutTail());
        assertEquals(List.of("last-err"), exit.stderrTail());
    }

    @Test
    void aCrashLoopBacksOffExponentiallyAndGivesUp() throws Exception {
        start("command: " + yamlList("sh", "-c", "echo crashing >&2; exit 3", marker) + "\n"
                + "restart: {policy: on-failure, max_retries: 4, backoff_initial_ms: 100, backoff_max_ms: 400}\n");
        Instant began = Instant.now();
        core.post("/api/start", "{}");
        var status = core.awaitStatus(s -> "failed".equals(s.get("phase")), Duration.ofSeconds(20));
        long took = Duration.between(began, Instant.now()).toMillis();
        assertEquals(4, status.get("restarts"));
        assertEquals(3, status.get("exit_code"));
        assertEquals("workload exited with code 3; gave up after 4 restarts in a row", status.get("last_error"));
        assertTrue(took >= 100 + 200 + 400 + 400, "backoffs of 100, 200, 400, 400 ms were waited, took " + took);
        assertEquals(5, logLines("stderr").stream().filter("crashing"::equals).count());
    }

    @Test
    void aCommandThatCannotRunFailsTheStartWithTheReasonAndIsNotRestarted() throws Exception {
        // It ran as a workload that exited 127 at once: shown running, restarted by the policy until it gave up, and
        // last_error said only "exited with code 127". A JDK process start, and v2.0's Popen, fail instead.
        start("command: [no-such-program-" + marker + ", x]\n"
                + "restart: {policy: on-failure, max_retries: 3, backoff_initial_ms: 20}\n");
        assertEquals(200, core.post("/api/start", "{}").status());
        var failed = core.awaitPhase("failed");
        assertEquals("adapter start failed: cannot run 'no-such-program-" + marker + "': No such file or directory", failed.get("last_error"));
        assertEquals("error", failed.get("app_status"));
        assertEquals(null, failed.get("started_at"), "never running: " + failed);
        assertEquals(null, failed.get("exit_code"));
        // Several backoffs' time: a restart would have shown by now.
        Thread.sleep(200);
        var later = core.status();
        assertEquals("failed", later.get("phase"), later.toString());
        assertEquals(0, ((Number) later.get("restarts")).intValue(), later.toString());
    }

    @Test
    void aStopDuringTheBackoffCancelsTheRestart() throws Exception {
        start("command: " + yamlList("sh", "-c", "exit 1", marker) + "\n"
                + "restart: {policy: always, backoff_initial_ms: 1000}\n");
        core.post("/api/start", "{}");
        var backoff = core.awaitPhase("backoff");
        assertEquals("initializing", backoff.get("app_status"));
        // On a loaded machine the first backoff can run out before it is seen: the stop cancels the one it meets.
        Object restartsBefore = backoff.get("restarts");
        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", null).json());
        core.awaitPhase("stopped");
        TestCore.sleep(1300);
        assertEquals("stopped", core.status().get("phase"));
        assertEquals(restartsBefore, core.status().get("restarts"));
    }

    @Test
    void signalsReachTheWorkload() throws Exception {
        Path got = work.resolve("got-usr1");
        start("command: " + yamlList("sh", "-c", "trap 'touch " + got + "' USR1; while :; do sleep 0.02; done", marker) + "\n");
        assertEquals(409, core.post("/api/signal", "{\"signal\": \"USR1\"}").status(), "nothing runs yet");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        TestCore.sleep(100);
        var reply = core.post("/api/signal", "{\"signal\": \"SIGUSR1\"}");
        assertEquals(200, reply.status());
        assertEquals(Map.of("message", "signal USR1 delivered"), reply.json());
        awaitFile(got);
        var unknown = core.post("/api/signal", "{\"signal\": \"SIGFOO\"}");
        assertEquals(400, unknown.status());
        assertEquals("unknown signal 'SIGFOO'", unknown.json().get("detail"));
        assertEquals(422, core.post("/api/signal", "{\"signal\": 10}").status());
        assertEquals("running", core.status().get("phase"));
    }

    @Test
    void aSignalReachesAWorkloadWhoseStopWaitsOutItsGrace() throws Exception {
        Path ready = work.resolve("ignoring-term");
        start("command: " + yamlList("sh", "-c", "trap '' TERM; touch " + ready + "; while :; do sleep 0.05; done", marker)
                + "\nstop_timeout_seconds: 120\n");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        awaitFile(ready);
        assertEquals(200, core.post("/api/stop", "{}").status());
        assertEquals("stopping", core.status().get("phase"), "the workload ignores SIGTERM, so its stop waits out the grace");
        // Before, the signal queued behind the stop and was answered when the grace ran out.
        var reply = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> core.post("/api/signal", "{\"signal\": \"KILL\"}"));
        assertEquals(200, reply.status(), reply.json().toString());
        assertEquals(Map.of("message", "signal KILL delivered"), reply.json());
        core.awaitStatus(status -> "stopped".equals(status.get("phase")), Duration.ofSeconds(10));
        assertEquals(409, core.post("/api/signal", "{\"signal\": \"KILL\"}").status(), "nothing runs any more");
    }

    @Test
    void logsAreServedByStreamAndTail() throws Exception {
        start("command: " + yamlList("sh", "-c", "echo one; echo two; echo oops >&2; echo three; exec sleep " + marker) + "\n");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        awaitLog("stdout", "three");
        awaitLog("stderr", "oops");
        assertEquals(List.of("one", "two", "three"), logLines("stdout"));
        assertEquals(List.of("oops"), logLines("stderr"));
        @SuppressWarnings("unchecked")
        var tail = (List<Map<String, Object>>) core.get("/api/logs?tail=2&stream=stdout").json().get("lines");
        assertEquals(List.of("two", "three"), tail.stream().map(line -> line.get("line")).toList());
        assertEquals("stdout", tail.getFirst().get("stream"));
        assertEquals(400, core.get("/api/logs?tail=-1").status());
        assertEquals(400, core.get("/api/logs?tail=many").status());
        assertEquals(400, core.get("/api/logs?stream=stdin").status());
    }
}
