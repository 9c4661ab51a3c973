package ccc.core.lifecycle;

/** What became of a {@code /api/signal}. */
public enum SignalOutcome {
    /** The signal reached the workload's process. */
    DELIVERED,
    /** No workload process runs to receive it. */
    NOT_RUNNING
}
