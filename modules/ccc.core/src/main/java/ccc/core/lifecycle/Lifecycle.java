package ccc.core.lifecycle;

import ccc.api.WorkloadExit;
import ccc.core.config.CoreConfig;
import ccc.core.log.FatalErrors;
import ccc.core.log.Log;
import ccc.core.log.Redactor;
import ccc.core.log.Timeline;
import ccc.core.process.Native;
import ccc.core.process.ProcessControl;
import ccc.core.os.Signals;
import ccc.core.process.WorkloadTree;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The workload's state machine, as a coordinator: it numbers requests, queues every transition
 * (start, restart, stop, update, signal, an exit of the workload, a restart after a backoff,
 * shutdown) on one serial writer thread, applies the restart policy and publishes an immutable
 * {@link Snapshot} atomically, which readers take without waiting. The work of each transition
 * is the {@link StartSequence}'s, the {@link StopSequence}'s and the {@link UpdateSequence}'s.
 *
 * <p>A start or stop that a later request supersedes before the writer reaches it is skipped, so
 * the last call wins and a burst of calls costs one transition, not one per call.
 */
public final class Lifecycle {

    private static final Duration STABLE_RUN = Duration.ofSeconds(10);

    private final Log log;
    private final StartSequence starting;
    private final StopSequence stopping;
    private final UpdateSequence updating;
    private final CoreConfig.RestartSection restartPolicy;
    private final Redactor redactor;
    private final List<LifecycleObserver> observers;
    private final ProcessControl processes;
    private final Delays delays;
    private final ExecutorService writer =
            Executors.newSingleThreadExecutor(Thread.ofPlatform().name("lifecycle").daemon(true).factory());
    private final AtomicReference<Snapshot> published;
    // The running workload's tree, for ending or signalling it from outside the writer (shutdown's grace exhausted, a fatal error, /api/signal).
    private volatile WorkloadTree activeTree = WorkloadTree.NONE;

    // Request numbering: assigned under this lock so that numbers follow the writer's queue order.
    private final Object submissions = new Object();
    private long lastRequest;
    private AtomicReference<StartPlan> queuedStart = new AtomicReference<>();
    private volatile long latestRequest;
    private volatile long latestStartRequest;
    private volatile long begunRequest;

    // Owned by the writer thread.
    private Optional<RunningWorkload> active = Optional.empty();
    private long generations;
    private Optional<StartPlan> lastPlan = Optional.empty();
    private int restartsInARow;
    private long restartToken;

    public Lifecycle(LifecycleSetup setup) {
        this.log = Log.named("lifecycle", setup.output().redactor());
        this.stopping = new StopSequence(setup, this::tellExit, log);
        this.starting = new StartSequence(setup, stopping, log);
        this.updating = new UpdateSequence(setup.adapter(), setup.processAdapter(), setup.shaper(), setup.timeouts(), log);
        this.restartPolicy = setup.restart();
        this.redactor = setup.output().redactor();
        this.observers = List.copyOf(setup.observers());
        this.processes = setup.processes();
        this.delays = setup.delays();
        this.published = new AtomicReference<>(Snapshot.initial(setup.adapterName()));
    }

    /** The current state; a start that is queued but not yet begun already shows as starting. */
    public Snapshot snapshot() {
        // The counters first: the writer marks a start begun only after publishing "starting", so a
        // reader that finds it begun then reads that snapshot or a later one, never the old phase.
        boolean startPending = latestStartRequest > begunRequest && latestStartRequest == latestRequest;
        Snapshot current = published.get();
        return startPending ? current.pendingStart() : current;
    }

    /**
     * Ends the workload at once, from any thread and without waiting for the writer or for the
     * processes to be reaped: SIGKILL to its process group and to every descendant of the core
     * (the workload's tree and the orphans it left, which the core adopts). For a core that is
     * about to halt on a fatal error.
     */
    public void endWorkloadNow() {
        OptionalLong pid = published.get().pid();
        if (pid.isPresent()) {
            Native.kill(-pid.getAsLong(), Signals.KILL);
            Native.kill(pid.getAsLong(), Signals.KILL);
        }
        ProcessHandle.current().descendants().forEach(process -> Native.kill(process.pid(), Signals.KILL));
    }

