package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.Workload;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An adapter's start that returns after its timeout has its workload ended at once
 * ({@code StopSequence.endAtOnce}), and only that: by then the next start may run a workload of
 * its own, which is no part of the late one's tree. Every child of the core's launching thread
 * counts as the workload's ({@code LauncherChildren}), so ending the late tree must not take in
 * the workload that runs now.
 */
class LateAdapterStartTest {

    private final String lateMarker = Processes.uniqueSleepArgument();
    private final String currentMarker = Processes.uniqueSleepArgument();
    private final CountDownLatch lateReturned = new CountDownLatch(1);
    private TestCore core;

    @AfterEach
    void cleanUp() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(lateMarker);
        Processes.killAll(currentMarker);
    }

    @Test
    void aStartReturnedLateEndsItsOwnWorkloadNotTheOneRunningNow() throws Exception {
        var starts = new AtomicInteger();
        var adapter = new SleepAdapter() {
            @Override
            public Workload start(Payload payload, AdapterContext context) throws Exception {
                if (starts.incrementAndGet() == 1) {
                    // Past lifecycle.start_timeout_seconds (2 s), then returned all the same.
                    var late = context.launch(Launch.of("sleep", lateMarker));
                    try {
                        // Deaf to the interrupt the timeout sends, as a blocking call in an adapter can be.
                        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
                        while (System.nanoTime() < until) {
                            try {
                                Thread.sleep(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
                            } catch (InterruptedException e) {
                                // Goes on.
                            }
                        }
                        return late;
                    } finally {
                        lateReturned.countDown();
                    }
                }
                return context.launch(Launch.of("sleep", currentMarker));
            }

            @Override
            public void stop() {
            }
        };
        core = TestCore.start(adapter, "");
        core.post("/api/start", "{}");
        core.awaitPhase("failed");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        List<Long> current = Processes.withArgument(currentMarker);
        assertEquals(1, current.size(), "the second start's workload runs: " + current);
        lateReturned.await(10, TimeUnit.SECONDS);
        // The late start's workload is ended at once after its return; a moment for it.
        TestCore.sleep(Duration.ofSeconds(1).toMillis());
        assertEquals(List.of(), Processes.withArgument(lateMarker), "the late start's workload is ended");
        assertEquals(current, Processes.withArgument(currentMarker), "the workload running now survives the end of the late one's tree");
        assertFalse(!"running".equals(core.status().get("phase")), "still running: " + core.status());
    }
}
