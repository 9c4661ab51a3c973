package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Payload;
import ccc.api.WorkloadExit;
import ccc.core.lifecycle.ControlRequest;
import ccc.core.lifecycle.LifecycleObserver;
import ccc.core.lifecycle.Phase;
import ccc.core.lifecycle.SignalOutcome;
import ccc.core.os.Signals;
import ccc.core.process.PrivilegeDrop;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A signal to a workload the core started is sent from the request's thread, at once; its
 * request is told to the observers (and so to {@code /api/events}) before the exit it causes,
 * however long the observers before take.
 */
class SignalEventOrderTest {

    private final String marker = Processes.uniqueSleepArgument();

    @Test
    void theRequestOfASignalIsToldBeforeTheExitItCauses() throws Exception {
        var told = new CopyOnWriteArrayList<String>();
        // Told first, and slow with a signal's request: the KILL has long taken effect when the next observer hears of it.
        LifecycleObserver slow = new LifecycleObserver() {
            @Override
            public void accepted(ControlRequest request) {
                if (request instanceof ControlRequest.Signal) {
                    TestCore.sleep(500);
                }
            }
        };
        LifecycleObserver recording = new LifecycleObserver() {
            @Override
            public void accepted(ControlRequest request) {
                if (request instanceof ControlRequest.Signal signal) {
                    told.add("signal " + signal.number());
                }
            }

            @Override
            public void exited(WorkloadExit exit) {
                told.add("exit " + exit.exitCode());
            }
        };
        var config = TestCore.config("process_management:\n  enabled: true\n  command: [sleep, '" + marker + "']\n");
        var supervisor = Supervisor.create(config, Optional.empty(), "process_management", PrivilegeDrop.system(), List.of(slow, recording),
                CompletableFuture.completedFuture(null));
        try {
            var lifecycle = supervisor.lifecycle();
            lifecycle.start(supervisor.planner().start(new Payload(Map.of())));
            awaitPhase(supervisor, Phase.RUNNING);
            assertEquals(SignalOutcome.DELIVERED, lifecycle.signal(Signals.KILL));
            Instant deadline = Instant.now().plusSeconds(10);
            while (told.size() < 2 && Instant.now().isBefore(deadline)) {
                TestCore.sleep(5);
            }
            assertEquals(List.of("signal " + Signals.KILL, "exit " + (128 + Signals.KILL)), told);
            assertTrue(lifecycle.snapshot().phase() != Phase.RUNNING, lifecycle.snapshot().toString());
        } finally {
            supervisor.lifecycle().shutdown(Duration.ofSeconds(10));
            Processes.killAll(marker);
        }
    }

    private static void awaitPhase(Supervisor supervisor, Phase phase) {
        Instant deadline = Instant.now().plusSeconds(10);
        while (supervisor.lifecycle().snapshot().phase() != phase && Instant.now().isBefore(deadline)) {
            TestCore.sleep(5);
        }
        assertEquals(phase, supervisor.lifecycle().snapshot().phase(), supervisor.lifecycle().snapshot().toString());
    }
}
