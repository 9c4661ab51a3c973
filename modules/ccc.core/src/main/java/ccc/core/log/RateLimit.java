package ccc.core.log;

import java.util.function.LongSupplier;

/**
 * A token bucket over lines and characters: each refills at its rate per second up to one
 * second's worth, and a line passes only when both buckets hold enough. Used to bound how fast
 * outside text (the workload's output) reaches the log.
 */
public final class RateLimit {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long linesPerSecond;
    private final long charsPerSecond;
    private final LongSupplier nanoTime;
    private double lines;
    private double chars;
    private long refilledAt;

    /** A limit of {@code linesPerSecond} lines and {@code charsPerSecond} characters a second, full at first. */
    public RateLimit(long linesPerSecond, long charsPerSecond) {
        this(linesPerSecond, charsPerSecond, System::nanoTime);
    }

    RateLimit(long linesPerSecond, long charsPerSecond, LongSupplier nanoTime) {
        this.linesPerSecond = linesPerSecond;
        this.charsPerSecond = charsPerSecond;
        this.nanoTime = nanoTime;
        this.lines = linesPerSecond;
        this.chars = charsPerSecond;
        this.refilledAt = nanoTime.getAsLong();
    }

    /** Takes one line of {@code length} characters from the buckets; false (and nothing taken) when they hold too little. */
    public synchronized boolean tryTake(int length) {
        long now = nanoTime.getAsLong();
        double seconds = (double) (now - refilledAt) / NANOS_PER_SECOND;
        if (seconds > 0) {
            lines = Math.min(linesPerSecond, lines + seconds * linesPerSecond);
            chars = Math.min(charsPerSecond, chars + seconds * charsPerSecond);
            refilledAt = now;
        }
        if (lines < 1 || chars < length) {
            return false;
        }
        lines -= 1;
        chars -= length;
        return true;
    }
}
