package ccc.core;

import ccc.api.Adapter;
import ccc.api.AdapterConfig;
import ccc.core.config.CoreConfig;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.log.Log;
import ccc.core.log.Redactor;
import ccc.core.metrics.LifecycleTimings;
import ccc.core.process.PrivilegeDrop;
import ccc.core.process.ProcessAdapter;
import ccc.core.process.ProcessLauncher;
import ccc.core.process.Reaper;
import ccc.core.process.WorkloadOutput;
import ccc.core.traffic.Shaper;
import java.util.Optional;

/**
 * Everything that supervises the workload, without the HTTP API: the bound adapter (or the
 * built-in process adapter), the launcher, traffic control and the lifecycle. The core serves
 * it over HTTP; the test kit drives it directly.
 *
 * @param adapter the adapter the lifecycle calls
 * @param processAdapter the built-in process adapter, when {@code process_management} is enabled
 */
public record Supervisor(
        CoreConfig config,
        Adapter adapter,
        Optional<ProcessAdapter> processAdapter,
        Lifecycle lifecycle,
        WorkloadOutput output,
        LifecycleTimings timings) {

    private static final int OUTPUT_LINES_KEPT = 2000;

    /**
     * Wires the parts. With {@code process_management.enabled} the core runs the configured
     * command itself and {@code adapter}, when present, only adds hooks and metrics; otherwise
     * {@code adapter} runs the workload.
     */
    public static Supervisor create(CoreConfig config, Optional<Adapter> adapter, String adapterName, PrivilegeDrop privilegeDrop) {
        var reaperReady = Reaper.startInBackground();
        var redactor = new Redactor();
        Log.redactWith(redactor);
        var output = new WorkloadOutput(OUTPUT_LINES_KEPT, redactor);
        var launcher = new ProcessLauncher(privilegeDrop, config.adapter().runAsUser(), config.adapter().envPassthrough(),
                output, reaperReady);
        var shaper = Shaper.system(config.trafficControl().networkInterface(), privilegeDrop.runningAsRoot());
        var context = new CoreAdapterContext(new AdapterConfig(config.adapter().values()), launcher, shaper, adapterName);
        Optional<ProcessAdapter> processAdapter = config.processManagement().enabled()
                ? Optional.of(new ProcessAdapter(config.processManagement(), launcher, adapter))
                : Optional.empty();
        Adapter bound = processAdapter.<Adapter>map(a -> a).orElseGet(() -> adapter.orElseThrow(
                () -> new IllegalArgumentException("an adapter is needed unless process_management is enabled")));
        var restart = config.processManagement().enabled() ? config.processManagement().restart() : CoreConfig.Restart.NEVER;
        var timings = new LifecycleTimings();
        var lifecycle = new Lifecycle(bound, adapterName, context, config, restart, output, timings, shaper,
                privilegeDrop.runningAsRoot());
        return new Supervisor(config, bound, processAdapter, lifecycle, output, timings);
    }
}
