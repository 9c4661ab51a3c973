package ccc.core;

import ccc.api.Adapter;
import ccc.api.AdapterConfig;
import ccc.api.AdapterContext;
import ccc.api.Workload;
import ccc.core.config.CoreConfig;
import ccc.core.lifecycle.Delays;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.lifecycle.LifecycleObserver;
import ccc.core.lifecycle.LifecycleSetup;
import ccc.core.lifecycle.NoAdapter;
import ccc.core.lifecycle.Planner;
import ccc.core.lifecycle.Snapshot;
import ccc.core.lifecycle.WorkloadUser;
import ccc.core.log.Log;
import ccc.core.log.Redactor;
import ccc.core.metrics.LifecycleTimings;
import ccc.core.os.VirtualThreadServices;
import ccc.core.process.PrivilegeDrop;
import ccc.core.process.ProcessAdapter;
import ccc.core.process.ProcessLauncher;
import ccc.core.process.ProcessTree;
import ccc.core.process.Reaper;
import ccc.core.process.SystemProcessControl;
import ccc.core.process.WorkloadOutput;
import ccc.core.traffic.Shaper;
import ccc.core.traffic.TrafficPlan;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Stream;

/**
 * Everything that supervises the workload, without the HTTP API: the bound adapter (or the
 * built-in process adapter), the launcher, traffic control, the planner that checks requests and
 * the lifecycle. The core serves it over HTTP; the test kit drives it directly.
 *
 * @param adapter the adapter whose hooks and metrics the core uses
 * @param planner turns start and update requests into checked plans for the lifecycle
 * @param shaper the traffic shaper, which must learn the ports the API listens on
 * @param launcher starts workloads, and removes their directory at shutdown
 */
public record Supervisor(
        CoreConfig config,
        Adapter adapter,
        Planner planner,
        Lifecycle lifecycle,
        WorkloadOutput output,
        LifecycleTimings timings,
        Shaper shaper,
        ProcessLauncher launcher) {

    private static final int OUTPUT_LINES_KEPT = 2000;
    private static final Log LOG = Log.named("core");

    /**
     * Wires the parts. With {@code process_management.enabled} the core runs the configured
     * command itself and {@code adapter}, when present, only adds hooks and metrics; otherwise
     * {@code adapter} runs the workload.
     */
    public static Supervisor create(CoreConfig config, Optional<Adapter> adapter, String adapterName, PrivilegeDrop privilegeDrop) {
        return create(config, adapter, adapterName, privilegeDrop, List.of());
    }

    /** As {@link #create(CoreConfig, Optional, String, PrivilegeDrop)}, with {@code observers} told of the lifecycle's events too. */
    public static Supervisor create(CoreConfig config, Optional<Adapter> adapter, String adapterName, PrivilegeDrop privilegeDrop,
                                    List<LifecycleObserver> observers) {
        return create(config, adapter, adapterName, privilegeDrop, observers, CompletableFuture.completedFuture(null));
    }

    /**
     * As {@link #create(CoreConfig, Optional, String, PrivilegeDrop, List)}, but the reaper is set
     * up and the system calls are linked only once {@code setUpAfter} completes (the core passes
     * its listening): until then they would take a CPU from the start-up that the first answer
     * waits for, and no launch can come before anyway. Launches wait for both.
     */
    public static Supervisor create(CoreConfig config, Optional<Adapter> adapter, String adapterName, PrivilegeDrop privilegeDrop,
                                    List<LifecycleObserver> observers, CompletionStage<?> setUpAfter) {
        if (adapter.isEmpty() && !config.processManagement().enabled()) {
            throw new IllegalArgumentException("an adapter is needed unless process_management is enabled");
        }
        // The reaper is set up, then the calls that start a workload and end a tree are linked (kill(2) among them, which the
        // fatal-error handler needs) and the virtual threads' own platform threads started, each off the start-up path;
        // launches wait for all of it, so a workload that takes every place for a thread finds them there.
        var reaperReady = setUpAfter.thenCompose(ignored -> Reaper.startInBackground()).thenApplyAsync(adopting -> {
            ProcessLauncher.linkSystemCalls();
            ProcessTree.linkSystemCalls();
            try {
                VirtualThreadServices.start();
            } catch (java.io.IOException | InterruptedException e) {
                LOG.warn("the virtual threads' poller and timer were not started ahead; their first use starts them", "reason", e.toString());
            }
            return adopting;
        }, runnable -> Thread.ofVirtual().name("link-system-calls").start(runnable)).toCompletableFuture();
        // This supervisor's secrets: its components' log lines, its answers and its workload's output are masked with them.
        var output = new WorkloadOutput(OUTPUT_LINES_KEPT, new Redactor());
        var launcher = new ProcessLauncher(privilegeDrop, config.adapter().runAsUser(), config.adapter().envPassthrough(),
                output, reaperReady);
        var shaper = Shaper.system(config.trafficControl().networkInterface(), privilegeDrop.runningAsRoot());
        AdapterContext context = new CoreAdapterContext(new AdapterConfig(config.adapter().values()), launcher, shaper, adapterName);
        Optional<ProcessAdapter> processAdapter = config.processManagement().enabled()
                ? Optional.of(new ProcessAdapter(config.processManagement(), launcher))
                : Optional.empty();
        Optional<TrafficPlan> trafficPlan = config.trafficControl().enabled()
                ? Optional.of(new TrafficPlan(config.trafficControl()))
                : Optional.empty();
        Adapter hooks = adapter.orElseGet(NoAdapter::new);
        var restart = processAdapter.isPresent() ? config.processManagement().restart() : CoreConfig.RestartSection.NEVER;
        var timings = new LifecycleTimings();
        var lifecycle = new Lifecycle(new LifecycleSetup(adapterName, hooks, processAdapter, context, config.lifecycle(),
                config.privilegedCommands(), privilegeDrop.runningAsRoot(),
                new WorkloadUser(config.adapter().runAsUser(), privilegeDrop::account), trafficPlan, shaper, new SystemProcessControl(),
                output, restart, Stream.<LifecycleObserver>concat(Stream.of(timings, phaseChangesTo(launcher)), observers.stream()).toList(),
                Delays.onTimerThread()));
        var planner = new Planner(config.adapter().primaryPayloadKey(), processAdapter, trafficPlan);
        return new Supervisor(config, hooks, planner, lifecycle, output, timings, shaper, launcher);
    }

    /** Tells {@code launcher} of each change of phase, so that it starts helpers between transitions, not during them. */
    private static LifecycleObserver phaseChangesTo(ProcessLauncher launcher) {
        return new LifecycleObserver() {
            @Override
            public void published(Snapshot snapshot) {
                launcher.noteActivity();
            }
        };
    }
}
