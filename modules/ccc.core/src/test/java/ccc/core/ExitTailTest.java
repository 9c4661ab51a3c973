package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code exit} event's {@code stdout} is "the last 5 lines" of the workload that ended, as
 * {@code WorkloadExit.stdoutTail} is "the last lines the workload wrote": an earlier run's lines
 * are not this run's, and an exit event (or an adapter's exit hook) that shows them tells of
 * output the workload that ended never wrote, such as an earlier run's error.
 */
class ExitTailTest {

    private TestCore core;
    private EventStreamClient events;

    @AfterEach
    void stop() {
        if (events != null) {
            events.close();
        }
        if (core != null) {
            core.close();
        }
    }

    @Test
    void anExitEventShowsOnlyTheLinesOfTheRunThatEnded() throws Exception {
        core = TestCore.start(null, """
                process_management:
                  enabled: true
                  command: [sh, -c, 'echo "run $run"; exit 0']
                """);
        events = EventStreamClient.open(core.core.port(), "/api/events?types=exit");
        core.post("/api/start", "{\"run\": \"A\"}");
        var first = events.until(event -> "exit".equals(event.type()), Duration.ofSeconds(15));
        assertEquals(List.of("run A"), first.getLast().data().get("stdout"));
        core.post("/api/start", "{\"run\": \"B\"}");
        var second = events.until(event -> "exit".equals(event.type()), Duration.ofSeconds(15));
        assertEquals(List.of("run B"), second.getLast().data().get("stdout"),
                "the second run's exit event shows the first run's output as its own");
    }

    @Test
    void theAdaptersExitHookGetsOnlyTheLinesOfTheRunThatEnded() throws Exception {
        var hooks = new SleepAdapter();
        core = TestCore.start(hooks, """
                process_management:
                  enabled: true
                  command: [sh, -c, 'if [ "$run" = A ]; then echo "out A"; echo "err A" >&2; fi; exit 0']
                """);
        core.post("/api/start", "{\"run\": \"A\"}");
        awaitExits(hooks, 1);
        assertEquals(List.of("out A"), hooks.lastExit.stdoutTail());
        assertEquals(List.of("err A"), hooks.lastExit.stderrTail());
        core.post("/api/start", "{\"run\": \"B\"}");
        awaitExits(hooks, 2);
        assertEquals(List.of(), hooks.lastExit.stdoutTail(), "a run that wrote nothing is given the first run's stdout");
        assertEquals(List.of(), hooks.lastExit.stderrTail(), "a run that wrote nothing is given the first run's stderr");
    }

    private static void awaitExits(SleepAdapter hooks, int count) {
        Instant deadline = Instant.now().plusSeconds(15);
        while (hooks.exits.get() < count) {
            assertTrue(Instant.now().isBefore(deadline), "exit " + count + " never reached the adapter");
            TestCore.sleep(20);
        }
    }
}
