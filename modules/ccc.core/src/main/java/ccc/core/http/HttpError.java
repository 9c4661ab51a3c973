package ccc.core.http;

/** A request the API refuses: becomes the status code and {@code {"detail": ...}} body. */
public final class HttpError extends Exception {

    private static final long serialVersionUID = 1L;

    private final int status;

    public HttpError(int status, String detail) {
        super(detail, null, false, false);
        this.status = status;
    }

    public int status() {
        return status;
    }

    public String detail() {
        return getMessage();
    }

    /** This error as an unchecked exception, for a plain handler whose signature allows no other; the router answers it the same. */
    public Raised raised() {
        return new Raised(this);
    }

    /** An {@link HttpError} thrown from a plain {@link com.sun.net.httpserver.HttpHandler}. */
    public static final class Raised extends RuntimeException {

        private static final long serialVersionUID = 1L;

        private final HttpError error;

        Raised(HttpError error) {
            super(error.detail(), error, false, false);
            this.error = error;
        }

        public HttpError error() {
            return error;
        }
    }
}
