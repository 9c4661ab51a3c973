package ccc.core.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Adapter;
import ccc.api.AdapterConfig;
import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.TrafficControl;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import ccc.api.WorkloadExit;
import ccc.api.WorkloadProcess;
import ccc.core.config.ConfigLoader;
import ccc.core.config.CoreConfig;
import ccc.core.log.Redactor;
import ccc.core.process.PrivilegedCommands;
import ccc.core.process.ProcessControl;
import ccc.core.os.Signals;
import ccc.core.process.WorkloadOutput;
import ccc.core.process.WorkloadTree;
import ccc.core.traffic.Shaper;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lifecycle's state machine against a fake operating system and a fake adapter: every case
 * runs in milliseconds, with no process, no HTTP and no sleep.
 */
class LifecycleStateMachineTest {

    private static final String CONFIG = """
            adapter:
              class: test.Adapter
            lifecycle:
              start_timeout_seconds: %1$s
              stop_timeout_seconds: %2$s
              hook_timeout_seconds: %1$s
              update_timeout_seconds: %1$s
            """;
    /**
     * The start, hook and update timeouts of the cases that are not about them: a fake call returns
     * in microseconds, but on a loaded machine its thread can wait far longer than 0.2 s to run.
     */
    private static final double CALLS_NEVER_TIME_OUT = 60;
    /** The start, hook and update timeouts of the cases that wait for one. */
    private static final double CALLS_TIME_OUT = 0.2;

    private final FakeProcesses processes = new FakeProcesses();
    private final FakeAdapter adapter = new FakeAdapter(processes);
    private final ManualDelays delays = new ManualDelays();
    /** Every snapshot the lifecycle told its observer the workload ended for good with. */
    private final List<Snapshot> endedForGood = new CopyOnWriteArrayList<>();
    private final LifecycleObserver observer = new LifecycleObserver() {


        @Override
        public void endedForGood(Snapshot last) {
            endedForGood.add(last);
        }

        @Override
        public void published(Snapshot snapshot) {
            told.add("phase " + snapshot.phase().wireName());
        }

        @Override
        public void exited(WorkloadExit exit) {
            told.add("exit " + exit.exitCode() + (exit.requested() ? " requested" : ""));
        }

        @Override
        public void restartScheduled(int attempt, Duration delay) {
            told.add("restart " + attempt + " after " + delay.toMillis() + " ms");
        }

        @Override
        public void accepted(ControlRequest request) {
            told.add("request " + request);
        }

        @Override
        public void shuttingDown(Duration grace) {
            told.add("shutdown " + grace.toSeconds() + " s");
        }
    };
    /** What the observer was told, in order. */
    private final List<String> told = new CopyOnWriteArrayList<>();
    private Lifecycle lifecycle;

    @AfterEach
    void shutDown() {
        if (lifecycle != null) {
            lifecycle.shutdown(Duration.ofSeconds(5));
        }
    }

    private Lifecycle lifecycle(String extraYaml) throws Exception {
        return lifecycle(extraYaml, 3);
    }

    private Lifecycle lifecycle(String extraYaml, double stopTimeoutSeconds) throws Exception {
        return lifecycle(extraYaml, CALLS_NEVER_TIME_OUT, stopTimeoutSeconds);
    }

    private Lifecycle lifecycle(String extraYaml, double callTimeoutSeconds, double stopTimeoutSeconds) throws Exception {
        CoreConfig config = new ConfigLoader(Map.of()).parse(new ByteArrayInputStream(
                (CONFIG.formatted(callTimeoutSeconds, stopTimeoutSeconds) + extraYaml).getBytes(StandardCharsets.UTF_8)), "test");
        var output = new WorkloadOutput(100, new Redactor());
        lifecycle = new Lifecycle(new LifecycleSetup("test.Adapter", adapter, Optional.empty(), new FakeContext(),
                config.lifecycle(), config.privilegedCommands(), true, WorkloadUser.NONE, Optional.empty(), Shaper.system("lo", false), processes,
                output, config.processManagement().restart(), List.of(observer), delays));
        return lifecycle;
    }

    private static StartPlan plan(String name) {
        return new StartPlan(Payload.of(Map.of("name", name)), Optional.empty(), Optional.empty());
    }

