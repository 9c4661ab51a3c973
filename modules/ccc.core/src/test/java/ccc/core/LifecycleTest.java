package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.Workload;
import ccc.core.http.ControlApi;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lifecycle under concurrency, exits and misbehaving adapters, with real processes. */
class LifecycleTest {

    private SleepAdapter adapter;
    private TestCore core;

    private TestCore start(SleepAdapter withAdapter) throws Exception {
        adapter = withAdapter;
        core = TestCore.start(adapter, "");
        return core;
    }

    @AfterEach
    void stopCore() {
        if (core != null) {
            core.close();
        }
        if (adapter != null) {
            Processes.killAll(adapter.marker);
        }
    }

    @Test
    void concurrentStartsAndStopsLeaveAtMostOneWorkloadAndTheTruth() throws Exception {
        start(new SleepAdapter());
        adapter.startDelay = Duration.ofMillis(5);
        var most = new AtomicInteger();
        var watching = new AtomicBoolean(true);
        Thread watcher = Thread.ofPlatform().start(() -> {
            while (watching.get()) {
                most.accumulateAndGet(Processes.withArgument(adapter.marker).size(), Math::max);
            }
        });
        var answers = new ConcurrentLinkedQueue<Integer>();
        for (int round = 0; round < 3; round++) {
            int calls = 60;
            var go = new CountDownLatch(1);
            try (var clients = Executors.newFixedThreadPool(calls)) {
                for (int i = 0; i < calls; i++) {
                    boolean startCall = ThreadLocalRandom.current().nextBoolean();
                    clients.execute(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                        var reply = startCall ? core.post("/api/start", "{}") : core.post("/api/stop", null);
                        answers.add(reply.status());
                    });
                }
                go.countDown();
            }
            var settled = core.awaitStatus(s -> !List.of("starting", "stopping").contains(s.get("phase")), Duration.ofSeconds(20));
            assertStatusTrueToProc(settled);
        }
        watching.set(false);
        watcher.join();
        assertEquals(180, answers.size());
        assertTrue(answers.stream().allMatch(status -> status == 200), answers.toString());
        assertTrue(most.get() <= 1, "at most one workload alive at any time, saw " + most.get());
    }

    private void assertStatusTrueToProc(Map<String, Object> status) {
        if ("running".equals(status.get("phase"))) {
            // Reported running once the launcher's helper runs; while it execs the workload its command line is empty a moment.
            List<Long> expected = List.of(((Number) status.get("pid")).longValue());
            assertEquals(expected, Processes.settledWithArgument(adapter.marker, expected), status.toString());
        } else {
            assertEquals(List.of(), Processes.withArgument(adapter.marker), status.toString());
            assertNull(status.get("pid"));
        }
    }

    @Test
    void aStopDuringAStartEndsStopped() throws Exception {
        start(new SleepAdapter());
        adapter.startDelay = Duration.ofMillis(400);
        assertEquals(Map.of("message", "start initiated"), core.post("/api/start", "{}").json());
        TestCore.sleep(100);
        assertEquals("initializing", core.status().get("app_status"));
        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", null).json());
        var status = core.awaitPhase("stopped");
        assertEquals("stopped", status.get("app_status"));
        assertEquals(List.of(), Processes.withArgument(adapter.marker));
    }

    @Test
    void aQueuedStartShowsAsInitializingAndAStopCancelsIt() throws Exception {
        start(new SleepAdapter());
        adapter.startDelay = Duration.ofMillis(300);
        core.post("/api/start", "{}");
        core.post("/api/start", "{}");
        assertEquals("initializing", core.get("/api/health").json().get("app_status"));
        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", null).json());
        core.awaitPhase("stopped");
        TestCore.sleep(400);
        assertEquals("stopped", core.status().get("phase"));
        assertEquals(List.of(), Processes.withArgument(adapter.marker));
        assertTrue(adapter.starts.get() <= 1, "the superseded start was skipped");
    }

    @Test
    void aQuickStartRestartOrStopIsCarriedOutByTheTimeItIsAnswered() throws Exception {
        start(new SleepAdapter());
        // A first cycle, so that the timed ones below do not include the first start's class loading.
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        core.post("/api/stop", null);
        core.awaitPhase("stopped");

        assertEquals(Map.of("message", "start initiated"), core.post("/api/start", "{}").json());
        var started = core.status();
        assertEquals("running", started.get("phase"), "the next request after the answer sees the workload running");
        long startedPid = ((Number) started.get("pid")).longValue();
        assertEquals(List.of(startedPid), Processes.settledWithArgument(adapter.marker, List.of(startedPid)));

        assertEquals(Map.of("message", "start initiated"), core.post("/api/start", "{}").json());
        var restarted = core.status();
        assertEquals("running", restarted.get("phase"));
        long restartedPid = ((Number) restarted.get("pid")).longValue();
        assertTrue(restartedPid != startedPid, "a restart's answer comes after the new workload runs");
        assertEquals(List.of(restartedPid), Processes.settledWithArgument(adapter.marker, List.of(restartedPid)));

        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", null).json());
        assertEquals("stopped", core.get("/api/health").json().get("app_status"));
        assertEquals(List.of(), Processes.withArgument(adapter.marker));
    }

    @Test
    void aSlowStartIsAnsweredWithoutWaitingForIt() throws Exception {
        start(new SleepAdapter());
        adapter.startDelay = ControlApi.ANSWER_WAITS_AT_MOST.multipliedBy(10);
        assertEquals(Map.of("message", "start initiated"), core.post("/api/start", "{}").json());
        assertEquals("starting", core.status().get("phase"), "the answer did not wait for the start");
        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", null).json());
        core.awaitPhase("stopped");
        assertEquals(List.of(), Processes.withArgument(adapter.marker));
    }

    @Test
    void startsPiledOnASlowStartAreEachAnsweredAfterTheBoundedWaitAndHealthStaysPrompt() throws Exception {
        start(new SleepAdapter());
        adapter.startDelay = ControlApi.ANSWER_WAITS_AT_MOST.multipliedBy(15);
        int calls = 40;
        var took = new ConcurrentLinkedQueue<Long>();
        var answers = new ConcurrentLinkedQueue<Integer>();
        try (var clients = Executors.newFixedThreadPool(calls)) {
            for (int i = 0; i < calls; i++) {
                clients.execute(() -> {
                    long asked = System.nanoTime();
                    answers.add(core.post("/api/start", "{}").status());
                    took.add((System.nanoTime() - asked) / 1_000_000);
                });
            }
            Instant asked = Instant.now();
            assertEquals(200, core.get("/api/health").status());
            assertTrue(Duration.between(asked, Instant.now()).compareTo(adapter.startDelay) < 0,
                    "health is answered while the starts wait for the slow one");
        }
        assertEquals(java.util.Collections.nCopies(calls, 200), List.copyOf(answers));
        // Each answer waits for its start at most ANSWER_WAITS_AT_MOST, not for the slow start before it.
        assertTrue(took.stream().allMatch(ms -> ms < adapter.startDelay.toMillis()), "answer times, ms: " + took);
        core.awaitPhase("running");
        assertTrue(adapter.starts.get() <= 2, "the starts queued behind the slow one were superseded: " + adapter.starts.get());
    }

    @Test
    void aWorkloadExitingWithZeroIsStopped() throws Exception {
        start(new SleepAdapter());
        adapter.command = List.of("sh", "-c", "sleep 0.2; exit 0", adapter.marker);
        core.post("/api/start", "{}");
        var status = core.awaitPhase("exited");
        assertEquals("stopped", status.get("app_status"));
        assertEquals(0, status.get("exit_code"));
        assertNull(status.get("last_error"));
        assertEquals(1, adapter.exits.get());
    }

    @Test
    void aWorkloadExitingWithACodeIsAnError() throws Exception {
        start(new SleepAdapter());
        adapter.command = List.of("sh", "-c", "sleep 0.2; exit 3", adapter.marker);
        core.post("/api/start", "{}");
        var status = core.awaitPhase("failed");
        assertEquals("error", status.get("app_status"));
        assertEquals(3, status.get("exit_code"));
        assertEquals("workload exited with code 3", status.get("last_error"));
        assertEquals(Map.of("message", "nothing to stop"), core.post("/api/stop", null).json());
    }

    @Test
    void aWorkloadKilledFromOutsideIsAnError() throws Exception {
        start(new SleepAdapter());
        core.post("/api/start", "{}");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        var status = core.awaitPhase("failed");
        assertEquals(137, status.get("exit_code"));
    }

    @Test
    void anAdapterReportingLivenessIsWatched() throws Exception {
        var alive = new AtomicBoolean(true);
        start(new SleepAdapter() {
            @Override
            public Workload start(Payload payload, AdapterContext context) {
                return Workload.polling(alive::get, Duration.ofMillis(20), () -> 0);
            }

            @Override
            public void stop() {
                alive.set(false);
            }
        });
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        alive.set(false);
        var status = core.awaitPhase("exited");
        assertEquals("stopped", status.get("app_status"));
    }

    @Test
    void aHangingStartTimesOutIntoErrorWhileTheCoreKeepsServing() throws Exception {
        start(new SleepAdapter());
        adapter.hangInStart = true;
        core.post("/api/start", "{}");
        Instant began = Instant.now();
        while (Duration.between(began, Instant.now()).toMillis() < 1000) {
            Instant asked = Instant.now();
            assertEquals(200, core.get("/api/health").status());
            assertTrue(Duration.between(asked, Instant.now()).toMillis() < 1000, "health answers while the adapter hangs");
            TestCore.sleep(50);
        }
        var status = core.awaitPhase("failed");
        assertEquals("adapter start timed out after 2 s", status.get("last_error"));
        adapter.hangInStart = false;
        core.post("/api/start", "{}");
        core.awaitPhase("running");
    }

    @Test
    void aThrowingPreStartHookEndsInErrorAndNothingRuns() throws Exception {
        start(new SleepAdapter());
        adapter.preStartFailure = new IllegalStateException("no route to the target");
        core.post("/api/start", "{}");
        var status = core.awaitPhase("failed");
        assertEquals("adapter pre_start hook failed: no route to the target", status.get("last_error"));
        assertEquals(0, adapter.starts.get());
        assertEquals(List.of(), Processes.withArgument(adapter.marker));
    }

    @Test
    void aHangingStopIsBoundedAndTheWorkloadStillEnds() throws Exception {
        start(new SleepAdapter());
        core.post("/api/start", "{}");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        adapter.hangInStop = true;
        core.post("/api/stop", null);
        var status = core.awaitPhase("failed");
        assertEquals("adapter stop timed out after 2 s", status.get("last_error"));
        assertFalse(Processes.alive(pid), "the core ends the workload's process tree itself");
    }

    @Test
    void aThrowingPostStopHookIsReported() throws Exception {
        start(new SleepAdapter());
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        adapter.postStopFailure = new IllegalStateException("qdisc busy");
        core.post("/api/stop", null);
        var status = core.awaitPhase("failed");
        assertEquals("adapter post_stop hook failed: qdisc busy", status.get("last_error"));
        assertEquals(List.of(), Processes.withArgument(adapter.marker));
    }

    @Test
    void shutdownStopsTheWorkload() throws Exception {
        start(new SleepAdapter());
        core.post("/api/start", "{}");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        assertTrue(core.core.shutdown());
        assertFalse(Processes.alive(pid));
        core = null;
    }

    @Test
    void failingPrivilegedPreStartCommandsFailTheStartUnlessWarned() throws Exception {
        Requirements.require(ccc.core.process.PrivilegeDrop.currentUid() == 0, "privileged commands need root");
        adapter = new SleepAdapter();
        core = TestCore.start(adapter, """
                privileged_commands:
                  pre_start: [["true"], ["sh", "-c", "echo no such knob >&2; exit 4"]]
                """);
        core.post("/api/start", "{}");
        var status = core.awaitPhase("failed");
        assertEquals("privileged command 'sh -c echo no such knob >&2; exit 4' exited with 4: no such knob", status.get("last_error"));
        assertEquals(0, adapter.starts.get());
        core.close();

        core = TestCore.start(adapter, """
                privileged_commands:
                  on_error: warn
                  pre_start: [["sh", "-c", "exit 4"]]
                """);
        core.post("/api/start", "{}");
        core.awaitPhase("running");
    }

    @Test
    void withoutRootPrivilegedCommandsFailTheStartClearly() throws Exception {
        adapter = new SleepAdapter();
        var notRoot = new ccc.core.process.PrivilegeDrop(ccc.core.process.UserDirectory.system(), java.util.Optional.empty(), false);
        core = TestCore.start(adapter, "privileged_commands:\n  pre_start: [[\"true\"]]\n", notRoot);
        core.post("/api/start", "{}");
        var status = core.awaitPhase("failed");
        assertEquals("privileged_commands.pre_start is set, but privileged commands need the core to run as root", status.get("last_error"));
    }

    @Test
    void restartsAreCountedAndNoFixedSleepDelaysThem() throws Exception {
        start(new SleepAdapter());
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        var durations = new ArrayList<Long>();
        long pid = -1;
        for (int i = 1; i <= 3; i++) {
            Instant asked = Instant.now();
            core.post("/api/start", "{}");
            int expected = i;
            var status = core.awaitStatus(s -> "running".equals(s.get("phase")) && ((Number) s.get("restarts")).intValue() == expected,
                    Duration.ofSeconds(10));
            durations.add(Duration.between(asked, Instant.now()).toMillis());
            pid = ((Number) status.get("pid")).longValue();
        }
        assertEquals(List.of(pid), Processes.settledWithArgument(adapter.marker, List.of(pid)));
        // Reported, not asserted on: timings on a shared machine are noisy.
        System.out.println("restart to running, ms: " + durations);
    }
}
