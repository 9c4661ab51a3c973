package ccc.core.lifecycle;

import java.util.Optional;

/** An adapter call that threw or did not return within its timeout. */
public final class AdapterCallException extends Exception {

    private static final long serialVersionUID = 1L;

    private final transient Failure failure;

    AdapterCallException(Failure.Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.failure = new Failure(kind, message, Optional.ofNullable(cause));
    }

    /** This failure as a value. */
    Failure failure() {
        return failure;
    }
}
