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
}
