package ccc.core.lifecycle;

import java.time.Instant;

/**
 * An immutable picture of the lifecycle, published atomically by the lifecycle's one writer
 * and read by every request without waiting.
 *
 * @param pid the workload's process id, or null when none is known
 * @param exitCode the last exit code, or null
 * @param lastError the reason for the last failure, or null
 * @param restarts how often a running workload was started again
 */
public record Snapshot(
        Phase phase,
        String adapterName,
        Long pid,
        Instant startedAt,
        Instant stoppedAt,
        Integer exitCode,
        int restarts,
        String lastError) {

    static Snapshot initial(String adapterName) {
        return new Snapshot(Phase.IDLE, adapterName, null, null, null, null, 0, null);
    }

    public String appStatus() {
        return phase.appStatus();
    }

    Snapshot starting(boolean restart) {
        return new Snapshot(Phase.STARTING, adapterName, null, null, null, null, restart ? restarts + 1 : restarts, null);
    }

    Snapshot running(Long processId, Instant at) {
        return new Snapshot(Phase.RUNNING, adapterName, processId, at, null, null, restarts, null);
    }

    Snapshot stopping() {
        return new Snapshot(Phase.STOPPING, adapterName, pid, startedAt, null, null, restarts, lastError);
    }

    Snapshot ended(Phase end, Integer code, String error, Instant at) {
        return new Snapshot(end, adapterName, null, startedAt, at, code, restarts, error);
    }

    /** This snapshot as a pending start shows it before the writer has begun the start. */
    Snapshot pendingStart() {
        return new Snapshot(Phase.STARTING, adapterName, pid, startedAt, stoppedAt, exitCode, restarts, lastError);
    }
}
