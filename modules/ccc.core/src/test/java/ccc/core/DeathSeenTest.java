package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A workload killed from outside is seen to end the moment it dies: the JDK's reaper completes
 * its exit as it reaps it, nothing polls. The figure is printed (the goal is
 * 100 ms); the test fails only past ten times the goal, which no load of a shared machine reaches
 * but a poll or a fixed wait on the exit path would.
 */
class DeathSeenTest {

    private static final Duration SEEN_WITHIN = Duration.ofMillis(1_000);

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;

    @AfterEach
    void stopCore() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
    }

    /**
     * Starts a core running {@code command}, kills one workload unmeasured so that the exit
     * path's classes are loaded (a test JVM has no ahead-of-time cache), and starts it again.
     */
    private long startWorkload(String... command) throws Exception {
        var quoted = String.join(", ", List.of(command).stream().map(part -> "'" + part + "'").toList());
        core = TestCore.start(null, "process_management:\n  enabled: true\n  command: [" + quoted + "]\n");
        core.post("/api/start", "{}");
        killAndTimeUntilSeen(awaitExecuted());
        core.post("/api/start", "{}");
        return awaitExecuted();
    }

    /** The running workload's pid once its command runs (the process marked by this test's argument is there). */
    private long awaitExecuted() {
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        Instant deadline = Instant.now().plusSeconds(10);
        while (Processes.withArgument(marker).isEmpty() && Instant.now().isBefore(deadline)) {
            TestCore.sleep(5);
        }
        return pid;
    }

    /** Kills {@code pid} and returns how long until /api/status no longer shows the workload running. */
    private Duration killAndTimeUntilSeen(long pid) {
        long killed = System.nanoTime();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        while (true) {
            Map<String, Object> status = core.status();
            if (status.get("phase").equals("failed")) {
                return Duration.ofNanos(System.nanoTime() - killed);
            }
            if (System.nanoTime() - killed > Duration.ofSeconds(10).toNanos()) {
                throw new AssertionError("the kill was never seen: " + status + "; the process in /proc: " + procState(pid)
                        + "\n" + otherThreads());
            }
        }
    }

    /** Where every other thread is, the JDK's included, for a failure's message. */
    private static String otherThreads() {
        var dump = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, frames) -> {
            if (thread != Thread.currentThread()) {
                dump.append(thread.getName()).append(' ').append(thread.getState()).append('\n');
                for (StackTraceElement frame : java.util.Arrays.copyOf(frames, Math.min(frames.length, 12))) {
                    dump.append("    at ").append(frame).append('\n');
                }
            }
        });
        return dump.toString();
    }

    private static String procState(long pid) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
        } catch (java.io.IOException e) {
            return "gone";
        }
    }

    @Test
    void aWorkloadKilledFromOutsideIsSeenAsItDies() throws Exception {
        long pid = startWorkload("sleep", marker);
        Duration seen = killAndTimeUntilSeen(pid);
        System.out.println("workload killed from outside seen to end after " + seen.toMillis() + " ms");
        assertTrue(seen.compareTo(SEEN_WITHIN) <= 0, "seen after " + seen.toMillis() + " ms");
        assertEquals(137, core.status().get("exit_code"));
        assertEquals("error", core.get("/api/health").json().get("app_status"));
    }

    @Test
    void aGrandchildHoldingTheOutputOpenDoesNotDelayIt() throws Exception {
        // The background sleep inherits the workload's stdout and stderr and keeps them open after its parent dies.
        long pid = startWorkload("sh", "-c", "sleep " + marker + " & echo started; wait");
        Duration seen = killAndTimeUntilSeen(pid);
        System.out.println("workload killed from outside seen to end after " + seen.toMillis() + " ms");
        assertTrue(seen.compareTo(SEEN_WITHIN) <= 0, "seen after " + seen.toMillis() + " ms");
        core.awaitStatus(status -> Processes.withArgument(marker).isEmpty(), Duration.ofSeconds(10));
        assertTrue(Processes.withArgument(marker).isEmpty(), "the grandchild was left running");
    }

    @Test
    void aWorkloadKilledAsItStartsIsSeenEveryTime() throws Exception {
        // Killed the moment it is reported running, before or after its command runs, with a grandchild holding
        // the output open: each of these once raced the JDK's own exit handling and went unseen.
        core = TestCore.start(null, "process_management:\n  enabled: true\n  command: ['sh', '-c', 'sleep " + marker
                + " & echo started; wait']\n");
        for (int i = 0; i < 15; i++) {
            core.post("/api/start", "{}");
            killAndTimeUntilSeen(((Number) core.awaitPhase("running").get("pid")).longValue());
        }
    }
}
