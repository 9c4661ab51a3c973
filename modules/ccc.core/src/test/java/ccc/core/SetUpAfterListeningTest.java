package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ccc.api.Payload;
import ccc.core.lifecycle.Phase;
import ccc.core.process.PrivilegeDrop;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The reaper's set-up and the linking of system calls wait for the core to listen, off the
 * start-up path; a start that comes first (an SDK's start as the core begins, or a request
 * answered at once) waits for them and then runs.
 */
class SetUpAfterListeningTest {

    private final String marker = Processes.uniqueSleepArgument();

    @Test
    void aStartBeforeTheSetUpWaitsForItThenRuns() throws Exception {
        var config = TestCore.config("process_management:\n  enabled: true\n  command: [sleep, '" + marker + "']\n");
        var setUpAfter = new CompletableFuture<Void>();
        var supervisor = Supervisor.create(config, Optional.empty(), "process_management", PrivilegeDrop.system(), List.of(), setUpAfter);
        try {
            supervisor.lifecycle().start(supervisor.planner().start(new Payload(Map.of())));
            TestCore.sleep(500);
            assertNotEquals(Phase.RUNNING, supervisor.lifecycle().snapshot().phase(), "nothing is launched before the set-up");
            assertEquals(List.of(), Processes.withArgument(marker));
            setUpAfter.complete(null);
            Instant deadline = Instant.now().plusSeconds(10);
            while (supervisor.lifecycle().snapshot().phase() != Phase.RUNNING && Instant.now().isBefore(deadline)) {
                TestCore.sleep(5);
            }
            assertEquals(Phase.RUNNING, supervisor.lifecycle().snapshot().phase(), supervisor.lifecycle().snapshot().toString());
            long pid = supervisor.lifecycle().snapshot().pid().orElseThrow();
            assertEquals(List.of(pid), Processes.settledWithArgument(marker, List.of(pid)), "the workload runs");
        } finally {
            supervisor.lifecycle().shutdown(Duration.ofSeconds(10));
            Processes.killAll(marker);
        }
        assertEquals(List.of(), Processes.settledWithArgument(marker, List.of()), "stopped at shutdown");
    }
}