    /**
     * Queues a start, which restarts a running workload. Returns at once; the future completes
     * once the lifecycle has carried the start out (running or failed) or found it superseded.
     */
    public CompletableFuture<Void> start(StartPlan plan) {
        synchronized (submissions) {
            long request = ++lastRequest;
            latestRequest = request;
            latestStartRequest = request;
            var queued = new AtomicReference<>(plan);
            releaseQueuedStart();
            queuedStart = queued;
            tell(observer -> observer.accepted(new ControlRequest.Start()));
            return submit(() -> {
                StartPlan taken = queued.getAndSet(null);
                if (taken == null) {
                    begunRequest = request;
                    log.debug("start superseded by a later request", "request", request);
                } else {
                    runStart(request, taken, false);
                }
            });
        }
    }

    /**
     * Lets go of the plan of a start still in the queue, which the request being queued now
     * supersedes: the queue then holds one payload at most, however many starts arrive while a
     * slow transition runs.
     */
    private void releaseQueuedStart() {
        queuedStart.set(null);
    }

    /**
     * Queues a stop if there is anything to stop: a workload starting, running or waiting to be
     * restarted, or a start still queued. Returns at once: empty if there was nothing to stop,
     * otherwise a future that completes once the lifecycle has carried the stop out.
     */
    public Optional<CompletableFuture<Void>> stop(boolean force) {
        synchronized (submissions) {
            boolean startQueued = latestStartRequest > begunRequest;
            Phase phase = published.get().phase();
            if (!startQueued && !phase.active() && phase != Phase.BACKOFF) {
                tell(observer -> observer.accepted(new ControlRequest.Stop(force, false)));
                try {
                    // No workload, but perhaps what one left behind: it goes, though the answer stays "nothing to stop".
                    writer.execute(this::sweepOrphans);
                } catch (RejectedExecutionException e) {
                    // Shutting down: the shutdown sweeps.
                }
                return Optional.empty();
            }
            long request = ++lastRequest;
            latestRequest = request;
            releaseQueuedStart();
            tell(observer -> observer.accepted(new ControlRequest.Stop(force, true)));
            return Optional.of(submit(() -> runStop(request, force)));
        }
    }

    /**
     * Publishes a start that was refused before it could be queued (its payload came from a
     * file the core could not read or use) as a failed start: phase failed, with {@code why} in
     * {@code last_error}. A workload that runs, starts, waits to be restarted or has a start
     * queued is left alone: the refusal supersedes nothing.
     */
    public void refuseStart(Failure why) {
        submit(() -> {
            Phase phase = published.get().phase();
            if (active.isPresent() || phase.active() || phase == Phase.BACKOFF || latestStartRequest > begunRequest) {
                log.warn("start refused; the workload is left as it is", "reason", why.message());
                return;
            }
            log.error("start refused", "reason", why.message());
            publish(published.get().ended(Phase.FAILED, OptionalInt.empty(), List.of(why), Instant.now()));
            endedForGood();
        });
    }

    /** Hands a live update to the adapter, in turn with the other transitions, and waits for its answer. */
    public UpdateOutcome update(UpdatePlan plan) throws InterruptedException {
        if (published.get().phase() != Phase.RUNNING) {
            return new UpdateOutcome.NotRunning();
        }
        try {
            return submitAndWait(() -> {
                if (active.isEmpty() || published.get().phase() != Phase.RUNNING) {
                    return new UpdateOutcome.NotRunning();
                }
                redactor.learn(plan.payload().values());
                UpdateOutcome outcome = updating.run(plan);
                // Masked as last_error is: the reason may quote the payload.
                tell(observer -> observer.accepted(new ControlRequest.Update(outcome instanceof UpdateOutcome.Failed failed
                        ? new UpdateOutcome.Failed(redactor.redact(failed.reason())) : outcome)));
                return outcome;
            });
        } catch (ExecutionException e) {
            return new UpdateOutcome.Failed(Log.describe(e.getCause()));
        }
    }

