package ccc.core.log;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** The one timestamp format of the wire and the log: {@code YYYY-MM-DDTHH:MM:SS.mmmmmmZ}, UTC. */
public final class Timestamps {

    // Always six fractional digits, even when the microseconds are zero (the Python core dropped them).
    private static final DateTimeFormatter FORMAT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    private Timestamps() {
    }

    /** Formats an instant, truncated to microseconds. */
    public static String format(Instant instant) {
        return FORMAT.format(instant);
    }

    /** The current time, formatted. */
    public static String now() {
        return format(Instant.now());
    }
}
