package ccc.api;

import java.util.List;

/**
 * How a workload ended, handed to {@link Adapter#onWorkloadExit}.
 *
 * @param exitCode the exit code; 128 + N when killed by signal N; -1 when none is known (a workload with no process, say)
 * @param requested whether the core had asked it to stop
 * @param stdoutTail the last lines the workload wrote to stdout, when the core captured them
 * @param stderrTail the last lines the workload wrote to stderr, when the core captured them
 * @since 0.1
 */
public record WorkloadExit(int exitCode, boolean requested, List<String> stdoutTail, List<String> stderrTail) {

    public WorkloadExit {
        stdoutTail = List.copyOf(stdoutTail);
        stderrTail = List.copyOf(stderrTail);
    }
}
