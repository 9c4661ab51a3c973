package ccc.core.lifecycle;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * Something that went wrong in a sequence, kept as a value (what kind, what happened, and the
 * exception behind it) until a snapshot renders it into {@code last_error}.
 *
 * @param cause the exception behind it, when there was one
 */
public record Failure(Kind kind, String message, Optional<Throwable> cause) {

    /** Where a failure came from. */
    public enum Kind {
        /** An adapter call threw. */
        ADAPTER,
        /** An adapter call did not return within its bound. */
        ADAPTER_TIMEOUT,
        /** The core itself refused to go on (no root for privileged services, no workload returned, ...). */
        CORE,
        /** A privileged pre_start command failed. */
        PRIVILEGED_COMMAND,
        /** Traffic shaping could not be applied. */
        TRAFFIC_CONTROL,
        /** The workload exited with a non-zero code. */
        WORKLOAD_EXIT,
        /** The restart policy gave up. */
        RESTARTS_EXHAUSTED,
        /** A start the core refused before queueing it: its payload could not be read or used. */
        START_REFUSED
    }

    public Failure {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(cause, "cause");
    }

    /** A failure with no exception behind it. */
    public static Failure of(Kind kind, String message) {
        return new Failure(kind, message, Optional.empty());
    }

    /** This failure with its message passed through {@code rewrite} (to mask secrets, say). */
    Failure rewritten(UnaryOperator<String> rewrite) {
        String rewrittenMessage = rewrite.apply(message);
        return rewrittenMessage.equals(message) ? this : new Failure(kind, rewrittenMessage, cause);
    }

    /** Several failures as {@code last_error} shows them: their messages in order, joined by "; ". */
    public static String render(List<Failure> failures) {
        return failures.stream().map(Failure::message).collect(Collectors.joining("; "));
    }
}
