package ccc.core.log;

import java.time.Duration;

/**
 * One background loop of the core (the reaper, the CPU sampler, an output pump, the scrape
 * threads), run so that an exception in one iteration is logged and the loop goes on. This is
 * the one place that decides what a failing iteration costs: a warning with the reason the first
 * time, then at most one line a minute while it keeps failing, and one line when it recovers.
 * Errors of the virtual machine are not caught here: they reach {@link FatalErrors}.
 */
public final class BackgroundLoop {

    /** One iteration's work. */
    @FunctionalInterface
    public interface Iteration {
        void run() throws Exception;
    }

    private static final Log LOG = Log.named("loop");
    static final Duration REPEATED_FAILURE_REPORT_EVERY = Duration.ofMinutes(1);

    private final String name;
    private long failuresInARow;
    private long failuresSinceReport;
    private long lastReportNanos;

    /** A loop named for the log, for example {@code reaper}. */
    public BackgroundLoop(String name) {
        this.name = name;
    }

    /**
     * Runs one iteration. An exception is logged and swallowed; an interruption is passed on by
     * setting the thread's interrupt flag, so the loop around can end.
     *
     * @return whether the iteration completed
     */
    public boolean iteration(Iteration body) {
        try {
            body.run();
            succeeded();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            failed(e);
            return false;
        }
    }

    /** Runs {@code body} every {@code period} until the thread is interrupted. */
    public void every(Duration period, Iteration body) {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
            iteration(body);
        }
    }

    /** How many iterations in a row have failed, for tests. */
    synchronized long failuresInARow() {
        return failuresInARow;
    }

    private synchronized void succeeded() {
        if (failuresInARow > 0) {
            LOG.info("background loop recovered", "loop", name, "failed_iterations", failuresInARow);
            failuresInARow = 0;
            failuresSinceReport = 0;
        }
    }

    private synchronized void failed(Exception error) {
        long now = System.nanoTime();
        failuresInARow++;
        failuresSinceReport++;
        if (failuresInARow == 1) {
            LOG.warn("background loop iteration failed; the loop goes on", "loop", name,
                    "error", error.getClass().getSimpleName(), "reason", Log.describe(error));
            lastReportNanos = now;
            failuresSinceReport = 0;
        } else if (now - lastReportNanos >= REPEATED_FAILURE_REPORT_EVERY.toNanos()) {
            LOG.warn("background loop still failing; the loop goes on", "loop", name,
                    "failed_iterations", failuresSinceReport, "reason", Log.describe(error));
            lastReportNanos = now;
            failuresSinceReport = 0;
        }
    }
}
