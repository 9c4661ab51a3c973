package ccc.core.lifecycle;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.api.Workload;
import ccc.core.config.CoreConfig;
import ccc.core.log.Log;
import ccc.core.log.Timeline;
import ccc.core.process.ManagedProcess;
import ccc.core.process.PrivilegedCommands;
import ccc.core.process.ProcessAdapter;
import ccc.core.process.ProcessControl;
import ccc.core.os.Signals;
import ccc.core.process.WorkloadTree;
import ccc.core.traffic.Shaper;
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

    private static final Log LOG = Log.named("lifecycle");

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

    private final Adapter adapter;
    private final Optional<ProcessAdapter> processAdapter;
    private final AdapterContext context;
    private final CoreConfig.LifecycleTimeouts timeouts;
    private final CoreConfig.PrivilegedCommandsSection privilegedCommands;
    private final boolean privileged;
    private final Optional<TrafficPlan> trafficPlan;
    private final Shaper shaper;
    private final ProcessControl processes;
    private final StopSequence stopping;

    StartSequence(Adapter adapter, Optional<ProcessAdapter> processAdapter, AdapterContext context, CoreConfig.LifecycleTimeouts timeouts,
                  CoreConfig.PrivilegedCommandsSection privilegedCommands, boolean privileged, Optional<TrafficPlan> trafficPlan,
                  Shaper shaper, ProcessControl processes, StopSequence stopping) {
        this.adapter = adapter;
        this.processAdapter = processAdapter;
        this.context = context;
        this.timeouts = timeouts;
        this.privilegedCommands = privilegedCommands;
        this.privileged = privileged;
        this.trafficPlan = trafficPlan;
        this.shaper = shaper;
        this.processes = processes;
        this.stopping = stopping;
    }

    /** Runs the sequence, marking each step on {@code timeline}; returns the workload running. */
    RunningWorkload run(StartPlan plan, long generation, Instant began, Timeline timeline) throws Failed {
        runPrivilegedPreStart();
        timeline.step("pre_start_commands");
        if (plan.shaping().isPresent()) {
            shape(plan);
            timeline.step("shape");
        }
        try {
            AdapterCalls.run("pre_start hook", timeouts.hookTimeout(), () -> adapter.preStart(plan.payload(), context));
            timeline.step("pre_start_hook");
            Workload workload = AdapterCalls.call("start", timeouts.startTimeout(), () -> startWorkload(plan),
                    late -> {
                        LOG.warn("adapter start returned after its timeout; ending the workload it started");
                        stopping.endAtOnce(treeOf(late));
                    });
            timeline.step("launch");
            if (workload == null) {
                throw new Failed(Failure.of(Failure.Kind.ADAPTER, "adapter start returned no workload"));
            }
            WorkloadTree tree = treeOf(workload);
            timeline.step("tree");
            return new RunningWorkload(workload, tree, stopPolicy(), generation, began);
        } catch (AdapterCallException e) {
            throw new Failed(e.failure());
        }
    }

    private Workload startWorkload(StartPlan plan) throws Exception {
        return plan.launch().isPresent()
                ? processAdapter.orElseThrow().start(plan.launch().get(), plan.payload())
                : adapter.start(plan.payload(), context);
    }

    private RunningWorkload.StopPolicy stopPolicy() {
        return processAdapter
                .map(managed -> new RunningWorkload.StopPolicy(false, managed.stopSignal(), managed.stopGrace()))
                .orElseGet(() -> new RunningWorkload.StopPolicy(true, Signals.TERM, timeouts.stopTimeout()));
    }

    private WorkloadTree treeOf(Workload workload) {
        OptionalLong pid = workload.pid();
        return new WorkloadTree(pid, workload instanceof ManagedProcess managed && managed.ownProcessGroup());
    }

    private void shape(StartPlan plan) throws Failed {
        if (!shaper.available()) {
            throw new Failed(Failure.of(Failure.Kind.TRAFFIC_CONTROL, "traffic_control.enabled is set, but " + shaper.unavailableReason()));
        }
        TrafficShape shape = plan.shaping().orElseThrow();
        try {
            Payload adjusted = AdapterCalls.call("traffic control hook", timeouts.hookTimeout(),
                    () -> adapter.beforeTrafficControl(plan.payload()), ignored -> { });
            if (adjusted != null && adjusted != plan.payload()) {
                // The adapter's adjusted payload is checked as a request would be.
                shape = trafficPlan.orElseThrow().forStart(adjusted);
            }
            shaper.shape(shape);
        } catch (AdapterCallException e) {
            throw new Failed(e.failure());
        } catch (TrafficPlan.InvalidValue | IllegalStateException e) {
            throw new Failed(new Failure(Failure.Kind.TRAFFIC_CONTROL, "traffic control: " + e.getMessage(), Optional.of(e)));
        }
    }

    private void runPrivilegedPreStart() throws Failed {
        if (!privilegedCommands.preStart().isEmpty() && !privileged) {
            throw new Failed(Failure.of(Failure.Kind.CORE,
                    "privileged_commands.pre_start is set, but privileged commands need the core to run as root"));
        }
        for (List<String> command : privilegedCommands.preStart()) {
            try {
                processes.runPrivileged(command, privilegedCommands.timeout());
            } catch (PrivilegedCommands.CommandFailedException e) {
                if (privilegedCommands.failOnError()) {
                    throw new Failed(new Failure(Failure.Kind.PRIVILEGED_COMMAND, e.getMessage(), Optional.of(e)));
                }
                LOG.warn("pre_start command failed; going on (privileged_commands.on_error: warn)", "reason", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failed(Failure.of(Failure.Kind.CORE, "interrupted during pre_start commands"));
            }
        }
    }
}
