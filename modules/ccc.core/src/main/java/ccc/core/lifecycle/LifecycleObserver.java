package ccc.core.lifecycle;

import java.time.Duration;

/** Told how long each start and stop sequence took, for the {@code ccc_*} duration metrics. */
public interface LifecycleObserver {

    /** A start sequence that ended with the workload running. */
    void started(Duration took);

    /** A stop sequence that ended. */
    void stopped(Duration took);

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
