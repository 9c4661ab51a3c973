package ccc.core.log;

import java.util.Locale;

/**
 * The steps of one transition and how long each took, logged at DEBUG as one line when the
 * transition ends, so that a slow start or stop shows where its milliseconds went. With DEBUG
 * off it records nothing and costs two clock reads.
 */
public final class Timeline {

    private static final Log LOG = Log.named("timeline");

    private final String transition;
    private final long began;
    private final StringBuilder steps;
    private long last;

    private Timeline(String transition, long began, boolean recording) {
        this.transition = transition;
        this.began = began;
        this.last = began;
        this.steps = recording ? new StringBuilder(160) : null;
    }

    /** A timeline of {@code transition} (start, restart, stop, exit, ...) beginning now. */
    public static Timeline begin(String transition) {
        return new Timeline(transition, System.nanoTime(), LOG.enabled(Level.DEBUG));
    }

    /** A timeline that records nothing, for sequences run outside a transition. */
    public static Timeline none() {
        return new Timeline("", System.nanoTime(), false);
    }

    /** Marks the end of {@code step}, which began where the previous step ended. */
    public void step(String step) {
        if (steps == null) {
            return;
        }
        long now = System.nanoTime();
        if (!steps.isEmpty()) {
            steps.append(' ');
        }
        steps.append(step).append('=').append(millis(now - last));
        last = now;
    }

    /** Logs the steps at DEBUG, with the whole transition's duration. */
    public void end() {
        if (steps != null) {
            LOG.debug("transition", "transition", transition, "total_ms", millis(System.nanoTime() - began), "steps_ms", steps);
        }
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }
}
