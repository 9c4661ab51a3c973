package ccc.core.lifecycle;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs a task after a delay: the restart policy's backoff. Unit tests run the tasks themselves. */
public interface Delays {

    /** Runs {@code task} once {@code delay} has passed, unless closed before. */
    void after(Duration delay, Runnable task);

    /** Drops every pending task. */
    void close();

    /** Delays on one daemon platform thread. */
    static Delays onTimerThread() {
        ScheduledExecutorService timer =
                Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("lifecycle-timer").daemon(true).factory());
        return new Delays() {
            @Override
            public void after(Duration delay, Runnable task) {
                try {
                    timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // Closed: shutting down, so nothing restarts.
                }
            }

            @Override
            public void close() {
                timer.shutdownNow();
            }
        };
    }
}
