package ccc.core.lifecycle;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import ccc.api.WorkloadExit;
import ccc.core.config.CoreConfig;
import ccc.core.log.Log;
import ccc.core.log.Redactor;
import ccc.core.process.ManagedProcess;
import ccc.core.process.Native;
import ccc.core.process.PrivilegedCommands;
import ccc.core.process.ProcessTree;
import ccc.core.process.Signals;
import ccc.core.process.WorkloadOutput;
import ccc.core.traffic.Shaper;
import ccc.core.traffic.TrafficPlan;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The workload's state machine. Every transition (start, restart, stop, exit of the workload,
 * restart after a backoff, shutdown) runs on one serial writer thread; readers get an
 * immutable {@link Snapshot} published atomically, and never wait on the writer.
 *
 * <p>Requests are numbered as they arrive. A start or stop that a later request supersedes
 * before the writer reaches it is skipped, so the last call wins and a burst of calls costs
 * one transition, not one per call.
 */
public final class Lifecycle {

    private static final Log LOG = Log.named("lifecycle");
    private static final Duration EXIT_WAIT_AFTER_STOP = Duration.ofSeconds(2);
    private static final Duration STABLE_RUN = Duration.ofSeconds(10);
    private static final int EXIT_TAIL_LINES = 50;

    private final Adapter adapter;
    private final AdapterContext context;
    private final CoreConfig.Lifecycle timeouts;
    private final CoreConfig.PrivilegedCommands privilegedCommands;
    private final CoreConfig.TrafficControl trafficControl;
    private final CoreConfig.Restart restartPolicy;
    private final WorkloadOutput output;
    private final LifecycleObserver timings;
    private final Shaper shaper;
    private final TrafficPlan trafficPlan;
    private final boolean privileged;
    private final ExecutorService writer =
            Executors.newSingleThreadExecutor(Thread.ofPlatform().name("lifecycle").daemon(true).factory());
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("lifecycle-timer").daemon(true).factory());
    private final AtomicReference<Snapshot> published;

    // Request numbering: assigned under this lock so that numbers follow the writer's queue order.
    private final Object submissions = new Object();
    private long lastRequest;
    private volatile long latestRequest;
    private volatile long latestStartRequest;
    private volatile long begunRequest;

    // Owned by the writer thread.
    private Workload active;
    private Instant activeSince;
    private OptionalLong activeStartTicks = OptionalLong.empty();
    private long activeGeneration;
    private long generations;
    private Integer lastExitCode;
    private Payload lastPayload;
    private int restartsInARow;
    private long restartToken;

    public Lifecycle(Adapter adapter, String adapterName, AdapterContext context, CoreConfig config,
                     CoreConfig.Restart restartPolicy, WorkloadOutput output, LifecycleObserver timings,
                     Shaper shaper, boolean privileged) {
        this.adapter = adapter;
        this.context = context;
        this.timeouts = config.lifecycle();
        this.privilegedCommands = config.privilegedCommands();
        this.trafficControl = config.trafficControl();
        this.restartPolicy = restartPolicy;
        this.output = output;
        this.timings = timings;
        this.shaper = shaper;
        this.trafficPlan = new TrafficPlan(config.trafficControl());
        this.privileged = privileged;
        this.published = new AtomicReference<>(Snapshot.initial(adapterName));
    }

    /** The current state; a start that is queued but not yet begun already shows as starting. */
    public Snapshot snapshot() {
        Snapshot current = published.get();
        return latestStartRequest > begunRequest && latestStartRequest == latestRequest ? current.pendingStart() : current;
    }

    /**
     * Ends the workload at once, from any thread and without waiting for the writer or for the
     * processes to be reaped: SIGKILL to its process group and to every descendant of the core
     * (the workload's tree and the orphans it left, which the core adopts). For a core that is
     * about to halt on a fatal error.
     */
    public void endWorkloadNow() {
        Long pid = published.get().pid();
        if (pid != null) {
            Native.kill(-pid, Signals.KILL);
            Native.kill(pid, Signals.KILL);
        }
        ProcessHandle.current().descendants().forEach(process -> Native.kill(process.pid(), Signals.KILL));
    }

    /** Queues a start, which restarts a running workload. Returns at once. */
    public void start(Payload payload) {
        synchronized (submissions) {
            long request = ++lastRequest;
            latestRequest = request;
            latestStartRequest = request;
            submit(() -> runStart(request, payload, false));
        }
    }

    /**
     * Queues a stop. Returns whether there was anything to stop: a workload starting, running
     * or waiting to be restarted, or a start still queued.
     */
    public boolean stop(boolean force) {
        synchronized (submissions) {
            boolean startQueued = latestStartRequest > begunRequest;
            Phase phase = published.get().phase();
            if (!startQueued && !phase.active() && phase != Phase.BACKOFF) {
                return false;
            }
            long request = ++lastRequest;
            latestRequest = request;
            submit(() -> runStop(request, force));
            return true;
        }
    }

    /** Hands a live update to the adapter, in turn with the other transitions, and waits for its answer. */
    public UpdateOutcome update(Payload payload) throws InterruptedException {
        if (published.get().phase() != Phase.RUNNING) {
            return new UpdateOutcome.NotRunning();
        }
        output.redactor().learn(payload.values());
        try {
            return submitAndWait(() -> runUpdate(payload));
        } catch (ExecutionException e) {
            return new UpdateOutcome.Failed(Log.describe(e.getCause()));
        }
    }

    /** Sends signal {@code number} to the workload's process, in turn with the other transitions. */
    public SignalOutcome signal(int number) throws InterruptedException {
        try {
            return submitAndWait(() -> {
                if (active == null || active.pid().isEmpty()) {
                    return SignalOutcome.NOT_RUNNING;
                }
                long pid = active.pid().getAsLong();
                boolean delivered = Native.kill(pid, number) == 0;
                LOG.info("signal sent to the workload", "signal", Signals.name(number).orElse(Integer.toString(number)),
                        "pid", pid, "delivered", delivered);
                return delivered ? SignalOutcome.DELIVERED : SignalOutcome.NOT_RUNNING;
            });
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    private <T> T submitAndWait(java.util.concurrent.Callable<T> task) throws InterruptedException, ExecutionException {
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

    /**
     * Runs the stop sequence and shuts the writer down, waiting at most {@code grace}. When the
     * grace runs out, the workload's process tree is killed.
     *
     * @return whether the stop sequence completed within the grace
     */
    public boolean shutdown(Duration grace) {
        Future<?> stopped;
        synchronized (submissions) {
            latestRequest = ++lastRequest;
            try {
                stopped = writer.submit(this::runShutdownStop);
            } catch (RejectedExecutionException e) {
                return true;
            }
            writer.shutdown();
            timer.shutdownNow();
        }
        try {
            stopped.get(grace.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            LOG.error("stop sequence did not finish within the shutdown grace; killing the workload", "grace", AdapterCalls.seconds(grace));
            Long pid = published.get().pid();
            if (pid != null) {
                ProcessTree.terminate(pid, Signals.KILL, Duration.ZERO, true);
            }
            return false;
        } catch (ExecutionException e) {
            LOG.error("stop sequence failed during shutdown", e.getCause());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void submit(Runnable transition) {
        try {
            writer.execute(transition);
        } catch (RejectedExecutionException e) {
            throw new ShuttingDownException();
        }
    }

    /** Thrown to a request that arrives while the core shuts down. */
    public static final class ShuttingDownException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ShuttingDownException() {
            super("the core is shutting down");
        }
    }

    // ---- transitions, all on the writer thread ----

    private void runStart(long request, Payload payload, boolean automatic) {
        if (!automatic) {
            begunRequest = request;
            if (request < latestRequest) {
                LOG.debug("start superseded by a later request", "request", request);
                return;
            }
            restartToken++;
            restartsInARow = 0;
        }
        // Learnt only now: a start that a later request superseded teaches no secrets.
        output.redactor().learn(payload.values());
        boolean restart = active != null || automatic;
        Instant began = Instant.now();
        publish(published.get().starting(restart));
        LOG.info(automatic ? "restarting after the workload ended" : restart ? "restart requested" : "start requested",
                "payload", Redactor.masked(payload.values()));
        if (active != null) {
            List<String> problems = stopSequence(false);
            if (!problems.isEmpty()) {
                LOG.warn("stopping the previous workload reported problems", "problems", String.join("; ", problems));
            }
        }
        lastPayload = payload;
        try {
            runPrivilegedPreStart();
            if (trafficControl.enabled()) {
                applyTrafficControl(payload);
            }
            AdapterCalls.run("pre_start hook", timeouts.hookTimeout(), () -> adapter.preStart(payload, context));
            Workload workload = AdapterCalls.call("start", timeouts.startTimeout(),
                    () -> adapter.start(payload, context), Lifecycle::endLateWorkload);
            if (workload == null) {
                throw new StartFailure("adapter start returned no workload");
            }
            long generation = ++generations;
            active = workload;
            activeSince = began;
            activeStartTicks = workload.pid().isPresent() ? ProcessTree.startTicks(workload.pid().getAsLong()) : OptionalLong.empty();
            activeGeneration = generation;
            workload.exit().whenComplete((code, error) -> exited(generation, code, error));
            Long pid = workload.pid().isPresent() ? workload.pid().getAsLong() : null;
            publish(published.get().running(pid, Instant.now()));
            Duration took = Duration.between(began, Instant.now());
            timings.started(took);
            LOG.info("workload running", "pid", pid == null ? "none" : pid, "start_ms", took.toMillis());
        } catch (Exception e) {
            String reason = output.redactor().redact(Log.describe(e));
            LOG.error("start failed", "reason", reason);
            List<String> problems = stopSequence(false);
            if (!problems.isEmpty()) {
                LOG.warn("cleanup after the failed start reported problems", "problems", String.join("; ", problems));
            }
            publish(published.get().ended(Phase.FAILED, null, reason, Instant.now()));
        }
    }

    private void runStop(long request, boolean force) {
        begunRequest = request;
        if (request < latestRequest) {
            LOG.debug("stop superseded by a later request", "request", request);
            return;
        }
        restartToken++;
        Snapshot before = published.get();
        if (active == null) {
            if (before.phase() == Phase.IDLE || before.phase() == Phase.BACKOFF) {
                publish(before.ended(Phase.STOPPED, before.exitCode(), null, Instant.now()));
            }
            return;
        }
        Instant began = Instant.now();
        LOG.info(force ? "forced stop requested" : "stop requested");
        publish(before.stopping());
        List<String> problems = stopSequence(force);
        Duration took = Duration.between(began, Instant.now());
        timings.stopped(took);
        if (problems.isEmpty()) {
            publish(published.get().ended(Phase.STOPPED, lastExitCode, null, Instant.now()));
            LOG.info("workload stopped", "stop_ms", took.toMillis());
        } else {
            String reason = String.join("; ", problems);
            publish(published.get().ended(Phase.FAILED, lastExitCode, reason, Instant.now()));
            LOG.error("stop sequence failed", "reason", reason);
        }
    }

    private void runShutdownStop() {
        begunRequest = latestRequest;
        restartToken++;
        if (active != null) {
            LOG.info("stopping the workload before exit");
            publish(published.get().stopping());
            List<String> problems = stopSequence(false);
            publish(published.get().ended(problems.isEmpty() ? Phase.STOPPED : Phase.FAILED, lastExitCode,
                    problems.isEmpty() ? null : String.join("; ", problems), Instant.now()));
        }
    }

    private UpdateOutcome runUpdate(Payload payload) {
        if (active == null || published.get().phase() != Phase.RUNNING) {
            return new UpdateOutcome.NotRunning();
        }
        boolean shaping = trafficControl.enabled() && trafficPlan.mentions(payload);
        if (shaping) {
            try {
                TrafficShape current = shaper.applied().orElse(new TrafficShape(0, 0, 0, 0));
                shaper.shape(trafficPlan.forUpdate(payload, current));
            } catch (TrafficPlan.InvalidValue | IllegalStateException e) {
                return new UpdateOutcome.Failed("traffic control: " + e.getMessage());
            }
        }
        Payload rest = shaping ? trafficPlan.withoutShaping(payload) : payload;
        if (shaping && rest.values().isEmpty()) {
            LOG.info("update handled", "result", "traffic shaping changed");
            return new UpdateOutcome.Answered(UpdateResult.APPLIED);
        }
        try {
            UpdateResult result = AdapterCalls.call("update", timeouts.updateTimeout(), () -> adapter.update(rest), ignored -> { });
            if (result == null) {
                return new UpdateOutcome.Failed("adapter update returned no result");
            }
            LOG.info("update handled", "result", result);
            return new UpdateOutcome.Answered(result);
        } catch (AdapterCallException e) {
            LOG.error("update failed", "reason", e.getMessage());
            return new UpdateOutcome.Failed(e.getMessage());
        }
    }

    private void exited(long generation, Integer code, Throwable error) {
        try {
            writer.execute(() -> runExited(generation, code, error));
        } catch (RejectedExecutionException e) {
            // The core is shutting down; its stop sequence deals with the workload.
        }
    }

    private void runExited(long generation, Integer code, Throwable error) {
        if (generation != activeGeneration || active == null) {
            return;
        }
        int exitCode = code != null ? code : -1;
        String reason = error != null ? "workload watch failed: " + Log.describe(error)
                : exitCode == 0 ? null : "workload exited with code " + exitCode + signalSuffix(exitCode);
        boolean stableRun = Duration.between(activeSince, Instant.now()).compareTo(STABLE_RUN) >= 0;
        LOG.warn("workload exited on its own", "exit_code", exitCode);
        notifyExit(new WorkloadExit(exitCode, false, output.tailText(EXIT_TAIL_LINES, WorkloadOutput.Stream.STDOUT),
                output.tailText(EXIT_TAIL_LINES, WorkloadOutput.Stream.STDERR)));
        List<String> problems = stopSequence(false);
        if (!problems.isEmpty()) {
            reason = (reason == null ? "" : reason + "; ") + String.join("; ", problems);
        }
        if (stableRun) {
            restartsInARow = 0;
        }
        if (restartPolicy.wanted(exitCode) && lastPayload != null) {
            if (restartPolicy.allows(restartsInARow)) {
                restartsInARow++;
                Duration wait = restartPolicy.backoff(restartsInARow);
                long token = restartToken;
                Payload payload = lastPayload;
                publish(published.get().ended(Phase.BACKOFF, exitCode, reason, Instant.now()));
                LOG.info("restarting after backoff", "attempt", restartsInARow, "backoff_ms", wait.toMillis());
                timer.schedule(() -> submitAutomaticRestart(token, payload), wait.toMillis(), TimeUnit.MILLISECONDS);
                return;
            }
            reason = (reason == null ? "" : reason + "; ") + "gave up after " + restartsInARow + " restarts in a row";
        }
        publish(published.get().ended(reason == null ? Phase.EXITED : Phase.FAILED, exitCode, reason, Instant.now()));
    }

    private void submitAutomaticRestart(long token, Payload payload) {
        try {
            writer.execute(() -> {
                if (token != restartToken || active != null) {
                    return;
                }
                runStart(0, payload, true);
            });
        } catch (RejectedExecutionException e) {
            // Shutting down: no restart.
        }
    }

    private static String signalSuffix(int exitCode) {
        return exitCode > 128 ? Signals.name(exitCode - 128).map(name -> " (SIG" + name + ")").orElse("") : "";
    }

    /**
     * The stop sequence: the adapter's stop, then making sure nothing of the workload's process
     * tree survives (its descendants, its process group, and orphans it left to the core), the
     * adapter's post-stop hook, and the privileged post-stop commands. Every step runs even when
     * an earlier one failed.
     *
     * @return the problems met, empty when all went well
     */
    private List<String> stopSequence(boolean force) {
        var problems = new ArrayList<String>();
        Workload workload = active;
        Long pid = workload != null && workload.pid().isPresent() ? workload.pid().getAsLong() : null;
        boolean group = workload instanceof ManagedProcess managed && managed.ownProcessGroup();
        boolean alreadyEnded = workload == null || exitCodeIfEnded(workload) != null;
        if (force && pid != null) {
            ProcessTree.terminate(pid, Signals.KILL, Duration.ZERO, group);
        }
        try {
            AdapterCalls.run("stop", timeouts.stopTimeout(), adapter::stop);
        } catch (AdapterCallException e) {
            problems.add(e.getMessage());
        }
        lastExitCode = null;
        if (workload != null) {
            Integer code = awaitExit(workload, pid == null ? Duration.ZERO : EXIT_WAIT_AFTER_STOP);
            if (code == null && pid != null) {
                LOG.warn("workload still alive after the adapter's stop; ending its process tree", "pid", pid);
                ProcessTree.terminate(pid, Signals.TERM, EXIT_WAIT_AFTER_STOP, group);
                code = awaitExit(workload, EXIT_WAIT_AFTER_STOP);
            }
            if (group && pid != null) {
                Native.kill(-pid, Signals.KILL);
            }
            int leftovers = ProcessTree.killAdoptedSince(activeStartTicks);
            if (leftovers > 0) {
                LOG.warn("killed processes the workload left behind", "count", leftovers);
            }
            lastExitCode = code;
            if (!alreadyEnded) {
                notifyExit(new WorkloadExit(code == null ? -1 : code, true,
                        output.tailText(EXIT_TAIL_LINES, WorkloadOutput.Stream.STDOUT),
                        output.tailText(EXIT_TAIL_LINES, WorkloadOutput.Stream.STDERR)));
            }
        }
        active = null;
        activeGeneration = 0;
        try {
            AdapterCalls.run("post_stop hook", timeouts.hookTimeout(), () -> adapter.postStop(context));
        } catch (AdapterCallException e) {
            problems.add(e.getMessage());
        }
        if (shaper.applied().isPresent()) {
            shaper.clear();
        }
        for (List<String> command : privileged ? privilegedCommands.postStop() : List.<List<String>>of()) {
            try {
                PrivilegedCommands.run(command, privilegedCommands.timeout());
            } catch (PrivilegedCommands.CommandFailedException e) {
                LOG.warn("post_stop command failed", "reason", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problems.add("interrupted during post_stop commands");
                break;
            }
        }
        return problems;
    }

    private void applyTrafficControl(Payload payload) throws StartFailure, AdapterCallException {
        if (!shaper.available()) {
            throw new StartFailure("traffic_control.enabled is set, but " + shaper.unavailableReason());
        }
        Payload adjusted = AdapterCalls.call("traffic control hook", timeouts.hookTimeout(),
                () -> adapter.beforeTrafficControl(payload), ignored -> { });
        try {
            shaper.shape(trafficPlan.forStart(adjusted == null ? payload : adjusted));
        } catch (TrafficPlan.InvalidValue | IllegalStateException e) {
            throw new StartFailure("traffic control: " + e.getMessage());
        }
    }

    private void runPrivilegedPreStart() throws StartFailure, InterruptedException {
        if (!privilegedCommands.preStart().isEmpty() && !privileged) {
            throw new StartFailure("privileged_commands.pre_start is set, but privileged commands need the core to run as root");
        }
        for (List<String> command : privilegedCommands.preStart()) {
            try {
                PrivilegedCommands.run(command, privilegedCommands.timeout());
            } catch (PrivilegedCommands.CommandFailedException e) {
                if (privilegedCommands.failOnError()) {
                    throw new StartFailure(e.getMessage());
                }
                LOG.warn("pre_start command failed; going on (privileged_commands.on_error: warn)", "reason", e.getMessage());
            }
        }
    }

    private void notifyExit(WorkloadExit exit) {
        try {
            AdapterCalls.run("exit hook", timeouts.hookTimeout(), () -> adapter.onWorkloadExit(exit));
        } catch (AdapterCallException e) {
            LOG.warn("adapter exit hook failed", "reason", e.getMessage());
        }
    }

    private void publish(Snapshot next) {
        String error = next.lastError();
        String redacted = output.redactor().redact(error);
        published.set(java.util.Objects.equals(error, redacted) ? next
                : new Snapshot(next.phase(), next.adapterName(), next.pid(), next.startedAt(), next.stoppedAt(),
                        next.exitCode(), next.restarts(), redacted));
    }

    private static Integer exitCodeIfEnded(Workload workload) {
        var future = workload.exit().toCompletableFuture();
        if (!future.isDone() || future.isCompletedExceptionally()) {
            return null;
        }
        return future.join();
    }

    private static Integer awaitExit(Workload workload, Duration wait) {
        try {
            return workload.exit().toCompletableFuture().get(wait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static void endLateWorkload(Workload late) {
        LOG.warn("adapter start returned after its timeout; ending the workload it started");
        late.pid().ifPresent(pid -> ProcessTree.terminate(pid, Signals.KILL, Duration.ZERO,
                late instanceof ManagedProcess managed && managed.ownProcessGroup()));
    }

    /** A start that cannot go on, for a reason the core found itself. */
    private static final class StartFailure extends Exception {
        private static final long serialVersionUID = 1L;

        StartFailure(String message) {
            super(message);
        }
    }
}
