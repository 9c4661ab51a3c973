package ccc.core.events;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * Where the ids of this core's streams start (events and numbered output lines): at the time
 * the core started, in microseconds since the epoch. A client that resumes with a
 * {@code Last-Event-ID} of an earlier run of the core is then always behind everything this run
 * sends, and told that it missed something, rather than skipping this run's first events.
 */
public final class StreamIds {

    private StreamIds() {
    }

    /** The first id of a stream created now. */
    public static long firstOfThisRun() {
        return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
    }
}
