package ccc.core.lifecycle;

/** An adapter call that threw or did not return within its timeout. */
public final class AdapterCallException extends Exception {

    private static final long serialVersionUID = 1L;

    AdapterCallException(String message, Throwable cause) {
        super(message, cause);
    }
}
