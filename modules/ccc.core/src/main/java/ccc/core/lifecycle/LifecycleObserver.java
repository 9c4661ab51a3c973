package ccc.core.lifecycle;

import java.time.Duration;

/**
 * Told how long each start and stop sequence took, for the {@code ccc_*} duration metrics, and
 * when the workload has ended for good. Called on the lifecycle's writer thread: an observer
 * returns at once.
 */
public interface LifecycleObserver {

    /** A start sequence that ended with the workload running. */
    void started(Duration took);

    /** A stop sequence that ended. */
    void stopped(Duration took);

    /**
     * The workload ended and nothing will start it again by itself: it ended on its own and the
     * restart policy does not restart it (or gave up), or a start failed or was refused. Not
     * called for a stop that was asked for. {@code last} is the snapshot just published.
     */
    default void endedForGood(Snapshot last) {
    }

    /** This observer, then {@code next}. */
    default LifecycleObserver andThen(LifecycleObserver next) {
        LifecycleObserver first = this;
        return new LifecycleObserver() {
            @Override
            public void started(Duration took) {
                first.started(took);
                next.started(took);
            }

            @Override
            public void stopped(Duration took) {
                first.stopped(took);
                next.stopped(took);
            }

            @Override
            public void endedForGood(Snapshot last) {
                first.endedForGood(last);
                next.endedForGood(last);
            }
        };
    }

    /** Observes nothing. */
    LifecycleObserver NONE = new LifecycleObserver() {
        @Override
        public void started(Duration took) {
        }

        @Override
        public void stopped(Duration took) {
        }
    };
}
