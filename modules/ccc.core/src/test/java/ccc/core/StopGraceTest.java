package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.Workload;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stop timeout means what it means to Docker, Kubernetes and systemd: the stop signal to the
 * whole tree at once, SIGKILL to every survivor when the timeout runs out, and the whole stop
 * takes the timeout, not a sum of several waits.
 */
class StopGraceTest {

    /**
     * What a stop may take beyond its timeout: room for a loaded machine, and still well short of
     * a second wait of the timeout, which a stop that added its waits up would take.
     */
    private static final Duration SLACK = Duration.ofMillis(1500);

    private final String main = Processes.uniqueSleepArgument();
    private final String escaped = Processes.uniqueSleepArgument();
    private final String child = Processes.uniqueSleepArgument();
    private TestCore core;

    @AfterEach
    void stopCore() {
        if (core != null) {
            core.close();
        }
        List.of(main, escaped, child).forEach(Processes::killAll);
    }

    /** A tree that ignores SIGTERM, with one child that left the process group and session and one that stayed. */
    private List<String> stubbornTree() {
        return List.of("sh", "-c", "trap '' TERM; (setsid sleep " + escaped + " &); (sleep " + child + " &); sleep " + main);
    }

    private void awaitTreeUp() {
        Instant deadline = Instant.now().plusSeconds(10);
        while (Processes.withArgument(main).isEmpty() || Processes.withArgument(escaped).isEmpty()
                || Processes.withArgument(child).isEmpty()) {
            assertTrue(Instant.now().isBefore(deadline), "the workload's tree came up");
            TestCore.sleep(10);
        }
    }

    private Duration timeStop() {
        Instant asked = Instant.now();
        core.post("/api/stop", null);
        core.awaitPhase("stopped");
        return Duration.between(asked, Instant.now());
    }

    private void assertNothingLeft() {
        assertEquals(List.of(), Processes.withArgument(main));
        assertEquals(List.of(), Processes.withArgument(escaped), "the child that left the session");
        assertEquals(List.of(), Processes.withArgument(child));
    }

    @Test
    void aProcessManagedTreeIsStoppedWithinItsTimeout() throws Exception {
        var command = new StringBuilder("[");
        for (String argument : stubbornTree()) {
            command.append(command.length() > 1 ? ", " : "").append('\'').append(argument.replace("'", "''")).append('\'');
        }
        core = TestCore.start(null, "process_management:\n  enabled: true\n  stop_timeout_seconds: 2\n  command: " + command + "]\n");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        awaitTreeUp();
        Duration took = timeStop();
        assertTrue(took.compareTo(Duration.ofSeconds(2)) >= 0, "the tree had its two seconds: " + took);
        assertTrue(took.compareTo(Duration.ofSeconds(2).plus(SLACK)) < 0, "stopped within the timeout plus " + SLACK.toMillis() + " ms: " + took);
        assertEquals(137, core.status().get("exit_code"));
        assertNothingLeft();
    }

    @Test
    void anAdapterRunTreeIsStoppedWithinTheLifecycleTimeout() throws Exception {
        // An adapter whose stop asks nothing of the workload: the core ends the tree itself.
        var adapter = new SleepAdapter() {
            @Override
            public Workload start(Payload payload, AdapterContext context) throws Exception {
                return context.launch(ccc.api.Launch.of(stubbornTree()));
            }

            @Override
            public void stop() {
            }
        };
        core = TestCore.start(adapter, "");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        awaitTreeUp();
        Duration took = timeStop();
        assertTrue(took.compareTo(Duration.ofSeconds(2)) >= 0, "the tree had lifecycle.stop_timeout_seconds: " + took);
        assertTrue(took.compareTo(Duration.ofSeconds(2).plus(SLACK)) < 0, "stopped within the timeout plus " + SLACK.toMillis() + " ms: " + took);
        assertNothingLeft();
    }
}
