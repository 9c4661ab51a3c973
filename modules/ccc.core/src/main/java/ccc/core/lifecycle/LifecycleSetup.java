package ccc.core.lifecycle;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.core.config.CoreConfig;
import ccc.core.process.ProcessAdapter;
import ccc.core.process.ProcessControl;
import ccc.core.process.WorkloadOutput;
import ccc.core.traffic.Shaper;
import ccc.core.traffic.TrafficPlan;
import java.util.List;
import java.util.Optional;

/**
 * Everything a {@link Lifecycle} works with, wired by the supervisor.
 *
 * @param adapterName how the adapter is named in {@code /api/status}
 * @param adapter the adapter: its hooks always, and the workload itself unless {@code processAdapter} runs it
 * @param processAdapter the built-in process adapter, when the core runs the workload itself
 * @param privileged whether the core runs as root, so privileged commands may run
 * @param workloadUser the user the workload is to run as, which a start refuses when its uid is 0
 * @param trafficPlan how payloads ask for shaping, when {@code traffic_control} is enabled
 * @param processes the operating system, as far as the lifecycle needs it
 * @param output the workload's output, whose last lines reach the exit hook and whose redactor masks errors
 * @param restart the restart policy for a workload that ends on its own
 * @param observers told what the lifecycle does, in this order
 */
public record LifecycleSetup(
        String adapterName,
        Adapter adapter,
        Optional<ProcessAdapter> processAdapter,
        AdapterContext context,
        CoreConfig.LifecycleTimeouts timeouts,
        CoreConfig.PrivilegedCommandsSection privilegedCommands,
        boolean privileged,
        WorkloadUser workloadUser,
        Optional<TrafficPlan> trafficPlan,
        Shaper shaper,
        ProcessControl processes,
        WorkloadOutput output,
        CoreConfig.RestartSection restart,
        List<LifecycleObserver> observers,
        Delays delays) {
}
