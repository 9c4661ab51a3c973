package ccc.core.lifecycle;

import ccc.core.log.Timestamps;
import ccc.core.os.Signals;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * An immutable picture of the lifecycle, published atomically by the lifecycle's one writer
 * and read by every request without waiting.
 *
 * @param pid the workload's process id, while one runs
 * @param exitCode the last exit code, once a workload has ended
 * @param failures why the last start, stop or run failed, in the order they happened; empty when it did not
 * @param restarts how often a running workload was started again
 */
public record Snapshot(
        Phase phase,
        String adapterName,
        OptionalLong pid,
        Optional<Instant> startedAt,
        Optional<Instant> stoppedAt,
        OptionalInt exitCode,
        int restarts,
        List<Failure> failures) {

    public Snapshot {
        failures = List.copyOf(failures);
    }

    static Snapshot initial(String adapterName) {
        return new Snapshot(Phase.IDLE, adapterName, OptionalLong.empty(), Optional.empty(), Optional.empty(),
                OptionalInt.empty(), 0, List.of());
    }

    public String appStatus() {
        return phase.appStatus();
    }

    /** {@code last_error} as served: the failures' messages, or empty when nothing failed. */
    public Optional<String> lastError() {
        return failures.isEmpty() ? Optional.empty() : Optional.of(Failure.render(failures));
    }

    /**
     * What {@code /api/status} shows of this snapshot, as it renders it, but its {@code timestamp}:
     * the one rendering of a snapshot, which the phase events of {@code /api/events} share.
     */
    public Map<String, Object> wireFields() {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("app_status", appStatus());
        fields.put("container_status", "running");
        fields.put("phase", phase.wireName());
        fields.put("adapter", adapterName);
        fields.put("pid", pid.isPresent() ? pid.getAsLong() : null);
        fields.put("started_at", startedAt.map(Timestamps::format).orElse(null));
        fields.put("stopped_at", stoppedAt.map(Timestamps::format).orElse(null));
        fields.put("exit_code", exitCode.isPresent() ? exitCode.getAsInt() : null);
        fields.put("exit_signal", exitSignal(exitCode).orElse(null));
        fields.put("restarts", restarts);
        fields.put("last_error", lastError().orElse(null));
        return fields;
    }

    /** The signal an exit code above 128 says the workload died of, as {@code TERM}. */
    public static Optional<String> exitSignal(OptionalInt exitCode) {
        return exitCode.isPresent() && exitCode.getAsInt() > 128 ? Signals.name(exitCode.getAsInt() - 128) : Optional.empty();
    }

    Snapshot starting(boolean restart) {
        return new Snapshot(Phase.STARTING, adapterName, OptionalLong.empty(), Optional.empty(), Optional.empty(),
                OptionalInt.empty(), restart ? restarts + 1 : restarts, List.of());
    }

    Snapshot running(OptionalLong processId, Instant at) {
        return new Snapshot(Phase.RUNNING, adapterName, processId, Optional.of(at), Optional.empty(), OptionalInt.empty(),
                restarts, List.of());
    }

    Snapshot stopping() {
        return new Snapshot(Phase.STOPPING, adapterName, pid, startedAt, Optional.empty(), OptionalInt.empty(), restarts, failures);
    }

    Snapshot ended(Phase end, OptionalInt code, List<Failure> why, Instant at) {
        return new Snapshot(end, adapterName, OptionalLong.empty(), startedAt, Optional.of(at), code, restarts, why);
    }

    /** This snapshot as a pending start shows it before the writer has begun the start. */
    Snapshot pendingStart() {
        return new Snapshot(Phase.STARTING, adapterName, pid, startedAt, stoppedAt, exitCode, restarts, failures);
    }
}