    private Snapshot settled() throws Exception {
        lifecycle.drain();
        return lifecycle.snapshot();
    }

    @Test
    void aStartRunsTheWorkloadAndPublishesItsPid() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        Snapshot running = settled();
        assertEquals(Phase.RUNNING, running.phase());
        assertEquals(OptionalLong.of(adapter.started.getFirst().pid), running.pid());
        assertTrue(running.startedAt().isPresent());
        assertEquals(List.of(), running.failures());
    }

    @Test
    void aWorkloadWhosePidIsTheCoresOwnOrNoProcessIsNeverSignalledThroughIt() throws Exception {
        // An adapter whose workload runs inside the core may hand back the core's own pid, and a careless one 0 or -1 for
        // "unknown": signalled, the first would make a stop send SIGTERM and then SIGSTOP to the core itself (which then
        // hangs, stopped), and at a fatal error kill(-pid) with -1 would be SIGKILL to every process the core may signal.
        lifecycle("");
        for (long claimed : new long[] {ProcessHandle.current().pid(), 1, 0, -1}) {
            processes.nextPid.set(claimed - 1);
            processes.ends.clear();
            lifecycle.start(plan("claims-" + claimed));
            Snapshot running = settled();
            assertEquals(Phase.RUNNING, running.phase(), "claimed pid " + claimed);
            assertEquals(OptionalLong.empty(), running.pid(), "claimed pid " + claimed + " is published");
            assertEquals(SignalOutcome.NOT_RUNNING, lifecycle.signal(Signals.number("HUP").orElseThrow()), "claimed pid " + claimed);
            lifecycle.stop(false);
            settled();
            assertTrue(processes.ends.stream().allMatch(end -> end.tree().pid().isEmpty()),
                    "claimed pid " + claimed + " was signalled to end: " + processes.ends);
        }
        assertEquals(List.of(), processes.signals, "signals sent to a claimed pid");
    }

    @Test
    void aVirtualMachineErrorWhileWatchingTheWorkloadReachesTheFatalErrorHandler() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        // In the core the default handler is FatalErrors', which kills the workload and halts with 70; here it only catches.
        var uncaught = new java.util.concurrent.CompletableFuture<Throwable>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> uncaught.complete(error));
        try {
            // As the JDK reports it when it cannot start the thread that waits for the process, wrapped by the exit's stage.
            adapter.started.getFirst().exit.completeExceptionally(
                    new java.util.concurrent.CompletionException(new OutOfMemoryError("unable to create native thread")));
            Throwable seen = uncaught.get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(seen instanceof OutOfMemoryError, "the handler got " + seen);
            assertTrue(lifecycle.snapshot().failures().isEmpty(), "recorded as a failure: " + lifecycle.snapshot().failures());
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    @Test
    void anOrdinaryExceptionWhileWatchingTheWorkloadIsItsFailure() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        adapter.started.getFirst().exit.completeExceptionally(new IllegalStateException("liveness check broke"));
        Snapshot failed = settled();
        assertEquals(Phase.FAILED, failed.phase());
        assertTrue(failed.failures().getFirst().message().startsWith("workload watch failed: "), failed.failures().toString());
        assertEquals(OptionalInt.empty(), failed.exitCode(), "a workload whose watch failed has no exit code (/api/status showed -1)");
    }

    @Test
    void aWorkloadEndingWithNoCodeOrANegativeOneHasNoExitCode() throws Exception {
        // As the exit event renders them: exit_code null. /api/status showed -1 and -5, codes no process can have.
        lifecycle("");
        for (Integer code : new Integer[] {null, -5}) {
            lifecycle.start(plan("a"));
            settled();
            adapter.started.getLast().exit.complete(code);
            Snapshot ended = settled();
            assertEquals(Phase.FAILED, ended.phase(), "code " + code);
            assertEquals(OptionalInt.empty(), ended.exitCode(), "code " + code);
        }
    }

    @Test
    void aQueuedStartShowsAsStartingBeforeItBegins() throws Exception {
        lifecycle("");
        adapter.blockStarts();
        lifecycle.start(plan("a"));
        lifecycle.start(plan("b"));
        assertEquals(Phase.STARTING, lifecycle.snapshot().phase());
        adapter.releaseStarts();
        assertEquals(Phase.RUNNING, settled().phase());
    }

    @Test
    void aRestartNeverShowsTheOldWorkloadRunningOnceItWasAskedFor() throws Exception {
        lifecycle("");
        lifecycle.start(plan("first"));
        long previous = settled().pid().orElseThrow();
        for (int restart = 0; restart < 300; restart++) {
            lifecycle.start(plan("again"));
            Snapshot seen;
            Instant deadline = Instant.now().plusSeconds(10);
            while ((seen = lifecycle.snapshot()).phase() != Phase.RUNNING) {
                assertTrue(Instant.now().isBefore(deadline), "restart " + restart + " never showed running: " + seen);
                Thread.onSpinWait();
            }
            assertNotEquals(previous, seen.pid().orElseThrow(), "restart " + restart + " showed the old workload running");
            previous = seen.pid().orElseThrow();
        }
    }

    @Test
    void startsSupersededWhileQueuedAreSkippedAndTheLastWins() throws Exception {
        lifecycle("");
        adapter.blockStarts();
        lifecycle.start(plan("first"));
        adapter.awaitStartCalled();
        lifecycle.start(plan("second"));
        lifecycle.start(plan("third"));
        adapter.releaseStarts();
        Snapshot last = settled();
        assertEquals(List.of("first", "third"), adapter.started.stream().map(w -> w.name).toList(), "'second' never ran");
        assertEquals(Phase.RUNNING, last.phase());
        assertEquals(1, last.restarts());
        assertTrue(adapter.started.getFirst().ended(), "the first workload was stopped for the restart");
        assertFalse(adapter.started.getLast().ended());
    }

    @Test
    void theQueueLetsGoOfTheStartsItWillSkip() throws Exception {
        lifecycle("");
        adapter.blockStarts();
        lifecycle.start(plan("first"));
        adapter.awaitStartCalled();
        var superseded = new java.lang.ref.WeakReference<>(plan("superseded"));
        lifecycle.start(superseded.get());
        lifecycle.start(plan("last"));
        for (int i = 0; i < 50 && superseded.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertEquals(null, superseded.get(), "a queued start that a later one supersedes holds no payload while it waits");
        adapter.releaseStarts();
        assertEquals(Phase.RUNNING, settled().phase());
        // The calls: the superseded start was never made.
        assertEquals(List.of("first", "last"), adapter.startCalls);
    }

    @Test
    void aStopDuringAStartEndsStoppedWithTheWorkloadGone() throws Exception {
        lifecycle("");
        adapter.blockStarts();
        lifecycle.start(plan("a"));
        adapter.awaitStartCalled();
        assertTrue(lifecycle.stop(false).isPresent());
        adapter.releaseStarts();
        Snapshot stopped = settled();
        assertEquals(Phase.STOPPED, stopped.phase());
        assertTrue(adapter.started.getFirst().ended());
        assertEquals(1, adapter.stops.get());
    }

    @Test
    void aStopOfAQueuedStartCancelsIt() throws Exception {
        lifecycle("");
        adapter.blockStarts();
        lifecycle.start(plan("running"));
        adapter.awaitStartCalled();
        lifecycle.start(plan("queued"));
        lifecycle.stop(false);
        adapter.releaseStarts();
        assertEquals(Phase.STOPPED, settled().phase());
        assertEquals(List.of("running"), adapter.started.stream().map(w -> w.name).toList());
    }

    @Test
    void nothingToStopIsSaidAtOnce() throws Exception {
        lifecycle("");
        assertFalse(lifecycle.stop(false).isPresent());
        assertEquals(Phase.IDLE, settled().phase());
    }

    @Test
    void aRequestedStopGivesTheAdapterThenTheTreeTheGraceThenKills() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        Instant asked = Instant.now();
        lifecycle.stop(false);
        Snapshot stopped = settled();
        assertEquals(Phase.STOPPED, stopped.phase());
        FakeProcesses.End end = processes.ends.getFirst();
        assertEquals(Signals.TERM, end.signal());
        Duration grace = Duration.between(asked, end.deadline());
        assertTrue(grace.compareTo(Duration.ofMillis(2900)) > 0 && grace.compareTo(Duration.ofMillis(3100)) < 0,
                "SIGKILL when lifecycle.stop_timeout_seconds has passed since the stop began: " + grace);
        assertEquals(1, adapter.stops.get());
        assertEquals(List.of(true), adapter.exits.stream().map(WorkloadExit::requested).toList());
    }

    @Test
    void aForcedStopKillsAtOnceWithoutAskingTheAdapter() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        lifecycle.stop(true);
        Snapshot stopped = settled();
        assertEquals(Phase.STOPPED, stopped.phase());
        assertEquals(Signals.KILL, processes.ends.getFirst().signal());
        assertEquals(0, adapter.stops.get());
        assertEquals(128 + Signals.KILL, stopped.exitCode().getAsInt());
    }

    @Test
    void aHangingAdapterStopIsBoundedAndTheTreeStillEnds() throws Exception {
        lifecycle("", 0.1);
        adapter.hangInStop = true;
        lifecycle.start(plan("a"));
        settled();
        lifecycle.stop(false);
        Snapshot stopped = settled();
        assertEquals(Phase.FAILED, stopped.phase());
        assertEquals("adapter stop timed out after 0.1 s", stopped.lastError().orElseThrow());
        assertTrue(adapter.started.getFirst().ended());
    }

    @Test
    void aWorkloadEndingOnItsOwnIsStoppedOrAnError() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        adapter.started.getFirst().exit.complete(0);
        Snapshot exited = settled();
        assertEquals(Phase.EXITED, exited.phase());
        assertEquals(0, exited.exitCode().getAsInt());

        lifecycle.start(plan("b"));
        settled();
        adapter.started.getLast().exit.complete(3);
        Snapshot failed = settled();
        assertEquals(Phase.FAILED, failed.phase());
        assertEquals("workload exited with code 3", failed.lastError().orElseThrow());
        assertEquals(Failure.Kind.WORKLOAD_EXIT, failed.failures().getFirst().kind());
        assertEquals(List.of(false, false), adapter.exits.stream().map(WorkloadExit::requested).toList());
        assertEquals(Signals.KILL, processes.ends.getLast().signal(), "what the workload left is killed at once");
    }

    @Test
    void anExitRacingAStopIsTheStopsAndNotAnError() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        adapter.exitWithCodeOnStop = 1;
        lifecycle.stop(false);
        Snapshot stopped = settled();
        assertEquals(Phase.STOPPED, stopped.phase());
        assertEquals(List.of(), stopped.failures());
    }

    @Test
    void aCrashLoopBacksOffDoublingAndGivesUp() throws Exception {
        lifecycle("process_management:\n  restart: {policy: on-failure, max_retries: 2, backoff_initial_ms: 100, backoff_max_ms: 150}\n");
        lifecycle.start(plan("a"));
        settled();
        for (int attempt = 1; attempt <= 2; attempt++) {
            adapter.started.getLast().exit.complete(1);
            Snapshot backoff = settled();
            assertEquals(Phase.BACKOFF, backoff.phase());
            assertEquals("initializing", backoff.appStatus());
            assertEquals(Duration.ofMillis(attempt == 1 ? 100 : 150), delays.pending.getLast().delay());
            delays.runAll();
            assertEquals(Phase.RUNNING, settled().phase());
        }
        adapter.started.getLast().exit.complete(1);
        Snapshot gaveUp = settled();
        assertEquals(Phase.FAILED, gaveUp.phase());
        assertEquals("workload exited with code 1; gave up after 2 restarts in a row", gaveUp.lastError().orElseThrow());
        assertEquals(3, adapter.started.size());
        assertEquals(2, gaveUp.restarts());
    }

    @Test
    void aStopDuringTheBackoffCancelsTheRestart() throws Exception {
        lifecycle("process_management:\n  restart: {policy: always, backoff_initial_ms: 100}\n");
        lifecycle.start(plan("a"));
        settled();
        adapter.started.getFirst().exit.complete(0);
        assertEquals(Phase.BACKOFF, settled().phase());
        assertTrue(lifecycle.stop(false).isPresent(), "a workload waiting to be restarted can be stopped");
        assertEquals(Phase.STOPPED, settled().phase());
        delays.runAll();
        assertEquals(Phase.STOPPED, settled().phase());
        assertEquals(1, adapter.started.size());
    }

    @Test
    void aHangingStartTimesOutAndAWorkloadItReturnsLateIsKilled() throws Exception {
        lifecycle("", CALLS_TIME_OUT, 3);
        adapter.blockStarts();
        lifecycle.start(plan("late"));
        Snapshot failed = settled();
        assertEquals(Phase.FAILED, failed.phase());
        assertEquals("adapter start timed out after 0.2 s", failed.lastError().orElseThrow());
        assertEquals(Failure.Kind.ADAPTER_TIMEOUT, failed.failures().getFirst().kind());
        adapter.releaseStarts();
        adapter.awaitStarted(1);
        processes.awaitEnds(1);
        assertEquals(Signals.KILL, processes.ends.getFirst().signal());
        assertTrue(adapter.started.getFirst().ended());
    }

    @Test
    void aStartReturningNoWorkloadFailsClearly() throws Exception {
        lifecycle("");
        adapter.returnNull = true;
        lifecycle.start(plan("a"));
        Snapshot failed = settled();
        assertEquals("adapter start returned no workload", failed.lastError().orElseThrow());
        assertEquals(1, adapter.postStops.get(), "the stop sequence cleaned up after the failed start");
    }

    @Test
    void updatesAreAnsweredInTurn() throws Exception {
        lifecycle("");
        var update = new UpdatePlan(Payload.of(Map.of("x", 1)), Optional.empty());
        assertInstanceOf(UpdateOutcome.NotRunning.class, lifecycle.update(update));
        lifecycle.start(plan("a"));
        settled();
        adapter.updateResult = UpdateResult.APPLIED;
        assertEquals(new UpdateOutcome.Answered(UpdateResult.APPLIED), lifecycle.update(update));
        adapter.updateFailure = new UnsupportedOperationException("no live update");
        assertEquals(new UpdateOutcome.Answered(UpdateResult.NOT_SUPPORTED), lifecycle.update(update),
                "UnsupportedOperationException means the adapter has no live update, as Python's NotImplementedError did");
        adapter.updateFailure = new IllegalStateException("config rejected");
        assertEquals(new UpdateOutcome.Failed("adapter update failed: config rejected"), lifecycle.update(update));
    }

    @Test
    void signalsGoToTheWorkloadsProcess() throws Exception {
        lifecycle("");
        assertEquals(SignalOutcome.NOT_RUNNING, lifecycle.signal(Signals.number("HUP").orElseThrow()));
        lifecycle.start(plan("a"));
        settled();
        assertEquals(SignalOutcome.DELIVERED, lifecycle.signal(Signals.number("HUP").orElseThrow()));
        assertEquals(List.of(adapter.started.getFirst().pid + ":" + Signals.number("HUP").orElseThrow()), processes.signals);
    }

    @Test
    void shutdownStopsTheWorkloadAndRefusesLaterRequests() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        assertTrue(lifecycle.shutdown(Duration.ofSeconds(5)));
        assertTrue(adapter.started.getFirst().ended());
        assertEquals(Phase.STOPPED, lifecycle.snapshot().phase());
        assertThrows(Lifecycle.ShuttingDownException.class, () -> lifecycle.start(plan("b")));
        lifecycle = null;
    }

    @Test
    void failingHooksAreReportedAsValuesInOrder() throws Exception {
        lifecycle("");
        adapter.postStopFailure = new IllegalStateException("qdisc busy");
        adapter.hangInStop = false;
        lifecycle.start(plan("a"));
        settled();
        lifecycle.stop(false);
        Snapshot failed = settled();
        assertEquals(Phase.FAILED, failed.phase());
        assertEquals("adapter post_stop hook failed: qdisc busy", failed.lastError().orElseThrow());
        assertEquals(Failure.Kind.ADAPTER, failed.failures().getFirst().kind());
        assertInstanceOf(IllegalStateException.class, failed.failures().getFirst().cause().orElseThrow());
    }

    @Test
    void aRefusedStartIsAFailedStartWithItsReasonWhenNothingRuns() throws Exception {
        lifecycle("");
        lifecycle.refuseStart(Failure.of(Failure.Kind.START_REFUSED, "/config/app.json is not valid JSON at line 1, column 2"));
        Snapshot refused = settled();
        assertEquals(Phase.FAILED, refused.phase());
        assertEquals("error", refused.appStatus());
        assertEquals("/config/app.json is not valid JSON at line 1, column 2", refused.lastError().orElseThrow());
        assertEquals(Failure.Kind.START_REFUSED, refused.failures().getFirst().kind());
        assertEquals(List.of(refused), endedForGood);
        assertEquals(List.of(), adapter.started, "nothing was started");

        lifecycle.start(plan("fixed"));
        Snapshot running = settled();
        assertEquals(Phase.RUNNING, running.phase());
        assertEquals(List.of(), running.failures(), "a later start clears the refusal");
    }

    @Test
    void aRefusedStartLeavesARunningWorkloadAndAQueuedStartAlone() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        lifecycle.refuseStart(Failure.of(Failure.Kind.START_REFUSED, "refused"));
        Snapshot running = settled();
        assertEquals(Phase.RUNNING, running.phase());
        assertEquals(List.of(), running.failures());
        assertFalse(adapter.started.getFirst().ended());

        lifecycle.stop(false);
        adapter.blockStarts();
        lifecycle.start(plan("b"));
        lifecycle.refuseStart(Failure.of(Failure.Kind.START_REFUSED, "refused"));
        adapter.releaseStarts();
        assertEquals(Phase.RUNNING, settled().phase(), "the start queued before the refusal ran");
        assertEquals(List.of(), endedForGood);
    }

    @Test
    void theObserverHearsOfAnEndForGoodButNotOfAStopOrAnEndThatIsRestarted() throws Exception {
        lifecycle("process_management:\n  restart: {policy: on-failure, max_retries: 1, backoff_initial_ms: 100}\n");
        lifecycle.start(plan("a"));
        settled();
        lifecycle.stop(false);
        assertEquals(Phase.STOPPED, settled().phase());
        assertEquals(List.of(), endedForGood, "a stop that was asked for is no end of the workload's own");

        lifecycle.start(plan("b"));
        settled();
        adapter.started.getLast().exit.complete(3);
        assertEquals(Phase.BACKOFF, settled().phase());
        assertEquals(List.of(), endedForGood, "the restart policy starts it again");
        delays.runAll();
        settled();
        adapter.started.getLast().exit.complete(3);
        Snapshot gaveUp = settled();
        assertEquals(Phase.FAILED, gaveUp.phase());
        assertEquals(List.of(gaveUp), endedForGood);
        assertEquals(3, endedForGood.getFirst().exitCode().getAsInt());
    }

    @Test
    void theObserverHearsOfAnExitWithCodeZeroAndOfAFailedStart() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        adapter.started.getFirst().exit.complete(0);
        Snapshot exited = settled();
        assertEquals(List.of(exited), endedForGood);

        adapter.returnNull = true;
        lifecycle.start(plan("b"));
        Snapshot failed = settled();
        assertEquals(Phase.FAILED, failed.phase());
        assertEquals(List.of(exited, failed), endedForGood);
        assertTrue(failed.exitCode().isEmpty(), "a start that failed has no exit code");
    }

    @Test
    void anEndWithAStartQueuedBehindItIsNoEndForGood() throws Exception {
        lifecycle("");
        lifecycle.start(plan("a"));
        settled();
        adapter.updateGate = new CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            try {
                lifecycle.update(new UpdatePlan(Payload.of(Map.of("x", 1)), Optional.empty()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        adapter.updateCalled.await();
        // The writer is held in the update: the exit and then a start queue up behind it, in that order.
        adapter.started.getFirst().exit.complete(0);
        lifecycle.start(plan("b"));
        adapter.updateGate.countDown();
        Snapshot running = settled();
        assertEquals(Phase.RUNNING, running.phase());
        assertEquals(List.of("a", "b"), adapter.started.stream().map(w -> w.name).toList());
        assertEquals(List.of(), endedForGood, "the exit was followed by a start already queued");
    }

    @Test
    void theObserverIsToldEveryStepInTheOrderItHappens() throws Exception {
        lifecycle("process_management:\n  restart: {policy: on-failure, max_retries: 1, backoff_initial_ms: 100}\n");
        lifecycle.start(plan("a"));
        settled();
        adapter.started.getLast().exit.complete(3);
        settled();
        delays.runAll();
        settled();
        adapter.updateResult = UpdateResult.APPLIED;
        lifecycle.update(new UpdatePlan(Payload.of(Map.of("x", 1)), Optional.empty()));
        lifecycle.signal(Signals.number("HUP").orElseThrow());
        assertTrue(lifecycle.stop(true).isPresent());
        settled();
        assertFalse(lifecycle.stop(false).isPresent());
        lifecycle.shutdown(Duration.ofSeconds(5));
        assertEquals(List.of(
                "request Start[]", "phase starting", "phase running",
                "exit 3", "phase backoff", "restart 1 after 100 ms",
                "phase starting", "phase running",
                "request Update[outcome=Answered[result=APPLIED]]", "request Signal[number=1]",
                "request Stop[force=true, stopping=true]", "phase stopping", "exit 137 requested", "phase stopped",
                "request Stop[force=false, stopping=false]",
                "shutdown 5 s"), told);
    }

    // ---- fakes ----

    /** A workload that is a made-up process: it ends when the fake operating system ends its tree. */
    static final class FakeWorkload implements Workload {
        final String name;
        final long pid;
        final CompletableFuture<Integer> exit = new CompletableFuture<>();

        FakeWorkload(String name, long pid) {
            this.name = name;
            this.pid = pid;
        }

        @Override
        public OptionalLong pid() {
            return OptionalLong.of(pid);
        }

        @Override
        public CompletionStage<Integer> exit() {
            return exit;
        }

        boolean ended() {
            return exit.isDone();
        }
    }

    /** The operating system as the lifecycle sees it, with made-up processes that die when told to. */
    static final class FakeProcesses implements ProcessControl {
        record End(WorkloadTree tree, int signal, Instant deadline) {
        }

        final List<End> ends = new CopyOnWriteArrayList<>();
        final List<String> signals = new CopyOnWriteArrayList<>();
        final Map<Long, FakeWorkload> alive = new ConcurrentHashMap<>();
        /**
         * Made-up pids start above the largest pid_max Linux allows (2^22), so none is the test's own process (which
         * the lifecycle rightly refuses to signal: on a fresh machine the test JVM's pid can be 1001) or any real one.
         */
        static final long FIRST_PID = (1L << 22) + 1000;
        final AtomicLong nextPid = new AtomicLong(FIRST_PID);
        final java.util.concurrent.atomic.AtomicInteger sweeps = new java.util.concurrent.atomic.AtomicInteger();

        FakeWorkload spawn(String name) {
            var workload = new FakeWorkload(name, nextPid.incrementAndGet());
            alive.put(workload.pid, workload);
            return workload;
        }

        @Override
        public boolean signal(WorkloadTree tree, int signal) {
            long pid = tree.pid().orElseThrow();
            signals.add(pid + ":" + signal);
            return alive.containsKey(pid);
        }

        @Override
        public boolean endTree(WorkloadTree tree, int signal, Instant deadline) {
            ends.add(new End(tree, signal, deadline));
            tree.pid().ifPresent(pid -> {
                FakeWorkload workload = alive.remove(pid);
                if (workload != null) {
                    workload.exit.complete(128 + signal);
                }
            });
            return true;
        }

        @Override
        public boolean killOnly(WorkloadTree tree) {
            return endTree(tree, Signals.KILL, Instant.now());
        }

        @Override
        public boolean sweepOrphans() {
            sweeps.incrementAndGet();
            return true;
        }

        @Override
        public void runPrivileged(List<String> command, Duration timeout) throws PrivilegedCommands.CommandFailedException {
            throw new AssertionError("no privileged command is configured: " + command);
        }

        void awaitEnds(int count) throws InterruptedException {
            Instant deadline = Instant.now().plusSeconds(5);
            while (ends.size() < count && Instant.now().isBefore(deadline)) {
                Thread.onSpinWait();
            }
            assertTrue(ends.size() >= count, "tree ended " + ends.size() + " times");
        }
    }

    /** An adapter whose every hook can be made to hang, throw or block. */
    static final class FakeAdapter implements Adapter {
        final FakeProcesses processes;
        final List<FakeWorkload> started = new CopyOnWriteArrayList<>();
        /** The names of the starts called, in the order they were called (a blocked start may return after a later one). */
        final List<String> startCalls = new CopyOnWriteArrayList<>();
        final List<WorkloadExit> exits = new CopyOnWriteArrayList<>();
        final AtomicInteger stops = new AtomicInteger();
        final AtomicInteger postStops = new AtomicInteger();
        private volatile CountDownLatch startGate = new CountDownLatch(0);
        private final CountDownLatch startCalled = new CountDownLatch(1);
        volatile boolean hangInStop;
        volatile boolean returnNull;
        volatile int exitWithCodeOnStop = -1;
        volatile UpdateResult updateResult = UpdateResult.NOT_SUPPORTED;
        volatile RuntimeException updateFailure;
        /** Holds an update, and so the lifecycle's writer, until released, so that events queue up behind it. */
        volatile CountDownLatch updateGate = new CountDownLatch(0);
        final CountDownLatch updateCalled = new CountDownLatch(1);
        volatile RuntimeException postStopFailure;

        FakeAdapter(FakeProcesses processes) {
            this.processes = processes;
        }

        void blockStarts() {
            startGate = new CountDownLatch(1);
        }

        void releaseStarts() {
            startGate.countDown();
        }

        void awaitStartCalled() throws InterruptedException {
            startCalled.await();
        }

        void awaitStarted(int count) {
            Instant deadline = Instant.now().plusSeconds(5);
            while (started.size() < count && Instant.now().isBefore(deadline)) {
                Thread.onSpinWait();
            }
        }

        @Override
        public Workload start(Payload payload, AdapterContext context) throws InterruptedException {
            startCalls.add(payload.require("name"));
            startCalled.countDown();
            CountDownLatch gate = startGate;
            // Not interruptible: a start returning after its timeout is the case under test.
            while (gate.getCount() > 0) {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    // Keep waiting, as a slow adapter would.
                }
            }
            if (returnNull) {
                return null;
            }
            FakeWorkload workload = processes.spawn(payload.require("name"));
            started.add(workload);
            return workload;
        }

        @Override
        public void stop() throws InterruptedException {
            stops.incrementAndGet();
            if (hangInStop) {
                Thread.sleep(Duration.ofHours(1));
            }
            if (exitWithCodeOnStop >= 0 && !started.isEmpty()) {
                started.getLast().exit.complete(exitWithCodeOnStop);
            }
        }

        @Override
        public UpdateResult update(Payload payload) throws InterruptedException {
            updateCalled.countDown();
            updateGate.await();
            if (updateFailure != null) {
                throw updateFailure;
            }
            return updateResult;
        }

        @Override
        public void postStop(AdapterContext context) {
            postStops.incrementAndGet();
            if (postStopFailure != null) {
                throw postStopFailure;
            }
        }

        @Override
        public void onWorkloadExit(WorkloadExit exit) {
            exits.add(exit);
        }
    }

    /** Delays that run only when the test says so. */
    static final class ManualDelays implements Delays {
        record Pending(Duration delay, Runnable task) {
        }

        final List<Pending> pending = new ArrayList<>();

        @Override
        public synchronized void after(Duration delay, Runnable task) {
            pending.add(new Pending(delay, task));
        }

        synchronized void runAll() {
            List<Pending> due = List.copyOf(pending);
            pending.clear();
            due.forEach(task -> task.task().run());
        }

        @Override
        public synchronized void close() {
            pending.clear();
        }
    }

    /** The core's services as far as the fake adapter needs them: none. */
    static final class FakeContext implements AdapterContext {
        @Override
        public AdapterConfig config() {
            return new AdapterConfig(Map.of());
        }

        @Override
        public Optional<String> runAsUser() {
            return Optional.empty();
        }

        @Override
        public List<String> ensureUser(List<String> command) {
            return command;
        }

        @Override
        public WorkloadProcess launch(Launch launch) {
            throw new UnsupportedOperationException("no processes in this test");
        }

        @Override
        public TrafficControl trafficControl() {
            throw new UnsupportedOperationException("no traffic control in this test");
        }

        @Override
        public java.nio.file.Path workloadDirectory() {
            throw new UnsupportedOperationException("no files in this test");
        }

        @Override
        public byte[] readWorkloadFile(java.nio.file.Path file, int maxBytes) {
            throw new UnsupportedOperationException("no files in this test");
        }

        @Override
        public System.Logger logger() {
            return System.getLogger("test");
        }
    }
}
