package ccc.core.lifecycle;

/** A control request the lifecycle took on, as its observer is told of it. */
public sealed interface ControlRequest {

    /** A start (or restart), queued. */
    record Start() implements ControlRequest {
    }

    /**
     * A stop.
     *
     * @param stopping whether there was anything to stop; without, the answer was {@code nothing to stop}
     */
    record Stop(boolean force, boolean stopping) implements ControlRequest {
    }

    /** A live update the adapter (or the process adapter) was asked for, with what it answered. */
    record Update(UpdateOutcome outcome) implements ControlRequest {
    }

    /** A signal delivered to the workload's process. */
    record Signal(int number) implements ControlRequest {
    }
}
