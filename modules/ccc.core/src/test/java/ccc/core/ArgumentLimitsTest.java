package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.ProcessAdapter;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A payload value the kernel could not pass to {@code exec} is refused with 400 before anything
 * is queued, so the running workload is not stopped for a start that cannot succeed.
 */
class ArgumentLimitsTest {

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;

    @AfterEach
    void stop() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
    }

    private long startRunning(String extraCommand) throws Exception {
        core = TestCore.start(null, "process_management:\n  enabled: true\n"
                + "  command: [sleep, '" + marker + "'" + extraCommand + "]\n  env: {FLOWS: '${flows}'}\n");
        assertEquals(200, core.post("/api/start", "{\"v\": \"1\", \"flows\": \"small\"}").status());
        return ((Number) core.awaitPhase("running").get("pid")).longValue();
    }

    private void assertRefusedAndStillRunning(long pid, String body, String detail) {
        var reply = core.post("/api/start", body);
        assertEquals(400, reply.status(), reply.body());
        assertEquals(detail, reply.json().get("detail"));
        assertEquals("running", core.status().get("phase"));
        assertEquals(pid, ((Number) core.status().get("pid")).longValue());
        assertTrue(Processes.alive(pid));
    }

    @Test
    void anArgumentOverTheKernelsPerStringLimitIsRefusedNamingItsKey() throws Exception {
        long pid = startRunning(", '${v}'");
        String tooLong = "x".repeat(ProcessAdapter.MAX_ARGUMENT_BYTES);
        assertRefusedAndStillRunning(pid, "{\"v\": \"" + tooLong + "\", \"flows\": \"small\"}",
                "payload key 'v' makes process_management.command[2] 131072 bytes long; one argument or variable may be at most 131071 bytes"
                        + " (the kernel's MAX_ARG_STRLEN)");
        // One byte less fits, and is started.
        String longest = "1".repeat(ProcessAdapter.MAX_ARGUMENT_BYTES - 1);
        assertEquals(200, core.post("/api/start", "{\"v\": \"0.0" + longest.substring(3) + "\", \"flows\": \"small\"}").status());
        var restarted = core.awaitStatus(status -> "running".equals(status.get("phase")) && !Long.valueOf(pid).equals(
                ((Number) status.get("pid")).longValue()), java.time.Duration.ofSeconds(15));
        assertTrue(Processes.alive(((Number) restarted.get("pid")).longValue()), "exec took the longest argument");
    }

    @Test
    void anEnvironmentValueCountsWithItsName() throws Exception {
        long pid = startRunning("");
        String tooLong = "x".repeat(ProcessAdapter.MAX_ARGUMENT_BYTES - "FLOWS=".length());
        assertRefusedAndStillRunning(pid, "{\"flows\": \"" + tooLong + "\"}",
                "payload key 'flows' makes process_management.env.FLOWS 131072 bytes long; one argument or variable may be at most 131071 bytes"
                        + " (the kernel's MAX_ARG_STRLEN)");
    }

    @Test
    void manyArgumentsOverTheTotalBoundAreRefused() throws Exception {
        long pid = startRunning(", '${v}'".repeat(10));
        String large = "1".repeat(110 * 1024);
        assertRefusedAndStillRunning(pid, "{\"v\": \"" + large + "\", \"flows\": \"small\"}",
                "the filled process_management.command and env take " + (10 * (110 * 1024 + 1) + marker.length() + 1 + "sleep".length() + 1 + "FLOWS=small".length() + 1)
                        + " bytes together; at most " + ProcessAdapter.MAX_COMMAND_BYTES + " are allowed");
        assertEquals(List.of(pid), Processes.settledWithArgument(marker, List.of(pid)));
    }
}