    /**
     * Sends signal {@code number} to the workload's main process. A process the core started is
     * signalled now, from the caller's thread, not in turn with the transitions: a stop that waits
     * out its grace for a workload that ignores the stop signal can be hurried with SIGKILL. Its
     * tree is the one the lifecycle holds from the moment it runs until its stop or exit has ended
     * it, and its pidfd is opened only while it is not reaped, so the signal never reaches a
     * process that took its number. An adapter's own process, known by its number alone, is
     * signalled in turn with the transitions, as before: only the lifecycle knows whether its
     * number is still its own (a stop or exit being carried out may have reaped it).
     */
    public SignalOutcome signal(int number) throws InterruptedException {
        WorkloadTree tree = activeTree;
        if (tree.root().refusesOnceReaped()) {
            return deliver(tree, number);
        }
        try {
            return submitAndWait(() -> deliver(active.map(RunningWorkload::tree).orElse(WorkloadTree.NONE), number));
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    private SignalOutcome deliver(WorkloadTree tree, int number) {
        if (tree.pid().isEmpty()) {
            return SignalOutcome.NOT_RUNNING;
        }
        boolean delivered;
        // Sent and told under the lock the exit's telling takes (tellExit): a signal sent from the request's thread may end
        // the workload at once, and its request is still told before the exit it caused.
        synchronized (submissions) {
            delivered = processes.signal(tree, number);
            if (delivered) {
                tell(observer -> observer.accepted(new ControlRequest.Signal(number)));
            }
        }
        log.info("signal sent to the workload", "signal", Signals.name(number).orElse(Integer.toString(number)),
                "pid", tree.pid().getAsLong(), "delivered", delivered);
        return delivered ? SignalOutcome.DELIVERED : SignalOutcome.NOT_RUNNING;
    }

    /** Tells the observers how the workload ended: after the request of any signal already sent (see {@link #deliver}). */
    private void tellExit(WorkloadExit exit) {
        synchronized (submissions) {
            tell(observer -> observer.exited(exit));
        }
    }

    /**
     * Runs the stop sequence and shuts the writer down, waiting at most {@code grace}. When the
     * grace runs out, the workload's process tree is killed.
     *
     * @return whether the stop sequence completed within the grace
     */
    public boolean shutdown(Duration grace) {
        Future<?> stopped;
        synchronized (submissions) {
            if (!writer.isShutdown()) {
                tell(observer -> observer.shuttingDown(grace));
            }
            latestRequest = ++lastRequest;
            try {
                stopped = writer.submit(this::runShutdownStop);
            } catch (RejectedExecutionException e) {
                return true;
            }
            writer.shutdown();
            delays.close();
        }
        try {
            stopped.get(grace.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            log.error("stop sequence did not finish within the shutdown grace; killing the workload", "grace", AdapterCalls.seconds(grace));
            stopping.endAtOnce(activeTree);
            return false;
        } catch (ExecutionException e) {
            log.error("stop sequence failed during shutdown", e.getCause());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Thrown to a request that arrives while the core shuts down. */
    public static final class ShuttingDownException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ShuttingDownException() {
            super("the core is shutting down");
        }
    }

    /** Waits until every transition queued so far has run: for tests. */
    void drain() throws InterruptedException, ExecutionException {
        submitAndWait(() -> Boolean.TRUE);
    }

    /** Queues {@code transition}; the future completes when it has run, however it ended. */
    private CompletableFuture<Void> submit(Runnable transition) {
        var carriedOut = new CompletableFuture<Void>();
        try {
            // Not writer.submit: an exception must still reach the thread's handler, not hide in a future.
            writer.execute(() -> {
                try {
                    transition.run();
                } finally {
                    carriedOut.complete(null);
                }
            });
        } catch (RejectedExecutionException e) {
            throw new ShuttingDownException();
        }
        return carriedOut;
    }

    private <T> T submitAndWait(Callable<T> task) throws InterruptedException, ExecutionException {
        Future<T> result;
        synchronized (submissions) {
            try {
                result = writer.submit(task);
            } catch (RejectedExecutionException e) {
                throw new ShuttingDownException();
            }
        }
        return result.get();
    }

    // ---- transitions, all on the writer thread ----

    private void runStart(long request, StartPlan plan, boolean automatic) {
        if (!automatic) {
            if (request < latestRequest) {
                begunRequest = request;
                log.debug("start superseded by a later request", "request", request);
                return;
            }
            restartToken++;
            restartsInARow = 0;
            // Only a start the lifecycle begins teaches secrets: a superseded one never reaches the workload.
            redactor.learn(plan.payload().values());
        }
        boolean restart = active.isPresent() || automatic;
        Instant began = Instant.now();
        Timeline timeline = Timeline.begin(automatic ? "automatic restart" : restart ? "restart" : "start");
        publish(published.get().starting(restart));
        if (!automatic) {
            // Only now: until "starting" is published, readers see the start as pending, never the old phase.
            begunRequest = request;
        }
        log.info(automatic ? "restarting after the workload ended" : restart ? "restart requested" : "start requested",
                "payload", Redactor.masked(plan.payload().values()));
        if (active.isPresent()) {
            logProblems("stopping the previous workload reported problems", endActive(StopSequence.Reason.REQUESTED, timeline));
        }
        // Nothing an earlier workload left behind runs beside the new one.
        sweepOrphans();
        lastPlan = Optional.of(plan);
        try {
            RunningWorkload running = starting.run(plan, ++generations, began, timeline);
            active = Optional.of(running);
            activeTree = running.tree();
            running.workload().exit().whenComplete((code, error) -> exited(running.generation(), code, error));
            publish(published.get().running(running.tree().pid(), Instant.now()));
            timeline.step("running");
            timeline.end();
            Duration took = Duration.between(began, Instant.now());
            tell(observer -> observer.started(took));
            log.info("workload running", "pid", running.tree().pid().isPresent() ? running.tree().pid().getAsLong() : "none",
                    "start_ms", took.toMillis());
        } catch (StartSequence.Failed e) {
            log.error("start failed", "reason", e.failure().message());
            logProblems("cleanup after the failed start reported problems",
                    stopping.run(Optional.empty(), StopSequence.Reason.REQUESTED, timeline));
            timeline.end();
            publish(published.get().ended(Phase.FAILED, OptionalInt.empty(), List.of(e.failure()), Instant.now()));
            endedForGood();
        }
    }

    private void runStop(long request, boolean force) {
        begunRequest = request;
        if (request < latestRequest) {
            log.debug("stop superseded by a later request", "request", request);
            return;
        }
        restartToken++;
        Snapshot before = published.get();
        if (active.isEmpty()) {
            sweepOrphans();
            if (before.phase() == Phase.IDLE || before.phase() == Phase.BACKOFF) {
                publish(before.ended(Phase.STOPPED, before.exitCode(), List.of(), Instant.now()));
            }
            return;
        }
        Instant began = Instant.now();
        Timeline timeline = Timeline.begin(force ? "forced stop" : "stop");
        log.info(force ? "forced stop requested" : "stop requested");
        publish(before.stopping());
        StopSequence.Result result = endActive(force ? StopSequence.Reason.FORCED : StopSequence.Reason.REQUESTED, timeline);
        Duration took = Duration.between(began, Instant.now());
        tell(observer -> observer.stopped(took));
        if (result.problems().isEmpty()) {
            publish(published.get().ended(Phase.STOPPED, result.exitCode(), List.of(), Instant.now()));
            timeline.step("stopped");
            log.info("workload stopped", "stop_ms", took.toMillis());
        } else {
            publish(published.get().ended(Phase.FAILED, result.exitCode(), result.problems(), Instant.now()));
            timeline.step("failed");
            log.error("stop sequence failed", "reason", Failure.render(result.problems()));
        }
        timeline.end();
    }

    private void runShutdownStop() {
        begunRequest = latestRequest;
        restartToken++;
        if (active.isPresent()) {
            log.info("stopping the workload before exit");
            publish(published.get().stopping());
            StopSequence.Result result = endActive(StopSequence.Reason.REQUESTED, Timeline.none());
            publish(published.get().ended(result.problems().isEmpty() ? Phase.STOPPED : Phase.FAILED, result.exitCode(),
                    result.problems(), Instant.now()));
        }
        sweepOrphans();
    }

    /** Kills whatever orphans are left from workloads that are gone (see {@link ProcessControl#sweepOrphans()}). */
    private void sweepOrphans() {
        if (!processes.sweepOrphans()) {
            log.warn("orphans of an earlier workload would not die");
        }
    }

    private StopSequence.Result endActive(StopSequence.Reason reason, Timeline timeline) {
        StopSequence.Result result = stopping.run(active, reason, timeline);
        active = Optional.empty();
        activeTree = WorkloadTree.NONE;
        return result;
    }

    private void exited(long generation, Integer code, Throwable error) {
        try {
            writer.execute(() -> runExited(generation, code, error));
        } catch (RejectedExecutionException e) {
            // The core is shutting down; its stop sequence deals with the workload.
        }
    }

    private void runExited(long generation, Integer code, Throwable error) {
        if (error != null) {
            // A VirtualMachineError while watching (no thread left to create, say) is the core's end, not one more failure:
            // thrown on, it reaches FatalErrors, which kills the workload and halts.
            FatalErrors.rethrowIfFatal(error instanceof java.util.concurrent.CompletionException wrapped && wrapped.getCause() != null
                    ? wrapped.getCause() : error);
        }
        if (active.isEmpty() || active.get().generation() != generation) {
            return;
        }
        Timeline timeline = Timeline.begin("exit");
        OptionalInt known = error == null ? StopSequence.knownExitCode(code) : OptionalInt.empty();
        // Unknown counts as a failure, for the restart policy too.
        int exitCode = known.orElse(-1);
        var failures = new ArrayList<Failure>();
        if (error != null) {
            failures.add(new Failure(Failure.Kind.CORE, "workload watch failed: " + Log.describe(error), Optional.of(error)));
        } else if (known.isEmpty()) {
            failures.add(Failure.of(Failure.Kind.WORKLOAD_EXIT, "workload ended with no exit code"));
        } else if (exitCode != 0) {
            failures.add(Failure.of(Failure.Kind.WORKLOAD_EXIT, "workload exited with code " + exitCode + signalSuffix(exitCode)));
        }
        boolean stableRun = Duration.between(active.get().since(), Instant.now()).compareTo(STABLE_RUN) >= 0;
        log.warn("workload exited on its own", "exit_code", known.isPresent() ? exitCode : "unknown");
        failures.addAll(endActive(StopSequence.Reason.EXITED, timeline).problems());
        if (stableRun) {
            restartsInARow = 0;
        }
        if (restartPolicy.wanted(exitCode) && lastPlan.isPresent()) {
            if (restartPolicy.allows(restartsInARow)) {
                restartsInARow++;
                Duration wait = restartPolicy.backoff(restartsInARow);
                long token = restartToken;
                StartPlan plan = lastPlan.get();
                publish(published.get().ended(Phase.BACKOFF, known, failures, Instant.now()));
                tell(observer -> observer.restartScheduled(restartsInARow, wait));
                log.info("restarting after backoff", "attempt", restartsInARow, "backoff_ms", wait.toMillis());
                delays.after(wait, () -> submitAutomaticRestart(token, plan));
                timeline.end();
                return;
            }
            failures.add(Failure.of(Failure.Kind.RESTARTS_EXHAUSTED, "gave up after " + restartsInARow + " restarts in a row"));
        }
        publish(published.get().ended(failures.isEmpty() ? Phase.EXITED : Phase.FAILED, known, failures, Instant.now()));
        timeline.step("ended");
        timeline.end();
        endedForGood();
    }

    /** Tells the observer that the workload ended for good, unless a request queued behind this transition may start it again. */
    private void endedForGood() {
        if (latestRequest == begunRequest) {
            tell(observer -> observer.endedForGood(published.get()));
        }
    }

    private void submitAutomaticRestart(long token, StartPlan plan) {
        try {
            writer.execute(() -> {
                if (token == restartToken && active.isEmpty()) {
                    runStart(0, plan, true);
                }
            });
        } catch (RejectedExecutionException e) {
            // Shutting down: no restart.
        }
    }

    private static String signalSuffix(int exitCode) {
        return exitCode > 128 ? Signals.name(exitCode - 128).map(name -> " (SIG" + name + ")").orElse("") : "";
    }

    private void logProblems(String what, StopSequence.Result result) {
        if (!result.problems().isEmpty()) {
            log.warn(what, "problems", Failure.render(result.problems()));
        }
    }

    /**
     * Publishes {@code next} with its failures' messages masked, so no secret reaches
     * {@code last_error}, and tells the observer.
     */
    private void publish(Snapshot next) {
        // Most snapshots have no failure (a stop, a start): they are published as they are, without a stream to build.
        List<Failure> masked = next.failures().isEmpty() ? next.failures()
                : next.failures().stream().map(failure -> failure.rewritten(redactor::redact)).toList();
        Snapshot shown = masked.equals(next.failures()) ? next : new Snapshot(next.phase(), next.adapterName(), next.pid(),
                next.startedAt(), next.stoppedAt(), next.exitCode(), next.restarts(), masked);
        published.set(shown);
        tell(observer -> observer.published(shown));
    }

    /** Tells every observer, in order, what {@code told} says. */
    private void tell(Consumer<LifecycleObserver> told) {
        observers.forEach(told);
    }
}
