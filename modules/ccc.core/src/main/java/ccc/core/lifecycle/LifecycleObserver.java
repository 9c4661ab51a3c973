package ccc.core.lifecycle;

import ccc.api.WorkloadExit;
import java.time.Duration;

/**
 * Told what the lifecycle does: how long each start and stop sequence took (for the
 * {@code ccc_*} duration metrics), every snapshot it publishes, every exit of the workload, every
 * restart it schedules, every control request it takes on, when it shuts down, and when the
 * workload has ended for good. Called on the lifecycle's writer thread unless a method says
 * otherwise, so an observer returns at once and never throws. A lifecycle tells its observers in
 * the order it was given them; each method does nothing unless overridden.
 */
public interface LifecycleObserver {

    /** A start sequence that ended with the workload running. */
    default void started(Duration took) {
    }

    /** A stop sequence that ended. */
    default void stopped(Duration took) {
    }

    /**
     * The workload ended and nothing will start it again by itself: it ended on its own and the
     * restart policy does not restart it (or gave up), or a start failed or was refused. Not
     * called for a stop that was asked for. {@code last} is the snapshot just published.
     */
    default void endedForGood(Snapshot last) {
    }

    /** A snapshot was published; {@code snapshot} is what {@code /api/status} shows from now on. */
    default void published(Snapshot snapshot) {
    }

    /** The workload ended, on its own or stopped, with its last output lines. */
    default void exited(WorkloadExit exit) {
    }

    /** The restart policy starts the workload again after {@code delay}: attempt {@code attempt} in a row. */
    default void restartScheduled(int attempt, Duration delay) {
    }

    /**
     * A control request was taken on: a start or a stop as it is queued (on the caller's thread,
     * before its transition can run), an update or a signal once it has run (on the writer thread).
     */
    default void accepted(ControlRequest request) {
    }

    /** The core is shutting down: the stop sequence follows, within {@code grace}. On the caller's thread. */
    default void shuttingDown(Duration grace) {
    }

    /** Observes nothing. */
    LifecycleObserver NONE = new LifecycleObserver() {
    };
}
