package ccc.core.events;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** What an event of {@code /api/events} tells, and the name it has on the wire ({@code event:} and {@code ?types=}). */
public enum EventType {
    /** The lifecycle published a new snapshot: its fields as {@code /api/status} renders them. */
    PHASE,
    /** The workload ended, on its own or stopped: its exit code, signal and last output lines. */
    EXIT,
    /** The restart policy starts the workload again after a wait: the attempt and the wait. */
    RESTART,
    /** A start, stop, update or signal request was taken on. */
    REQUEST,
    /** The traffic shape in force changed. */
    TRAFFIC,
    /** The core is shutting down. */
    SHUTDOWN;

    /** The name on the wire, such as {@code phase}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The type named {@code name} on the wire. */
    public static Optional<EventType> named(String name) {
        return Arrays.stream(values()).filter(type -> type.wireName().equals(name)).findFirst();
    }

    /** Every name, for a message: {@code phase, exit, restart, request, traffic, shutdown}. */
    public static String allNames() {
        return Arrays.stream(values()).map(EventType::wireName).collect(Collectors.joining(", "));
    }
}
