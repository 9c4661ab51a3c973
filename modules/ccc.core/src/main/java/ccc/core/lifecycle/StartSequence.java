package ccc.core.lifecycle;

import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.api.Workload;
import ccc.core.log.Log;
import ccc.core.log.Timeline;
import ccc.core.process.ManagedProcess;
import ccc.core.process.PrivilegedCommands;
import ccc.core.os.Signals;
import ccc.core.process.WorkloadTree;
import ccc.core.traffic.TrafficPlan;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The start sequence: privileged pre-start commands, traffic control, the adapter's pre-start
 * hook, then the workload itself, started by the adapter or, with {@code process_management},
 * by the core.
 */
final class StartSequence {

    private final Log log;

    /** A start that cannot go on; the stop sequence cleans up after it. */
    static final class Failed extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient Failure failure;

        Failed(Failure failure) {
            super(failure.message(), failure.cause().orElse(null), false, false);
            this.failure = failure;
        }

        Failure failure() {
            return failure;
        }
    }

    private final LifecycleSetup setup;
    private final StopSequence stopping;

    StartSequence(LifecycleSetup setup, StopSequence stopping, Log log) {
        this.setup = setup;
        this.stopping = stopping;
        this.log = log;
    }

    /** Runs the sequence, marking each step on {@code timeline}; returns the workload running. */
    RunningWorkload run(StartPlan plan, long generation, Instant began, Timeline timeline) throws Failed {
        // Before anything runs for the workload: a refused user refuses the whole start.
        var refusal = setup.workloadUser().refusal();
        if (refusal.isPresent()) {
            throw new Failed(Failure.of(Failure.Kind.CORE, refusal.get()));
        }
        runPrivilegedPreStart();
        timeline.step("pre_start_commands");
        if (plan.shaping().isPresent()) {
            shape(plan);
            timeline.step("shape");
        }
        try {
            AdapterCalls.hook(setup, "pre_start hook", () -> setup.adapter().preStart(plan.payload(), setup.context()));
            timeline.step("pre_start_hook");
            long launchesBefore = setup.context() instanceof LaunchRecord record ? record.launches() : 0;
            RunOutput output = RunOutput.beginningNow(setup.output());
            Workload workload;
            try {
                workload = plan.launch().isPresent()
                        ? AdapterCalls.callHere("start", () -> setup.processAdapter().orElseThrow().start(plan.launch().get(), plan.payload()))
                        : AdapterCalls.call("start", setup.timeouts().startTimeout(), () -> setup.adapter().start(plan.payload(), setup.context()),
                                late -> {
                                    log.warn("adapter start returned after its timeout; ending the workload it started");
                                    // Only its own tree: the workload a later start runs may be running beside it.
                                    setup.processes().killOnly(treeOf(late));
                                });
            } catch (AdapterCallException e) {
                endLaunchedSince(launchesBefore);
                throw e;
            }
            timeline.step("launch");
            if (workload == null) {
                endLaunchedSince(launchesBefore);
                throw new Failed(Failure.of(Failure.Kind.ADAPTER, "adapter start returned no workload"));
            }
            WorkloadTree tree = treeOf(workload);
            timeline.step("tree");
            return new RunningWorkload(workload, tree, stopPolicy(), generation, began, output);
        } catch (AdapterCallException e) {
            throw new Failed(e.failure());
        }
    }

    /** Ends what the adapter launched through its context in a start that failed: it never handed it back to be stopped. */
    private void endLaunchedSince(long mark) {
        if (setup.context() instanceof LaunchRecord record) {
            for (WorkloadTree tree : record.runningSince(mark)) {
                log.warn("ending a process the adapter launched in its failed start", "pid", tree.pid().orElse(-1));
                stopping.endAtOnce(tree);
            }
        }
    }

    private RunningWorkload.StopPolicy stopPolicy() {
        return setup.processAdapter()
                .map(managed -> new RunningWorkload.StopPolicy(false, managed.stopSignal(), managed.stopGrace()))
                .orElseGet(() -> new RunningWorkload.StopPolicy(true, Signals.TERM, setup.timeouts().stopTimeout()));
    }

    private WorkloadTree treeOf(Workload workload) {
        if (workload instanceof ManagedProcess managed) {
            return managed.tree();
        }
        OptionalLong pid = workload.pid();
        // Every stop, signal and fatal error reaches the tree through this number: the core's own (an adapter whose
        // workload runs inside it) would have the core stop itself, and 0, 1 or -1 name the core's group, init or
        // every process to kill(2). Such a workload is watched through its exit alone, as one with no pid.
        if (pid.isPresent() && (pid.getAsLong() <= 1 || pid.getAsLong() == ProcessHandle.current().pid())) {
            log.warn("the adapter's workload gave a pid that is not a process of its own; it is never signalled through it",
                    "pid", pid.getAsLong());
            return WorkloadTree.NONE;
        }
        return new WorkloadTree(pid, false);
    }

    private void shape(StartPlan plan) throws Failed {
        if (!setup.shaper().available()) {
            throw new Failed(Failure.of(Failure.Kind.TRAFFIC_CONTROL, "traffic_control.enabled is set, but " + setup.shaper().unavailableReason()));
        }
        TrafficShape shape = plan.shaping().orElseThrow();
        try {
            Payload adjusted = AdapterCalls.call("traffic control hook", setup.timeouts().hookTimeout(),
                    () -> setup.adapter().beforeTrafficControl(plan.payload()), ignored -> { });
            if (adjusted != null && adjusted != plan.payload()) {
                // The adapter's adjusted payload is checked as a request would be.
                shape = setup.trafficPlan().orElseThrow().forStart(adjusted);
            }
            setup.shaper().shape(shape);
        } catch (AdapterCallException e) {
            throw new Failed(e.failure());
        } catch (TrafficPlan.InvalidValue | IllegalStateException e) {
            throw new Failed(new Failure(Failure.Kind.TRAFFIC_CONTROL, "traffic control: " + e.getMessage(), Optional.of(e)));
        }
    }

    private void runPrivilegedPreStart() throws Failed {
        if (!setup.privilegedCommands().preStart().isEmpty() && !setup.privileged()) {
            throw new Failed(Failure.of(Failure.Kind.CORE,
                    "privileged_commands.pre_start is set, but privileged commands need the core to run as root"));
        }
        for (List<String> command : setup.privilegedCommands().preStart()) {
            try {
                setup.processes().runPrivileged(command, setup.privilegedCommands().timeout());
            } catch (PrivilegedCommands.CommandFailedException e) {
                if (setup.privilegedCommands().failOnError()) {
                    throw new Failed(new Failure(Failure.Kind.PRIVILEGED_COMMAND, e.getMessage(), Optional.of(e)));
                }
                log.warn("pre_start command failed; going on (privileged_commands.on_error: warn)", "reason", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failed(Failure.of(Failure.Kind.CORE, "interrupted during pre_start commands"));
            }
        }
    }
}
