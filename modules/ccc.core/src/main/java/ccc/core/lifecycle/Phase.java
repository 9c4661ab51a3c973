package ccc.core.lifecycle;

/**
 * Where the workload is in its lifecycle: finer than {@code app_status}, which Showrunner
 * compares against exactly four strings.
 */
public enum Phase {
    /** Nothing was started since the core came up. */
    IDLE("initializing"),
    /** A start (or restart) sequence is running. */
    STARTING("initializing"),
    /** The workload runs. */
    RUNNING("running"),
    /** A stop sequence is running; the workload may still be alive. */
    STOPPING("running"),
    /** Stopped on request. */
    STOPPED("stopped"),
    /** Ended on its own with exit code 0. */
    EXITED("stopped"),
    /** The workload ended on its own and the restart policy starts it again after a backoff. */
    BACKOFF("initializing"),
    /** A start failed, a hook failed, or the workload ended on its own with a non-zero code. */
    FAILED("error");

    private final String appStatus;

    Phase(String appStatus) {
        this.appStatus = appStatus;
    }

    /** The value of {@code app_status} on the wire. */
    public String appStatus() {
        return appStatus;
    }

    /** Whether a workload may be alive in this phase. */
    public boolean active() {
        return this == STARTING || this == RUNNING || this == STOPPING;
    }

    /** The name served in {@code /api/status}. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
