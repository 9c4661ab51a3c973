package ccc.core.lifecycle;

import ccc.api.Workload;
import ccc.core.process.WorkloadTree;
import java.time.Duration;
import java.time.Instant;

/**
 * The workload the lifecycle has running, with what the stop sequence needs to end it.
 *
 * @param tree its processes, for ending them whole
 * @param stop how it is asked to stop
 * @param generation which start it came from: an exit of an earlier one is ignored
 * @param since when its start sequence began
 * @param output the lines it wrote, whose last ones its exit tells of
 */
record RunningWorkload(Workload workload, WorkloadTree tree, StopPolicy stop, long generation, Instant since, RunOutput output) {

    /**
     * How a workload is stopped: by the adapter's {@code stop()} first (when {@code adapterStops}),
     * then {@code signal} to whatever of its tree is left, then SIGKILL when {@code grace}, counted
     * from the stop's beginning, runs out.
     */
    record StopPolicy(boolean adapterStops, int signal, Duration grace) {
    }
}
